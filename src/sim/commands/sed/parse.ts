// Parsing a sed script (busybox's subset) into commands with their addresses; the regular
// expressions and replacements are compiled here, once, so the executor (run.ts) only applies them.
import { posixMatcher } from '../fs-regex.js'
import { PatternTooComplex, type Matcher, type RegexMatch } from '../../../patterns/regex.js'

export type Addr = { line: number } | { last: true } | { re: Matcher | null }

export interface SedCmd {
  a1?: Addr
  a2?: Addr
  negate: boolean
  cmd: string
  active: boolean
  re?: Matcher | null
  replacement?: (m: RegexMatch) => string
  global?: boolean
  nth?: number
  print?: boolean
  text?: string
  /** y's character map, made once when the script is parsed (the first of a repeated source character wins). */
  translate?: Map<string, string>
  block?: SedCmd[]
}

/** A script error: busybox prints "sed: MESSAGE" and exits 1. */
export class SedError extends Error {}

/** Parses a sed script (busybox's subset: s y p d q Q = a i c n N h H g G x { } and # comments). */
export function parseSed(script: string, extended: boolean): SedCmd[] {
  let i = 0
  const peek = (): string => script[i] ?? ''
  const skipSpace = (): void => {
    while (i < script.length && /[ \t]/.test(peek())) i++
  }
  /** Text up to an unescaped delimiter; "\<delim>" becomes the delimiter, other escapes stay. */
  const delimited = (delim: string, forRegex: boolean): string => {
    let out = ''
    while (i < script.length && peek() !== delim) {
      if (peek() === '\\' && i + 1 < script.length) {
        const n = script[i + 1] as string
        if (n === delim) out += forRegex && '.*[]^$+?(){}|'.includes(n) ? `[${n}]` : n
        else if (n === 'n' && !forRegex) out += '\n'
        else out += `\\${n}`
        i += 2
        continue
      }
      if (peek() === '\n' && !forRegex) {
        out += '\n'
        i++
        continue
      }
      out += peek()
      i++
    }
    if (peek() !== delim) throw new SedError(`unmatched '${delim}'`)
    i++
    return out
  }
  let lastRe: Matcher | null = null
  const regex = (src: string, flags = ''): Matcher | null => {
    if (src === '') return null // the last regex used
    try {
      return posixMatcher(src, { extended, ignoreCase: flags.includes('i') })
    } catch (e) {
      if (e instanceof PatternTooComplex) throw e
      throw new SedError(`bad regex '${src}'`)
    }
  }
  const address = (): Addr | undefined => {
    if (/\d/.test(peek())) {
      const m = /^\d+/.exec(script.slice(i)) as RegExpExecArray
      i += m[0].length
      return { line: Number(m[0]) }
    }
    if (peek() === '$') {
      i++
      return { last: true }
    }
    if (peek() === '/' || peek() === '\\') {
      if (peek() === '\\') i++
      const delim = peek()
      i++
      const re = regex(delimited(delim, true))
      let flags = ''
      while (peek() === 'I') {
        flags += 'i'
        i++
      }
      lastRe = re ?? lastRe
      return { re: flags ? regex(re?.source ?? '', flags) : re }
    }
    return undefined
  }
  const textArg = (): string => {
    skipSpace()
    if (peek() === '\\') {
      i++
      if (peek() === '\n') i++
    }
    let out = ''
    while (i < script.length && peek() !== '\n') {
      if (peek() === '\\' && i + 1 < script.length) {
        out += script[i + 1]
        i += 2
        continue
      }
      out += peek()
      i++
    }
    return out
  }
  const parseBlock = (inBlock: boolean): SedCmd[] => {
    const cmds: SedCmd[] = []
    for (;;) {
      while (i < script.length && /[\s;]/.test(peek())) i++
      if (i >= script.length) {
        if (inBlock) throw new SedError('unmatched {')
        return cmds
      }
      if (peek() === '#') {
        while (i < script.length && peek() !== '\n') i++
        continue
      }
      if (peek() === '}') {
        if (!inBlock) throw new SedError('unexpected }')
        i++
        return cmds
      }
      const c: SedCmd = { negate: false, cmd: '', active: false }
      const a1 = address()
      if (a1) {
        c.a1 = a1
        if (peek() === ',') {
          i++
          const a2 = address()
          if (!a2) throw new SedError('unexpected ,')
          c.a2 = a2
        }
      }
      skipSpace()
      while (peek() === '!') {
        c.negate = true
        i++
        skipSpace()
      }
      c.cmd = peek()
      i++
      switch (c.cmd) {
        case '{':
          c.block = parseBlock(true)
          break
        case 's': {
          const delim = peek()
          if (delim === '' || delim === '\n' || delim === '\\') throw new SedError('bad format in substitution expression')
          i++
          const reSrc = delimited(delim, true)
          const rep = delimited(delim, false)
          let flags = ''
          while (/[gpiI0-9]/.test(peek()) && peek() !== '') flags += script[i++]
          c.re = regex(reSrc, flags.toLowerCase())
          if (c.re) lastRe = c.re
          c.global = flags.includes('g')
          c.print = flags.includes('p')
          const nth = /\d+/.exec(flags)
          if (nth) c.nth = Number(nth[0])
          c.replacement = replacement(rep)
          break
        }
        case 'y': {
          const delim = peek()
          i++
          const from = [...delimited(delim, false)]
          const to = [...delimited(delim, false)]
          if (from.length !== to.length) throw new SedError('strings for y command are different lengths')
          const map = new Map<string, string>()
          from.forEach((ch, k) => map.has(ch) || map.set(ch, to[k] as string))
          c.translate = map
          break
        }
        case 'a':
        case 'i':
        case 'c':
          c.text = textArg()
          break
        case 'p':
        case 'd':
        case 'D':
        case 'q':
        case 'Q':
        case '=':
        case 'n':
        case 'N':
        case 'h':
        case 'H':
        case 'g':
        case 'G':
        case 'x':
        case 'P':
          break
        case '':
          throw new SedError('missing command')
        default:
          throw new SedError(`unsupported command ${c.cmd}`)
      }
      cmds.push(c)
      void lastRe
    }
  }
  return parseBlock(false)
}

/** A replacement: & the match, \1..\9 groups, \n a newline, other escapes the character. */
function replacement(rep: string): (m: RegexMatch) => string {
  const parts: (string | number)[] = []
  let lit = ''
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i] as string
    if (c === '\\' && i + 1 < rep.length) {
      const n = rep[++i] as string
      if (/\d/.test(n)) {
        parts.push(lit, Number(n))
        lit = ''
      } else lit += n === 'n' ? '\n' : n === 't' ? '\t' : n
    } else if (c === '&') {
      parts.push(lit, 0)
      lit = ''
    } else lit += c
  }
  parts.push(lit)
  return (m) => parts.map((p) => (typeof p === 'number' ? (m[p] ?? '') : p)).join('')
}
