// Running a parsed sed script over the lines of its input: addresses and ranges, the pattern and
// hold spaces, and the commands' effects on the output.
import { SedError, type Addr, type SedCmd } from './parse.js'
import type { Matcher, RegexMatch } from '../../../patterns/regex.js'

export interface SedInput {
  lines: string[]
  /** Whether the last line ended without a newline. */
  noNewline: boolean
}

/** Runs a parsed script over lines; returns the output text. `turn` between lines (util.ts slicer). */
export async function runSed(cmds: SedCmd[], input: SedInput, quiet: boolean, turn: () => Promise<void> | undefined): Promise<string> {
  let out = ''
  let hold = ''
  let lastRe: Matcher | null = null
  const src = input.lines
  let n = 0
  let quit = false
  const emit = (text: string): void => {
    out += `${text}\n`
  }
  const matchAddr = (a: Addr, lineNo: number, ps: string): boolean => {
    if ('line' in a) return lineNo === a.line
    if ('last' in a) return lineNo === src.length
    const re = a.re ?? lastRe
    if (!re) throw new SedError('no previous regexp')
    lastRe = re
    return re.test(ps)
  }
  const selected = (c: SedCmd, lineNo: number, ps: string): boolean => {
    let hit: boolean
    if (!c.a1) hit = true
    else if (!c.a2) hit = matchAddr(c.a1, lineNo, ps)
    else if (c.active) {
      hit = true
      if ('line' in c.a2 ? lineNo >= c.a2.line : matchAddr(c.a2, lineNo, ps)) c.active = false
    } else if (matchAddr(c.a1, lineNo, ps)) {
      hit = true
      c.active = !('line' in c.a2 && c.a2.line <= lineNo)
    } else hit = false
    return hit !== c.negate
  }
  while (n < src.length && !quit) {
    await turn()
    let ps = src[n] as string
    n++
    let deleted = false
    let autoprint = !quiet
    const appends: string[] = []
    const exec = async (cmds: SedCmd[]): Promise<boolean> => {
      for (const c of cmds) {
        if (!selected(c, n, ps)) continue
        switch (c.cmd) {
          case '{':
            if (!(await exec(c.block ?? []))) return false
            break
          case 'p':
            emit(ps)
            break
          case 'P':
            emit(ps.split('\n')[0] ?? '')
            break
          case 'd':
            deleted = true
            return false
          case 'D': {
            const nl = ps.indexOf('\n')
            if (nl === -1) {
              deleted = true
              return false
            }
            src.splice(n, 0, ps.slice(nl + 1))
            deleted = true
            return false
          }
          case 's': {
            const re = c.re ?? lastRe
            if (!re) throw new SedError('no previous regexp')
            lastRe = re
            let count = 0
            let changed = false
            let next = ''
            let from = 0
            for (const m of re.matches(ps)) {
              await turn()
              count++
              if (c.nth !== undefined ? count === c.nth || (c.global === true && count > c.nth) : c.global || count === 1) {
                changed = true
                next += ps.slice(from, m.index) + (c.replacement as (m: RegexMatch) => string)(m)
                from = m.end
              }
            }
            ps = next + ps.slice(from)
            if (changed && c.print) emit(ps)
            break
          }
          case 'y': {
            const map = c.translate as Map<string, string>
            ps = [...ps].map((ch) => map.get(ch) ?? ch).join('')
            break
          }
          case 'q':
            quit = true
            return false
          case 'Q':
            quit = true
            autoprint = false
            return false
          case '=':
            out += `${n}\n`
            break
          case 'a':
            appends.push(c.text ?? '')
            break
          case 'i':
            emit(c.text ?? '')
            break
          case 'c':
            if (!c.a2 || !c.active) emit(c.text ?? '')
            deleted = true
            return false
          case 'n':
            if (autoprint) emit(ps)
            if (n >= src.length) {
              quit = true
              autoprint = false
              return false
            }
            ps = src[n] as string
            n++
            break
          case 'N':
            if (n >= src.length) {
              quit = true
              return false
            }
            ps = `${ps}\n${src[n] as string}`
            n++
            break
          case 'h':
            hold = ps
            break
          case 'H':
            hold = `${hold}\n${ps}`
            break
          case 'g':
            ps = hold
            break
          case 'G':
            ps = `${ps}\n${hold}`
            break
          case 'x':
            ;[ps, hold] = [hold, ps]
            break
        }
      }
      return true
    }
    await exec(cmds)
    if (!deleted && autoprint) emit(ps)
    for (const a of appends) emit(a)
  }
  if (input.noNewline && out.endsWith('\n') && n >= src.length) out = out.slice(0, -1)
  return out
}
