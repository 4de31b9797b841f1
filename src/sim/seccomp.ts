// Seccomp as runc applies it to a container's processes: an OCI profile (linux.seccomp of the
// runtime spec), containerd's RuntimeDefault profile (contrib/seccomp/seccomp_default.go, amd64),
// a Localhost profile read from the host file a client names (decoded as containerd's Go JSON
// decoder would, with its error texts), and the verdict for one system call.
import { goJsonKind, goJsonSyntaxError } from '../go-json.js'

/** One rule of a profile. */
export interface SeccompSyscall {
  names: string[]
  action: string
  errnoRet?: number
  args?: { index: number; value: number; valueTwo?: number; op: string }[]
}

/** The OCI runtime spec's LinuxSeccomp: what containerd puts in a container's spec. */
export interface SeccompProfile {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  flags?: string[]
  listenerPath?: string
  listenerMetadata?: string
  syscalls?: SeccompSyscall[]
}

/** What the filter does with one call: let it through, fail it with an errno, or kill the process (SIGSYS). */
export type SeccompVerdict = { action: 'allow' } | { action: 'errno'; errno: number } | { action: 'kill' }

const EPERM = 1
const ENOSYS = 38
const AF_ALG = 38
const AF_VSOCK = 40
const CLONE_NAMESPACES = 0x7e020000

/** The syscalls containerd's default profile allows unconditionally. */
const DEFAULT_ALLOWED = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd
getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid
getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get
ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self
lchown lchown32 lgetxattr link linkat listen listmount listxattr listxattrat llistxattr _llseek
lremovexattr lseek lsetxattr lsm_get_self_attr lsm_list_modules lsm_set_self_attr lstat lstat64 madvise
membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall
map_shadow_stack mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock
munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open
pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64
preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead
readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr
removexattrat rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget
semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32
setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs
statfs64 statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64
ugetrlimit umask uname unlink unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice
wait4 waitid waitpid write writev
`
  .trim()
  .split(/\s+/)

/** Syscalls the default profile allows when the bounding set holds a capability. */
const BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: [
    'bpf',
    'clone',
    'clone3',
    'fanotify_init',
    'fsconfig',
    'fsmount',
    'fsopen',
    'fspick',
    'lookup_dcookie',
    'mount',
    'mount_setattr',
    'move_mount',
    'open_tree',
    'perf_event_open',
    'quotactl',
    'quotactl_fd',
    'setdomainname',
    'sethostname',
    'setns',
    'syslog',
    'umount',
    'umount2',
    'unshare',
  ],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
}

const allow = (names: string[], args?: SeccompSyscall['args']): SeccompSyscall => ({
  names,
  action: 'SCMP_ACT_ALLOW',
  ...(args ? { args } : {}),
})

/** containerd's RuntimeDefault profile for a container with this bounding set (amd64, kernel 4.8 or later). */
export function defaultProfile(bounding: readonly string[]): SeccompProfile {
  const syscalls: SeccompSyscall[] = [
    allow([...DEFAULT_ALLOWED]),
    // socket(2) for every address family but AF_ALG and AF_VSOCK.
    allow(['socket'], [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }]),
    allow(['socket'], [{ index: 0, value: AF_ALG + 1, op: 'SCMP_CMP_EQ' }]),
    allow(['socket'], [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }]),
    ...[0, 0x8, 0x20000, 0x20008, 0xffffffff].map((p) => allow(['personality'], [{ index: 0, value: p, op: 'SCMP_CMP_EQ' }])),
    allow(['process_vm_readv', 'process_vm_writev', 'ptrace']),
    allow(['arch_prctl', 'modify_ldt']),
  ]
  for (const cap of bounding) {
    const names = BY_CAPABILITY[cap]
    if (names) syscalls.push(allow([...names]))
  }
  if (!bounding.includes('CAP_SYS_ADMIN')) {
    syscalls.push(allow(['clone'], [{ index: 0, value: CLONE_NAMESPACES, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]))
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS })
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', architectures: [...SECCOMP_ARCHITECTURES], syscalls }
}

/** The architectures a profile names on the simulated (amd64) machine. */
export const SECCOMP_ARCHITECTURES: readonly string[] = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']

/** The actions and operators runc accepts in a profile (`runc features` lists them). */
export const SECCOMP_ACTIONS: ReadonlySet<string> = new Set([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
])
export const SECCOMP_OPERATORS: ReadonlySet<string> = new Set([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
])

/** What runc refuses in a profile when it creates the container (its error text), or undefined. */
export function profileError(p: SeccompProfile): string | undefined {
  const syscalls = Array.isArray(p.syscalls) ? p.syscalls : []
  const actions = [p.defaultAction, ...syscalls.map((s) => s.action)]
  const bad = actions.findIndex((a) => !SECCOMP_ACTIONS.has(a))
  if (bad !== -1) return `string ${actions[bad]} is not a valid action for seccomp`
  const op = syscalls.flatMap((s) => (Array.isArray(s.args) ? s.args : [])).find((a) => !SECCOMP_OPERATORS.has(a.op))
  if (op !== undefined) return `string ${op.op} is not a valid operator for seccomp`
  return undefined
}

function verdict(action: string, errnoRet: number | undefined): SeccompVerdict {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
    case 'SCMP_ACT_LOG':
      return { action: 'allow' }
    case 'SCMP_ACT_ERRNO':
      return { action: 'errno', errno: errnoRet ?? EPERM }
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_PROCESS':
    case 'SCMP_ACT_KILL_THREAD':
    case 'SCMP_ACT_TRAP':
      return { action: 'kill' }
    default:
      // SCMP_ACT_TRACE with no tracer attached, SCMP_ACT_NOTIFY with no listener: the call fails.
      return { action: 'errno', errno: ENOSYS }
  }
}

function argMatches(a: NonNullable<SeccompSyscall['args']>[number], args: readonly number[]): boolean {
  const v = args[a.index] ?? 0
  if (typeof a.value !== 'number') return false
  switch (a.op) {
    case 'SCMP_CMP_NE':
      return v !== a.value
    case 'SCMP_CMP_LT':
      return v < a.value
    case 'SCMP_CMP_LE':
      return v <= a.value
    case 'SCMP_CMP_EQ':
      return v === a.value
    case 'SCMP_CMP_GE':
      return v >= a.value
    case 'SCMP_CMP_GT':
      return v > a.value
    case 'SCMP_CMP_MASKED_EQ':
      return Number(BigInt(v) & BigInt(a.value)) === (a.valueTwo ?? 0)
    default:
      return false
  }
}

/** A profile made ready to answer: the rules of each syscall, in order. */
export class SeccompFilter {
  readonly #rules = new Map<string, SeccompSyscall[]>()
  readonly #default: SeccompVerdict

  constructor(readonly profile: SeccompProfile) {
    // A spec made through containerd's API is whatever JSON the client sent: what is not a list is none.
    for (const rule of Array.isArray(profile.syscalls) ? profile.syscalls : []) {
      for (const name of Array.isArray(rule.names) ? rule.names : []) {
        const list = this.#rules.get(name)
        if (list) list.push(rule)
        else this.#rules.set(name, [rule])
      }
    }
    this.#default = verdict(profile.defaultAction, profile.defaultErrnoRet)
  }

  /** The verdict for a call of `name` with these arguments (missing ones are 0): the first matching rule's, else the default action's. */
  check(name: string, args: readonly number[] = []): SeccompVerdict {
    for (const rule of this.#rules.get(name) ?? []) {
      if ((Array.isArray(rule.args) ? rule.args : []).every((a) => argMatches(a, args))) return verdict(rule.action, rule.errnoRet)
    }
    return this.#default
  }
}

// ---- decoding a Localhost profile as Go's encoding/json decodes it into specs.LinuxSeccomp ----

type Shape = 'string' | 'uint' | 'uint64' | { array: Shape } | { struct: string; fields: Readonly<Record<string, [string, Shape]>> }

const ARG: Shape = {
  struct: 'LinuxSeccompArg',
  fields: { index: ['index', 'uint'], value: ['value', 'uint64'], valuetwo: ['valueTwo', 'uint64'], op: ['op', 'string'] },
}
const SYSCALL: Shape = {
  struct: 'LinuxSyscall',
  fields: {
    names: ['names', { array: 'string' }],
    action: ['action', 'string'],
    errnoret: ['errnoRet', 'uint'],
    args: ['args', { array: ARG }],
  },
}
const PROFILE: Shape = {
  struct: 'LinuxSeccomp',
  fields: {
    defaultaction: ['defaultAction', 'string'],
    defaulterrnoret: ['defaultErrnoRet', 'uint'],
    architectures: ['architectures', { array: 'string' }],
    flags: ['flags', { array: 'string' }],
    listenerpath: ['listenerPath', 'string'],
    listenermetadata: ['listenerMetadata', 'string'],
    syscalls: ['syscalls', { array: SYSCALL }],
  },
}
const GO_TYPE: Readonly<Record<string, string>> = {
  'LinuxSeccomp.defaultAction': 'specs.LinuxSeccompAction',
  'LinuxSeccomp.architectures': 'specs.Arch',
  'LinuxSeccomp.flags': 'specs.LinuxSeccompFlag',
  'LinuxSyscall.action': 'specs.LinuxSeccompAction',
  'LinuxSeccompArg.op': 'specs.LinuxSeccompOperator',
}

/**
 * Decodes a profile as containerd does (json.Unmarshal into specs.LinuxSeccomp): keys match in any
 * case, unknown keys are ignored, null leaves a field unset; a value of the wrong type is Go's
 * UnmarshalTypeError. Throws an Error with Go's text.
 */
export function decodeProfile(text: string): SeccompProfile {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new Error(goJsonSyntaxError(text, err as Error))
  }
  const decode = (v: unknown, shape: Shape, struct: string, path: string): unknown => {
    if (v === null) return undefined
    const fail = (goType: string, value = goJsonKind(v)): never => {
      throw new Error(`json: cannot unmarshal ${value} into Go struct field ${struct}.${path} of type ${goType}`)
    }
    if (shape === 'string') return typeof v === 'string' ? v : fail(GO_TYPE[`${struct}.${path.split('.').pop()}`] ?? 'string')
    if (shape === 'uint' || shape === 'uint64') {
      if (typeof v !== 'number') return fail(shape)
      return Number.isInteger(v) && v >= 0 ? v : fail(shape, `number ${v}`)
    }
    if ('array' in shape) {
      const item = shape.array
      const itemStruct = typeof item === 'object' && 'struct' in item ? item.struct : undefined
      if (!Array.isArray(v))
        return fail(`[]${itemStruct ? `specs.${itemStruct}` : (GO_TYPE[`${struct}.${path.split('.').pop()}`] ?? 'string')}`)
      return v.map((x) => decode(x, item, itemStruct ?? struct, path))
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      if (path === '') throw new Error(`json: cannot unmarshal ${goJsonKind(v)} into Go value of type specs.LinuxSeccomp`)
      return fail(`specs.${shape.struct}`)
    }
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
      const field = shape.fields[key.toLowerCase()]
      if (!field) continue
      const decoded = decode(value, field[1], shape.struct, path === '' ? field[0] : `${path}.${field[0]}`)
      if (decoded !== undefined) out[field[0]] = decoded
    }
    return out
  }
  const p = decode(raw, PROFILE, 'LinuxSeccomp', '') as Partial<SeccompProfile> | undefined
  const syscalls = (p?.syscalls ?? []).map((s) => ({ ...s, names: s.names ?? [], action: s.action ?? '' }))
  return { ...p, defaultAction: p?.defaultAction ?? '', ...(p?.syscalls ? { syscalls } : {}) }
}
