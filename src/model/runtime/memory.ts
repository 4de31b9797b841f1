// Memory the simulated processes hold, charged to their container's memory cgroup, and the OOM
// killer. A process that allocates (stress, a scripted hog) charges bytes; passing the container's
// limit kills the whole container as cgroup v2 does with memory.oom.group=1 (what kubelet sets):
// every process gets SIGKILL, the init exits 137 with reason OOMKilled, containerd emits /tasks/oom.
import type { ContainerRecord } from '../../store/schema.js'
import type { Logger } from '../../log.js'
import { baseMemoryBytes, memoryLimitOf } from './stats.js'

/** What the OOM killer needs of the node: a log, and a way to end a container (model/runtime/tasks.ts oomKill). */
export interface MemoryHost {
  readonly log: Logger
  oomKill(record: ContainerRecord): void
}

export class MemoryCgroups {
  /** Bytes charged per container, per host PID. */
  #charged = new Map<string, Map<number, number>>()

  constructor(private readonly host: MemoryHost) {}

  /** What a container's processes hold beyond their baseline. */
  chargedBytes(containerId: string): number {
    let total = 0
    for (const bytes of this.#charged.get(containerId)?.values() ?? []) total += bytes
    return total
  }

  /**
   * Charges `bytes` to process `hostPid` of `record`. Over the container's limit the OOM killer
   * ends the container instead; returns false then.
   */
  charge(record: ContainerRecord, hostPid: number, bytes: number): boolean {
    const limit = Number(memoryLimitOf(record))
    const usage = Number(baseMemoryBytes(record)) + this.chargedBytes(record.id) + bytes
    if (limit > 0 && usage > limit) {
      this.host.log.info(`container ${record.id}: memory usage ${usage} would pass its limit ${limit}: OOM kill`)
      this.release(record.id)
      this.host.oomKill(record)
      return false
    }
    let procs = this.#charged.get(record.id)
    if (!procs) this.#charged.set(record.id, (procs = new Map()))
    procs.set(hostPid, (procs.get(hostPid) ?? 0) + bytes)
    return true
  }

  /** Gives back `bytes` a process held (a command that ended inside it). */
  uncharge(containerId: string, hostPid: number, bytes: number): void {
    const procs = this.#charged.get(containerId)
    const held = procs?.get(hostPid)
    if (!procs || held === undefined) return
    if (held > bytes) procs.set(hostPid, held - bytes)
    else procs.delete(hostPid)
    if (procs.size === 0) this.#charged.delete(containerId)
  }

  /** Frees what a process (or, without `hostPid`, every process of the container) holds. */
  release(containerId: string, hostPid?: number): void {
    const procs = this.#charged.get(containerId)
    if (!procs) return
    if (hostPid === undefined) procs.clear()
    else procs.delete(hostPid)
    if (procs.size === 0) this.#charged.delete(containerId)
  }

  clear(): void {
    this.#charged.clear()
  }
}
