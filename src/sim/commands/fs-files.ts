// Filesystem commands as busybox has them: cat, ls, touch, mkdir, rm, cp, mv, ln (stat and
// readlink are in fs-stat.ts, df and du in fs-usage.ts). Messages and exit codes follow busybox
// 1.37 (e.g. "cat: can't open 'x': No such file or directory", exit 1); every path goes through
// the container's Fs.
import type { Command } from '../context.js'
import { NameCache } from '../fs/users.js'
import type { FileStat } from '../fs/types.js'
import { FsError } from '../fs/types.js'
import {
  abs,
  base,
  blocks,
  chunks,
  err,
  has,
  join,
  last,
  modeString,
  nowMs,
  parseOptions,
  reason,
  statOr,
  usage,
  type Options,
} from './fs-common.js'

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
