// Regular expressions from clients: one matcher interface over three engines, so that no pattern
// holds the server's only thread. A pattern without quantifiers (most greps) cannot backtrack
// far and runs on V8, the fastest. Any other pattern the linear-time engine takes (re2js, a port of RE2:
// time linear in the text, whatever the pattern) runs there; one it refuses but JS accepts (a
// backreference, a count over 1000, a nested quantifier such as x{2}{3}) runs on a backtracking
// matcher with a step budget (backtrack.ts), which throws PatternTooComplex when it is spent.
// Sources are JS syntax (what posixToJs makes of POSIX BRE/ERE). Patterns that are ours, not a
// client's, stay JS RegExp.
import { RE2JS } from 're2js'
import { PatternTooComplex, compileBacktracking, execBacktracking } from './backtrack.js'

export { PatternTooComplex }

/** A match: [0] the matched text, [n] group n (undefined when it took no part); index and end in the text. */
export interface RegexMatch extends Array<string | undefined> {
  0: string
  index: number
  end: number
}

export interface Matcher {
  /** The JS source it was compiled from. */
  readonly source: string
  readonly ignoreCase: boolean
  /**
   * Which engine runs it: 'bounded' (V8, for a pattern without quantifiers: bounded paths per
   * position), 'linear' (re2js) or 'budgeted' (backtracking under a step budget).
   */
  readonly engine: 'bounded' | 'linear' | 'budgeted'
  test(text: string): boolean
  /** The first match starting at or after `from` (as a JS RegExp from lastIndex: ^ only at 0). */
  exec(text: string, from?: number): RegexMatch | undefined
  /** Every match left to right, as String.prototype.matchAll has them (after an empty match, one character on). */
  all(text: string): RegexMatch[]
  /**
   * The same, one at a time: finding each can rescan the rest of the text (`a.*z|a` on a line of
   * a's is quadratic, in any leftmost-first engine), so a command yields between them.
   */
  matches(text: string): Generator<RegexMatch>
}

export interface RegexOptions {
  ignoreCase?: boolean
  /** grep -w: the match neither follows nor is followed by a word character. */
  word?: boolean
  /** grep -x: the match is the whole text. */
  line?: boolean
}

const WORD_CLASS = 'A-Za-z0-9_'

/**
 * The longest source the linear or budgeted engine compiles: re2js compiles at ~5-10 µs a
 * character (a 100 KB pattern held the thread 400 ms). Longer ones that V8 may run (no
 * quantifier) still do; others are PatternTooComplex.
 */
export const MAX_SOURCE = 8192

/**
 * RE2's time is linear in the text but also in the pattern's program: ~15 ns per instruction and
 * character at worst, plus a per-character cost. One match may take (program size + 32) × the
 * text's length up to this (~4 MB of text for `served`, ~4,000 characters for `[^x]{1000}`: tens
 * of ms at worst); past it, PatternTooComplex.
 */
export const LINEAR_WORK = 4_000_000

/** Whether a JS regex source has a backreference (\1..\9 outside a bracket expression). */
export function hasBackreference(src: string): boolean {
  let inClass = false
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (c === '\\') {
      if (!inClass && /[1-9]/.test(src[i + 1] ?? '')) return true
      i++
    } else if (c === '[') inClass = true
    else if (c === ']') inClass = false
  }
  return false
}

/** Alternatives (`|`) a pattern without quantifiers may have and still run on V8: at most 2^4 paths per position. */
const MAX_BARS = 4

/**
 * The source for V8 when the pattern cannot backtrack more than a bounded number of paths per
 * position: no quantifier, no backreference, few alternatives (most greps: words, anchors,
 * classes). `.` and `\s` are rewritten to what they match in RE2, so that both engines agree.
 * Undefined when the pattern needs the linear engine.
 */
export function boundedForV8(src: string): string | undefined {
  let out = ''
  let inClass = false
  let bars = 0
  let opened = false // the previous character opened a group: a "?" after it is (?: (?! (?<!, not a quantifier
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string
    const afterOpen = opened
    opened = c === '(' && !inClass
    if (c === '\\') {
      const n = src[i + 1] ?? ''
      if (/[1-9]/.test(n) && !inClass) return undefined
      i++
      if (!inClass && (n === 's' || n === 'S')) out += n === 's' ? '[\\t\\n\\f\\r ]' : '[^\\t\\n\\f\\r ]'
      else out += `\\${n}`
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
    } else if (c === '[') {
      inClass = true
      if (src[i + 1] === '^' && src[i + 2] === ']') return undefined // JS's [^] is not RE2's
    } else if (c === '*' || c === '+' || (c === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i)))) return undefined
    else if (c === '?' && !afterOpen) return undefined
    else if (c === '|' && ++bars > MAX_BARS) return undefined
    else if (c === '.') {
      out += '[^\\n]'
      continue
    }
    out += c
  }
  return out
}

/** Compiles a JS-syntax source; a SyntaxError when neither engine takes it. */
export function compileRegex(src: string, options: RegexOptions = {}): Matcher {
  const ignoreCase = options.ignoreCase === true
  let body = options.line ? `^(?:${src})$` : src
  const v8 = boundedForV8(src)
  if (v8 !== undefined) {
    try {
      return bounded(src, ignoreCase, wordWrapped(options.line ? `^(?:${v8})$` : v8, options))
    } catch {
      // a syntax error: the engines below give their verdict
    }
  }
  if (src.length > MAX_SOURCE) throw new PatternTooComplex()
  if (!hasBackreference(src)) {
    // -w: a lookbehind (re2js has it under a flag) and, for the lookahead it lacks, a following
    // non-word character or the end, outside group 1, which is then the match.
    const shift = options.word ? 1 : 0
    if (options.word) body = `(?<![${WORD_CLASS}])(${body})(?:[^${WORD_CLASS}]|$)`
    let re: RE2JS | undefined
    try {
      re = RE2JS.compile(body, (ignoreCase ? RE2JS.CASE_INSENSITIVE : 0) | (options.word ? RE2JS.LOOKBEHINDS : 0))
    } catch {
      re = undefined // maybe JS takes it: the budgeted engine below
    }
    if (re !== undefined) return linear(src, ignoreCase, re, shift)
  }
  body = wordWrapped(body, options)
  new RegExp(body, ignoreCase ? 'i' : '') // JS's verdict on the syntax: its SyntaxError
  return budgeted(src, ignoreCase, body)
}

/** grep -w in JS syntax: lookarounds. */
const wordWrapped = (body: string, options: RegexOptions): string =>
  options.word ? `(?<![${WORD_CLASS}])(?:${body})(?![${WORD_CLASS}])` : body

function bounded(source: string, ignoreCase: boolean, body: string): Matcher {
  const sticky = new RegExp(body, ignoreCase ? 'gi' : 'g')
  const exec = (text: string, from = 0): RegexMatch | undefined => {
    sticky.lastIndex = from
    const m = sticky.exec(text)
    if (m === null) return undefined
    const out = [...m] as RegexMatch
    out.index = m.index
    out.end = m.index + m[0].length
    return out
  }
  const plain = new RegExp(body, ignoreCase ? 'i' : '')
  return { source, ignoreCase, engine: 'bounded', test: (text) => plain.test(text), exec, ...iteration(exec) }
}

/** A pattern in RE2's (and Go's regexp) syntax, as containerd's filters take it; a SyntaxError when RE2 refuses it. */
export function compileRe2(src: string): Matcher {
  if (src.length > MAX_SOURCE) throw new SyntaxError(`longer than ${MAX_SOURCE} characters`)
  let re: RE2JS
  try {
    re = RE2JS.compile(src)
  } catch (e) {
    throw new SyntaxError(e instanceof Error ? e.message : String(e))
  }
  return linear(src, false, re, 0)
}

function* matchesOf(exec: (text: string, from: number) => RegexMatch | undefined, text: string): Generator<RegexMatch> {
  let from = 0
  while (from <= text.length) {
    const m = exec(text, from)
    if (m === undefined) return
    yield m
    from = m.end > m.index ? m.end : m.index + 1
  }
}

/** all() and matches() from exec. */
const iteration = (exec: (text: string, from: number) => RegexMatch | undefined): Pick<Matcher, 'all' | 'matches'> => ({
  all: (text) => [...matchesOf(exec, text)],
  matches: (text) => matchesOf(exec, text),
})

function linear(source: string, ignoreCase: boolean, re: RE2JS, shift: number): Matcher {
  const groups = re.groupCount()
  const cost = re.programSize() + 32
  const bounded = (text: string, from: number): void => {
    if (cost * (text.length - from) > LINEAR_WORK) throw new PatternTooComplex()
  }
  const exec = (text: string, from = 0): RegexMatch | undefined => {
    bounded(text, from)
    const m = re.matcher(text)
    if (!m.find(from)) return undefined
    const out = [] as unknown as RegexMatch
    for (let g = shift; g <= groups; g++) out.push(m.group(g) ?? undefined)
    out.index = m.start(shift)
    out.end = m.end(shift)
    return out
  }
  return {
    source,
    ignoreCase,
    engine: 'linear',
    test: (text) => {
      bounded(text, 0)
      return shift === 0 ? re.test(text) : re.matcher(text).find()
    },
    exec,
    ...iteration(exec),
  }
}

function budgeted(source: string, ignoreCase: boolean, body: string): Matcher {
  const compiled = compileBacktracking(body, ignoreCase)
  const exec = (text: string, from = 0): RegexMatch | undefined => {
    const m = execBacktracking(compiled, text, from)
    if (m === undefined) return undefined
    const out = [text.slice(m.start, m.end)] as unknown as RegexMatch
    for (let g = 1; g <= compiled.groups; g++) {
      const [s, e] = [m.caps[2 * g], m.caps[2 * g + 1]]
      out.push(s === undefined || e === undefined ? undefined : text.slice(s, e))
    }
    out.index = m.start
    out.end = m.end
    return out
  }
  return { source, ignoreCase, engine: 'budgeted', test: (text) => exec(text) !== undefined, exec, ...iteration(exec) }
}
