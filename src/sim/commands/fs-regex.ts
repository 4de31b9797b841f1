// POSIX regular expressions (basic, as grep and sed take them by default, and extended, -E) as
// JavaScript RegExp sources. BRE: \( \) \{ \} group and count, \| \+ \? (GNU), * literal at the
// start; ERE: ( ) { } | + ? as in JS. Both: bracket expressions with [:classes:], \< \> word edges.
import { POSIX_CLASSES, regexLiteral } from '../shell/pattern.js'
import { compileRegex, type Matcher, type RegexOptions } from '../../patterns/regex.js'

/** A bracket expression at src[i] ("[...]"): its JS class and the index after it; undefined when it does not close. */
function bracket(src: string, i: number): [string, number] | undefined {
  let j = i + 1
  let out = '['
  if (src[j] === '^') {
    out += '^'
    j++
  }
  let first = true
  while (j < src.length) {
    const c = src[j] as string
    if (c === ']' && !first) return [`${out}]`, j + 1]
    first = false
    if (c === '[' && (src[j + 1] === ':' || src[j + 1] === '=' || src[j + 1] === '.')) {
      const kind = src[j + 1] as string
      const end = src.indexOf(`${kind}]`, j + 2)
      if (end === -1) return undefined
      const name = src.slice(j + 2, end)
      if (kind === ':') {
        const cls = POSIX_CLASSES[name]
        if (cls === undefined) throw new SyntaxError(`invalid character class '${name}'`)
        out += cls
      } else out += regexLiteral(name)
      j = end + 2
      continue
    }
    out += c === '\\' || c === ']' || c === '[' || c === '^' ? `\\${c}` : c
    j++
  }
  return undefined
}

/** Converts a POSIX BRE (extended=false) or ERE to a JS regex source. Throws SyntaxError for a bad one. */
export function posixToJs(src: string, extended: boolean): string {
  let out = ''
  // Where a "*" is literal in a BRE: at the start, after "\(", "\|" or a leading "^".
  let atStart = true
  let i = 0
  while (i < src.length) {
    const c = src[i] as string
    if (c === '\\') {
      const n = src[i + 1]
      i += 2
      if (n === undefined) throw new SyntaxError('trailing backslash')
      if (!extended && '(){}|+?'.includes(n)) {
        out += n
        atStart = n === '(' || n === '|'
        continue
      }
      atStart = false
      if (n === '<' || n === '>') out += '\\b'
      else if (n === 'n') out += '\\n'
      else if (n === 't') out += '\\t'
      else if ('wWsSbB'.includes(n)) out += `\\${n}`
      else if (/[1-9]/.test(n)) out += `\\${n}`
      else out += regexLiteral(n)
      continue
    }
    if (c === '[') {
      const b = bracket(src, i)
      if (!b) throw new SyntaxError('unmatched [')
      out += b[0]
      i = b[1]
      atStart = false
      continue
    }
    i++
    if (!extended) {
      if ('(){}|+?'.includes(c)) {
        out += `\\${c}`
        atStart = false
      } else if (c === '*' && atStart) {
        out += '\\*'
        atStart = false
      } else if (c === '^') {
        out += out === '' || /\((?:\?:)?$|\|$/.test(out) ? '^' : '\\^'
      } else if (c === '$') {
        out += i === src.length || src.startsWith('\\)', i) || src.startsWith('\\|', i) ? '$' : '\\$'
        atStart = false
      } else {
        out += c === '/' ? '\\/' : c
        atStart = false
      }
      continue
    }
    if (c === '{' && !/^\d+(,\d*)?\}/.test(src.slice(i))) out += '\\{'
    else if (c === '*' && (out === '' || /[(|]$/.test(out))) out += '\\*'
    else out += c === '/' ? '\\/' : c
  }
  return out
}

/** A matcher (patterns/regex.ts: linear, or budgeted with backreferences) from a POSIX pattern. */
export function posixMatcher(pattern: string, options: RegexOptions & { extended: boolean }): Matcher {
  return compileRegex(posixToJs(pattern, options.extended), options)
}
