// Commands that tell about the process and its container: id, whoami, hostname, date, uname, nproc,
// env, pwd, which.
import { availableParallelism, machine } from 'node:os'
import { type Command, type CommandContext } from '../context.js'
import { KERNEL_RELEASE } from '../fs/procfs.js'
import { CAP } from '../fs/security.js'
import { ERRNO, hostnameOf, kernelOf, strerror, syscall } from '../kernel.js'
import { resolvePath } from '../fs/types.js'
import { REGULAR_BUILTINS, SPECIAL_BUILTINS } from '../shell/builtins.js'
import { execArgv } from './runners.js'
import { canExecute, findInPath } from '../shell/search.js'
import { fail, groupName, memberGroups, now, passwdEntry, usage, userName } from './util.js'

// ---- id, whoami

const id: Command = async (args, ctx) => {
  let mode: 'u' | 'g' | 'G' | undefined
  let names = false
  let real = false
  let user: string | undefined
  for (const a of args.slice(1)) {
    if (/^-[ugGnr]+$/.test(a)) {
      for (const o of a.slice(1)) {
        if (o === 'n') names = true
        else if (o === 'r') real = true
        else if (o === 'u' || o === 'g' || o === 'G') {
          if (mode !== undefined && mode !== o) return usage(args, ctx, '[-ugGnr] [USER]')
          mode = o
        }
      }
    } else if (user === undefined) user = a
    else return usage(args, ctx, '[-ugGnr] [USER]')
  }
  if (names && mode === undefined) return usage(args, ctx, '[-ugGnr] [USER]')
  let uid = ctx.identity.uid
  let gid = ctx.identity.gid
  // A set-user-ID or set-group-ID program's effective ids (-r asks for the real ones).
  let euid = ctx.identity.euid ?? uid
  let egid = ctx.identity.egid ?? gid
  let groups = ctx.identity.groups.length > 0 ? [...ctx.identity.groups] : [gid]
  if (user !== undefined) {
    const entry = passwdEntry(ctx, user)
    if (entry === undefined) return fail(args, ctx, `unknown user ${user}`)
    uid = euid = entry.uid
    gid = egid = entry.gid
    groups = [gid, ...memberGroups(ctx, user).filter((g) => g !== gid)]
  }
  let status = 0
  const one = (n: number, name: string | undefined): string => {
    if (!names) return String(n)
    if (name === undefined) {
      fail(args, ctx, `unknown ID ${n}`)
      status = 1
      return String(n)
    }
    return name
  }
  let out: string
  if (mode === 'u') out = one(real ? uid : euid, userName(ctx, real ? uid : euid))
  else if (mode === 'g') out = one(real ? gid : egid, groupName(ctx, real ? gid : egid))
  else if (mode === 'G') {
    const first = egid !== gid ? [gid, egid] : [gid]
    out = [...first, ...groups.filter((g) => !first.includes(g))].map((g) => one(g, groupName(ctx, g))).join(' ')
  } else {
    const show = (n: number, name: string | undefined): string => (name === undefined ? String(n) : `${n}(${name})`)
    out = `uid=${show(uid, userName(ctx, uid))} gid=${show(gid, groupName(ctx, gid))}`
    if (euid !== uid) out += ` euid=${show(euid, userName(ctx, euid))}`
    if (egid !== gid) out += ` egid=${show(egid, groupName(ctx, egid))}`
    if (groups.length > 0) out += ` groups=${groups.map((g) => show(g, groupName(ctx, g))).join(',')}`
  }
  ctx.write('stdout', `${out}\n`)
  return status
}

const whoami: Command = async (args, ctx) => {
  const name = userName(ctx, ctx.identity.uid)
  if (name === undefined) return fail(args, ctx, `unknown uid ${ctx.identity.uid}`)
  ctx.write('stdout', `${name}\n`)
  return 0
}

// ---- hostname, uname, nproc

/** The longest hostname the kernel takes (__NEW_UTS_LEN). */
const MAX_HOSTNAME = 64

const hostname: Command = async (args, ctx) => {
  const opts = args.slice(1)
  const name = hostnameOf(ctx)
  if (opts.length === 0) ctx.write('stdout', `${name}\n`)
  else if (opts[0] === '-s') ctx.write('stdout', `${name.split('.')[0]}\n`)
  else if (opts[0] === '-d') ctx.write('stdout', `${name.split('.').slice(1).join('.')}\n`)
  else if (opts[0] === '-f') ctx.write('stdout', `${name}\n`)
  else if (opts[0]?.startsWith('-')) return usage(args, ctx, '[-sdf] [HOSTNAME | -F FILE]')
  else {
    // sethostname(2): CAP_SYS_ADMIN in the UTS namespace, and what seccomp lets through; then the length.
    const wanted = opts[0] as string
    const errno =
      syscall(ctx, 'sethostname', { cap: CAP.SYS_ADMIN }) ?? (Buffer.byteLength(wanted) > MAX_HOSTNAME ? ERRNO.EINVAL : undefined)
    if (errno !== undefined) return fail(args, ctx, `sethostname: ${strerror(errno)}`)
    kernelOf(ctx).uts.hostname = wanted
  }
  return 0
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686', s390x: 's390x', ppc64: 'ppc64le' }

/** The kernel the container's /proc tells (the simulated node's), else the fixed simulated one. */
function kernel(ctx: CommandContext): { release: string; version: string } {
  const read = (path: string): string | undefined => {
    try {
      return ctx.fs.readFile(path).toString('utf8').trim()
    } catch {
      return undefined
    }
  }
  const rel = read('/proc/sys/kernel/osrelease') || KERNEL_RELEASE
  const ver = /#\d+.*$/.exec(read('/proc/version')?.split('\n')[0] ?? '')?.[0] ?? '#1 SMP PREEMPT_DYNAMIC'
  return { release: rel, version: ver }
}

const uname: Command = async (args, ctx) => {
  const k = kernel(ctx)
  const fields = {
    s: 'Linux',
    n: hostnameOf(ctx),
    r: k.release,
    v: k.version,
    m: machineName(),
    p: 'unknown',
    i: 'unknown',
    o: 'GNU/Linux',
  }
  let want = ''
  for (const a of args.slice(1)) {
    if (!/^-[snrvmpioa]+$/.test(a)) return usage(args, ctx, '[-amnrspvio]')
    want += a.slice(1)
  }
  if (want === '') want = 's'
  const all = want.includes('a')
  const order = ['s', 'n', 'r', 'v', 'm', 'p', 'i', 'o'] as const
  const out = order.filter((k) => all || want.includes(k)).filter((k) => !(all && (k === 'p' || k === 'i')))
  ctx.write('stdout', `${out.map((k) => fields[k]).join(' ')}\n`)
  return 0
}

function machineName(): string {
  try {
    return machine()
  } catch {
    return ARCH[process.arch] ?? process.arch
  }
}

const nproc: Command = async (_args, ctx) => {
  ctx.write('stdout', `${availableParallelism()}\n`)
  return 0
}

// ---- date

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

/** strftime in UTC. */
export function strftime(format: string, ms: number): string {
  const d = new Date(ms)
  const p2 = (n: number): string => String(n).padStart(2, '0')
  const Y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  const day = d.getUTCDate()
  const H = d.getUTCHours()
  const M = d.getUTCMinutes()
  const S = d.getUTCSeconds()
  const w = d.getUTCDay()
  const yday = Math.floor((Date.UTC(Y, m, day) - Date.UTC(Y, 0, 1)) / 86_400_000)
  const h12 = H % 12 === 0 ? 12 : H % 12
  const conv: Record<string, () => string> = {
    a: () => (DAYS[w] as string).slice(0, 3),
    A: () => DAYS[w] as string,
    b: () => (MONTHS[m] as string).slice(0, 3),
    h: () => (MONTHS[m] as string).slice(0, 3),
    B: () => MONTHS[m] as string,
    c: () => strftime('%a %b %e %H:%M:%S %Y', ms),
    C: () => p2(Math.floor(Y / 100)),
    d: () => p2(day),
    D: () => strftime('%m/%d/%y', ms),
    e: () => String(day).padStart(2, ' '),
    F: () => strftime('%Y-%m-%d', ms),
    H: () => p2(H),
    I: () => p2(h12),
    j: () => String(yday + 1).padStart(3, '0'),
    k: () => String(H).padStart(2, ' '),
    l: () => String(h12).padStart(2, ' '),
    m: () => p2(m + 1),
    M: () => p2(M),
    n: () => '\n',
    N: () => String(Math.floor(((ms % 1000) + 1000) % 1000) * 1_000_000).padStart(9, '0'),
    p: () => (H < 12 ? 'AM' : 'PM'),
    P: () => (H < 12 ? 'am' : 'pm'),
    r: () => strftime('%I:%M:%S %p', ms),
    R: () => strftime('%H:%M', ms),
    s: () => String(Math.floor(ms / 1000)),
    S: () => p2(S),
    t: () => '\t',
    T: () => strftime('%H:%M:%S', ms),
    u: () => String(w === 0 ? 7 : w),
    w: () => String(w),
    x: () => strftime('%m/%d/%y', ms),
    X: () => strftime('%H:%M:%S', ms),
    y: () => p2(Y % 100),
    Y: () => String(Y),
    z: () => '+0000',
    Z: () => 'UTC',
    '%': () => '%',
  }
  return format.replace(/%([a-zA-Z%])/g, (all, c: string) => conv[c]?.() ?? all)
}

/** The times `date -d` understands: @SECONDS, YYYY-MM-DD[ T]hh:mm[:ss], hh:mm[:ss] (today). */
function parseDate(text: string, nowMs: number): number | undefined {
  const t = text.trim()
  const at = /^@(-?\d+(?:\.\d+)?)$/.exec(t)
  if (at) return Number(at[1]) * 1000
  const full = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?(?:Z|\s*UTC)?$/.exec(t)
  if (full) {
    const [, y, mo, d, h, mi, s] = full
    return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0))
  }
  const time = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t)
  if (time) {
    const d = new Date(nowMs)
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), Number(time[1]), Number(time[2]), Number(time[3] ?? 0))
  }
  return undefined
}

const date: Command = async (args, ctx) => {
  let ms = now(ctx)
  let format = '%a %b %e %H:%M:%S %Z %Y'
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (a.startsWith('+')) {
      format = a.slice(1)
    } else if (a === '-u' || a === '--utc') {
      continue
    } else if (a === '-R') {
      format = '%a, %d %b %Y %H:%M:%S %z'
    } else if (a.startsWith('-I')) {
      const spec = a.slice(2).replace(/^=/, '') || 'date'
      format = spec.startsWith('h')
        ? '%Y-%m-%dT%H+00:00'
        : spec.startsWith('m')
          ? '%Y-%m-%dT%H:%M+00:00'
          : spec.startsWith('s')
            ? '%Y-%m-%dT%H:%M:%S+00:00'
            : '%Y-%m-%d'
    } else if (a === '-d' || a.startsWith('-d') || a.startsWith('--date=')) {
      const v = a === '-d' ? args[++i] : a.startsWith('--date=') ? a.slice(7) : a.slice(2)
      const t = v === undefined ? undefined : parseDate(v, ms)
      if (t === undefined) return fail(args, ctx, `invalid date '${v ?? ''}'`)
      ms = t
    } else if (a.startsWith('-')) {
      return usage(args, ctx, '[OPTIONS] [+FMT] [[-s] TIME]')
    } else {
      return fail(args, ctx, "can't set date: Operation not permitted")
    }
  }
  ctx.write('stdout', `${strftime(format, ms)}\n`)
  return 0
}

// ---- env, pwd, which

const env: Command = async (args, ctx) => {
  let vars: Record<string, string> = { ...ctx.env }
  let i = 1
  for (; i < args.length; i++) {
    const a = args[i] as string
    if (a === '-i' || a === '-' || a === '--ignore-environment') vars = {}
    else if (a === '-u') delete vars[args[++i] ?? '']
    else if (a.startsWith('-u')) delete vars[a.slice(2)]
    else if (a === '--') {
      i++
      break
    } else if (a.startsWith('-') && a !== '-') return usage(args, ctx, '[-i] [-u NAME] [-] [NAME=VALUE]... [PROG ARGS]')
    else break
  }
  for (; i < args.length; i++) {
    const a = args[i] as string
    const eq = a.indexOf('=')
    if (eq <= 0) break
    vars[a.slice(0, eq)] = a.slice(eq + 1)
  }
  const argv = args.slice(i)
  if (argv.length === 0) {
    ctx.write(
      'stdout',
      Object.entries(vars)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    )
    return 0
  }
  return execArgv(args, argv, { ...ctx, env: vars })
}

const pwd: Command = async (args, ctx) => {
  let dir = ctx.cwd
  if (args.includes('-P')) {
    try {
      dir = ctx.fs.realpath(dir)
    } catch {
      // keep the logical path
    }
  }
  ctx.write('stdout', `${dir}\n`)
  return 0
}

const which: Command = async (args, ctx) => {
  let all = false
  const names: string[] = []
  for (const a of args.slice(1)) {
    if (a === '-a') all = true
    else names.push(a)
  }
  if (names.length === 0) return usage(args, ctx, '[-a] COMMAND...')
  let status = 0
  let out = ''
  const env = { fs: ctx.fs, cwd: ctx.cwd, path: ctx.env.PATH, identity: ctx.identity }
  for (const name of names) {
    if (name.includes('/')) {
      const st = ctx.fs.stat(resolvePath(ctx.cwd, name))
      if (st && canExecute(st, ctx.identity)) out += `${name}\n`
      else status = 1
      continue
    }
    const hits: string[] = []
    for (const dir of (ctx.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
      const hit = findInPath(name, { ...env, path: dir })
      if (hit !== undefined && hit !== 'denied') {
        hits.push(hit)
        if (!all) break
      }
    }
    if (hits.length > 0) out += hits.map((h) => `${h}\n`).join('')
    else if (ctx.exec.command(name) || Object.hasOwn(SPECIAL_BUILTINS, name) || Object.hasOwn(REGULAR_BUILTINS, name)) out += `${name}\n`
    else status = 1
  }
  ctx.write('stdout', out)
  return status
}

export const infoCommands: Record<string, Command> = { id, whoami, hostname, uname, nproc, date, env, pwd, which }
