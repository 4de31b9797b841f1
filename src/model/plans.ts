// How each process behaves, decided from its container record: the one place that turns a runtime
// spec (args, env, PID namespace) and scripting annotations into a simulated program.
import type { ContainerRecord } from '../store/schema.js'
import { commandProgram, containerProgram, readScript, type Script } from '../sim/program.js'
import { SIGTERM } from '../sim/signals.js'
import { pidNamespace } from './spec.js'
import type { ProcessPlan } from './tasks.js'
import { nowNs } from './time.js'

interface ProcessSpec {
  args?: string[]
  env?: string[]
}

export function envMap(env: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of env ?? []) {
    const eq = e.indexOf('=')
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1)
  }
  return out
}

/** PID 1 of its own PID namespace: a pid namespace entry without a path (joining one has a path). */
function ownsPidNamespace(spec: Record<string, unknown>): boolean {
  const namespaces = ((spec.linux as { namespaces?: { type: string; path?: string }[] } | undefined)?.namespaces ?? []) as {
    type: string
    path?: string
  }[]
  return namespaces.some((n) => n.type === 'pid' && !n.path)
}

/** The init process of a container; `resumed` continues one that ran before a restart. */
export function initPlan(record: ContainerRecord, resumed: boolean): ProcessPlan {
  const proc = (record.spec.process ?? {}) as ProcessSpec
  const args = proc.args ?? []
  if (record.cri?.kind === 'sandbox') {
    // The pause process: PID 1 of the pod, it exits cleanly on SIGINT/SIGTERM.
    return { program: commandProgram(args), args, env: {}, isInit: true, ignored: new Set(), logPath: '' }
  }
  const annotations =
    record.cri?.kind === 'container' ? record.cri.config.annotations : ((record.spec.annotations ?? {}) as Record<string, string>)
  const read = readScript(annotations)
  // A node fault (crash, OOM) that fired at start overrides the annotations.
  const script: Script = {
    ...(typeof read === 'string' ? { stdout: [], stderr: [], ignoreSigterm: false } : read),
    ...record.task?.injected,
  }
  if (resumed && record.task?.startedAt) {
    // Scripted deadlines count from the original start; the lines were written then.
    const elapsedMs = Number((nowNs() - BigInt(record.task.startedAt)) / 1_000_000n)
    if (script.exitAfterMs !== undefined) script.exitAfterMs = Math.max(0, script.exitAfterMs - elapsedMs)
    if (script.oomAfterMs !== undefined) script.oomAfterMs = Math.max(0, script.oomAfterMs - elapsedMs)
    script.stdout = []
    script.stderr = []
  }
  return {
    program: containerProgram(args, script),
    args,
    env: envMap(proc.env),
    isInit: record.cri?.kind === 'container' ? pidNamespace(record.cri.config) === 'container' : ownsPidNamespace(record.spec),
    ignored: new Set(script.ignoreSigterm ? [SIGTERM] : []),
    logPath: record.cri?.kind === 'container' ? record.cri.logPath : '',
  }
}

/** An exec'd process: never PID 1. */
export function execPlan(process: ProcessSpec): ProcessPlan {
  const args = process.args ?? []
  return { program: commandProgram(args), args, env: envMap(process.env), isInit: false, ignored: new Set(), logPath: '' }
}
