// Small helpers the commands share: busybox-style error messages, pacing for endless writers, C
// escape sequences, the simulated time, and user/group names from the container's /etc files.
import type { CommandContext } from '../context.js'

export const basename = (p: string): string => {
  const trimmed = p.replace(/\/+$/, '')
  return trimmed === '' ? (p.startsWith('/') ? '/' : '') : (trimmed.split('/').pop() as string)
}

/** The name error messages begin with: the shell's for a shell builtin, else the command's. */
export const prog = (args: readonly string[], ctx: CommandContext): string => ctx.applet ?? basename(args[0] ?? '')

/** A size in the largest of `units` (each `base` times the one before) that keeps it at least 1. */
export function scaleTo(value: number, base: number, units: readonly string[]): { value: number; unit: string } {
  let v = value
  let u = 0
  while (v >= base && u < units.length - 1) {
    v /= base
    u++
  }
  return { value: v, unit: units[u]! }
}

/** Prints "prog: message" to stderr and returns the status. */
export function fail(args: readonly string[], ctx: CommandContext, message: string, status = 1): number {
  ctx.write('stderr', `${prog(args, ctx)}: ${message}\n`)
  return status
}

export function usage(args: readonly string[], ctx: CommandContext, text: string): number {
  ctx.write('stderr', `Usage: ${basename(args[0] ?? '')} ${text}\n`)
  return 1
}

/** Waits until the reader has taken the output (or a turn of the event loop): for endless writers. */
export async function pace(ctx: CommandContext): Promise<void> {
  if (ctx.drain) await ctx.drain()
  else await new Promise((resolve) => setImmediate(resolve))
  if (ctx.signal.aborted) throw ctx.signal.reason
}

/** Writes a large or endless output in chunks, waiting for the reader between them. */
export async function writeChunked(ctx: CommandContext, lines: Iterable<string>, chunk = 8192): Promise<void> {
  let buf = ''
  for (const line of lines) {
    buf += line
    if (buf.length >= chunk) {
      ctx.write('stdout', buf)
      buf = ''
      await pace(ctx)
    }
  }
  if (buf !== '') ctx.write('stdout', buf)
}

const SIMPLE: Record<string, string> = { a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' }

/** The character of the escape sequence after a backslash at s[i-1]: [text, characters consumed]. */
export function escapeAt(s: string, i: number): [string, number] {
  const c = s[i]
  if (c === undefined) return ['\\', 0]
  const simple = SIMPLE[c]
  if (simple !== undefined) return [simple, 1]
  const oct = /^[0-7]{1,3}/.exec(s.slice(i, i + 3))
  if (oct) return [String.fromCharCode(parseInt(oct[0], 8) & 0xff), oct[0].length]
  if (c === 'x') {
    const hex = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1, i + 3))
    if (hex) return [String.fromCharCode(parseInt(hex[0], 16)), 1 + hex[0].length]
  }
  return ['\\', 0]
}

/** Processes C escapes (echo -e, printf %b); `stopped` when \c ended the output. */
export function unescape(s: string, echo: boolean): { text: string; stopped: boolean } {
  let text = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string
    if (c !== '\\') {
      text += c
      continue
    }
    if (s[i + 1] === 'c') return { text, stopped: true }
    let j = i + 1
    // echo and %b take \0NNN: a leading 0 before up to three octal digits.
    if (echo && s[j] === '0' && /[0-7]/.test(s[j + 1] ?? '')) j++
    const [ch, n] = escapeAt(s, j)
    text += ch
    i = j + n - 1
    if (n === 0) i = j - 1
  }
  return { text, stopped: false }
}

/** Simulated now (ms): the clock's when it tells it (SimClock), else real time. */
export function now(ctx: CommandContext): number {
  const clock = ctx.clock as { now?: () => number }
  return typeof clock.now === 'function' ? clock.now() : Date.now()
}

/** The lines of a file of the container (none when it cannot be read), split into fields; comments and blank lines skipped. */
export function readEntries(ctx: CommandContext, path: string, separator: string | RegExp = ':'): string[][] {
  try {
    return ctx.fs
      .readFile(path)
      .toString('utf8')
      .split('\n')
      .map((l) => (separator === ':' ? l : l.replace(/#.*/, '').trim()))
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(separator))
  } catch {
    return []
  }
}

export function userName(ctx: CommandContext, uid: number): string | undefined {
  if (uid === ctx.identity.uid && ctx.identity.user !== undefined) return ctx.identity.user
  return readEntries(ctx, '/etc/passwd').find((f) => Number(f[2]) === uid)?.[0] ?? (uid === 0 ? 'root' : undefined)
}

export function groupName(ctx: CommandContext, gid: number): string | undefined {
  if (gid === ctx.identity.gid && ctx.identity.group !== undefined) return ctx.identity.group
  return readEntries(ctx, '/etc/group').find((f) => Number(f[2]) === gid)?.[0] ?? (gid === 0 ? 'root' : undefined)
}

export function passwdEntry(ctx: CommandContext, name: string): { uid: number; gid: number } | undefined {
  const f = readEntries(ctx, '/etc/passwd').find((e) => e[0] === name)
  return f ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined
}

/** The groups a user is a member of by /etc/group. */
export function memberGroups(ctx: CommandContext, user: string): number[] {
  return readEntries(ctx, '/etc/group')
    .filter((f) => (f[3] ?? '').split(',').includes(user))
    .map((f) => Number(f[2]))
}
