// The compact rule syntax of --fault, and fault files (--faults FILE, YAML or JSON):
//
//   --fault 'RunPodSandbox:error=UNAVAILABLE,times=2'
//   --fault 'method=List*,delay=200ms'
//   --fault 'kind=crash,name=web,exit-code=3,after=1s'   (node faults: crash, oom, pullFailure, …;
//                                                         after=N counts calls, after=1s is a time)
//   --fault 'kind=pullFailure,image=docker.io/*,pull=unavailable'
//
// A leading word before ":" is the method glob. Durations take ms, s, m suffixes (bare = ms).
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { parseDuration } from '../model/time.js'
import type { FaultRule } from './rule.js'
import { settleRule, settleRules } from './validate.js'

const duration = (key: string, text: string): number => {
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseDuration(text)
  if (ms === undefined) throw new Error(`fault option ${key}=${text}: not a duration (say 500ms, 2s or 1m)`)
  return ms
}

const number = (key: string, text: string): number => {
  const n = Number(text)
  if (text === '' || !Number.isFinite(n)) throw new Error(`fault option ${key}=${text}: not a number`)
  return n
}

/** Parses one --fault value into a rule. */
export function parseFaultSpec(spec: string): FaultRule {
  let text = spec.trim()
  const rule: Record<string, unknown> = {}
  const head = /^([A-Za-z*?][\w*?]*):/.exec(text)
  if (head) {
    rule.method = head[1]
    text = text.slice(head[0].length)
  }
  const match: Record<string, unknown> = {}
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq === -1 && !['hang', 'drop', 'once'].includes(part) && rule.method === undefined) {
      rule.method = part // a bare word is the method: "Version" or "Version,error=…"
      continue
    }
    const key = eq === -1 ? part : part.slice(0, eq)
    const value = eq === -1 ? 'true' : part.slice(eq + 1)
    switch (key) {
      case 'service':
      case 'method':
      case 'namespace':
      case 'message':
      case 'kind':
      case 'pull':
        rule[key] = value
        break
      case 'error':
        rule.error = /^\d+$/.test(value) ? Number(value) : value
        break
      case 'after':
        // A count of calls to let through, or, with a unit, how long until a node fault strikes.
        if (/[a-z]$/.test(value)) rule.afterMs = duration(key, value)
        else rule.after = number(key, value)
        break
      case 'times':
      case 'probability':
      case 'truncate-after':
        rule[key === 'truncate-after' ? 'truncateAfter' : key] = number(key, value)
        break
      case 'exit-code':
        rule.exitCode = number(key, value)
        break
      case 'delay':
      case 'stream-delay': {
        const span = /^(.+?)-(.+)$/.exec(value)
        const d = span ? { min: duration(key, span[1] as string), max: duration(key, span[2] as string) } : duration(key, value)
        rule[key === 'delay' ? 'delay' : 'streamDelay'] = d
        break
      }
      case 'duration':
        rule.durationMs = duration(key, value)
        break
      case 'hang':
      case 'drop':
      case 'once':
        rule[key] = value !== 'false'
        break
      case 'from':
      case 'until':
        rule[key] = /^\d+$/.test(value) ? Number(value) : value
        break
      case 'id':
      case 'name':
      case 'image':
        match[key] = value
        break
      default:
        if (key.startsWith('label.')) {
          match.labels = { ...(match.labels as object), [key.slice(6)]: value }
          break
        }
        throw new Error(`fault option "${key}" is not known; see fake-containerd --help for the fault syntax`)
    }
  }
  if (Object.keys(match).length > 0) rule.match = match
  // after=1s reads as a time only for the node faults that strike after one; say so in the
  // syntax the user wrote, not in terms of the rule's afterMs.
  if (rule.afterMs !== undefined && (rule.kind === undefined || rule.kind === 'call'))
    throw new Error(
      `fault ${JSON.stringify(spec)}: after=${text.match(/after=([^,]*)/)?.[1]} is a time, which only crash and oom faults take; a call fault lets after=N calls through`,
    )
  return settleRule(rule, `fault ${JSON.stringify(spec)}`)
}

/** Reads a fault file: a YAML or JSON list of rules (or { faults: [...] }). */
export function readFaultFile(file: string): FaultRule[] {
  let parsed: unknown
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`cannot read fault file ${file}: ${(err as Error).message}`)
  }
  const rules = Array.isArray(parsed) ? parsed : (parsed as { faults?: unknown } | null)?.faults
  if (!Array.isArray(rules)) throw new Error(`fault file ${file} must hold a list of rules (or "faults:" with a list)`)
  return settleRules(rules, `fault file ${file}`)
}
