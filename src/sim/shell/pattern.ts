// Shell patterns (`*`, `?`, `[…]`) for case, ${x#pattern} and pathname expansion. A pattern is
// a string in which a backslash makes the next character literal (the expander escapes quoted text).
import type { Fs } from '../fs/types.js'
import { resolvePath } from '../fs/types.js'
import { Glob, type GlobToken } from '../../patterns/glob.js'

/** POSIX character classes ([:alpha:] …) as the ranges of a JS character class; regexes share them. */
export const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
}

/** Text as a literal in a JS regex (shell patterns and the commands' regexes both need it). */
export const regexLiteral = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')

/** Backslash-escapes the characters that are special in a pattern. */
export function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]]/g, '\\$&')
}

/** True when the pattern has an unescaped `*`, `?` or a complete `[…]`. */
export function hasGlob(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '\\') i++
    else if (c === '*' || c === '?') return true
    else if (c === '[' && bracketEnd(p, i) !== -1) return true
  }
  return false
}

/** Removes the escapes: the literal text a pattern without special characters stands for. */
export function unescapeGlob(p: string): string {
  return p.replace(/\\(.)/gs, '$1')
}

/** The index of the `]` closing the bracket expression at `start`, or -1. */
function bracketEnd(p: string, start: number): number {
  let j = start + 1
  if (p[j] === '!' || p[j] === '^') j++
  if (p[j] === ']') j++
  for (; j < p.length; j++) {
    const c = p[j]
    if (c === '\\') j++
    else if (c === '[' && p[j + 1] === ':') {
      const close = p.indexOf(':]', j + 2)
      if (close !== -1) j = close + 1
    } else if (c === ']') return j
  }
  return -1
}

function bracket(p: string, start: number, end: number): string {
  let j = start + 1
  let neg = false
  if (p[j] === '!' || p[j] === '^') {
    neg = true
    j++
  }
  let body = ''
  for (let first = true; j < end; j++, first = false) {
    const c = p[j] as string
    if (c === '\\' && j + 1 < end) {
      body += regexLiteral(p[++j] as string)
    } else if (c === '[' && p[j + 1] === ':') {
      const close = p.indexOf(':]', j + 2)
      const cls = POSIX_CLASSES[p.slice(j + 2, close)]
      if (close !== -1 && close < end && cls !== undefined) {
        body += cls
        j = close + 1
      } else body += '\\['
    } else if (c === '-' && !first && j + 1 < end) {
      body += '-'
    } else body += regexLiteral(c)
  }
  return `[${neg ? '^' : ''}${body}]`
}

/** A pattern as glob tokens (patterns/glob.ts): linear in the text, whatever the pattern. */
function compile(p: string): Glob {
  const tokens: GlobToken[] = []
  const literal =
    (c: string): GlobToken =>
    (x) =>
      x === c
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string
    if (c === '\\') {
      tokens.push(literal(p[i + 1] ?? '\\'))
      i++
    } else if (c === '*') {
      if (tokens[tokens.length - 1] !== '*') tokens.push('*')
    } else if (c === '?') tokens.push(() => true)
    else if (c === '[' && bracketEnd(p, i) !== -1) {
      const end = bracketEnd(p, i)
      // One character class: a RegExp that cannot backtrack.
      const re = new RegExp(`^${bracket(p, i, end)}$`)
      tokens.push((x) => re.test(x))
      i = end
    } else tokens.push(literal(c))
  }
  return new Glob(tokens)
}

const cache = new Map<string, Glob>()

function glob(p: string): Glob {
  let g = cache.get(p)
  if (g === undefined) {
    if (cache.size > 2000) cache.clear()
    g = compile(p)
    cache.set(p, g)
  }
  return g
}

/** Whether the whole of `text` matches the pattern. */
export function matchPattern(pattern: string, text: string): boolean {
  return glob(pattern).test(text)
}

/** ${x#p} ${x##p} ${x%p} ${x%%p} */
export function removeAffix(value: string, pattern: string, op: '#' | '##' | '%' | '%%'): string {
  const g = glob(pattern)
  if (op === '#' || op === '##') {
    const ends = g.ends(value, 0)
    const e = op === '#' ? ends[0] : ends[ends.length - 1]
    return e === undefined ? value : value.slice(e)
  }
  const starts = g.starts(value, value.length)
  const s = op === '%' ? starts[0] : starts[starts.length - 1]
  return s === undefined ? value : value.slice(0, s)
}

/** ${x/p/r} (first match), ${x//p/r} (every match), ${x/#p/r} (at the start), ${x/%p/r} (at the end) */
export function substitute(value: string, pattern: string, replacement: string, op: '/' | '//' | '/#' | '/%'): string {
  const steps = substitution(value, pattern, replacement, op)
  for (;;) {
    const r = steps.next()
    if (r.done) return r.value
  }
}

/** substitute() with `turn` (io.ts slicer) between positions: lets other clients in and a timeout stop it. */
export async function substituteSliced(
  value: string,
  pattern: string,
  replacement: string,
  op: '/' | '//' | '/#' | '/%',
  turn: () => Promise<void> | undefined,
): Promise<string> {
  const steps = substitution(value, pattern, replacement, op)
  for (;;) {
    const r = steps.next()
    if (r.done) return r.value
    await turn()
  }
}

/** `/` and `//` look for the longest match at each position: quadratic in the value at worst (as in ash); it yields between positions. */
function* substitution(value: string, pattern: string, replacement: string, op: '/' | '//' | '/#' | '/%'): Generator<void, string> {
  const g = glob(pattern)
  const n = value.length
  if (op === '/#') {
    const e = g.ends(value, 0).pop()
    return e === undefined ? value : replacement + value.slice(e)
  }
  if (op === '/%') {
    const s = g.starts(value, n).pop()
    return s === undefined ? value : value.slice(0, s) + replacement
  }
  let out = ''
  let i = 0
  while (i <= n) {
    yield
    // The longest non-empty match at i.
    const matched = g.ends(value, i).pop() ?? -1
    if (matched <= i) {
      if (i < n) out += value[i]
      i++
      continue
    }
    out += replacement
    i = matched
    if (op === '/') return out + value.slice(i)
  }
  return out
}

/** Pathname expansion: the sorted paths the pattern matches in the filesystem (none: empty). */
export function globPaths(pattern: string, fs: Fs, cwd: string): string[] {
  if (!hasGlob(pattern)) return []
  const absolute = pattern.startsWith('/')
  const dirOnly = pattern.endsWith('/')
  const comps = pattern.split('/').filter((c) => c !== '')
  // Each candidate: what the user sees (relative stays relative) and the absolute path.
  let paths: { shown: string; real: string }[] = [{ shown: absolute ? '/' : '', real: absolute ? '/' : cwd }]
  const join = (shown: string, name: string): string => (shown === '' ? name : shown.endsWith('/') ? shown + name : `${shown}/${name}`)
  for (const comp of comps) {
    const next: typeof paths = []
    if (!hasGlob(comp)) {
      const name = unescapeGlob(comp)
      for (const p of paths) next.push({ shown: join(p.shown, name), real: resolvePath(p.real, name) })
    } else {
      const re = glob(comp)
      const dotOk = comp.startsWith('.') || comp.startsWith('\\.')
      for (const p of paths) {
        let names: string[]
        try {
          names = fs.readdir(p.real)
        } catch {
          continue
        }
        for (const name of names) {
          if (name.startsWith('.') && !dotOk) continue
          if (re.test(name)) next.push({ shown: join(p.shown, name), real: resolvePath(p.real, name) })
        }
      }
    }
    paths = next
    if (paths.length === 0) return []
  }
  const found = paths.filter((p) => {
    const st = dirOnly ? fs.stat(p.real) : fs.lstat(p.real)
    return st !== undefined && (!dirOnly || st.type === 'dir')
  })
  return found.map((p) => (dirOnly ? `${p.shown}/` : p.shown)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}
