// containerd's filter language (pkg/filters), used by every List RPC of its API:
//
//   selectors := selector ("," selector)*        all must match
//   selector  := fieldpath (operator value)?    no operator: the field must be present
//   fieldpath := field ("." field)*             field: [A-Za-z0-9_]+ or a "quoted" string
//   operator  := "==" | "!=" | "~="             ~= is a regular expression (Go's: RE2); its value may also be
//                                                quoted /like this/ or |like this|
//
// A request's repeated `filters` are alternatives: an object matches when any of them does.
import { invalidArgument } from '../model/errors.js'
import { compileRe2, type Matcher } from '../patterns/regex.js'

/** Looks a field path up on one object: its value, or undefined when the field is absent. */
export type Adaptor = (fieldpath: string[]) => string | undefined

export type Filter = (adaptor: Adaptor) => boolean

type Operator = 'present' | '==' | '!=' | '~='
interface Selector {
  fieldpath: string[]
  operator: Operator
  value: string
  re?: Matcher
}

class FilterSyntaxError extends Error {}

const isField = (c: string): boolean => /^[A-Za-z0-9_]$/.test(c)
const isQuote = (c: string): boolean => c === '/' || c === '|' || c === '"'
const isOperatorChar = (c: string): boolean => c === '=' || c === '!' || c === '~'
const isSpace = (c: string): boolean => /^\s$/u.test(c)

/** Parses one filter string. An empty string matches everything. */
export function parseFilter(input: string): Filter {
  if (input === '') return () => true
  const selectors: Selector[] = []
  let pos = 0
  const fail = (msg: string): never => {
    const at = Math.min(pos, input.length)
    const where = at < input.length ? `${input.slice(0, at)} >|${input[at]}|< ${input.slice(at + 1)}` : input
    throw new FilterSyntaxError(`filters: parse error: [${where}]: ${msg}`)
  }
  const skipSpace = (): void => {
    while (pos < input.length && isSpace(input[pos] as string)) pos++
  }
  const quoted = (allowAlt: boolean): string => {
    const q = input[pos] as string
    if (!allowAlt && q !== '"') fail('invalid quote encountered')
    let out = ''
    pos++
    for (;;) {
      if (pos >= input.length || input[pos] === '\n') fail('quoted literal not terminated')
      const c = input[pos] as string
      if (c === q) {
        pos++
        return out
      }
      if (c === '\\') {
        const e = input[pos + 1] ?? ''
        const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' }
        if (e in simple) out += simple[e]
        else if (e === q) out += q
        else fail('illegal escape sequence')
        pos += 2
      } else {
        out += c
        pos++
      }
    }
  }
  const field = (): string => {
    skipSpace()
    const c = input[pos] ?? ''
    if (isQuote(c)) return quoted(false)
    if (!isField(c)) fail('expected field or quoted')
    const start = pos
    while (pos < input.length && isField(input[pos] as string)) pos++
    return input.slice(start, pos)
  }
  for (;;) {
    const fieldpath = [field()]
    skipSpace()
    while (input[pos] === '.') {
      pos++
      fieldpath.push(field())
      skipSpace()
    }
    const next = input[pos]
    if (next === undefined || next === ',') {
      selectors.push({ fieldpath, operator: 'present', value: '' })
    } else {
      if (!isOperatorChar(next)) fail(`unexpected input: ${next}`)
      const start = pos
      while (pos < input.length && isOperatorChar(input[pos] as string)) pos++
      const op = input.slice(start, pos)
      if (op !== '==' && op !== '!=' && op !== '~=') {
        pos = start
        fail(`unsupported operator ${JSON.stringify(op)}`)
      }
      skipSpace()
      const c = input[pos]
      if (c === undefined) fail('expected value or quoted')
      let value: string
      if (isQuote(c as string)) value = quoted(op === '~=')
      else {
        const vstart = pos
        while (pos < input.length && input[pos] !== ',' && !isSpace(input[pos] as string)) pos++
        value = input.slice(vstart, pos)
      }
      const selector: Selector = { fieldpath, operator: op as Operator, value }
      if (op === '~=') {
        try {
          selector.re = compileRe2(value) // Go's regexp is RE2: linear time
        } catch {
          fail(`invalid regular expression ${JSON.stringify(value)}`)
        }
      }
      selectors.push(selector)
    }
    skipSpace()
    if (pos >= input.length) break
    if (input[pos] !== ',') fail(`unexpected input: ${input[pos]}`)
    pos++
  }
  return (adaptor) =>
    selectors.every((s) => {
      const value = adaptor(s.fieldpath)
      switch (s.operator) {
        case 'present':
          return value !== undefined
        case '==':
          return value !== undefined && value === s.value
        case '!=':
          return (value ?? '') !== s.value
        case '~=':
          return (s.re as Matcher).test(value ?? '')
      }
    })
}

/** Parses a request's filters (alternatives); a syntax error is InvalidArgument, as in containerd. */
export function parseFilters(filters: readonly string[]): Filter {
  if (filters.length === 0) return () => true
  const parsed = filters.map((f) => {
    try {
      return parseFilter(f)
    } catch (err) {
      if (err instanceof FilterSyntaxError) throw invalidArgument(`${err.message}: invalid argument`)
      throw err
    }
  })
  return (adaptor) => parsed.some((f) => f(adaptor))
}

/** containerd's checkMap: `labels.a.b` looks up the key "a.b". */
export function mapField(path: string[], map: Record<string, string> | undefined): string | undefined {
  if (!map || Object.keys(map).length === 0) return undefined
  const key = path.join('.')
  return Object.hasOwn(map, key) ? map[key] : undefined
}
