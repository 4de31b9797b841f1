// awk's values: numbers, strings, and "strnums" (text from input that looks like a number and then
// compares as one), with the conversions between them and printf's formatting as busybox has it.
import { formatFloat, formatInt, pad } from '../text.js'

/** Text from input (a field, $0, a split element, a -v value); `numeric` when it looks like a number. */
export class Str {
  constructor(
    readonly s: string,
    readonly numeric: boolean,
  ) {}
}

export type V = number | string | Str

/** An uninitialised variable: "" as a string, 0 as a number, equal to both. */
export const UNINIT = new Str('', true)

/** A runtime error busybox reports like a syntax error ("awk: cmd. line:1: Division by zero"). */
export class AwkRuntimeError extends Error {}

/** An error busybox reports without a program line ("awk: can't open 'x': No such file or directory"). */
export class AwkFatal extends Error {}

const NUMERIC = /^[ \t\n]*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[ \t\n]*$/
const NUMBER_PREFIX = /^[ \t\n]*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/

export const strnum = (s: string): Str => new Str(s, NUMERIC.test(s))

/** A string's value as a number: its leading number, 0 when it has none ("3x" is 3). */
export function strToNum(s: string): number {
  const m = NUMBER_PREFIX.exec(s)
  return m ? Number(m[0]) : 0
}

export function toNum(v: V): number {
  if (typeof v === 'number') return v
  return strToNum(typeof v === 'string' ? v : v.s)
}

/**
 * A number as awk prints it: an integer that fits a long long as one (busybox's fmt_num: 1e18 is
 * "1000000000000000000"), anything else with the format (CONVFMT or OFMT).
 */
export function numToStr(n: number, fmt: string): string {
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return BigInt(n).toString()
  return sprintf(fmt, [n])
}

export function toStr(v: V, convfmt = '%.6g'): string {
  if (typeof v === 'number') return numToStr(v, convfmt)
  return typeof v === 'string' ? v : v.s
}

export const isNum = (v: V): boolean => typeof v === 'number' || (v instanceof Str && v.numeric)

export function truthy(v: V): boolean {
  if (typeof v === 'number') return v !== 0
  if (typeof v === 'string') return v !== ''
  return v.numeric ? strToNum(v.s) !== 0 : v.s !== ''
}

/** -1, 0 or 1: numerically when both sides are numbers or numeric input, else as strings. */
export function compare(a: V, b: V, convfmt: string): number {
  if (isNum(a) && isNum(b)) {
    const x = toNum(a)
    const y = toNum(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  const x = toStr(a, convfmt)
  const y = toStr(b, convfmt)
  return x < y ? -1 : x > y ? 1 : 0
}

/** C's (int) cast, as busybox passes %d's argument. */
const toInt32 = (n: number): bigint => (Number.isFinite(n) ? BigInt.asIntN(32, BigInt(Math.trunc(n))) : 0n)

/** awk's sprintf/printf: %c %d %i %o %u %x %X %e %E %f %F %g %G %s %%, flags, width, precision. */
export function sprintf(format: string, args: readonly V[], convfmt = '%.6g'): string {
  let out = ''
  let next = 0
  const arg = (): V => args[next++] ?? UNINIT
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string
    if (c !== '%') {
      out += c
      continue
    }
    const m = /^%([-+ #0]*)(\d*)(?:\.(\d*))?([a-zA-Z%*])?/.exec(format.slice(i)) as RegExpExecArray
    const conv = m[4]
    if (conv === '*') throw new AwkRuntimeError('%*x formats are not supported')
    if (conv === undefined) {
      // "%" without a letter: the rest is printed as it is.
      out += format.slice(i)
      break
    }
    i += m[0].length - 1
    if (conv === '%') {
      out += '%'
      continue
    }
    const spec = {
      flags: m[1] ?? '',
      width: m[2] ? Number(m[2]) : undefined,
      precision: m[3] === undefined ? undefined : Number(m[3] || '0'),
      conv,
    }
    if (conv === 's' || conv === 'c') {
      const v = arg()
      let s =
        conv === 'c' ? (isNum(v) ? String.fromCharCode(Math.trunc(toNum(v)) & 0xff) : toStr(v, convfmt).slice(0, 1)) : toStr(v, convfmt)
      if (conv === 's' && spec.precision !== undefined) s = s.slice(0, spec.precision)
      out += pad(s, spec, false)
    } else if ('diouxX'.includes(conv)) out += formatInt(toInt32(toNum(arg())), { ...spec, conv: conv === 'u' ? 'u' : conv })
    else if ('eEfFgG'.includes(conv)) out += formatFloat(toNum(arg()), spec)
    else out += m[0] // gawk and busybox print an unknown conversion as it is
  }
  return out
}
