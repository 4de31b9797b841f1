// A backtracking matcher under a step budget, for the patterns the linear engine (re2js) cannot
// run: those with backreferences (\1..\9). It takes the JS regex subset that posixToJs produces
// (groups, (?:), alternation, greedy and lazy quantifiers, ., classes, \b \B \w \W \s \S \d \D,
// anchors, backreferences, and the (?<!C) / (?!C) of grep -w with C one character) and gives up
// with PatternTooComplex after a bounded number of steps instead of holding the event loop.

/** Thrown when a match would take more than its budget of steps. */
export class PatternTooComplex extends Error {
  constructor() {
    super('pattern too complex')
  }
}

/** Steps one exec may take (a step is one node tried at one position): about 3 ms, warm. */
const STEP_BUDGET = 100_000

type Cont = (i: number) => boolean
type Node = (i: number, k: Cont) => boolean

interface State {
  text: string
  caps: (number | undefined)[]
  steps: number
}

const isWord = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c)

/** Compiles `src` (JS syntax, the subset above) to a function that matches at one position. */
export function compileBacktracking(src: string, ignoreCase: boolean): { groups: number; at: (s: State, i: number) => number } {
  let pos = 0
  let groups = 0
  const flags = ignoreCase ? 'i' : ''
  let st: State = { text: '', caps: [], steps: 0 }
  const step = (): void => {
    if (++st.steps > STEP_BUDGET) throw new PatternTooComplex()
  }
  const charNode = (pred: (c: string) => boolean): Node => {
    return (i, k) => {
      step()
      const c = st.text[i]
      return c !== undefined && pred(c) && k(i + 1)
    }
  }
  const classPred = (cls: string): ((c: string) => boolean) => {
    const re = new RegExp(`^${cls}$`, flags)
    return (c) => re.test(c)
  }
  const fail = (msg: string): never => {
    throw new SyntaxError(`${msg} at ${pos} in /${src}/`)
  }

  const alternation = (): Node => {
    const alts = [sequence()]
    while (src[pos] === '|') {
      pos++
      alts.push(sequence())
    }
    if (alts.length === 1) return alts[0] as Node
    return (i, k) => alts.some((a) => a(i, k))
  }

  const sequence = (): Node => {
    const items: Node[] = []
    while (pos < src.length && src[pos] !== '|' && src[pos] !== ')') items.push(quantified(atom()))
    return items.reduceRight<Node>(
      (next, item) => (i, k) => item(i, (j) => next(j, k)),
      (i, k) => k(i),
    )
  }

  const quantified = (node: Node): Node => {
    for (;;) {
      const c = src[pos]
      let min: number
      let max: number
      if (c === '*' || c === '+' || c === '?') {
        pos++
        ;[min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1]
      } else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(pos))
        if (!m) return node
        pos += m[0].length
        min = Number(m[1])
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3])
        if (max < min) fail('numbers out of order in {} quantifier')
      } else return node
      const lazy = src[pos] === '?'
      if (lazy) pos++
      node = repeat(node, min, max, lazy)
    }
  }

  const repeat = (node: Node, min: number, max: number, lazy: boolean): Node => {
    const more = (count: number, i: number, k: Cont): boolean => {
      step()
      const again = (): boolean => count < max && node(i, (j) => (j === i && count >= min ? false : more(count + 1, j, k)))
      const stop = (): boolean => count >= min && k(i)
      return lazy ? stop() || again() : again() || stop()
    }
    return (i, k) => more(0, i, k)
  }

  const atom = (): Node => {
    const c = src[pos] as string
    pos++
    if (c === '(') {
      let capture = true
      let look: '(?!' | '(?=' | '(?<!' | '(?<=' | undefined
      for (const prefix of ['(?:', '(?!', '(?=', '(?<!', '(?<='] as const) {
        if (src.startsWith(prefix, pos - 1)) {
          pos += prefix.length - 1
          capture = false
          if (prefix !== '(?:') look = prefix
          break
        }
      }
      const g = capture ? ++groups : 0
      const body = alternation()
      if (src[pos] !== ')') fail('unterminated group')
      pos++
      if (look === '(?!' || look === '(?=') {
        const want = look === '(?='
        return (i, k) => body(i, () => true) === want && k(i)
      }
      if (look !== undefined) {
        const want = look === '(?<='
        // A lookbehind of one character, as grep -w writes it.
        return (i, k) => (i > 0 && body(i - 1, (j) => j === i)) === want && k(i)
      }
      if (!capture) return body
      return (i, k) => {
        const [s0, e0] = [st.caps[2 * g], st.caps[2 * g + 1]]
        const ok = body(i, (j) => {
          const [s1, e1] = [st.caps[2 * g], st.caps[2 * g + 1]]
          st.caps[2 * g] = i
          st.caps[2 * g + 1] = j
          if (k(j)) return true
          st.caps[2 * g] = s1
          st.caps[2 * g + 1] = e1
          return false
        })
        if (!ok) {
          st.caps[2 * g] = s0
          st.caps[2 * g + 1] = e0
        }
        return ok
      }
    }
    if (c === '[') {
      let j = pos
      if (src[j] === '^') j++
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1
      if (j >= src.length) fail('unterminated character class')
      const cls = src.slice(pos - 1, j + 1)
      pos = j + 1
      return charNode(classPred(cls))
    }
    if (c === '.') return charNode(classPred('.'))
    if (c === '^') return (i, k) => i === 0 && k(i)
    if (c === '$') return (i, k) => i === st.text.length && k(i)
    if (c === '\\') {
      const e = src[pos]
      if (e === undefined) fail('\\ at end of pattern')
      pos++
      if (e !== undefined && /[1-9]/.test(e)) {
        const g = Number(e)
        return (i, k) => {
          step()
          const [s, t] = [st.caps[2 * g], st.caps[2 * g + 1]]
          if (s === undefined || t === undefined) return k(i) // an unset group matches the empty string, as in JS
          const want = st.text.slice(s, t)
          const got = st.text.slice(i, i + want.length)
          const same = ignoreCase ? got.toLowerCase() === want.toLowerCase() : got === want
          return same && k(i + want.length)
        }
      }
      if (e === 'b' || e === 'B') {
        const want = e === 'b'
        return (i, k) => (isWord(st.text[i - 1]) !== isWord(st.text[i])) === want && k(i)
      }
      if (e === 'x') {
        const hex = src.slice(pos, pos + 2)
        pos += 2
        return charNode(classPred(`\\x${hex}`))
      }
      return charNode(classPred(`\\${e}`))
    }
    if (c === ')') fail('unmatched )')
    if ('*+?'.includes(c)) fail('nothing to repeat')
    return charNode(classPred(c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')))
  }

  const root = alternation()
  if (pos < src.length) fail('unmatched )')
  const total = groups
  return {
    groups: total,
    at: (s, i) => {
      st = s
      let end = -1
      try {
        root(i, (j) => {
          end = j
          return true
        })
      } catch (e) {
        if (e instanceof RangeError) throw new PatternTooComplex() // the stack: a very long line
        throw e
      }
      return end
    },
  }
}

/** The first match at or after `from`: [start, end, caps] or undefined; throws PatternTooComplex. */
export function execBacktracking(
  compiled: ReturnType<typeof compileBacktracking>,
  text: string,
  from: number,
): { start: number; end: number; caps: (number | undefined)[] } | undefined {
  const state: State = { text, caps: [], steps: 0 }
  for (let i = from; i <= text.length; i++) {
    state.caps = []
    const end = compiled.at(state, i)
    if (end !== -1) return { start: i, end, caps: state.caps }
  }
  return undefined
}
