// How the text commands (wc, grep, head, tail, sed, cut, tr, sort, uniq) read their operands and
// report a file they cannot read, as busybox's applets do; shared by them, so in a module of its own.
import type { CommandContext } from '../context.js'
import { FsError } from '../fs/types.js'
import { abs, err, reason } from './fs-common.js'

export { err }

export const STDIN_NAME = '(standard input)'

/**
 * Reads an operand as bytes; on failure prints busybox's message and returns undefined. "perror"
 * applets (fopen_or_warn) say "cmd: FILE: reason"; "open" applets (open_or_warn) say
 * "cmd: can't open 'FILE': reason" and "cmd: read error: Is a directory".
 */
export async function open(ctx: CommandContext, cmd: string, file: string, style: 'perror' | 'open'): Promise<Buffer | undefined> {
  if (file === '-') return Buffer.from(await ctx.stdin.readAll())
  try {
    return ctx.fs.readFile(abs(ctx, file))
  } catch (e) {
    const dir = e instanceof FsError && e.code === 'EISDIR'
    if (style === 'open') err(ctx, dir ? `${cmd}: read error: Is a directory` : `${cmd}: can't open '${file}': ${reason(e)}`)
    else err(ctx, `${cmd}: ${file}: ${reason(e)}`)
    return undefined
  }
}
