// The node's process table and its PID namespaces. Every simulated process (a task's init, an
// exec, a pipeline stage or background job a shell starts) has a host PID (what containerd's API
// reports) and a PID in each namespace it is visible in: its own (a container's, or the pod's
// shared one) and the host's. `ps`, `/proc/<pid>` and `kill` in a container act on the namespace
// the container's process is in, so a pod-shared namespace sees its siblings and the pause process
// as PID 1, and a host-PID container sees every process of the node.
//
// Namespaces are named by keys: HOST_NS, or the id of the container whose init created it (a pod's
// shared namespace is its pause container's). The table lives in memory: after a restart the
// resumed processes register again, with the namespace PIDs their task records kept.

export const HOST_NS = 'host'

/** One process as the table keeps it. */
export interface ProcessNode {
  readonly hostPid: number
  /** Its PID in its own namespace (equal to hostPid in the host namespace). */
  readonly pid: number
  /** The namespace it was started in. */
  readonly ns: string
  /** Host PID of its parent, 0 for a container's init (its parent, the shim, is not shown). */
  readonly hostPpid: number
  /** The container it runs in. */
  readonly containerId: string
  args: readonly string[]
  /** Its program's name, once it has retitled itself (args no longer say it). */
  comm?: string
  uid: number
  gid: number
  groups?: readonly number[]
  signal(signo: number): boolean
}

/** A process as seen from one namespace. */
export interface NsProcess {
  pid: number
  ppid: number
  node: ProcessNode
}

export interface NewProcess {
  hostPid: number
  ns: string
  /** The PID it had in its namespace before a restart; a new one is allocated otherwise. */
  pid?: number
  hostPpid?: number
  containerId: string
  args: readonly string[]
  uid: number
  gid: number
  groups?: readonly number[]
  signal(signo: number): boolean
}

/** Host processes a host-PID container sees besides the containers' own. */
const HOST_INIT: ProcessNode = {
  hostPid: 1,
  pid: 1,
  ns: HOST_NS,
  hostPpid: 0,
  containerId: '',
  args: ['/sbin/init'],
  uid: 0,
  gid: 0,
  signal: () => true,
}

/**
 * How many processes a container may hold (its cgroup's pids.max): the processes live in the
 * server's memory, so a fork bomb in a container stops at this instead of taking the server down.
 */
export const PIDS_MAX = 1024

/**
 * Processes grouped by a key (a container, a namespace), found in their group by a number (host PID,
 * namespace PID). A group of one is its node, not a Map: most containers and namespaces hold one
 * process, and twenty thousand Maps of one entry were a good part of a sleeping node's memory.
 */
class Groups {
  readonly #by = new Map<string, ProcessNode | Map<number, ProcessNode>>()

  constructor(private readonly idOf: (node: ProcessNode) => number) {}

  add(key: string, node: ProcessNode): void {
    const group = this.#by.get(key)
    if (group === undefined) this.#by.set(key, node)
    else if (group instanceof Map) group.set(this.idOf(node), node)
    else
      this.#by.set(
        key,
        new Map([
          [this.idOf(group), group],
          [this.idOf(node), node],
        ]),
      )
  }

  /** Takes `node` out of its group; true when the group is left empty (and gone). */
  delete(key: string, node: ProcessNode): boolean {
    const group = this.#by.get(key)
    if (group === undefined) return false
    if (group instanceof Map) {
      group.delete(this.idOf(node))
      if (group.size > 0) return false
    } else if (group !== node) return false
    this.#by.delete(key)
    return true
  }

  get(key: string, id: number): ProcessNode | undefined {
    const group = this.#by.get(key)
    if (group instanceof Map) return group.get(id)
    return group !== undefined && this.idOf(group) === id ? group : undefined
  }

  size(key: string): number {
    const group = this.#by.get(key)
    return group instanceof Map ? group.size : group === undefined ? 0 : 1
  }

  values(key: string): ProcessNode[] {
    const group = this.#by.get(key)
    return group instanceof Map ? [...group.values()] : group === undefined ? [] : [group]
  }

  clear(): void {
    this.#by.clear()
  }
}

export class PidTable {
  #byHost = new Map<number, ProcessNode>()
  /** Each container's processes by host PID: PIDS_MAX counts them, and a container's kill finds them without a scan. */
  #byContainer = new Groups((node) => node.hostPid)
  /** Processes of each non-host namespace by their PID there. */
  #ns = new Groups((node) => node.pid)
  #nextPid = new Map<string, number>()

  /** Registers a process; returns its node (its namespace PID in `pid`). */
  add(p: NewProcess): ProcessNode {
    let pid = p.hostPid
    if (p.ns !== HOST_NS) {
      pid = p.pid && !this.#ns.get(p.ns, p.pid) ? p.pid : this.#allocate(p.ns)
      this.#nextPid.set(p.ns, Math.max(this.#nextPid.get(p.ns) ?? 1, pid + 1))
    }
    const node: ProcessNode = {
      hostPid: p.hostPid,
      pid,
      ns: p.ns,
      hostPpid: p.hostPpid ?? 0,
      containerId: p.containerId,
      args: p.args,
      uid: p.uid,
      gid: p.gid,
      ...(p.groups ? { groups: p.groups } : {}),
      signal: p.signal,
    }
    this.#byHost.set(p.hostPid, node)
    if (p.ns !== HOST_NS) this.#ns.add(p.ns, node)
    this.#byContainer.add(p.containerId, node)
    return node
  }

  remove(hostPid: number): void {
    const node = this.#byHost.get(hostPid)
    if (!node) return
    this.#byHost.delete(hostPid)
    this.#byContainer.delete(node.containerId, node)
    if (node.ns === HOST_NS) return
    // An emptied namespace is gone: a new init in it starts again at PID 1.
    if (this.#ns.delete(node.ns, node)) this.#nextPid.delete(node.ns)
  }

  byHostPid(hostPid: number): ProcessNode | undefined {
    return this.#byHost.get(hostPid)
  }

  /** The processes `ns` shows, by PID there, parents translated (0 when the parent is outside). */
  list(ns: string): NsProcess[] {
    if (ns === HOST_NS) {
      const all = [HOST_INIT, ...this.#byHost.values()]
      return all
        .map((node) => ({ pid: node.hostPid, ppid: node === HOST_INIT ? 0 : node.hostPpid || 1, node }))
        .sort((a, b) => a.pid - b.pid)
    }
    return this.#ns
      .values(ns)
      .map((node) => ({ pid: node.pid, ppid: this.#byHost.get(node.hostPpid)?.ns === ns ? this.#byHost.get(node.hostPpid)!.pid : 0, node }))
      .sort((a, b) => a.pid - b.pid)
  }

  /** How many processes a container holds. */
  countOf(containerId: string): number {
    return this.#byContainer.size(containerId)
  }

  /** Every process running in a container (its cgroup), by host PID. */
  ofContainer(containerId: string): ProcessNode[] {
    return this.#byContainer.values(containerId).sort((a, b) => a.hostPid - b.hostPid)
  }

  /** The process with PID `pid` in namespace `ns`. */
  find(ns: string, pid: number): ProcessNode | undefined {
    if (ns === HOST_NS) return pid === 1 ? HOST_INIT : this.#byHost.get(pid)
    return this.#ns.get(ns, pid)
  }

  /** A process's PID as namespace `ns` sees it; undefined when it is not visible there. */
  pidIn(ns: string, hostPid: number): number | undefined {
    const node = this.#byHost.get(hostPid)
    if (!node) return undefined
    if (ns === HOST_NS) return hostPid
    return node.ns === ns ? node.pid : undefined
  }

  clear(): void {
    this.#byHost.clear()
    this.#byContainer.clear()
    this.#ns.clear()
    this.#nextPid.clear()
  }

  /** The next free PID of a namespace, counting up as Linux does (wrapping at pid_max). */
  #allocate(ns: string): number {
    let pid = this.#nextPid.get(ns) ?? 1
    while (this.#ns.get(ns, pid)) pid = pid >= 4194304 ? 2 : pid + 1
    return pid
  }
}

/**
 * The PID namespace a container's processes run in, from its runtime spec as runc reads it: no
 * pid namespace entry is the host's; an entry without a path creates the container's own; a path
 * joins another's (a pod's pause container, `/proc/sandbox/<id>/ns/pid` as model/cri/spec.ts writes
 * it, or a process's `/proc/<pid>/ns/pid`).
 */
export function pidNamespaceOf(table: PidTable, record: { id: string; spec: Record<string, unknown> }): string {
  const namespaces = ((record.spec.linux as { namespaces?: { type: string; path?: string }[] } | undefined)?.namespaces ?? []) as {
    type: string
    path?: string
  }[]
  const entry = namespaces.find((n) => n.type === 'pid')
  if (!entry) return HOST_NS
  if (!entry.path) return record.id
  const sandbox = /^\/proc\/sandbox\/([^/]+)\/ns\/pid$/.exec(entry.path)
  if (sandbox) return sandbox[1]!
  const proc = /^\/proc\/(\d+)\/ns\/pid$/.exec(entry.path)
  return (proc && table.byHostPid(Number(proc[1]))?.ns) || HOST_NS
}
