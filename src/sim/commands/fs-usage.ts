// df and du as busybox has them: the container's mounts with the space they report, and the disk
// usage of files and trees in the container's Fs.
import type { Command, CommandContext } from '../context.js'
import { abs, blocks, err, has, join, last, parseOptions, reason, statOr } from './fs-common.js'
import { unescapeMountField as unescape } from '../fs/mount-escape.js'
import { scaleTo } from './util.js'

// ---- df, du ----

interface MountLine {
  device: string
  target: string
  fstype: string
  options: string
}

function readMounts(ctx: CommandContext): MountLine[] {
  return ctx.fs
    .readFile('/proc/mounts')
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [device = '', target = '', fstype = '', options = ''] = l.split(' ')
      return { device: unescape(device), target: unescape(target), fstype, options }
    })
}

/** 1K blocks used by the files under a path of one mount (not descending into other mounts). */
function usedKb(ctx: CommandContext, path: string, mounts: readonly MountLine[]): number {
  let total = 0
  const walk = (p: string): void => {
    const st = ctx.fs.lstat(p)
    if (!st) return
    if (st.type === 'file') total += Math.ceil(st.size / 4096) * 4
    if (st.type !== 'dir') return
    let names: string[] = []
    try {
      names = ctx.fs.readdir(p)
    } catch {
      return
    }
    for (const n of names) {
      const child = p === '/' ? `/${n}` : `${p}/${n}`
      if (!mounts.some((m) => m.target === child)) walk(child)
    }
  }
  walk(path)
  return total
}

/** busybox's make_human_readable_str for 1K units: "64.0M", "4.0K", "0". */
export function human(kb: number): string {
  if (kb === 0) return '0'
  const { value, unit } = scaleTo(kb, 1024, ['K', 'M', 'G', 'T', 'P'])
  return `${value.toFixed(1)}${unit}`
}

const dfSpec = { flags: 'hkaTPm', valued: 't', usage: '[-PkmhTai] [-t TYPE] [FILESYSTEM]...' }

/** The disk the overlay root and host bind mounts live on (a plausible node disk). */
const DISK = { total: 61_255_492, used: 22_346_768, avail: 35_767_400 }

export const df: Command = async (args, ctx) => {
  const o = parseOptions('df', args.slice(1), dfSpec, ctx)
  if (typeof o === 'number') return o
  let mounts: MountLine[]
  try {
    mounts = readMounts(ctx)
  } catch (e) {
    err(ctx, `df: /proc/mounts: ${reason(e)}`)
    return 1
  }
  const hr = has(o, 'h')
  const typeCol = has(o, 'T')
  let out = `Filesystem           ${typeCol ? 'Type       ' : ''}${(hr ? '     Size' : '1K-blocks').padEnd(15)}Used Available Use% Mounted on\n`
  const row = (m: MountLine): string | undefined => {
    let total: number
    let used: number
    let avail: number
    if (m.fstype === 'overlay' || m.fstype === 'ext4') {
      ;({ total, used, avail } = DISK)
    } else {
      const size = /(?:^|,)size=(\d+)k/.exec(m.options)
      if (!size || (m.fstype !== 'tmpfs' && m.fstype !== 'devtmpfs')) return undefined
      total = Number(size[1])
      if (total === 0) return undefined
      used = m.fstype === 'tmpfs' ? Math.min(total, usedKb(ctx, m.target, mounts)) : 0
      avail = total - used
    }
    const pct = used + avail === 0 ? 0 : Math.floor((used * 100 + (used + avail) / 2) / (used + avail))
    const num = (n: number): string => (hr ? human(n) : String(n)).padStart(9)
    return `${m.device.padEnd(20)}${typeCol ? ` ${m.fstype.padEnd(10)}` : ''} ${num(total)} ${num(used)} ${num(avail)} ${String(pct).padStart(3)}% ${m.target}\n`
  }
  let status = 0
  if (o.operands.length === 0) {
    for (const m of mounts) {
      const type = last(o, 't')
      if (type !== undefined && m.fstype !== type) continue
      out += row(m) ?? ''
    }
  } else {
    for (const op of o.operands) {
      let real: string
      try {
        real = ctx.fs.realpath(abs(ctx, op))
      } catch {
        err(ctx, `df: ${op}: can't find mount point`)
        status = 1
        continue
      }
      const m = mounts
        .filter((x) => real === x.target || x.target === '/' || real.startsWith(`${x.target}/`))
        .sort((a, b) => a.target.length - b.target.length)
        .at(-1)
      if (!m) {
        err(ctx, `df: ${op}: can't find mount point`)
        status = 1
        continue
      }
      out += row(m) ?? `${m.device.padEnd(20)} ${'0'.padStart(9)} ${'0'.padStart(9)} ${'0'.padStart(9)}   0% ${m.target}\n`
    }
  }
  ctx.write('stdout', out)
  return status
}

const duSpec = { flags: 'sahkcmlLHx', valued: 'd', usage: '[-aHLdclsxhmk] [FILE]...' }

export const du: Command = async (args, ctx) => {
  const o = parseOptions('du', args.slice(1), duSpec, ctx)
  if (typeof o === 'number') return o
  const maxDepth = last(o, 'd') !== undefined ? Number(last(o, 'd')) : has(o, 's') ? 0 : Infinity
  const fmt = (kb: number): string => (has(o, 'h') ? human(kb) : has(o, 'm') ? String(Math.ceil(kb / 1024)) : String(kb))
  let out = ''
  let status = 0
  let grand = 0
  const walk = (shown: string, depth: number, follow: boolean): number => {
    const st = statOr(ctx, shown, follow)
    if (typeof st === 'string') {
      err(ctx, `du: ${shown}: ${st}`)
      status = 1
      return 0
    }
    let kb = blocks(st) / 2
    if (st.type === 'dir') {
      let names: string[] = []
      try {
        names = ctx.fs.readdir(abs(ctx, shown))
      } catch (e) {
        err(ctx, `du: can't open '${shown}': ${reason(e)}`)
        status = 1
      }
      for (const n of names) kb += walk(join(shown, n), depth + 1, has(o, 'L'))
      if (depth <= maxDepth) out += `${fmt(kb)}\t${shown}\n`
    } else if (depth === 0 || (has(o, 'a') && depth <= maxDepth)) out += `${fmt(kb)}\t${shown}\n`
    return kb
  }
  for (const op of o.operands.length > 0 ? o.operands : ['.']) grand += walk(op, 0, has(o, 'H') || has(o, 'L'))
  if (has(o, 'c')) out += `${fmt(grand)}\ttotal\n`
  ctx.write('stdout', out)
  return status
}
