// Commands that produce text from their arguments: echo, printf, yes, seq, basename, dirname, true, false.
import type { Command, CommandContext } from '../context.js'
import { basename, escapeAt, fail, pace, unescape, usage, writeChunked } from './util.js'

const echo: Command = async (args, ctx) => {
  let i = 1
  let newline = true
  let escapes = false
  for (; i < args.length; i++) {
    const a = args[i] as string
    if (!/^-[neE]+$/.test(a)) break
    for (const c of a.slice(1)) {
      if (c === 'n') newline = false
      else escapes = c === 'e'
    }
  }
  let text = args.slice(i).join(' ')
  if (escapes) {
    const r = unescape(text, true)
    text = r.text
    if (r.stopped) newline = false
  }
  ctx.write('stdout', newline ? `${text}\n` : text)
  return 0
}

// ---- printf

export interface Spec {
  flags: string
  width: number | undefined
  precision: number | undefined
  conv: string
}

class PrintfState {
  status = 0
  constructor(
    readonly args: readonly string[],
    readonly name: string,
    readonly ctx: CommandContext,
  ) {}
  i = 0
  next(): string | undefined {
    return this.args[this.i++]
  }
  bad(arg: string): void {
    this.ctx.write('stderr', `${this.name}: invalid number '${arg}'\n`)
    this.status = 1
  }
  integer(arg: string | undefined): bigint {
    if (arg === undefined || arg === '') return 0n
    if (/^['"]/.test(arg)) return BigInt(arg.codePointAt(1) ?? 0)
    const t = arg.trim()
    const m = /^[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(t)
    if (!m) {
      this.bad(arg)
      return 0n
    }
    if (m[0].length !== t.length) this.bad(arg)
    const neg = t.startsWith('-')
    const digits = m[1] as string
    const v = /^0[xX]/.test(digits)
      ? BigInt(digits)
      : digits.length > 1 && digits.startsWith('0')
        ? BigInt(`0o${digits.slice(1)}`)
        : BigInt(digits)
    return BigInt.asIntN(64, neg ? -v : v)
  }
  float(arg: string | undefined): number {
    if (arg === undefined || arg === '') return 0
    if (/^['"]/.test(arg)) return arg.codePointAt(1) ?? 0
    const v = Number(arg.trim())
    if (Number.isNaN(v) && !/^[+-]?nan$/i.test(arg.trim())) {
      const prefix = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(arg.trim())
      this.bad(arg)
      return prefix ? Number(prefix[0]) : 0
    }
    return v
  }
}

export function pad(s: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0
  if (s.length >= width) return s
  if (spec.flags.includes('-')) return s.padEnd(width)
  if (numeric && spec.flags.includes('0')) {
    const sign = /^[+\- ]|^0[xX]/.exec(s)?.[0] ?? ''
    return sign + s.slice(sign.length).padStart(width - sign.length, '0')
  }
  return s.padStart(width)
}

export function formatInt(v: bigint, spec: Spec): string {
  const signed = spec.conv === 'd' || spec.conv === 'i'
  let digits: string
  let sign = ''
  if (signed) {
    digits = (v < 0n ? -v : v).toString()
    sign = v < 0n ? '-' : spec.flags.includes('+') ? '+' : spec.flags.includes(' ') ? ' ' : ''
  } else {
    const u = BigInt.asUintN(64, v)
    digits = u.toString(spec.conv === 'o' ? 8 : spec.conv === 'u' ? 10 : 16)
    if (spec.conv === 'X') digits = digits.toUpperCase()
    if (spec.flags.includes('#') && u !== 0n) {
      if (spec.conv === 'o') digits = `0${digits}`
      else if (spec.conv === 'x') sign = '0x'
      else if (spec.conv === 'X') sign = '0X'
    }
  }
  if (spec.precision !== undefined) {
    digits = spec.precision === 0 && v === 0n ? '' : digits.padStart(spec.precision, '0')
    return pad(sign + digits, { ...spec, flags: spec.flags.replace('0', '') }, true)
  }
  return pad(sign + digits, spec, true)
}

function expFix(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2')
}

export function formatFloat(v: number, spec: Spec): string {
  const p = spec.precision ?? 6
  let s: string
  if (!Number.isFinite(v)) s = Number.isNaN(v) ? 'nan' : v < 0 ? '-inf' : 'inf'
  else if (spec.conv === 'f' || spec.conv === 'F') s = v.toFixed(p)
  else if (spec.conv === 'e' || spec.conv === 'E') s = expFix(v.toExponential(p))
  else {
    const P = p === 0 ? 1 : p
    const x = v === 0 ? 0 : Math.floor(Math.log10(Math.abs(v)))
    s = P > x && x >= -4 ? v.toFixed(Math.max(0, P - 1 - x)) : expFix(v.toExponential(P - 1))
    if (!spec.flags.includes('#') && s.includes('.')) s = s.replace(/\.?0+(e|$)/, '$1')
  }
  if (/[EFG]/.test(spec.conv)) s = s.toUpperCase()
  if (v >= 0 && !s.startsWith('-')) s = (spec.flags.includes('+') ? '+' : spec.flags.includes(' ') ? ' ' : '') + s
  return pad(s, spec, Number.isFinite(v))
}

/** One pass over the format; returns true when \c (in %b) ended all output. */
function render(format: string, st: PrintfState, out: string[]): boolean {
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string
    if (c === '\\') {
      if (format[i + 1] === '"') {
        out.push('"')
        i++
        continue
      }
      const [ch, len] = escapeAt(format, i + 1)
      out.push(ch)
      i += len
      continue
    }
    if (c !== '%') {
      out.push(c)
      continue
    }
    const m = /^%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?[hlLqjzt]*(.)?/.exec(format.slice(i))
    if (!m) {
      out.push(c)
      continue
    }
    i += m[0].length - 1
    const conv = m[4]
    if (conv === '%') {
      out.push('%')
      continue
    }
    if (conv === undefined) {
      out.push(m[0])
      continue
    }
    const width = m[2] === '*' ? Number(st.integer(st.next())) : m[2] !== undefined ? Number(m[2]) : undefined
    const precision = m[3] === undefined ? undefined : m[3] === '*' ? Number(st.integer(st.next())) : Number(m[3] || '0')
    let flags = m[1] ?? ''
    let w = width
    if (w !== undefined && w < 0) {
      flags += '-'
      w = -w
    }
    const spec: Spec = { flags, width: w, precision, conv }
    switch (conv) {
      case 's': {
        const s = st.next() ?? ''
        out.push(pad(precision === undefined ? s : s.slice(0, precision), spec, false))
        break
      }
      case 'b': {
        const r = unescape(st.next() ?? '', true)
        out.push(pad(precision === undefined ? r.text : r.text.slice(0, precision), spec, false))
        if (r.stopped) return true
        break
      }
      case 'c':
        out.push(pad((st.next() ?? '').slice(0, 1), spec, false))
        break
      case 'd':
      case 'i':
      case 'o':
      case 'u':
      case 'x':
      case 'X':
        out.push(formatInt(st.integer(st.next()), spec))
        break
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        out.push(formatFloat(st.float(st.next()), spec))
        break
      default:
        st.ctx.write('stderr', `${st.name}: %${conv}: invalid format\n`)
        st.status = 1
        return true
    }
  }
  return false
}

const printf: Command = async (args, ctx) => {
  let rest = args.slice(1)
  if (rest[0] === '--') rest = rest.slice(1)
  const format = rest[0]
  if (format === undefined) return usage(args, ctx, 'FORMAT [ARG]...')
  const st = new PrintfState(rest.slice(1), ctx.applet ?? basename(args[0] ?? 'printf'), ctx)
  const out: string[] = []
  for (;;) {
    const before = st.i
    if (render(format, st, out)) break
    if (st.i >= st.args.length || st.i === before) break
  }
  ctx.write('stdout', out.join(''))
  return st.status
}

// ---- yes, seq

const yes: Command = async (args, ctx) => {
  const line = `${args.length > 1 ? args.slice(1).join(' ') : 'y'}\n`
  const chunk = line.repeat(Math.max(1, Math.floor(4096 / line.length)))
  for (;;) {
    ctx.write('stdout', chunk)
    await pace(ctx)
  }
}

const seq: Command = async (args, ctx) => {
  let sep = '\n'
  let equal = false
  const nums: string[] = []
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (nums.length === 0 && a === '-w') equal = true
    else if (nums.length === 0 && a === '-s') sep = args[++i] ?? '\n'
    else if (nums.length === 0 && a.startsWith('-s')) sep = a.slice(2)
    else nums.push(a)
  }
  const values = nums.map(Number)
  if (nums.length < 1 || nums.length > 3 || values.some((v, i) => Number.isNaN(v) || (nums[i] as string).trim() === '')) {
    if (nums.length >= 1 && nums.length <= 3) {
      const bad = nums.find((n) => Number.isNaN(Number(n)) || n.trim() === '') as string
      return fail(args, ctx, `invalid number '${bad}'`)
    }
    return usage(args, ctx, '[-w] [-s SEP] [FIRST [INC]] LAST')
  }
  const last = values[values.length - 1] as number
  const first = nums.length > 1 ? (values[0] as number) : 1
  const inc = nums.length === 3 ? (values[1] as number) : 1
  // Decimals: the most any argument but LAST has; width: the widest integer part.
  let frac = 0
  let width = 0
  nums.forEach((n, i) => {
    const dot = n.indexOf('.')
    width = Math.max(width, dot === -1 ? n.length : dot)
    if (i < nums.length - 1 || nums.length === 1) frac = Math.max(frac, dot === -1 ? 0 : n.length - dot - 1)
  })
  if (nums.length === 1) frac = 0
  if (frac > 0) width += frac + 1
  const fmt = (v: number): string => {
    const s = v.toFixed(frac)
    return equal ? (s.startsWith('-') ? `-${s.slice(1).padStart(width - 1, '0')}` : s.padStart(width, '0')) : s
  }
  function* lines(): Generator<string> {
    if (inc === 0) return
    for (let n = 0; ; n++) {
      const v = first + n * inc
      if (inc > 0 ? v > last : v < last) return
      yield n === 0 ? fmt(v) : sep + fmt(v)
    }
  }
  let any = false
  await writeChunked(
    ctx,
    (function* () {
      for (const l of lines()) {
        any = true
        yield l
      }
    })(),
  )
  if (any) ctx.write('stdout', '\n')
  return 0
}

// ---- names

function baseOf(name: string, suffix?: string): string {
  let b = basename(name)
  if (suffix !== undefined && suffix !== '' && b !== suffix && b.endsWith(suffix)) b = b.slice(0, -suffix.length)
  return b
}

const basenameCmd: Command = async (args, ctx) => {
  let rest = args.slice(1)
  let multiple = false
  let suffix: string | undefined
  while (rest[0] !== undefined && /^-[as]/.test(rest[0])) {
    const o = rest[0]
    if (o === '-a') multiple = true
    else if (o === '-s') {
      suffix = rest[1]
      multiple = true
      rest = rest.slice(1)
    } else if (o.startsWith('-s')) {
      suffix = o.slice(2)
      multiple = true
    }
    rest = rest.slice(1)
  }
  if (rest[0] === '--') rest = rest.slice(1)
  if (rest.length === 0) return usage(args, ctx, 'FILE [SUFFIX]')
  if (multiple) {
    ctx.write('stdout', rest.map((n) => `${baseOf(n, suffix)}\n`).join(''))
    return 0
  }
  if (rest.length > 2) return usage(args, ctx, 'FILE [SUFFIX]')
  ctx.write('stdout', `${baseOf(rest[0] as string, rest[1])}\n`)
  return 0
}

export function dirnameOf(p: string): string {
  const trimmed = p.replace(/\/+$/, '')
  if (trimmed === '') return p.startsWith('/') ? '/' : '.'
  const slash = trimmed.lastIndexOf('/')
  if (slash === -1) return '.'
  const dir = trimmed.slice(0, slash).replace(/\/+$/, '')
  return dir === '' ? '/' : dir
}

const dirname: Command = async (args, ctx) => {
  const rest = args[1] === '--' ? args.slice(2) : args.slice(1)
  if (rest.length === 0) return usage(args, ctx, 'FILENAME')
  ctx.write('stdout', rest.map((n) => `${dirnameOf(n)}\n`).join(''))
  return 0
}

export const textCommands: Record<string, Command> = {
  echo,
  printf,
  yes,
  seq,
  basename: basenameCmd,
  dirname,
  true: async () => 0,
  false: async () => 1,
}
