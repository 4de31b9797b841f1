// /proc as a container sees it, made on each read from the container's state: the processes of its
// PID namespace (/proc/<pid>/{status,cmdline,comm,cgroup,mounts}, /proc/self), its security
// settings (capabilities, no_new_privs, seccomp in status), its mounts, the pod's sysctls under
// /proc/sys, and a few node files (meminfo, cpuinfo, uptime, loadavg, version). Writes are refused
// (EACCES) except to /proc/sys files, which set the sysctl (when /proc/sys is not read-only, as it
// is unless the container is privileged).
import type { Attrs, Backend, Entry } from './backend.js'
import { FsError } from './types.js'
import { hexMask, processCapabilities, type CapabilitySets } from './security.js'

/** One process of a container's PID namespace. */
export interface ProcessEntry {
  pid: number
  /** Defaults to 0 for pid 1, else 1. */
  ppid?: number
  args: readonly string[]
  /** Its executable's name when its args were retitled; default: from args[0]. */
  comm?: string
  uid: number
  gid: number
  /** Supplementary groups; defaults to the container's groups for its user, else [gid]. */
  groups?: readonly number[]
}

/** The process reading /proc (whose /proc/self it sees). */
export interface ProcCaller {
  pid: number
  uid: number
  gid: number
  groups: readonly number[]
  args: readonly string[]
}

export interface ProcSource {
  caller(): ProcCaller
  processes(): readonly ProcessEntry[]
  /** The groups of a process that does not list its own. */
  defaultGroups(uid: number, gid: number): readonly number[]
  capabilities: CapabilitySets
  noNewPrivs: boolean
  seccomp: 0 | 2
  /** The text of /proc/<pid>/mounts. */
  mounts(): string
  /** Sysctl values by their path under /proc/sys ("kernel/shm_rmid_forced"). */
  sysctls: Map<string, string>
  /** The UTS namespace: kernel/hostname reads and writes its hostname. */
  uts?: { hostname: string }
  now(): number
  bootTimeMs: number
  memoryLimitBytes?: number
  /** /proc/net/<file> (tcp, tcp6, udp, udp6, raw, raw6, unix) of the network namespace. */
  net?: (file: string) => string | undefined
  /** /proc/sysvipc/<file> (shm, msg, sem) of the IPC namespace. */
  sysvipc?: (file: string) => string | undefined
}

const NET_FILES = ['raw', 'raw6', 'tcp', 'tcp6', 'udp', 'udp6', 'unix']
const SYSVIPC_FILES = ['msg', 'sem', 'shm']

export const KERNEL_RELEASE = '6.8.0-48-generic'
const HOSTNAME = 'kernel/hostname'

/** Default sysctls a container sees (containerd 2 sets the unprivileged port and ping ranges for pods). */
export const DEFAULT_SYSCTLS: Readonly<Record<string, string>> = {
  'kernel.ostype': 'Linux',
  'kernel.osrelease': KERNEL_RELEASE,
  'kernel.pid_max': '4194304',
  'kernel.shm_rmid_forced': '0',
  'kernel.shmmax': '18446744073692774399',
  'kernel.msgmax': '8192',
  'net.core.somaxconn': '4096',
  'net.ipv4.ip_forward': '1',
  'net.ipv4.ip_local_port_range': '32768\t60999',
  'net.ipv4.ip_unprivileged_port_start': '0',
  'net.ipv4.ping_group_range': '0\t2147483647',
  'net.ipv4.tcp_syncookies': '1',
  'vm.overcommit_memory': '1',
}

/** A sysctl name in either form ("net.ipv4.ip_forward", "net/ipv4/conf/eth0.100/rp_filter") as its path under /proc/sys. */
export const sysctlPath = (name: string): string => (name.includes('/') ? name.replace(/^\/+/, '') : name.split('.').join('/'))

const comm = (p: { args: readonly string[]; comm?: string }): string => {
  const a0 = p.comm ?? p.args[0] ?? ''
  return a0.slice(a0.lastIndexOf('/') + 1).slice(0, 15)
}

const kb = (label: string, value: number): string => `${`${label}:`.padEnd(16)}${String(value).padStart(8)} kB\n`

const DIRS: Readonly<Record<string, number>> = { acpi: 0o555, asound: 0o555, bus: 0o555, fs: 0o555, irq: 0o555, scsi: 0o555, sys: 0o555 }

/** Node-wide files: name → [mode, content]. */
type Static = Readonly<Record<string, number>>
const FILES: Static = {
  cmdline: 0o444,
  cpuinfo: 0o444,
  filesystems: 0o444,
  kcore: 0o400,
  keys: 0o444,
  latency_stats: 0o644,
  loadavg: 0o444,
  meminfo: 0o444,
  sched_debug: 0o444,
  'sysrq-trigger': 0o200,
  timer_list: 0o444,
  uptime: 0o444,
  version: 0o444,
}

const PID_FILES: Static = { cgroup: 0o444, cmdline: 0o444, comm: 0o644, environ: 0o400, mounts: 0o444, status: 0o444 }

export class ProcFs implements Backend {
  constructor(private readonly src: ProcSource) {}

  #pids(): Map<number, ProcessEntry> {
    const out = new Map<number, ProcessEntry>()
    for (const p of this.src.processes()) out.set(p.pid, p)
    const self = this.src.caller()
    if (!out.has(self.pid)) out.set(self.pid, { ...self })
    return out
  }

  #sysDirs(): Set<string> {
    const dirs = new Set<string>(['sys'])
    for (const key of this.src.sysctls.keys()) {
      const parts = key.split('/')
      for (let i = 1; i < parts.length; i++) dirs.add(`sys/${parts.slice(0, i).join('/')}`)
    }
    return dirs
  }

  lstat(p: string): Entry | undefined {
    const t = this.src.bootTimeMs
    const dir = (mode = 0o555, uid = 0, gid = 0): Entry => ({ type: 'dir', mode, uid, gid, size: 0, mtimeMs: t, nlink: 2 })
    const file = (mode: number, uid = 0, gid = 0): Entry => ({ type: 'file', mode, uid, gid, size: 0, mtimeMs: t, nlink: 1 })
    const link = (target: string): Entry => ({ type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: target.length, mtimeMs: t, target })
    if (p === '/') return dir()
    const [first = '', ...rest] = p.slice(1).split('/')
    const sub = rest.join('/')
    if (first === 'self' && rest.length === 0) return link(String(this.src.caller().pid))
    if (first === 'thread-self' && rest.length === 0) {
      const pid = this.src.caller().pid
      return link(`${pid}/task/${pid}`)
    }
    if (first === 'mounts' && rest.length === 0) return link('self/mounts')
    if (/^\d+$/.test(first)) {
      const proc = this.#pids().get(Number(first))
      if (!proc) return undefined
      if (rest.length === 0) return dir(0o555, proc.uid, proc.gid)
      if (sub === 'root' || sub === 'cwd') return link('/')
      const mode = PID_FILES[sub]
      return mode === undefined ? undefined : file(mode, proc.uid, proc.gid)
    }
    if (first === 'sys') {
      if (this.#sysDirs().has(p.slice(1))) return dir()
      return this.src.sysctls.has(sub) ? file(0o644) : undefined
    }
    const listed = this.#listed(first)
    if (listed) {
      if (rest.length === 0) return dir()
      return rest.length === 1 && listed.includes(sub) ? file(0o444) : undefined
    }
    if (rest.length === 0 && DIRS[first] !== undefined) return dir(DIRS[first])
    if (rest.length === 0 && FILES[first] !== undefined) return file(FILES[first])
    return undefined
  }

  /** The files of /proc/net or /proc/sysvipc, when the namespace gives them. */
  #listed(dir: string): string[] | undefined {
    if (dir === 'net' && this.src.net) return NET_FILES
    if (dir === 'sysvipc' && this.src.sysvipc) return SYSVIPC_FILES
    return undefined
  }

  readdir(p: string): string[] {
    if (p === '/') {
      const extra = ['net', 'sysvipc'].filter((d) => this.#listed(d))
      return [
        ...Object.keys(DIRS),
        ...Object.keys(FILES),
        ...extra,
        'mounts',
        'self',
        'thread-self',
        ...[...this.#pids().keys()].map(String),
      ]
    }
    const [first = '', ...rest] = p.slice(1).split('/')
    const listed = this.#listed(first)
    if (listed && rest.length === 0) return listed
    if (/^\d+$/.test(first) && rest.length === 0) return [...Object.keys(PID_FILES), 'cwd', 'root']
    if (first === 'sys') {
      const prefix = rest.length === 0 ? '' : `${rest.join('/')}/`
      const names = new Set<string>()
      for (const key of this.src.sysctls.keys()) {
        if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('/')[0] ?? '')
      }
      names.delete('')
      return [...names]
    }
    return []
  }

  read(p: string): Buffer {
    return Buffer.from(this.#content(p))
  }

  #content(p: string): string {
    const [first = '', ...rest] = p.slice(1).split('/')
    const sub = rest.join('/')
    if (/^\d+$/.test(first)) {
      const proc = this.#pids().get(Number(first))
      if (!proc) throw new FsError('ENOENT', p)
      switch (sub) {
        case 'status':
          return this.#status(proc)
        case 'cmdline':
          return proc.args.map((a) => `${a}\0`).join('')
        case 'comm':
          return `${comm(proc)}\n`
        case 'cgroup':
          return '0::/\n'
        case 'mounts':
          return this.src.mounts()
        default:
          return ''
      }
    }
    if (first === 'sys') return `${(sub === HOSTNAME ? this.src.uts?.hostname : undefined) ?? this.src.sysctls.get(sub) ?? ''}\n`
    if (first === 'net') return this.src.net?.(sub) ?? ''
    if (first === 'sysvipc') return this.src.sysvipc?.(sub) ?? ''
    const now = this.src.now()
    switch (first) {
      case 'uptime': {
        const up = Math.max(0, (now - this.src.bootTimeMs) / 1000)
        return `${up.toFixed(2)} ${(up * 1.8).toFixed(2)}\n`
      }
      case 'loadavg': {
        const pids = [...this.#pids().keys()]
        return `0.08 0.05 0.01 1/${pids.length} ${Math.max(...pids)}\n`
      }
      case 'meminfo':
        return this.#meminfo()
      case 'cpuinfo':
        return [0, 1]
          .map(
            (n) =>
              `processor\t: ${n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n` +
              `model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\ncpu MHz\t\t: 2200.000\ncache size\t: 39424 KB\n` +
              `physical id\t: 0\nsiblings\t: 2\ncore id\t\t: ${n}\ncpu cores\t: 2\nbogomips\t: 4400.00\n\n`,
          )
          .join('')
      case 'version':
        return `Linux version ${KERNEL_RELEASE} (buildd@fake-containerd) (gcc (GCC) 13.2.0, GNU ld (GNU Binutils) 2.42) #1 SMP PREEMPT_DYNAMIC\n`
      case 'cmdline':
        return `BOOT_IMAGE=/boot/vmlinuz-${KERNEL_RELEASE} root=/dev/sda1 ro quiet\n`
      case 'filesystems':
        return 'nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup2\nnodev\tdevpts\nnodev\tmqueue\nnodev\toverlay\n\text4\n'
      default:
        return ''
    }
  }

  #meminfo(): string {
    const total = 16_384_000
    return (
      kb('MemTotal', total) +
      kb('MemFree', 8_192_000) +
      kb('MemAvailable', 12_288_000) +
      kb('Buffers', 204_800) +
      kb('Cached', 3_072_000) +
      kb('SwapCached', 0) +
      kb('Active', 4_096_000) +
      kb('Inactive', 2_048_000) +
      kb('SwapTotal', 0) +
      kb('SwapFree', 0) +
      kb('Shmem', 65_536)
    )
  }

  #status(proc: ProcessEntry): string {
    const self = this.src.caller()
    const caps = processCapabilities(this.src.capabilities, proc.uid)
    const groups = proc.groups ?? this.src.defaultGroups(proc.uid, proc.gid)
    const ppid = proc.ppid ?? (proc.pid === 1 ? 0 : 1)
    const ids = (n: number): string => `${n}\t${n}\t${n}\t${n}`
    const lines = [
      `Name:\t${comm(proc)}`,
      'Umask:\t0022',
      `State:\t${proc.pid === self.pid ? 'R (running)' : 'S (sleeping)'}`,
      `Tgid:\t${proc.pid}`,
      'Ngid:\t0',
      `Pid:\t${proc.pid}`,
      `PPid:\t${ppid}`,
      'TracerPid:\t0',
      `Uid:\t${ids(proc.uid)}`,
      `Gid:\t${ids(proc.gid)}`,
      'FDSize:\t64',
      `Groups:\t${groups.join(' ')} `,
      `NStgid:\t${proc.pid}`,
      `NSpid:\t${proc.pid}`,
      `NSpgid:\t${proc.pid}`,
      `NSsid:\t${proc.pid}`,
      'VmPeak:\t    4384 kB',
      'VmSize:\t    4384 kB',
      'VmLck:\t       0 kB',
      'VmPin:\t       0 kB',
      'VmHWM:\t    1152 kB',
      'VmRSS:\t    1152 kB',
      'Threads:\t1',
      'SigQ:\t0/63448',
      'SigPnd:\t0000000000000000',
      'ShdPnd:\t0000000000000000',
      'SigBlk:\t0000000000000000',
      'SigIgn:\t0000000000000000',
      'SigCgt:\t0000000000000000',
      `CapInh:\t${hexMask(caps.inheritable)}`,
      `CapPrm:\t${hexMask(caps.permitted)}`,
      `CapEff:\t${hexMask(caps.effective)}`,
      `CapBnd:\t${hexMask(caps.bounding)}`,
      `CapAmb:\t${hexMask(caps.ambient)}`,
      `NoNewPrivs:\t${this.src.noNewPrivs ? 1 : 0}`,
      `Seccomp:\t${this.src.seccomp}`,
      `Seccomp_filters:\t${this.src.seccomp === 2 ? 1 : 0}`,
      `Speculation_Store_Bypass:\t${this.src.seccomp === 2 ? 'thread force mitigated' : 'thread vulnerable'}`,
      'Cpus_allowed:\t3',
      'Cpus_allowed_list:\t0-1',
      'Mems_allowed:\t00000001',
      'Mems_allowed_list:\t0',
      'voluntary_ctxt_switches:\t12',
      'nonvoluntary_ctxt_switches:\t1',
    ]
    return `${lines.join('\n')}\n`
  }

  write(p: string, data: Buffer, _append: boolean, _attrs: Attrs): void {
    const key = p.startsWith('/sys/') ? p.slice('/sys/'.length) : undefined
    if (key === undefined || !this.src.sysctls.has(key)) throw new FsError('EACCES', p)
    const value = data.toString('utf8').replace(/\n$/, '').trim()
    if (key === HOSTNAME && this.src.uts) this.src.uts.hostname = value
    else this.src.sysctls.set(key, value)
  }

  mkdir(p: string): void {
    throw new FsError('EACCES', p)
  }

  symlink(_target: string, p: string): void {
    throw new FsError('EACCES', p)
  }

  remove(p: string): void {
    throw new FsError('EACCES', p)
  }

  rename(from: string): void {
    throw new FsError('EACCES', from)
  }

  setattr(p: string): void {
    throw new FsError('EACCES', p)
  }
}
