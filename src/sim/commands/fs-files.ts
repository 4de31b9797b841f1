// Filesystem commands as busybox has them: cat, ls, touch, mkdir, rm, cp, mv, ln, stat, readlink,
// df, du. Messages and exit codes follow busybox 1.37 (e.g. "cat: can't open 'x': No such file or
// directory", exit 1); every path goes through the container's Fs.
import type { Command, CommandContext } from '../context.js'
import { NameCache } from '../fs/users.js'
import type { FileStat } from '../fs/types.js'
import { abs, blocks, chunks, has, last, modeString, nowMs, parseOptions, reason, statOr, usage, type Options } from './fs-common.js'
import { FsError } from '../fs/types.js'
import { scaleTo } from './util.js'

const base = (p: string): string => {
  const trimmed = p.replace(/\/+$/, '')
  return trimmed === '' ? '/' : trimmed.slice(trimmed.lastIndexOf('/') + 1)
}
const join = (dir: string, name: string): string => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`)
const err = (ctx: CommandContext, text: string): void => ctx.write('stderr', `${text}\n`)
const isFsError = (e: unknown, code: string): boolean => e instanceof FsError && e.code === code

// ---- cat ----

const catSpec = { flags: 'nbuvteA', usage: '[-nbvteA] [FILE]...' }

export const cat: Command = async (args, ctx) => {
  const o = parseOptions('cat', args.slice(1), catSpec, ctx)
  if (typeof o === 'number') return o
  const number = has(o, 'n') || has(o, 'b')
  let lineNo = 0
  let atLineStart = true
  const emit = (text: string): void => {
    if (!number) return ctx.write('stdout', text)
    let out = ''
    for (const ch of text.split(/(?<=\n)/)) {
      if (atLineStart && !(has(o, 'b') && ch === '\n')) out += `${String(++lineNo).padStart(6)}\t`
      out += ch
      atLineStart = ch.endsWith('\n')
    }
    ctx.write('stdout', out)
  }
  let status = 0
  for (const file of o.operands.length > 0 ? o.operands : ['-']) {
    if (file === '-') {
      for await (const chunk of chunks(ctx)) {
        emit(chunk)
        await ctx.drain?.()
      }
      continue
    }
    try {
      emit(ctx.fs.readFile(abs(ctx, file)).toString('utf8'))
    } catch (e) {
      err(ctx, isFsError(e, 'EISDIR') ? 'cat: read error: Is a directory' : `cat: can't open '${file}': ${reason(e)}`)
      status = 1
    }
  }
  return status
}

// ---- ls ----

const lsSpec = { flags: 'laA1dnCxLHFp', usage: '[-1AaCxdLHFpln] [FILE]...' }
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** ls -l's time: "mmm dd hh:mm" when less than six months old, else "mmm dd  yyyy" (UTC). */
export function lsTime(mtimeMs: number, now: number): string {
  const d = new Date(mtimeMs)
  const day = String(d.getUTCDate()).padStart(2)
  const month = MONTHS[d.getUTCMonth()] ?? '???'
  const age = (now - mtimeMs) / 1000
  if (age < (3600 * 24 * 365) / 2 && age > -15 * 60) {
    const hh = String(d.getUTCHours()).padStart(2, '0')
    const mm = String(d.getUTCMinutes()).padStart(2, '0')
    return `${month} ${day} ${hh}:${mm}`
  }
  return `${month} ${day} ${String(d.getUTCFullYear()).padStart(5)}`
}

const suffix = (st: FileStat, o: Options): string => {
  if (has(o, 'F')) return st.type === 'dir' ? '/' : st.type === 'symlink' ? '@' : (st.mode & 0o111) !== 0 && st.type === 'file' ? '*' : ''
  return has(o, 'p') && st.type === 'dir' ? '/' : ''
}

export const ls: Command = async (args, ctx) => {
  const o = parseOptions('ls', args.slice(1), lsSpec, ctx)
  if (typeof o === 'number') return o
  const long = has(o, 'l') || has(o, 'n')
  const names = new NameCache(ctx.fs)
  const now = nowMs(ctx)
  let status = 0
  const line = (name: string, path: string, st: FileStat): string => {
    if (!long) return `${name}${suffix(st, o)}\n`
    const user = has(o, 'n') ? String(st.uid) : (names.user(st.uid) ?? String(st.uid))
    const group = has(o, 'n') ? String(st.gid) : (names.group(st.gid) ?? String(st.gid))
    const size =
      st.type === 'char'
        ? `${String(st.rdev?.[0] ?? 0).padStart(4)}, ${String(st.rdev?.[1] ?? 0).padStart(3)}`
        : String(st.size).padStart(9)
    let link = ''
    if (st.type === 'symlink') {
      try {
        link = ` -> ${ctx.fs.readlink(path)}`
      } catch {
        link = ''
      }
    }
    return `${modeString(st)} ${String(st.nlink ?? 1).padStart(4)} ${user.padEnd(8)} ${group.padEnd(8)} ${size} ${lsTime(st.mtimeMs, now)} ${name}${suffix(st, o)}${link}\n`
  }
  const operands = o.operands.length > 0 ? o.operands : ['.']
  const files: { name: string; path: string; st: FileStat }[] = []
  const dirs: { name: string; path: string }[] = []
  for (const op of operands) {
    // Command-line symlinks are followed unless -l (busybox), or always with -L/-H.
    const follow = !long || has(o, 'L') || has(o, 'H')
    const st = statOr(ctx, op, follow)
    if (typeof st === 'string') {
      err(ctx, `ls: ${op}: ${st}`)
      status = 1
      continue
    }
    if (st.type === 'dir' && !has(o, 'd')) dirs.push({ name: op, path: abs(ctx, op) })
    else files.push({ name: op, path: abs(ctx, op), st })
  }
  const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  let out = ''
  for (const f of files.sort(byName)) out += line(f.name, f.path, f.st)
  let first = files.length === 0
  for (const d of dirs.sort(byName)) {
    if (operands.length > 1) {
      if (!first) out += '\n'
      out += `${d.name}:\n`
    }
    first = false
    let entries: string[]
    try {
      entries = ctx.fs.readdir(d.path)
    } catch (e) {
      ctx.write('stdout', out)
      out = ''
      err(ctx, `ls: can't open '${d.name}': ${reason(e)}`)
      status = 1
      continue
    }
    const shown = entries.filter((n) => has(o, 'a') || has(o, 'A') || !n.startsWith('.'))
    const listed: { name: string; path: string; st: FileStat }[] = []
    if (has(o, 'a')) {
      for (const [n, p] of [
        ['.', d.path],
        ['..', d.path === '/' ? '/' : d.path.slice(0, d.path.lastIndexOf('/')) || '/'],
      ] as const) {
        const st = ctx.fs.stat(p)
        if (st) listed.push({ name: n, path: p, st })
      }
    }
    for (const n of shown) {
      const p = join(d.path, n)
      const st = ctx.fs.lstat(p)
      if (st) listed.push({ name: n, path: p, st })
    }
    listed.sort(byName)
    if (long) out += `total ${(1 + listed.reduce((n, e) => n + blocks(e.st), 0)) >> 1}\n`
    for (const e of listed) out += line(e.name, e.path, e.st)
  }
  ctx.write('stdout', out)
  return status
}

// ---- touch, mkdir ----

const touchSpec = { flags: 'camh', valued: 'drt', usage: '[-c] [-d DATE] [-t DATE] [-r FILE] FILE...' }

export const touch: Command = async (args, ctx) => {
  const o = parseOptions('touch', args.slice(1), touchSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length === 0) return usage(ctx, 'touch', touchSpec)
  let when = nowMs(ctx)
  const ref = last(o, 'r')
  if (ref !== undefined) {
    const st = statOr(ctx, ref, true)
    if (typeof st === 'string') {
      err(ctx, `touch: ${ref}: ${st}`)
      return 1
    }
    when = st.mtimeMs
  }
  const date = last(o, 'd')
  if (date !== undefined) {
    const parsed = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(date) ? date : `${date.replace(' ', 'T')}Z`)
    if (Number.isNaN(parsed)) {
      err(ctx, `touch: invalid date '${date}'`)
      return 1
    }
    when = parsed
  }
  let status = 0
  for (const file of o.operands) {
    const p = abs(ctx, file)
    try {
      if (ctx.fs.stat(p)) {
        if (ctx.fs.utimes) ctx.fs.utimes(p, when)
        else ctx.fs.writeFile(p, '', { append: true })
      } else if (!has(o, 'c')) {
        ctx.fs.writeFile(p, '')
        if (when !== nowMs(ctx)) ctx.fs.utimes?.(p, when)
      }
    } catch (e) {
      err(ctx, `touch: ${file}: ${reason(e)}`)
      status = 1
    }
  }
  return status
}

const mkdirSpec = { flags: 'pv', valued: 'm', usage: '[-m MODE] [-p] DIRECTORY...' }

export const mkdir: Command = async (args, ctx) => {
  const o = parseOptions('mkdir', args.slice(1), mkdirSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length === 0) return usage(ctx, 'mkdir', mkdirSpec)
  const modeText = last(o, 'm')
  if (modeText !== undefined && !/^[0-7]{1,4}$/.test(modeText)) {
    err(ctx, `mkdir: invalid mode '${modeText}'`)
    return 1
  }
  let status = 0
  for (const dir of o.operands) {
    const p = abs(ctx, dir)
    try {
      if (has(o, 'p')) {
        const st = ctx.fs.stat(p)
        if (st?.type === 'dir') continue
      }
      ctx.fs.mkdir(p, { recursive: has(o, 'p') })
      if (modeText !== undefined) ctx.fs.chmod?.(p, parseInt(modeText, 8))
      if (has(o, 'v')) ctx.write('stdout', `mkdir: created directory '${dir}'\n`)
    } catch (e) {
      err(ctx, `mkdir: can't create directory '${dir}': ${reason(e)}`)
      status = 1
    }
  }
  return status
}

// ---- rm ----

const rmSpec = { flags: 'rRfiv', usage: '[-irf] FILE...' }

export const rm: Command = async (args, ctx) => {
  const o = parseOptions('rm', args.slice(1), rmSpec, ctx)
  if (typeof o === 'number') return o
  const force = has(o, 'f')
  const recursive = has(o, 'r') || has(o, 'R')
  if (o.operands.length === 0) return force ? 0 : usage(ctx, 'rm', rmSpec)
  const remove = (shown: string): boolean => {
    const p = abs(ctx, shown)
    const st = ctx.fs.lstat(p)
    if (!st) {
      const why = statOr(ctx, shown, false)
      if (force && why === 'No such file or directory') return true
      err(ctx, `rm: can't remove '${shown}': ${typeof why === 'string' ? why : 'No such file or directory'}`)
      return false
    }
    if (st.type === 'dir') {
      if (!recursive) {
        err(ctx, `rm: '${shown}' is a directory`)
        return false
      }
      let names: string[]
      try {
        names = ctx.fs.readdir(p)
      } catch (e) {
        err(ctx, `rm: can't remove '${shown}': ${reason(e)}`)
        return false
      }
      let ok = true
      for (const n of names) ok = remove(join(shown, n)) && ok
      if (!ok) return false
    }
    try {
      ctx.fs.rm(p)
      if (has(o, 'v')) ctx.write('stdout', st.type === 'dir' ? `removed directory: '${shown}'\n` : `removed '${shown}'\n`)
      return true
    } catch (e) {
      err(ctx, `rm: can't remove '${shown}': ${reason(e)}`)
      return false
    }
  }
  let status = 0
  for (const op of o.operands) {
    const b = base(op)
    if (b === '.' || b === '..') {
      err(ctx, "rm: can't remove '.' or '..'")
      status = 1
      continue
    }
    if (!remove(op)) status = 1
  }
  return status
}

// ---- cp, mv, ln ----

const cpSpec = { flags: 'rRapdPLHfinv', usage: '[-arPLHpfinlsTu] SOURCE... DEST' }

export const cp: Command = async (args, ctx) => {
  const o = parseOptions('cp', args.slice(1), cpSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length < 2) return usage(ctx, 'cp', cpSpec)
  const recursive = has(o, 'r') || has(o, 'R') || has(o, 'a')
  const preserve = has(o, 'p') || has(o, 'a')
  const noDeref = (recursive || has(o, 'd') || has(o, 'P')) && !has(o, 'L')
  const dest = o.operands[o.operands.length - 1] as string
  const sources = o.operands.slice(0, -1)
  const destSt = ctx.fs.stat(abs(ctx, dest))
  if (sources.length > 1 && destSt?.type !== 'dir') {
    err(ctx, `cp: target '${dest}' is not a directory`)
    return 1
  }
  const copy = (src: string, dst: string, top: boolean): boolean => {
    const sp = abs(ctx, src)
    const dp = abs(ctx, dst)
    const st = statOr(ctx, src, !(noDeref && !(top && has(o, 'H'))))
    if (typeof st === 'string') {
      err(ctx, `cp: can't stat '${src}': ${st}`)
      return false
    }
    const existing = ctx.fs.lstat(dp)
    if (existing) {
      try {
        if (ctx.fs.realpath(sp) === ctx.fs.realpath(dp)) {
          err(ctx, `cp: '${src}' and '${dst}' are the same file`)
          return false
        }
      } catch {
        // a dangling destination link is replaced below
      }
    }
    if (st.type === 'dir') {
      if (!recursive) {
        err(ctx, `cp: omitting directory '${src}'`)
        return false
      }
      if (dp === sp || dp.startsWith(`${sp}/`)) {
        err(ctx, `cp: recursion detected, omitting directory '${src}'`)
        return false
      }
      const dstSt = ctx.fs.stat(dp)
      if (!dstSt) {
        try {
          ctx.fs.mkdir(dp, { mode: st.mode })
        } catch (e) {
          err(ctx, `cp: can't create directory '${dst}': ${reason(e)}`)
          return false
        }
      } else if (dstSt.type !== 'dir') {
        err(ctx, `cp: target '${dst}' is not a directory`)
        return false
      }
      let ok = true
      for (const n of ctx.fs.readdir(sp)) ok = copy(join(src, n), join(dst, n), false) && ok
      if (preserve) {
        ctx.fs.chmod?.(dp, st.mode)
        ctx.fs.utimes?.(dp, st.mtimeMs)
      }
      return ok
    }
    if (st.type === 'symlink') {
      try {
        if (existing) ctx.fs.rm(dp)
        ctx.fs.symlink(st.target ?? ctx.fs.readlink(sp), dp)
        return true
      } catch (e) {
        err(ctx, `cp: can't create symlink '${dst}' to '${st.target ?? ''}': ${reason(e)}`)
        return false
      }
    }
    let data: Buffer
    try {
      data = ctx.fs.readFile(sp)
    } catch (e) {
      err(ctx, `cp: can't open '${src}': ${reason(e)}`)
      return false
    }
    try {
      if (existing?.type === 'dir') throw new FsError('EISDIR', dp)
      ctx.fs.writeFile(dp, data, { mode: st.mode })
      if (preserve) {
        ctx.fs.chmod?.(dp, st.mode)
        ctx.fs.utimes?.(dp, st.mtimeMs)
      }
      if (has(o, 'v')) ctx.write('stdout', `'${src}' -> '${dst}'\n`)
      return true
    } catch (e) {
      err(ctx, `cp: can't create '${dst}': ${reason(e)}`)
      return false
    }
  }
  let status = 0
  for (const src of sources) {
    const target = destSt?.type === 'dir' ? join(dest, base(src)) : dest
    if (!copy(src, target, true)) status = 1
  }
  return status
}

const mvSpec = { flags: 'finvT', usage: '[-finT] SOURCE DEST\nor: mv [-fin] SOURCE... DIRECTORY' }

export const mv: Command = async (args, ctx) => {
  const o = parseOptions('mv', args.slice(1), mvSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length < 2) return usage(ctx, 'mv', mvSpec)
  const dest = o.operands[o.operands.length - 1] as string
  const sources = o.operands.slice(0, -1)
  const destIsDir = !has(o, 'T') && ctx.fs.stat(abs(ctx, dest))?.type === 'dir'
  let status = 0
  for (const src of sources) {
    const target = destIsDir || sources.length > 1 ? join(dest, base(src)) : dest
    if (has(o, 'n') && ctx.fs.lstat(abs(ctx, target))) continue
    try {
      ctx.fs.rename(abs(ctx, src), abs(ctx, target))
      if (has(o, 'v')) ctx.write('stdout', `'${src}' -> '${target}'\n`)
    } catch (e) {
      const why = ctx.fs.lstat(abs(ctx, src)) ? reason(e) : statOr(ctx, src, false)
      err(ctx, `mv: can't rename '${src}': ${typeof why === 'string' ? why : reason(e)}`)
      status = 1
    }
  }
  return status
}

const lnSpec = { flags: 'sfnvT', usage: '[-sfnbtv] [-S SUF] TARGET... LINK|DIR' }

/** ln; hard links are not simulated: `ln` without -s copies the file. */
export const ln: Command = async (args, ctx) => {
  const o = parseOptions('ln', args.slice(1), lnSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length === 0) return usage(ctx, 'ln', lnSpec)
  const targets = o.operands.length === 1 ? o.operands : o.operands.slice(0, -1)
  const dest = o.operands.length === 1 ? '.' : (o.operands[o.operands.length - 1] as string)
  let status = 0
  for (const target of targets) {
    let link = dest
    const destSt = has(o, 'n') || has(o, 'T') ? ctx.fs.lstat(abs(ctx, dest)) : ctx.fs.stat(abs(ctx, dest))
    if (destSt?.type === 'dir') {
      if (has(o, 'T')) {
        err(ctx, `ln: '${dest}' is a directory`)
        return 1
      }
      link = join(dest, base(target))
    }
    const lp = abs(ctx, link)
    if (!has(o, 's')) {
      const st = statOr(ctx, target, true)
      if (typeof st === 'string') {
        err(ctx, `ln: ${target}: ${st}`)
        status = 1
        continue
      }
    }
    try {
      if (has(o, 'f') && ctx.fs.lstat(lp) && ctx.fs.lstat(lp)?.type !== 'dir') ctx.fs.rm(lp)
      if (has(o, 'v')) ctx.write('stdout', `'${link}' -> '${target}'\n`)
      if (has(o, 's')) ctx.fs.symlink(target, lp)
      else {
        if (ctx.fs.lstat(lp)) throw new FsError('EEXIST', lp)
        ctx.fs.writeFile(lp, ctx.fs.readFile(abs(ctx, target)), { mode: ctx.fs.stat(abs(ctx, target))?.mode ?? 0o644 })
      }
    } catch (e) {
      err(ctx, `ln: ${link}: ${reason(e)}`)
      status = 1
    }
  }
  return status
}

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

// ---- df, du ----

interface MountLine {
  device: string
  target: string
  fstype: string
  options: string
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))

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
