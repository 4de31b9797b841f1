// `mount` and `umount` as busybox runs them in a container: with no arguments mount lists
// /proc/mounts; `mount --bind SRC DIR` (or -o bind, rbind) and `mount -t tmpfs NAME DIR` change
// the container's own mount namespace (CAP_SYS_ADMIN, so a privileged container or one given
// SYS_ADMIN). Nothing is mounted on the host.
import type { Command } from '../context.js'
import { unescapeMountField as unescape } from '../fs/mount-escape.js'
import { FS_MESSAGES, FsError } from '../fs/types.js'
import { abs, reason } from './fs-common.js'
import { fail } from './util.js'

export const mount: Command = async (args, ctx) => {
  let type: string | undefined
  const opts: string[] = []
  const operands: string[] = []
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!
    if (a === '--bind' || a === '-B') opts.push('bind')
    else if (a === '--rbind' || a === '-R') opts.push('rbind')
    else if (a === '-r') opts.push('ro')
    else if (a === '-w') opts.push('rw')
    else if (a === '-t' || a === '-o') {
      const v = args[++i]
      if (v === undefined) return fail(args, ctx, `option requires an argument -- '${a.slice(1)}'`)
      if (a === '-t') type = v
      else opts.push(...v.split(','))
    } else if (a.startsWith('-t') || a.startsWith('-o')) {
      if (a[1] === 't') type = a.slice(2)
      else opts.push(...a.slice(2).split(','))
    } else if (a === '-a' || a === '-n' || a === '-f' || a === '-v') continue
    else operands.push(a)
  }
  if (operands.length === 0) {
    let text: string
    try {
      text = ctx.fs.readFile('/proc/mounts').toString('utf8')
    } catch (err) {
      return fail(args, ctx, `/proc/mounts: ${reason(err)}`)
    }
    for (const line of text.split('\n')) {
      const [src, dir, fstype, options] = line.split(' ')
      if (dir === undefined || (type !== undefined && fstype !== type)) continue
      ctx.write('stdout', `${unescape(src!)} on ${unescape(dir)} type ${fstype} (${options})\n`)
    }
    return 0
  }
  if (operands.length < 2) return fail(args, ctx, `can't find ${operands[0]} in /etc/fstab`)
  if (ctx.identity.uid !== 0) return fail(args, ctx, 'you must be root')
  const [source, target] = operands as [string, string]
  const bind = opts.includes('bind') || opts.includes('rbind')
  if (!bind && type !== 'tmpfs') return fail(args, ctx, `mounting ${source} on ${target} failed: ${FS_MESSAGES.ENOENT}`, 255)
  if (!ctx.fs.mount) return fail(args, ctx, `mounting ${source} on ${target} failed: ${FS_MESSAGES.EPERM}`, 255)
  try {
    ctx.fs.mount({
      source: bind ? abs(ctx, source) : source,
      target: abs(ctx, target),
      type: bind ? 'bind' : 'tmpfs',
      readonly: opts.includes('ro'),
    })
  } catch (err) {
    if (!(err instanceof FsError)) throw err
    return fail(args, ctx, `mounting ${source} on ${target} failed: ${reason(err)}`, 255)
  }
  return 0
}

export const umount: Command = async (args, ctx) => {
  const targets = args.slice(1).filter((a) => !a.startsWith('-'))
  if (targets.length === 0) {
    ctx.write('stderr', `Usage: umount [-rlfda] [-t FSTYPE] FILESYSTEM|DIRECTORY\n`)
    return 1
  }
  let status = 0
  for (const t of targets) {
    try {
      if (!ctx.fs.umount) throw new FsError('EPERM', t)
      ctx.fs.umount(abs(ctx, t))
    } catch (err) {
      if (!(err instanceof FsError)) throw err
      status = fail(args, ctx, `can't unmount ${t}: ${reason(err)}`)
    }
  }
  return status
}
