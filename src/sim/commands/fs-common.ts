// What the filesystem commands share: busybox-style option parsing, error wording, reading a
// file argument or stdin, the simulated time.
import type { CommandContext } from '../context.js'
import { FS_MESSAGES, FsError, resolvePath, type FileStat } from '../fs/types.js'

export const BUSYBOX_BANNER = 'BusyBox v1.37.0 (fake-containerd) multi-call binary.'

export interface Options {
  /** Flags given, in order (a flag given twice appears twice). */
  flags: string[]
  /** Values of options that take one, by letter; repeated ones in order. */
  values: Map<string, string[]>
  operands: string[]
}

export interface OptionSpec {
  /** Letters that are plain flags ("laA1dn"). */
  flags: string
  /** Letters that take a value ("n" for -n 5 or -n5). */
  valued?: string
  usage: string
  /** Options end at the first operand (getopt's "+"), as for a command that runs a program. */
  leading?: boolean
}

/** A usage error: busybox prints its banner and the applet's usage line and exits 1. */
export function usage(ctx: CommandContext, cmd: string, spec: { usage: string }, message?: string): number {
  ctx.write('stderr', `${message ? `${cmd}: ${message}\n` : ''}${BUSYBOX_BANNER}\n\nUsage: ${cmd} ${spec.usage}\n`)
  return 1
}

/**
 * Parses options the way busybox's getopt32 does (bundled flags, -nVALUE or -n VALUE, "--" ends
 * options, a lone "-" is an operand); options may follow operands. Returns an exit code on a bad option.
 */
export function parseOptions(cmd: string, args: readonly string[], spec: OptionSpec, ctx: CommandContext): Options | number {
  const out: Options = { flags: [], values: new Map(), operands: [] }
  const valued = spec.valued ?? ''
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      out.operands.push(...args.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (spec.leading) {
        out.operands.push(...args.slice(i))
        break
      }
      out.operands.push(arg)
      continue
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j] as string
      if (valued.includes(c)) {
        const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++i]
        if (value === undefined) return usage(ctx, cmd, spec, `option requires an argument -- '${c}'`)
        const list = out.values.get(c) ?? []
        list.push(value)
        out.values.set(c, list)
        break
      }
      if (!spec.flags.includes(c)) return usage(ctx, cmd, spec, `invalid option -- '${c}'`)
      out.flags.push(c)
    }
  }
  return out
}

export const has = (o: Options, flag: string): boolean => o.flags.includes(flag)
export const last = (o: Options, letter: string): string | undefined => o.values.get(letter)?.at(-1)

/** "No such file or directory" for an FsError, the message of anything else. */
export function reason(err: unknown): string {
  if (err instanceof FsError) return FS_MESSAGES[err.code]
  return err instanceof Error ? err.message : String(err)
}

/** A path's last component ("/" for the root). */
export const base = (p: string): string => {
  const trimmed = p.replace(/\/+$/, '')
  return trimmed === '' ? '/' : trimmed.slice(trimmed.lastIndexOf('/') + 1)
}

/** A name in a directory operand, as given (no doubled slash). */
export const join = (dir: string, name: string): string => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`)

/** Writes a line of error to stderr. */
export const err = (ctx: CommandContext, text: string): void => ctx.write('stderr', `${text}\n`)

export const abs = (ctx: CommandContext, path: string): string => resolvePath(ctx.cwd, path)

/** Simulated now: the clock's when it has one (SimClock), else real time. */
export function nowMs(ctx: CommandContext): number {
  const clock = ctx.clock as { now?: () => number }
  return typeof clock.now === 'function' ? clock.now() : Date.now()
}

/**
 * Why a path cannot be looked at (stat returns undefined without a reason): realpath of the path,
 * or of its parent for lstat, throws the resolution error (ENOENT, ENOTDIR, ELOOP, EACCES).
 */
export function statError(ctx: CommandContext, path: string, follow: boolean): string {
  const p = abs(ctx, path)
  try {
    if (follow) ctx.fs.realpath(p)
    else {
      const parent = p.slice(0, p.lastIndexOf('/')) || '/'
      ctx.fs.realpath(parent)
      if (!ctx.fs.lstat(p)) return FS_MESSAGES.ENOENT
      if (ctx.fs.stat(parent)?.type !== 'dir') return FS_MESSAGES.ENOTDIR
    }
  } catch (err) {
    return reason(err)
  }
  return FS_MESSAGES.ENOENT
}

/** stat or lstat with a reason when there is nothing. */
export function statOr(ctx: CommandContext, path: string, follow: boolean): FileStat | string {
  const p = abs(ctx, path)
  const st = follow ? ctx.fs.stat(p) : ctx.fs.lstat(p)
  return st ?? statError(ctx, path, follow)
}

/** A file operand's text, or stdin for none or "-". Throws FsError. */
export async function readText(ctx: CommandContext, file: string | undefined): Promise<string> {
  if (file === undefined || file === '-') return ctx.stdin.readAll()
  return ctx.fs.readFile(abs(ctx, file)).toString('utf8')
}

/** Splits text into lines; a last line without a newline is still a line. */
export function lines(text: string): string[] {
  if (text === '') return []
  const out = text.split('\n')
  if (out[out.length - 1] === '') out.pop()
  return out
}

/** Permission bits as ls shows them ("drwxr-xr-x"). */
export function modeString(st: FileStat): string {
  const type = st.type === 'dir' ? 'd' : st.type === 'symlink' ? 'l' : st.type === 'char' ? 'c' : '-'
  const m = st.mode
  const bit = (mask: number, c: string): string => (m & mask ? c : '-')
  const special = (x: boolean, s: boolean, lower: string, upper: string): string => (s ? (x ? lower : upper) : x ? 'x' : '-')
  return (
    type +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special((m & 0o100) !== 0, (m & 0o4000) !== 0, 's', 'S') +
    bit(0o40, 'r') +
    bit(0o20, 'w') +
    special((m & 0o10) !== 0, (m & 0o2000) !== 0, 's', 'S') +
    bit(0o4, 'r') +
    bit(0o2, 'w') +
    special((m & 0o1) !== 0, (m & 0o1000) !== 0, 't', 'T')
  )
}

/** 512-byte blocks a file takes on a 4 KiB-block filesystem. */
export const blocks = (st: FileStat): number => (st.type === 'file' || st.type === 'dir' ? Math.ceil(st.size / 4096) * 8 : 0)

/** Parses a count such as "10", "+3", "2k" (busybox suffixes: b 512, k 1024, m 1048576). */
export function parseCount(text: string): number | undefined {
  const m = /^([+-]?)(\d+)(b|k|K|m|M)?$/.exec(text)
  if (!m) return undefined
  const mult = m[3] === 'b' ? 512 : m[3] === 'k' || m[3] === 'K' ? 1024 : m[3] === 'm' || m[3] === 'M' ? 1048576 : 1
  return Number(m[2]) * mult
}

/** Streams stdin chunk by chunk (for commands that can stop early or follow a pipe). */
export async function* chunks(ctx: CommandContext): AsyncGenerator<string> {
  for (;;) {
    const chunk = await ctx.stdin.read()
    if (chunk === undefined) return
    yield chunk
  }
}
