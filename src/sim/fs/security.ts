// A container's security settings as the kernel shows them in /proc/<pid>/status: capability sets
// (containerd's CRI rules for add/drop and privileged), no_new_privs and the seccomp mode. The
// input is CRI's LinuxContainerSecurityContext (snake_case fields), so a container config's
// `linux.security_context` can be passed as it is.

/** Linux capability names by bit number (CAP_LAST_CAP is CAP_CHECKPOINT_RESTORE, 40). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
]

/** containerd's default set for a container (the same list as model/cri/spec.ts). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]

/** runc's default masked and read-only paths (as model/cri/spec.ts writes them into the OCI spec). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
]
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]

export const CAP = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  KILL: 5,
  NET_ADMIN: 12,
  NET_RAW: 13,
  SYS_ADMIN: 21,
} as const

/** The parts of CRI's LinuxContainerSecurityContext this reads (generated __Output objects fit). */
export interface SecurityContextInput {
  privileged?: boolean
  capabilities?: {
    add_capabilities?: readonly string[]
    drop_capabilities?: readonly string[]
    add_ambient_capabilities?: readonly string[]
  } | null
  no_new_privs?: boolean
  /** profile_type: RuntimeDefault (0), Unconfined (1), Localhost (2). */
  seccomp?: { profile_type?: string | number; localhost_ref?: string } | null
  /** The deprecated field: "runtime/default", "docker/default", "unconfined", "localhost/<path>". */
  seccomp_profile_path?: string
  readonly_rootfs?: boolean
  masked_paths?: readonly string[]
  readonly_paths?: readonly string[]
  supplemental_groups?: readonly (string | number)[]
}

export interface CapabilitySets {
  bounding: string[]
  effective: string[]
  permitted: string[]
  inheritable: string[]
  ambient: string[]
}

/** "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" → "CAP_NET_ADMIN". */
export const capabilityName = (name: string): string => {
  const upper = name.trim().toUpperCase()
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`
}

/**
 * The OCI process capabilities containerd's CRI gives a container: the default set, or all of them
 * when privileged; then add "ALL" gives all, drop "ALL" removes all, and the named ones are added,
 * then the named drops removed. Ambient capabilities are added to the inheritable and ambient sets.
 * Unknown names are ignored (runc warns and skips them).
 */
export function capabilitySets(sc: SecurityContextInput | null | undefined): CapabilitySets {
  let set = new Set<string>(sc?.privileged ? CAPABILITIES : DEFAULT_CAPABILITIES)
  const caps = sc?.capabilities
  const ambient: string[] = []
  if (caps && !sc?.privileged) {
    const add = caps.add_capabilities ?? []
    const drop = caps.drop_capabilities ?? []
    if (add.some((c) => c.toUpperCase() === 'ALL')) set = new Set(CAPABILITIES)
    if (drop.some((c) => c.toUpperCase() === 'ALL')) set = new Set()
    for (const c of add) if (c.toUpperCase() !== 'ALL') set.add(capabilityName(c))
    for (const c of drop) if (c.toUpperCase() !== 'ALL') set.delete(capabilityName(c))
    for (const c of caps.add_ambient_capabilities ?? []) ambient.push(capabilityName(c))
  }
  const known = (names: Iterable<string>): string[] => [...names].filter((n) => CAPABILITIES.includes(n))
  const list = known(set)
  return { bounding: list, effective: list, permitted: [...list], inheritable: known(ambient), ambient: known(ambient) }
}

/** A capability set as the bit mask /proc shows. */
export function capabilityMask(names: Iterable<string>): bigint {
  let mask = 0n
  for (const n of names) {
    const bit = CAPABILITIES.indexOf(n)
    if (bit >= 0) mask |= 1n << BigInt(bit)
  }
  return mask
}

/** 16 hex digits, as in "CapEff:\t00000000a80425fb". */
export const hexMask = (mask: bigint): string => mask.toString(16).padStart(16, '0')

/** The sets of one process: a process that is not uid 0 keeps only its ambient capabilities (execve rules). */
export interface ProcessCapabilities {
  inheritable: bigint
  permitted: bigint
  effective: bigint
  bounding: bigint
  ambient: bigint
}

export function processCapabilities(sets: CapabilitySets, uid: number): ProcessCapabilities {
  const ambient = capabilityMask(sets.ambient)
  const bounding = capabilityMask(sets.bounding)
  const inheritable = capabilityMask(sets.inheritable)
  if (uid !== 0) return { inheritable, permitted: ambient, effective: ambient, bounding, ambient }
  return { inheritable, permitted: capabilityMask(sets.permitted), effective: capabilityMask(sets.effective), bounding, ambient }
}

export const hasCap = (mask: bigint, bit: number): boolean => (mask & (1n << BigInt(bit))) !== 0n

/**
 * The seccomp profile containerd's CRI gives a container: none (Unconfined, no profile named, or a
 * privileged container, for which containerd ignores it), its RuntimeDefault profile (also for an
 * empty SecurityProfile, whose type is RuntimeDefault), or the Localhost profile at a host path.
 * The deprecated seccomp_profile_path counts when `seccomp` is not set: "runtime/default",
 * "docker/default", "unconfined", "localhost/<path>"; `invalid` holds any other value.
 */
export type SeccompChoice =
  { type: 'none' } | { type: 'default' } | { type: 'localhost'; path: string } | { type: 'invalid'; profile: string }

export function seccompChoice(sc: SecurityContextInput | null | undefined): SeccompChoice {
  if (!sc || sc.privileged) return { type: 'none' }
  if (sc.seccomp) {
    const t = sc.seccomp.profile_type ?? 'RuntimeDefault'
    if (t === 'Unconfined' || t === 1) return { type: 'none' }
    if (t === 'Localhost' || t === 2) return { type: 'localhost', path: (sc.seccomp.localhost_ref ?? '').replace(/^localhost\//, '') }
    return { type: 'default' }
  }
  const path = sc.seccomp_profile_path ?? ''
  if (path === '' || path === 'unconfined') return { type: 'none' }
  if (path === 'runtime/default' || path === 'docker/default') return { type: 'default' }
  if (path.startsWith('localhost/')) return { type: 'localhost', path: path.slice('localhost/'.length) }
  return { type: 'invalid', profile: path }
}

/** Seccomp mode in /proc/<pid>/status: 0 unconfined, 2 filtered (RuntimeDefault or a Localhost profile). */
export function seccompMode(sc: SecurityContextInput | null | undefined): 0 | 2 {
  const type = seccompChoice(sc).type
  return type === 'default' || type === 'localhost' ? 2 : 0
}
