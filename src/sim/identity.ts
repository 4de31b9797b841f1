// Who a simulated process runs as. Its own module so the kernel (src/sim/kernel.ts), which decides
// by it, need not import the command context that carries it.
/** Who the process runs as. */
export interface Identity {
  uid: number
  gid: number
  groups: number[]
  /** The effective uid and gid when they differ from uid and gid (a set-user-ID or set-group-ID program). */
  euid?: number
  egid?: number
  /** Names from the container's /etc/passwd and /etc/group, when known. */
  user?: string
  group?: string
}
