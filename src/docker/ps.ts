// The `ps` that `docker top` runs on a dockerd whose containerd is the fake (docker/ps starts
// this; put that directory first on dockerd's PATH). dockerd asks containerd for the task's host
// PIDs (Tasks.ListPids), runs `ps <args> -q<pid,pid,...>` and keeps the lines whose PID column is
// one of them (moby daemon/top_unix.go). The fake's processes are simulated, so the host's ps finds
// none of them (their PIDs are above the kernel's pid_max). This ps asks the fake (its control service, over
// FAKE_CONTAINERD_SOCKET) for the processes with those PIDs and prints them as procps's ps does for
// the formats docker top uses: -ef / -f, the default (PID TTY TIME CMD), BSD `aux`, and -o/o with
// the common keys. Without -q, it hands the call to the host's ps.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { controlClient } from '../client.js'
import { DEFAULTS } from '../config.js'
import { ENV } from '../flags.js'
import type { ProcessInfo__Output } from '../generated/fakecontainerd/control/v1/ProcessInfo.js'

interface Request {
  pids: number[]
  /** -f: full format (UID PID PPID C STIME TTY TIME CMD). */
  full: boolean
  /** BSD u: user-oriented format. */
  user: boolean
  /** -o / o: the keys asked for. */
  keys: string[]
}

/** Parses what docker top passes (and ps's usual spellings); undefined when it holds anything else. */
function parseArgs(argv: readonly string[]): Request | undefined {
  const req: Request = { pids: [], full: false, user: false, keys: [] }
  const pidList = (text: string): boolean => {
    for (const p of text.split(/[,\s]+/).filter((s) => s !== '')) {
      if (!/^\d+$/.test(p)) return false
      req.pids.push(Number(p))
    }
    return true
  }
  let quick = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '') continue
    if (arg === '-q' || arg === '--quick-pid' || arg === '-o' || arg === 'o' || arg === '--format') {
      const value = argv[++i]
      if (value === undefined) return undefined
      if (arg === '-q' || arg === '--quick-pid') {
        quick = true
        if (!pidList(value)) return undefined
      } else req.keys.push(...value.split(',').filter((k) => k !== ''))
      continue
    }
    if (arg.startsWith('--quick-pid=')) {
      quick = true
      if (!pidList(arg.slice('--quick-pid='.length))) return undefined
      continue
    }
    // UNIX options (-ef, -e -f, -A, -q1,2), or BSD ones without a dash (aux).
    const unix = arg.startsWith('-')
    const letters = unix ? arg.slice(1) : arg
    for (let j = 0; j < letters.length; j++) {
      const c = letters[j] as string
      if (unix && c === 'q') {
        quick = true
        if (!pidList(letters.slice(j + 1))) return undefined
        break
      }
      if (c === 'o') {
        req.keys.push(
          ...letters
            .slice(j + 1)
            .split(',')
            .filter((k) => k !== ''),
        )
        if (j + 1 === letters.length) {
          const value = argv[++i]
          if (value === undefined) return undefined
          req.keys.push(...value.split(',').filter((k) => k !== ''))
        }
        break
      }
      if (unix && c === 'f') req.full = true
      else if (!unix && c === 'u') req.user = true
      else if ('eAaxw'.includes(c) || (!unix && c === 'f')) continue
      else return undefined
    }
  }
  return quick ? req : undefined
}

/** Host user names by uid, as ps resolves them (the host's /etc/passwd). */
function userNames(): Map<number, string> {
  const names = new Map<number, string>()
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':')
      if (f.length > 2 && f[0]) names.set(Number(f[2]), f[0])
    }
  } catch {
    // no names: ps prints numbers
  }
  return names
}

const pad2 = (n: number): string => String(n).padStart(2, '0')
const hhmm = (ms: number): string => {
  const d = new Date(ms)
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`
}

/** A process's arguments, or its name in brackets when it has none (as ps prints a kernel thread). */
const commandLine = (p: ProcessInfo__Output): string => p.args.join(' ') || `[${p.comm}]`

/** What one ps key prints for a process: its header and its value. */
const KEYS: Record<string, { header: string; right?: boolean; value: (p: ProcessInfo__Output, user: (uid: number) => string) => string }> =
  {
    pid: { header: 'PID', right: true, value: (p) => String(p.pid) },
    ppid: { header: 'PPID', right: true, value: (p) => String(p.ppid) },
    uid: { header: 'UID', right: true, value: (p) => String(p.uid) },
    gid: { header: 'GID', right: true, value: (p) => String(p.gid) },
    user: { header: 'USER', value: (p, user) => user(p.uid) },
    euser: { header: 'EUSER', value: (p, user) => user(p.uid) },
    comm: { header: 'COMMAND', value: (p) => p.comm },
    ucomm: { header: 'COMMAND', value: (p) => p.comm },
    args: { header: 'COMMAND', value: commandLine },
    cmd: { header: 'CMD', value: commandLine },
    command: { header: 'COMMAND', value: commandLine },
    stat: { header: 'STAT', value: (p) => p.state },
    s: { header: 'S', value: (p) => p.state },
    tty: { header: 'TT', value: () => '?' },
    tname: { header: 'TTY', value: () => '?' },
    time: { header: 'TIME', right: true, value: () => '00:00:00' },
    cputime: { header: 'TIME', right: true, value: () => '00:00:00' },
    etime: { header: 'ELAPSED', right: true, value: (p) => elapsed(Date.now() - Number(p.started_ms)) },
    stime: { header: 'STIME', value: (p) => hhmm(Number(p.started_ms)) },
    start: { header: 'STARTED', right: true, value: (p) => hhmm(Number(p.started_ms)) },
    lstart: { header: 'STARTED', value: (p) => new Date(Number(p.started_ms)).toString().slice(0, 24) },
    c: { header: 'C', right: true, value: () => '0' },
    '%cpu': { header: '%CPU', right: true, value: () => '0.0' },
    pcpu: { header: '%CPU', right: true, value: () => '0.0' },
    '%mem': { header: '%MEM', right: true, value: () => '0.0' },
    pmem: { header: '%MEM', right: true, value: () => '0.0' },
    rss: { header: 'RSS', right: true, value: (p) => String(Math.round(Number(p.rss_bytes) / 1024)) },
    vsz: { header: 'VSZ', right: true, value: (p) => String(Math.round(Number(p.rss_bytes) / 1024) + 1024) },
  }

function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const days = Math.floor(s / 86400)
  const hms = `${pad2(Math.floor((s % 86400) / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`
  return days > 0 ? `${days}-${hms}` : hms.replace(/^00:/, '')
}

/** procps's standard formats as lists of keys (with their headers as procps prints them). */
const FORMATS = {
  default: ['pid', 'tname', 'time', 'cmd'],
  full: ['uid:UID', 'pid', 'ppid', 'c', 'stime', 'tname', 'time', 'cmd'],
  user: ['user', 'pid', '%cpu', '%mem', 'vsz', 'rss', 'tname', 'stat', 'start:START', 'time', 'command'],
}

/** The table ps prints: columns padded to their widest cell, the last one left as it is. */
function render(req: Request, processes: readonly ProcessInfo__Output[]): string {
  const names = userNames()
  const user = (uid: number): string => names.get(uid) ?? String(uid)
  const keys = req.keys.length > 0 ? req.keys : req.user ? FORMATS.user : req.full ? FORMATS.full : FORMATS.default
  const columns = keys.map((k) => {
    const [name, header] = k.split(/[:=]/) as [string, string | undefined]
    const key = KEYS[name.toLowerCase()]
    if (!key) throw new Error(`error: unknown user-defined format specifier "${name}"`)
    // -f's UID column is the user's name, as procps prints it.
    const value =
      name === 'uid' && header === 'UID' ? (p: ProcessInfo__Output) => user(p.uid) : (p: ProcessInfo__Output) => key.value(p, user)
    return { header: header ?? key.header, right: key.right === true && !(name === 'uid' && header === 'UID'), value }
  })
  const rows = [columns.map((c) => c.header), ...processes.map((p) => columns.map((c) => c.value(p)))]
  const widths = columns.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  return rows
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? cell : columns[i]!.right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' '),
    )
    .map((line) => `${line}\n`)
    .join('')
}

/** The host's ps: the first `ps` on PATH that is not this one. */
function hostPs(): string | undefined {
  const self = join(dirname(fileURLToPath(import.meta.url)), '../../docker/ps')
  const mine = existsSync(self) ? realpathSync(self) : self
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir || '.', 'ps')
    if (existsSync(candidate) && realpathSync(candidate) !== mine) return candidate
  }
  return undefined
}

async function main(argv: readonly string[]): Promise<number> {
  const req = parseArgs(argv)
  if (!req) {
    const ps = hostPs()
    if (!ps) {
      process.stderr.write('ps: no host ps on PATH to run this\n')
      return 1
    }
    return spawnSync(ps, argv, { stdio: 'inherit' }).status ?? 1
  }
  const socket = process.env[ENV.socket] || DEFAULTS.socket
  const control = controlClient(socket.startsWith('unix:') ? socket : `unix://${socket}`)
  try {
    const { processes } = await control.ListProcesses({ pids: req.pids })
    process.stdout.write(
      render(
        req,
        [...processes].sort((a, b) => a.pid - b.pid),
      ),
    )
    // procps exits 1 when no process matched; then dockerd runs ps again without -q and would list
    // the host's processes, some of which may have the fake's PIDs. So this one succeeds.
    return 0
  } catch (err) {
    process.stderr.write(
      `${(err as Error).message.startsWith('error:') ? '' : `ps: fake-containerd at ${socket}: `}${(err as Error).message}\n`,
    )
    return 1
  } finally {
    control.close()
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2))
}
