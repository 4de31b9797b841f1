// busybox ipcs: the System V IPC objects of the container's IPC namespace, read from
// /proc/sysvipc/{msg,shm,sem} (a pod's own namespace has none; one sharing the node's shows what
// ipcmk made on the host). Formats: the default, -c (creators/owners), -p (pids), -t (times),
// -l (limits) and -u (summary), for -q, -m, -s or all (-a).
import type { Command, CommandContext } from '../context.js'
import { groupName, userName } from './util.js'
import { has, parseOptions, usage } from './fs-common.js'

const USAGE =
  '[[-smq] -i SHMID] | [[-asmq] [-tcplu]]\n\n\t-i ID\tShow specific resource\nResource specification:\n\t-m\tShared memory segments\n\t-q\tMessage queues\n\t-s\tSemaphore arrays\n\t-a\tAll (default)\nOutput format:\n\t-t\tTime\n\t-c\tCreator\n\t-p\tPid\n\t-l\tLimits\n\t-u\tSummary'

type Format = 'default' | 'time' | 'creator' | 'pid' | 'limits' | 'status'
type Row = Record<string, number>

/** The objects of one /proc/sysvipc file, by column name; undefined when there is no such file. */
function objects(ctx: CommandContext, file: string): Row[] | undefined {
  let text: string
  try {
    text = ctx.fs.readFile(`/proc/sysvipc/${file}`).toString('latin1')
  } catch {
    return undefined
  }
  const [header = '', ...lines] = text.split('\n')
  const names = header.trim().split(/\s+/)
  return lines
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const values = l.trim().split(/\s+/)
      const row: Row = {}
      names.forEach((n, i) => (row[n] = n === 'perms' ? parseInt(values[i] ?? '0', 8) : Number(values[i] ?? 0)))
      return row
    })
}

const col = (text: string | number, width: number): string => String(text).padEnd(width)
const key = (k: number): string => `0x${(k >>> 0).toString(16).padStart(8, '0')}`
const owner = (ctx: CommandContext, uid: number, width = 10): string => col(userName(ctx, uid)?.slice(0, width) ?? uid, width)
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** libc's ctime() without its newline ("Thu Sep  6 21:31:42 2024"), in the container's UTC. */
function ctime(seconds: number): string {
  const d = new Date(seconds * 1000)
  const hms = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${hms} ${d.getUTCFullYear()}`
}

/** A time column: ctime()+4 cut to 16 characters, or "Not set". */
const when = (t: number, width: number): string => col(t ? `${ctime(t).slice(4, 20)}` : 'Not set', width)

/** A titled table: its header line, then one line per object. */
const section = (title: string, head: string, rows: readonly Row[], line: (r: Row) => string): string =>
  `${title}${head}\n${rows.map(line).join('')}`
const heads = (names: readonly string[]): string => names.map((h) => col(h, 10)).join(' ')
const perms = (r: Row): string => ((r.perms ?? 0) & 0o777).toString(8)

function creators(ctx: CommandContext, title: string, rows: Row[], id: string): string {
  return section(title, heads([id, 'perms', 'cuid', 'cgid', 'uid', 'gid']), rows, (r) => {
    const cells = [r[id] ?? 0, perms(r), userName(ctx, r.cuid ?? 0) ?? r.cuid ?? 0, groupName(ctx, r.cgid ?? 0) ?? r.cgid ?? 0]
    cells.push(userName(ctx, r.uid ?? 0) ?? r.uid ?? 0, groupName(ctx, r.gid ?? 0) ?? r.gid ?? 0)
    return `${cells.map((c) => col(c, 10)).join(' ')}\n`
  })
}

/** What -t shows of shared memory and message queues: the id (and its column's width), the owner, three times. */
const TIMES = {
  shm: { id: 'shmid', width: 10, columns: { attached: 'atime', detached: 'dtime', changed: 'ctime' } },
  msg: { id: 'msqid', width: 8, columns: { send: 'stime', recv: 'rtime', change: 'ctime' } },
} as const

function times(ctx: CommandContext, title: string, rows: Row[], spec: (typeof TIMES)[keyof typeof TIMES]): string {
  const columns = Object.entries(spec.columns)
  const head = `${col(spec.id, spec.width)} ${col('owner', 10)} ${columns.map(([n]) => col(n, 20)).join(' ')}`
  const line = (r: Row): string => {
    const stamps = columns.map(([, f]) => when(r[f] ?? 0, 20)).join(' ')
    return `${col(r[spec.id] ?? 0, spec.width)} ${owner(ctx, r.uid ?? 0)} ${stamps}\n`
  }
  return section(title, head, rows, line)
}

function shm(ctx: CommandContext, format: Format): string {
  const rows = objects(ctx, 'shm')
  if (!rows) return 'kernel not configured for shared memory\n'
  const title = (t: string): string => `------ Shared Memory ${t} --------\n`
  switch (format) {
    case 'limits':
      return `${title('Limits')}max number of segments = 4096\nmax seg size (kbytes) = 18014398509465599\nmax total shared memory (pages) = 18446744073692774399\nmin seg size (bytes) = 1\n`
    case 'status': {
      const pages = rows.reduce((n, r) => n + Math.ceil((r.size ?? 0) / 4096), 0)
      return `${title('Status')}segments allocated ${rows.length}\npages allocated ${pages}\npages resident  0\npages swapped   0\nSwap performance: 0 attempts\t0 successes\n`
    }
    case 'creator':
      return creators(ctx, title('Segment Creators/Owners'), rows, 'shmid')
    case 'time':
      return times(ctx, title('Attach/Detach/Change Times'), rows, TIMES.shm)
    case 'pid':
      return section(
        title('Creator/Last-op'),
        heads(['shmid', 'owner', 'cpid', 'lpid']),
        rows,
        (r) => `${col(r.shmid ?? 0, 10)} ${owner(ctx, r.uid ?? 0)} ${col(r.cpid ?? 0, 10)} ${col(r.lpid ?? 0, 10)}\n`,
      )
    default:
      return section(
        title('Segments'),
        `${heads(['key', 'shmid', 'owner', 'perms', 'bytes', 'nattch'])} ${col('status', 12)}`,
        rows,
        (r) => {
          const mode = r.perms ?? 0
          const status = `${col(mode & 0o1000 ? 'dest' : ' ', 6)} ${col(mode & 0o2000 ? 'locked' : ' ', 6)}`
          return `${key(r.key ?? 0)} ${col(r.shmid ?? 0, 10)} ${owner(ctx, r.uid ?? 0)} ${col(perms(r), 10)} ${col(r.size ?? 0, 10)} ${col(r.nattch ?? 0, 10)} ${status}\n`
        },
      )
  }
}

function msg(ctx: CommandContext, format: Format): string {
  const rows = objects(ctx, 'msg')
  if (!rows) return 'kernel not configured for message queues\n'
  const title = (t: string): string => `------ Message${t} --------\n`
  const sum = (field: string): number => rows.reduce((n, r) => n + (r[field] ?? 0), 0)
  switch (format) {
    case 'limits':
      return `${title('s: Limits')}max queues system wide = 32000\nmax size of message (bytes) = 8192\ndefault max size of queue (bytes) = 16384\n`
    case 'status':
      return `${title('s: Status')}allocated queues = ${rows.length}\nused headers = ${sum('qnum')}\nused space = ${sum('cbytes')} bytes\n`
    case 'creator':
      return creators(ctx, title(' Queues: Creators/Owners'), rows, 'msqid')
    case 'time':
      return times(ctx, title(' Queues Send/Recv/Change Times'), rows, TIMES.msg)
    case 'pid':
      return section(title(' Queues PIDs'), heads(['msqid', 'owner', 'lspid', 'lrpid']), rows, (r) => {
        return `${col(r.msqid ?? 0, 8)} ${owner(ctx, r.uid ?? 0)}  ${String(r.lspid ?? 0).padStart(5)}     ${String(r.lrpid ?? 0).padStart(5)}\n`
      })
    default:
      return section(
        title(' Queues'),
        `${heads(['key', 'msqid', 'owner', 'perms'])} ${col('used-bytes', 12)} ${col('messages', 12)}`,
        rows,
        (r) => {
          return `${key(r.key ?? 0)} ${col(r.msqid ?? 0, 10)} ${owner(ctx, r.uid ?? 0)} ${col(perms(r), 10)} ${col(r.cbytes ?? 0, 12)} ${col(r.qnum ?? 0, 12)}\n`
        },
      )
  }
}

function sem(ctx: CommandContext, format: Format): string {
  const rows = objects(ctx, 'sem')
  if (!rows) return 'kernel not configured for semaphores\n'
  const title = (t: string): string => `------ Semaphore ${t} --------\n`
  const stamp = (t: number | undefined): string => col(t ? ctime(t) : 'Not set', 26)
  switch (format) {
    case 'limits':
      return `${title('Limits')}max number of arrays = 32000\nmax semaphores per array = 32000\nmax semaphores system wide = 1024000000\nmax ops per semop call = 500\nsemaphore max value = 32767\n`
    case 'status':
      return `${title('Status')}used arrays = ${rows.length}\nallocated semaphores = ${rows.reduce((n, r) => n + (r.nsems ?? 0), 0)}\n`
    case 'creator':
      return creators(ctx, title('Arrays Creators/Owners'), rows, 'semid')
    case 'time': {
      const head = `${col('shmid', 8)} ${col('owner', 10)} ${col('last-op', 26)} ${col('last-changed', 26)}`
      return section('------ Shared Memory Operation/Change Times --------\n', head, rows, (r) => {
        return `${col(r.semid ?? 0, 8)} ${owner(ctx, r.uid ?? 0)}  ${stamp(r.otime)} ${stamp(r.ctime)}\n`
      })
    }
    case 'pid':
      return ''
    default:
      return section(title('Arrays'), heads(['key', 'semid', 'owner', 'perms', 'nsems']), rows, (r) => {
        return `${key(r.key ?? 0)} ${col(r.semid ?? 0, 10)} ${owner(ctx, r.uid ?? 0, 9)} ${col(perms(r), 10)} ${col(r.nsems ?? 0, 10)}\n`
      })
  }
}

export const ipcs: Command = async (args, ctx) => {
  const o = parseOptions('ipcs', args.slice(1), { flags: 'aqsmtcplu', valued: 'i', usage: USAGE }, ctx)
  if (typeof o === 'number') return o
  if (o.values.has('i')) return usage(ctx, 'ipcs', { usage: USAGE })
  let format: Format = 'default'
  for (const [flag, f] of [
    ['t', 'time'],
    ['c', 'creator'],
    ['p', 'pid'],
    ['l', 'limits'],
    ['u', 'status'],
  ] as const) {
    if (has(o, flag)) format = f
  }
  const all = has(o, 'a') || !['q', 's', 'm'].some((f) => has(o, f))
  let out = '\n'
  if (all || has(o, 'q')) out += `${msg(ctx, format)}\n`
  if (all || has(o, 'm')) out += `${shm(ctx, format)}\n`
  if (all || has(o, 's')) out += `${sem(ctx, format)}\n`
  ctx.write('stdout', out)
  return 0
}
