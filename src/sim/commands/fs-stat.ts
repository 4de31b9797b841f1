// stat and readlink as busybox has them: a file's metadata (stat -c formats, the default and
// device layouts) and where symlinks point (readlink -f/-e/-n resolving).
import type { Command, CommandContext } from '../context.js'
import { NameCache } from '../fs/users.js'
import type { FileStat } from '../fs/types.js'
import { FsError } from '../fs/types.js'
import { abs, base, blocks, err, has, join, last, modeString, parseOptions, reason, statOr, usage } from './fs-common.js'

// ---- stat, readlink ----

const statSpec = { flags: 'LftZ', valued: 'c', usage: '[-ltf] [-c FMT] FILE...' }

const FILE_TYPES: Record<FileStat['type'], string> = {
  file: 'regular file',
  dir: 'directory',
  symlink: 'symbolic link',
  char: 'character special file',
}

/** A stable inode number for a path. */
const inode = (path: string): number => {
  let h = 2166136261
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 16777619) >>> 0
  return (h % 9_000_000) + 1_000_000
}

const isoTime = (ms: number): string => {
  const d = new Date(ms)
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0')
  const frac = pad(Math.floor(ms % 1000), 3)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${frac}000000 +0000`
}

export function formatStat(format: string, name: string, path: string, st: FileStat, names: NameCache, fs: CommandContext['fs']): string {
  let out = ''
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string
    if (c === '\\' && i + 1 < format.length) {
      const n = format[++i] as string
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n === '\\' ? '\\' : `\\${n}`
      continue
    }
    if (c !== '%') {
      out += c
      continue
    }
    // %[-0][width][.precision]X
    const m = /^([-0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])/.exec(format.slice(i + 1))
    if (!m) {
      out += '%'
      continue
    }
    i += m[0].length
    const letter = m[4] as string
    let v: string
    switch (letter) {
      case 'n':
        v = name
        break
      case 'N':
        v = st.type === 'symlink' ? `'${name}' -> '${st.target ?? safeReadlink(fs, path)}'` : `'${name}'`
        break
      case 's':
        v = String(st.size)
        break
      case 'a':
        v = (st.mode & 0o7777).toString(8)
        break
      case 'A':
        v = modeString(st)
        break
      case 'f':
        v = ((st.type === 'dir' ? 0o40000 : st.type === 'symlink' ? 0o120000 : st.type === 'char' ? 0o20000 : 0o100000) | st.mode).toString(
          16,
        )
        break
      case 'F':
        v = st.type === 'file' && st.size === 0 ? 'regular empty file' : FILE_TYPES[st.type]
        break
      case 'u':
        v = String(st.uid)
        break
      case 'U':
        v = names.user(st.uid) ?? 'UNKNOWN'
        break
      case 'g':
        v = String(st.gid)
        break
      case 'G':
        v = names.group(st.gid) ?? 'UNKNOWN'
        break
      case 'b':
        v = String(blocks(st))
        break
      case 'B':
        v = '512'
        break
      case 'o':
        v = '4096'
        break
      case 'h':
        v = String(st.nlink ?? 1)
        break
      case 'i':
        v = String(inode(path))
        break
      case 'd':
        v = '43'
        break
      case 'D':
        v = '2b'
        break
      case 't':
        v = (st.rdev?.[0] ?? 0).toString(16)
        break
      case 'T':
        v = (st.rdev?.[1] ?? 0).toString(16)
        break
      case 'x':
      case 'y':
      case 'z':
        v = isoTime(st.mtimeMs)
        break
      case 'X':
      case 'Y':
      case 'Z':
        v = String(Math.floor(st.mtimeMs / 1000))
        break
      case '%':
        v = '%'
        break
      default:
        v = `?`
    }
    if (m[3] !== undefined) v = v.slice(0, Number(m[3]))
    const width = m[2] ? Number(m[2]) : 0
    const flags = m[1] ?? ''
    out += flags.includes('-') ? v.padEnd(width) : v.padStart(width, flags.includes('0') ? '0' : ' ')
  }
  return out
}

const safeReadlink = (fs: CommandContext['fs'], path: string): string => {
  try {
    return fs.readlink(path)
  } catch {
    return ''
  }
}

const DEFAULT_STAT =
  '  File: %N\n  Size: %-10s\tBlocks: %-10b IO Block: %-6o %F\nDevice: %Dh/%dd\tInode: %-10i  Links: %h\n' +
  'Access: (%04a/%10.10A)  Uid: (%5u/%8U)   Gid: (%5g/%8G)\nAccess: %x\nModify: %y\nChange: %z'
const DEFAULT_STAT_DEVICE =
  '  File: %N\n  Size: %-10s\tBlocks: %-10b IO Block: %-6o %F\nDevice: %Dh/%dd\tInode: %-10i  Links: %-5h Device type: %t,%T\n' +
  'Access: (%04a/%10.10A)  Uid: (%5u/%8U)   Gid: (%5g/%8G)\nAccess: %x\nModify: %y\nChange: %z'

export const stat: Command = async (args, ctx) => {
  const o = parseOptions('stat', args.slice(1), statSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length === 0) return usage(ctx, 'stat', statSpec)
  const names = new NameCache(ctx.fs)
  let status = 0
  for (const file of o.operands) {
    const st = statOr(ctx, file, has(o, 'L'))
    if (typeof st === 'string') {
      err(ctx, `stat: can't stat '${file}': ${st}`)
      status = 1
      continue
    }
    const path = abs(ctx, file)
    let format = last(o, 'c')
    if (format === undefined && has(o, 't')) format = '%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %o'
    const text = formatStat(format ?? (st.type === 'char' ? DEFAULT_STAT_DEVICE : DEFAULT_STAT), file, path, st, names, ctx.fs)
    ctx.write('stdout', `${text}\n`)
  }
  return status
}

const readlinkSpec = { flags: 'fenvsq', usage: '[-fnv] FILE' }

export const readlink: Command = async (args, ctx) => {
  const o = parseOptions('readlink', args.slice(1), readlinkSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length === 0) return usage(ctx, 'readlink', readlinkSpec)
  const nl = has(o, 'n') ? '' : '\n'
  let status = 0
  for (const file of o.operands) {
    const p = abs(ctx, file)
    try {
      if (has(o, 'f') || has(o, 'e')) {
        let real: string
        try {
          real = ctx.fs.realpath(p)
        } catch (e) {
          // -f: the last component need not exist (busybox's realpath_coreutils).
          if (has(o, 'e') || !(e instanceof FsError) || e.code !== 'ENOENT' || ctx.fs.lstat(p)) throw e
          const parent = ctx.fs.realpath(p.slice(0, p.lastIndexOf('/')) || '/')
          real = join(parent, base(p))
        }
        ctx.write('stdout', `${real}${nl}`)
      } else ctx.write('stdout', `${ctx.fs.readlink(p)}${nl}`)
    } catch (e) {
      if (has(o, 'v')) err(ctx, `readlink: ${file}: ${reason(e)}`)
      status = 1
    }
  }
  return status
}
