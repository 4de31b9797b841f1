// The kernel a simulated process calls into when it asks for something privileged: seccomp first
// (the container's filter, src/sim/seccomp.ts), then the capability the call needs in the process's
// effective set (src/sim/fs/security.ts: containerd's sets, and the execve rules for a uid that is
// not 0). A command asks with the system call's name, the capability, and the arguments a filter
// may look at; it gets an errno back, or nothing when the call may proceed. The UTS namespace
// (the hostname sethostname changes) is the kernel's too: the pod's containers share one.
import type { FileStat, Fs } from './fs/types.js'
import type { Identity } from './identity.js'
import { capabilitySets, hasCap, processCapabilities, type CapabilitySets } from './fs/security.js'
import type { SeccompFilter } from './seccomp.js'

/** A UTS namespace: the hostname `hostname`, `uname -n` and /proc/sys/kernel/hostname tell. */
export interface Uts {
  hostname: string
}

/** A network namespace, as far as the simulator follows it. */
export interface NetNamespace {
  /** The namespace's addresses besides loopback's (the pod IP). */
  readonly addresses: readonly string[]
  /** Bridges made in it (brctl addbr), each with the interfaces added to it. */
  readonly bridges: Map<string, Set<string>>
  /** Whether an address outside the namespace answers (another pod's IP on the node); none when absent. */
  reachable?(ip: string): boolean
}

/** What the kernel knows of a container's processes. */
export interface Kernel {
  /** The capability sets the container's processes start with. */
  readonly capabilities: CapabilitySets
  /** no_new_privs: an execve never gains privileges (set-user-ID bits, file capabilities). */
  readonly noNewPrivs: boolean
  /** The seccomp filter; none when unconfined (or privileged). */
  readonly seccomp?: SeccompFilter | undefined
  readonly uts: Uts
  readonly net: NetNamespace
}

/**
 * The part of a command context (src/sim/context.ts) the kernel looks at; named here so the kernel
 * does not import the context, which itself refers to the Kernel.
 */
export interface KernelCaller {
  readonly kernel?: Kernel | undefined
  readonly hostname: string
}

/** errno values and their strerror texts (glibc's). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EACCES: 13,
  ENXIO: 6,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSYS: 38,
} as const

const MESSAGES: Readonly<Record<number, string>> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  5: 'Input/output error',
  6: 'No such device or address',
  9: 'Bad file descriptor',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  14: 'Bad address',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  20: 'Not a directory',
  21: 'Is a directory',
  22: 'Invalid argument',
  28: 'No space left on device',
  30: 'Read-only file system',
  38: 'Function not implemented',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
}

export const strerror = (errno: number): string => MESSAGES[errno] ?? `Unknown error ${errno}`

/** Thrown when the seccomp filter kills the process that made a call (SIGSYS, 31). */
export class SyscallKilled extends Error {
  readonly signo = 31
  constructor(readonly syscall: string) {
    super(`killed by SIGSYS in ${syscall}`)
  }
}

const DEFAULT_SETS = capabilitySets(null)

/** The kernel of a context; without one (a shell run on its own), containerd's defaults and no filter. */
export function kernelOf(ctx: KernelCaller): Kernel {
  return (
    ctx.kernel ?? {
      capabilities: DEFAULT_SETS,
      noNewPrivs: false,
      uts: { hostname: ctx.hostname },
      net: { addresses: [], bridges: new Map() },
    }
  )
}

/** The effective capabilities of a process with this identity (its effective uid decides, as after execve). */
export function effectiveCapabilities(kernel: Kernel, id: Identity): bigint {
  return processCapabilities(kernel.capabilities, id.euid ?? id.uid).effective
}

export interface SyscallOptions {
  /** The capability (bit number, security.ts CAP) the call needs. */
  cap?: number
  /** The call's arguments, as a seccomp filter compares them. */
  args?: readonly number[]
}

/**
 * Asks whether the process may make the call: the errno it fails with, or undefined. A filter that
 * kills throws SyscallKilled.
 */
export function syscall(ctx: KernelCaller & { readonly identity: Identity }, name: string, o: SyscallOptions = {}): number | undefined {
  const kernel = kernelOf(ctx)
  const verdict = kernel.seccomp?.check(name, o.args)
  if (verdict?.action === 'kill') throw new SyscallKilled(name)
  if (verdict?.action === 'errno') return verdict.errno
  if (o.cap !== undefined && !hasCap(effectiveCapabilities(kernel, ctx.identity), o.cap)) return ERRNO.EPERM
  return undefined
}

/**
 * The context a program runs with after execve of `file`: a set-user-ID file makes its owner the
 * effective uid, a set-group-ID one (with group execute) its group the effective gid, unless
 * no_new_privs is set. File permissions are then checked with the effective ids.
 */
export function execContext<C extends KernelCaller & { readonly identity: Identity; readonly fs: Fs }>(
  ctx: C,
  file: FileStat | undefined,
): C {
  if (!file || (file.mode & 0o6000) === 0 || kernelOf(ctx).noNewPrivs) return ctx
  const identity: Identity = { ...ctx.identity }
  if ((file.mode & 0o4000) !== 0) identity.euid = file.uid
  if ((file.mode & 0o2010) === 0o2010) identity.egid = file.gid
  const fs = ctx.fs.as?.({ uid: identity.euid ?? identity.uid, gid: identity.egid ?? identity.gid, groups: identity.groups }) ?? ctx.fs
  return { ...ctx, identity, fs }
}

/** The hostname of the process's UTS namespace. */
export const hostnameOf = (ctx: KernelCaller): string => kernelOf(ctx).uts.hostname
