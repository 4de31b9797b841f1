// Commands that move or compute over data: tee, dd, base64, the checksum applets (md5sum, sha1sum,
// sha256sum, sha512sum), expr, and free (from the container's /proc/meminfo). Output, messages and
// exit codes as busybox prints them.
import { createHash, randomBytes } from 'node:crypto'
import { untilEnded, type Command, type CommandContext } from '../context.js'
import { abs, has, parseOptions, reason, readText } from './fs-common.js'
import { posixToJs } from './fs-regex.js'
import { human } from './fs-usage.js'
import { WRITABLE_LAYER_BYTES } from '../fs/mem.js'
import { fail, prog, scaleTo } from './util.js'
import { compileRegex, type Matcher, type RegexMatch } from '../../patterns/regex.js'

/** `tee [-a] [FILE]...`: copies stdin to stdout and each file, as it arrives. */
export const tee: Command = async (args, ctx) => {
  const o = parseOptions('tee', args.slice(1), { flags: 'ai', usage: '[-ai] [FILE]...' }, ctx)
  if (typeof o === 'number') return o
  let status = 0
  const files = o.operands.filter((f) => f !== '-')
  const open = new Set<string>()
  for (const f of files) {
    try {
      ctx.fs.writeFile(abs(ctx, f), '', { append: has(o, 'a') })
      open.add(f)
    } catch (err) {
      status = fail(args, ctx, `${f}: ${reason(err)}`)
    }
  }
  for (let chunk = await ctx.stdin.read(); chunk !== undefined; chunk = await ctx.stdin.read()) {
    ctx.write('stdout', chunk)
    for (const f of open) ctx.fs.writeFile(abs(ctx, f), chunk, { append: true })
  }
  return status
}

const DIGESTS: Record<string, string> = { md5sum: 'md5', sha1sum: 'sha1', sha256sum: 'sha256', sha512sum: 'sha512' }

/** `md5sum` and friends: "HASH  NAME" per file ("-" for stdin). */
const checksum =
  (applet: string): Command =>
  async (args, ctx) => {
    const o = parseOptions(applet, args.slice(1), { flags: 'bt', usage: '[FILE]...' }, ctx)
    if (typeof o === 'number') return o
    let status = 0
    for (const f of o.operands.length > 0 ? o.operands : ['-']) {
      try {
        const data = f === '-' ? Buffer.from(await ctx.stdin.readAll()) : ctx.fs.readFile(abs(ctx, f))
        ctx.write('stdout', `${createHash(DIGESTS[applet]!).update(data).digest('hex')}  ${f}\n`)
      } catch (err) {
        status = fail(args, ctx, `${f}: ${reason(err)}`)
      }
    }
    return status
  }

export const checksums: Record<string, Command> = Object.fromEntries(Object.keys(DIGESTS).map((name) => [name, checksum(name)]))

/** `base64 [-d] [-w COL] [FILE]`: lines of 76 characters unless -w says otherwise (0: one line). */
export const base64: Command = async (args, ctx) => {
  const o = parseOptions('base64', args.slice(1), { flags: 'd', valued: 'w', usage: '[-d] [-w COL] [FILE]' }, ctx)
  if (typeof o === 'number') return o
  let text: string
  try {
    text = await readText(ctx, o.operands[0])
  } catch (err) {
    return fail(args, ctx, `${o.operands[0]}: ${reason(err)}`)
  }
  if (has(o, 'd')) {
    const clean = text.replace(/\s+/g, '')
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return fail(args, ctx, 'invalid input')
    ctx.write('stdout', Buffer.from(clean, 'base64').toString('latin1'))
    return 0
  }
  const width = Number(o.values.get('w')?.at(-1) ?? 76)
  const encoded = Buffer.from(text, 'latin1').toString('base64')
  const wrapped = width > 0 ? (encoded.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join('\n') : encoded
  ctx.write('stdout', `${wrapped}\n`)
  return 0
}

// ---- dd

const DD_UNITS: Record<string, number> = { '': 1, c: 1, w: 2, b: 512, k: 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }

function ddNumber(text: string): number | undefined {
  const m = /^(\d+)([cwbkKMG]?)$/.exec(text)
  return m ? Number(m[1]) * DD_UNITS[m[2]!]! : undefined
}

/** "10.0MB" as busybox's dd prints sizes and rates. */
function ddSize(bytes: number): string {
  const { value, unit } = scaleTo(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB'])
  return unit === 'B' ? `${value}B` : `${value.toFixed(1)}${unit}`
}

/**
 * `dd [if=F] [of=F] [bs=N] [count=N] [skip=N] [seek=N] [conv=notrunc] [status=none]`: copies
 * blocks between files, devices (/dev/zero) and stdin/stdout; reports records and bytes on stderr.
 */
export const dd: Command = async (args, ctx) => {
  const buffer = { bytes: 0 }
  try {
    return await ddCopy(args, ctx, buffer)
  } finally {
    // The buffer goes with dd; a shell that ran it goes on.
    if (buffer.bytes > 0) ctx.memory?.free(ctx.pid ?? 1, buffer.bytes)
  }
}

async function ddCopy(args: readonly string[], ctx: CommandContext, buffer: { bytes: number }): Promise<number> {
  const opts: Record<string, string> = {}
  for (const a of args.slice(1)) {
    const eq = a.indexOf('=')
    if (eq <= 0) return fail(args, ctx, `invalid argument '${a}'`)
    opts[a.slice(0, eq)] = a.slice(eq + 1)
  }
  const num = (key: string, dflt: number): number | string => {
    if (opts[key] === undefined) return dflt
    return ddNumber(opts[key]) ?? `invalid number '${opts[key]}'`
  }
  const bs = num('bs', 512)
  const count = num('count', Infinity)
  const skip = num('skip', 0)
  const seek = num('seek', 0)
  for (const v of [bs, count, skip, seek]) if (typeof v === 'string') return fail(args, ctx, v)
  const [blockSize, blocks, skipBlocks, seekBlocks] = [bs, count, skip, seek] as number[]
  let input: Buffer
  // Copying from an endless device to /dev/null moves nothing worth making.
  const toNull = opts.of !== undefined && abs(ctx, opts.of) === '/dev/null'
  let nullBytes: number | undefined
  // dd reads into one buffer of bs bytes: what a read fills is memory its process touches, charged
  // to the container (bs=20M under a 15 MiB limit is the OOM killer's, as critest checks).
  const touch = (bytes: number): boolean => {
    buffer.bytes = Math.min(blockSize!, bytes)
    return !ctx.memory || ctx.memory.allocate(ctx.pid ?? 1, buffer.bytes)
  }
  let touched = false
  try {
    if (opts.if === undefined) input = Buffer.from(await ctx.stdin.readAll(), 'latin1')
    else {
      const path = abs(ctx, opts.if)
      const st = ctx.fs.stat(path)
      // An endless device gives as many blocks as asked for (no more than a writable layer holds:
      // the write of more would fail with ENOSPC anyway); to /dev/null without a count, dd copies
      // until it is ended.
      if (st?.type === 'char' && (path === '/dev/zero' || path.endsWith('random'))) {
        touched = true
        if (!touch(blockSize!)) return await untilEnded(ctx)
        if (blocks === Infinity && toNull) return await untilEnded(ctx)
        const wanted = blocks === Infinity ? WRITABLE_LAYER_BYTES + blockSize! : blocks! * blockSize!
        if (toNull) nullBytes = wanted
        const size = Math.min(wanted, toNull ? 0 : WRITABLE_LAYER_BYTES + blockSize!)
        input = path === '/dev/zero' ? Buffer.alloc(size) : randomBytes(size)
      } else input = ctx.fs.readFile(path)
    }
  } catch (err) {
    return fail(args, ctx, `can't open '${opts.if}': ${reason(err)}`)
  }
  if (!touched && input.length > 0 && !touch(input.length)) return await untilEnded(ctx)
  const from = skipBlocks! * blockSize!
  const data = input.subarray(from, blocks === Infinity ? undefined : from + blocks! * blockSize!)
  const copied = nullBytes ?? data.length
  const full = Math.floor(copied / blockSize!)
  const partial = copied % blockSize! ? 1 : 0
  try {
    if (toNull) {
      // discarded
    } else if (opts.of === undefined) ctx.write('stdout', data.toString('latin1'))
    else {
      const path = abs(ctx, opts.of)
      let out = Buffer.alloc(0)
      if (seekBlocks! > 0 || opts.conv?.split(',').includes('notrunc')) {
        try {
          out = Buffer.from(ctx.fs.readFile(path))
        } catch {
          out = Buffer.alloc(0)
        }
      }
      const at = seekBlocks! * blockSize!
      const size = opts.conv?.split(',').includes('notrunc') ? Math.max(out.length, at + data.length) : at + data.length
      const result = Buffer.alloc(size)
      out.copy(result, 0, 0, Math.min(out.length, size))
      data.copy(result, at)
      ctx.fs.writeFile(path, result)
    }
  } catch (err) {
    return fail(args, ctx, `error writing '${opts.of}': ${reason(err)}`)
  }
  if (opts.status !== 'none') {
    const records = `${full}+${partial} records`
    const noxfer =
      opts.status === 'noxfer' ? '' : `${copied} bytes (${ddSize(copied)}) copied, 0.000100 seconds, ${ddSize(copied * 10000)}/s\n`
    ctx.write('stderr', `${records} in\n${records} out\n${noxfer}`)
  }
  return 0
}

// ---- expr

type Value = string | number

const isInt = (v: Value): boolean => typeof v === 'number' || /^[-+]?\d+$/.test(v)
const truthy = (v: Value): boolean => !(v === '' || v === 0 || v === '0')

class ExprError extends Error {}

/** Evaluates expr's grammar by precedence: | & (comparisons) (+ -) (* / %) : and the string functions. */
function evaluate(tokens: string[]): Value {
  let pos = 0
  const peek = (): string | undefined => tokens[pos]
  const next = (): string => {
    const t = tokens[pos++]
    if (t === undefined) throw new ExprError('syntax error')
    return t
  }
  const int = (v: Value): number => {
    if (!isInt(v)) throw new ExprError('non-numeric argument')
    return Number(v)
  }
  const binary = (ops: string[], sub: () => Value, apply: (op: string, a: Value, b: Value) => Value) => (): Value => {
    let left = sub()
    while (ops.includes(peek() ?? '')) {
      const op = next()
      left = apply(op, left, sub())
    }
    return left
  }
  const primary = (): Value => {
    const t = next()
    if (t === '(') {
      const v = or()
      if (next() !== ')') throw new ExprError('syntax error')
      return v
    }
    if (t === 'length') return String(primary()).length
    if (t === 'substr') {
      const s = String(primary())
      const from = int(primary())
      const len = int(primary())
      return from < 1 || len < 1 ? '' : s.substr(from - 1, len)
    }
    if (t === 'index') {
      const s = String(primary())
      const chars = String(primary())
      const i = [...s].findIndex((c) => chars.includes(c))
      return i + 1
    }
    if (t === 'match') return match(String(primary()), String(primary()))
    if (t === '+') return next()
    return t
  }
  const match = (s: string, re: string): Value => {
    let rx: Matcher
    try {
      // expr's pattern is a BRE anchored at the start, as grep's and sed's are read.
      rx = compileRegex(`^(?:${posixToJs(re, false)})`)
    } catch {
      throw new ExprError('syntax error')
    }
    let m: RegexMatch | undefined
    try {
      m = rx.exec(s)
    } catch {
      throw new ExprError('pattern too complex')
    }
    if (/\\\(/.test(re)) return m?.[1] ?? ''
    return m ? m[0].length : 0
  }
  const colon = binary([':'], primary, (_op, a, b) => match(String(a), String(b)))
  const mul = binary(['*', '/', '%'], colon, (op, a, b) => {
    const [x, y] = [int(a), int(b)]
    if (op !== '*' && y === 0) throw new ExprError('division by zero')
    return op === '*' ? x * y : op === '/' ? Math.trunc(x / y) : x % y
  })
  const add = binary(['+', '-'], mul, (op, a, b) => (op === '+' ? int(a) + int(b) : int(a) - int(b)))
  const cmp = binary(['<', '<=', '=', '==', '!=', '>=', '>'], add, (op, a, b) => {
    const c = isInt(a) && isInt(b) ? Number(a) - Number(b) : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
    const r = { '<': c < 0, '<=': c <= 0, '=': c === 0, '==': c === 0, '!=': c !== 0, '>=': c >= 0, '>': c > 0 }[op]
    return r ? 1 : 0
  })
  const and = binary(['&'], cmp, (_op, a, b) => (truthy(a) && truthy(b) ? a : 0))
  const or = binary(['|'], and, (_op, a, b) => (truthy(a) ? a : truthy(b) ? b : 0))
  const result = or()
  if (pos !== tokens.length) throw new ExprError('syntax error')
  return result
}

/** `expr EXPRESSION`: prints the value; exit 1 when it is null or 0, 2 when the expression is invalid. */
export const expr: Command = async (args, ctx) => {
  if (args.length < 2) {
    ctx.write('stderr', `Usage: ${prog(args, ctx)} EXPRESSION\n`)
    return 1
  }
  try {
    const v = evaluate(args.slice(1))
    ctx.write('stdout', `${v}\n`)
    return truthy(v) ? 0 : 1
  } catch (err) {
    if (!(err instanceof ExprError)) throw err
    return fail(args, ctx, err.message, 2)
  }
}

// ---- free

/** `free [-bkmgh]`: memory from the container's /proc/meminfo (the node's, as on a real node). */
export const free: Command = async (args, ctx: CommandContext) => {
  const o = parseOptions('free', args.slice(1), { flags: 'bkmgh', usage: '[-bkmgh]' }, ctx)
  if (typeof o === 'number') return o
  const info = new Map<string, number>()
  try {
    for (const line of ctx.fs.readFile('/proc/meminfo').toString('utf8').split('\n')) {
      const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line)
      if (m) info.set(m[1]!, Number(m[2]))
    }
  } catch (err) {
    return fail(args, ctx, `/proc/meminfo: ${reason(err)}`)
  }
  const kb = (k: string): number => info.get(k) ?? 0
  const total = kb('MemTotal')
  const freeKb = kb('MemFree')
  const cache = kb('Buffers') + kb('Cached') + kb('SReclaimable')
  const used = Math.max(0, total - freeKb - cache)
  const scale = (k: number): string => {
    if (has(o, 'h')) return human(k)
    const div = has(o, 'b') ? 1 / 1024 : has(o, 'm') ? 1024 : has(o, 'g') ? 1024 * 1024 : 1
    return String(Math.floor(k / div))
  }
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(7) : c.padStart(12))).join('')
  ctx.write(
    'stdout',
    `${row(['', 'total', 'used', 'free', 'shared', 'buff/cache', 'available'])}\n` +
      `${row(['Mem:', scale(total), scale(used), scale(freeKb), scale(kb('Shmem')), scale(cache), scale(kb('MemAvailable'))])}\n` +
      `${row(['Swap:', scale(kb('SwapTotal')), scale(kb('SwapTotal') - kb('SwapFree')), scale(kb('SwapFree'))])}\n`,
  )
  return 0
}
