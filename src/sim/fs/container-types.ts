// The input a container's filesystem is made from and the entries of its mount table. Apart from
// ContainerFs so that the mount-table builder (mount-table.ts) can name them without importing it.
import type { Uts, NetNamespace } from '../kernel.js'
import type { SeccompProfile } from '../seccomp.js'
import type { Backend } from './backend.js'
import type { HostMount } from './host.js'
import type { DnsInput } from './etc.js'
import type { ImageInput } from './image.js'
import type { SavedLayer, Tmpfs } from './mem.js'
import type { ProcessEntry } from './procfs.js'
import type { CapabilitySets, SecurityContextInput } from './security.js'
import type { ContainerUser } from './users.js'

/** A CRI Mount (runtime.v1 Mount): a host path bind-mounted at a container path. */
export interface MountInput {
  container_path: string
  host_path: string
  readonly?: boolean
  /**
   * The read-only flag reaches the host mounts under host_path too (OCI "rro"); otherwise they stay
   * as the host has them (OCI "ro": only the bind itself is read-only).
   */
  recursive_read_only?: boolean
  /** PROPAGATION_PRIVATE (default), PROPAGATION_HOST_TO_CONTAINER, PROPAGATION_BIDIRECTIONAL: shown, not simulated. */
  propagation?: string | number
  /**
   * The host's mounts under host_path when the container started (host.ts submountsOf): what the
   * bind took along, and what a private one shows; read when the view is built when absent.
   */
  submounts?: readonly HostMount[]
}

export interface ContainerFsInput {
  image: ImageInput
  /** The commands the simulator knows, made /bin entries of a synthesised image (default DEFAULT_APPLETS). */
  applets?: readonly string[]
  /** The root filesystem is read-only (EROFS) except for its mounts; defaults to security.readonly_rootfs. */
  readonlyRootfs?: boolean
  mounts?: readonly MountInput[]
  /** The pod's hostname (/etc/hostname, /etc/hosts, kernel.hostname). */
  hostname: string
  /** The pod's IP ("" or absent on the host network). */
  podIp?: string
  /** The pod's DNS config (/etc/resolv.conf); absent: a fixed default (the host's is not read). */
  dns?: DnsInput | null
  /** The pod's shared files (etc.ts sandboxFiles()); made from hostname, podIp and dns when absent. */
  sandbox?: Tmpfs
  /** The user the container runs as (model/cri/spec.ts containerUser) and its supplemental groups. */
  user: ContainerUser
  /** The pod's sysctls (PodSandboxConfig.linux.sysctls), "kernel.shm_rmid_forced" or "kernel/shm_rmid_forced". */
  sysctls?: Readonly<Record<string, string>>
  /** CRI's LinuxContainerSecurityContext: capabilities, privileged, no_new_privs, seccomp, masked/readonly paths. */
  security?: SecurityContextInput | null
  /**
   * The seccomp profile of the runtime spec (linux.seccomp): for a CRI container, the Localhost
   * profile containerd loaded. Undefined: the one `security` names (RuntimeDefault: containerd's
   * default profile; a Localhost one not given: a profile that allows everything). null: none.
   */
  seccomp?: SeccompProfile | null
  /**
   * The capability sets of the runtime spec (process.capabilities), for a container made through
   * containerd's API; absent: what `security` gives (containerd's CRI rules).
   */
  capabilities?: CapabilitySets
  /** The spec's process.noNewPrivileges; absent: security.no_new_privs. */
  noNewPrivs?: boolean
  /** The UTS namespace (its hostname), shared with the other containers of the pod; one of its own when absent. */
  uts?: Uts
  /** The network namespace, shared likewise; one of its own (with podIp) when absent. */
  net?: NetNamespace
  /** runc's masked paths; default: security.masked_paths when it lists some, else DEFAULT_MASKED_PATHS. None when privileged. */
  maskedPaths?: readonly string[]
  /** runc's read-only paths; default: security.readonly_paths when it lists some, else DEFAULT_READONLY_PATHS. None when privileged. */
  readonlyPaths?: readonly string[]
  /** The processes of the container's PID namespace, asked on each /proc read. */
  processes?: () => readonly ProcessEntry[]
  /** /proc/net/<file> of its network namespace (tcp, udp, …), asked on each read; none when absent. */
  procNet?: (file: string) => string | undefined
  /** /proc/sysvipc/<file> of its IPC namespace (shm, msg, sem), asked on each read; none when absent. */
  sysvipc?: (file: string) => string | undefined
  /** Simulated now (ms): file times, /proc/uptime. Default Date.now. */
  now?: () => number
  /** When the node booted (/proc/uptime); default an hour before the filesystem was made. */
  bootTimeMs?: number
  /**
   * When the filesystem was first made (ms; default now): the times of what the runtime adds (mount
   * points, /dev, /etc/passwd). A view built again for the same container gives the same times.
   */
  madeAtMs?: number
  /** The container's memory limit (/sys/fs/cgroup/memory.max; 0 or absent: "max"), or where to read it when asked (it follows updates). */
  memoryLimitBytes?: number | (() => number)
  /** /sys/fs/cgroup/memory.swap.max, read when asked; absent: "max". */
  memorySwap?: () => string
  /** A writable layer saved before (a restart): the root filesystem starts with it. */
  writable?: SavedLayer
  /**
   * A host directory the runtime spec names as the root (an absolute `root.path`, no rootfs mounts:
   * dockerd's graphdriver directory, `ctr run --rootfs`). runc pivots into it, so it is the
   * container's writable layer: its files are read from there when asked and what the container
   * writes there goes there (nothing else of the host is reached; symlinks resolve inside the root).
   * `image` is not used then, and nothing is added to it (runc adds no users and makes mount points
   * only where the spec's mounts need them; the fake keeps those out of the directory).
   */
  hostRootfs?: string
}

/** One mount of the container's mount table. */
export interface MountEntry {
  target: string
  backend: Backend
  /** Where in the backend the mount starts. */
  root: string
  readonly: boolean
  fstype: string
  source: string
  options: string
  hostPath?: string
  propagation?: string
}
