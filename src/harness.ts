// The test harness: the operations a test performs on the server rather than through the node's
// own APIs — reset, snapshot and restore the node, fault rules, the journal, the simulated clock.
// One object per server, used by both the library API (server.ts: fake.reset(), snapshot(), …)
// and the control service (control/service.ts: ResetState, SnapshotState, …), so the two cannot
// drift apart: each operation is written once, here.
import type { FaultEngine } from './faults/engine.js'
import type { FaultRule } from './faults/rule.js'
import type { Journal, JournalEntry, JournalFilter } from './journal/journal.js'
import type { Node } from './model/node.js'
import { HOST_NS, type ProcessNode } from './model/runtime/pids.js'
import type { SimClock } from './sim/clock.js'
import { emptyState, type NodeState } from './store/schema.js'

/** One process of a container, as `ps` on the host would show it (Control.ListProcesses, the web view). */
export interface ProcessInfo {
  pid: number
  ppid: number
  uid: number
  gid: number
  args: string[]
  comm: string
  containerId: string
  namespace: string
  /** When its container's task started (ms since the epoch; 0 if unknown). */
  startedMs: bigint
  /** ps's state letter: T for a paused task, else S. */
  state: 'S' | 'T'
  rssBytes: bigint
}

export interface HarnessOptions {
  faults: FaultEngine
  journal: Journal
  clock: SimClock
  /** The pod CIDR the server was started with: what a reset node draws pod IPs from. */
  podCidr: string
}

export class Harness {
  readonly faults: FaultEngine
  readonly journal: Journal
  readonly clock: SimClock
  readonly #podCidr: string
  #node: Node | undefined

  constructor(options: HarnessOptions) {
    this.faults = options.faults
    this.journal = options.journal
    this.clock = options.clock
    this.#podCidr = options.podCidr
  }

  /** The node of the server's current run (a restart makes a new one). */
  get node(): Node {
    if (!this.#node) throw new Error('the server has no node yet')
    return this.#node
  }

  /** Points the harness at the node of a new run of the server. */
  attach(node: Node): void {
    this.#node = node
  }

  /**
   * A fresh start for the next test, as a new server with the same options would begin: fault
   * rules added at run time dropped, the journal cleared, the node emptied (its uuid kept) with
   * the pod CIDR of the server's options — not one UpdateRuntimeConfig set since.
   */
  reset(): void {
    this.faults.reset()
    this.journal.clear()
    this.node.replaceState(emptyState(this.node.state.uuid, this.#podCidr))
  }

  /** A copy of the whole node state, with what containers' processes wrote to their filesystems. */
  snapshot(): NodeState {
    this.node.settleGc()
    this.node.views.save()
    return structuredClone(this.node.state)
  }

  /**
   * Replaces the node state with a snapshot (a copy of it: the caller's object is not changed);
   * running tasks in it start running. A state that is not a valid node state is refused with an
   * Error saying which field is wrong, and the running node is left as it was.
   */
  restore(state: unknown): void {
    // Node.replaceState checks the state (store/store.ts checkState) before it touches the node.
    this.node.replaceState(structuredClone(state) as NodeState)
  }

  /** The calls of one method (or all), oldest first. */
  calls(method?: string, filter: JournalFilter = {}): JournalEntry[] {
    return this.journal.entries(method === undefined ? filter : { ...filter, method })
  }

  /** The containers' processes (those with these host PIDs, or all), by host PID. */
  processes(pids: readonly number[] = []): ProcessInfo[] {
    const node = this.node
    const nodes = pids.length > 0 ? pids.map((pid) => node.pids.byHostPid(pid)) : node.pids.list(HOST_NS).map((p) => p.node)
    return nodes
      .filter((p): p is ProcessNode => p !== undefined && p.containerId !== '')
      .map((p) => {
        const record = node.state.containers[p.containerId]
        const started = record?.task?.startedAt ?? record?.task?.createdAt
        return {
          pid: p.hostPid,
          ppid: p.hostPpid,
          uid: p.uid,
          gid: p.gid,
          args: [...p.args],
          comm: p.comm ?? (p.args[0] ?? '').split('/').pop() ?? '',
          containerId: p.containerId,
          namespace: record?.namespace ?? '',
          startedMs: started ? BigInt(started) / 1_000_000n : 0n,
          state: record?.task?.status === 'paused' ? 'T' : 'S',
          rssBytes: record ? node.usage(record).memoryRssBytes : 0n,
        }
      })
  }

  /** Adds fault rules at run time (newest first); one the engine refuses (faults/validate.ts) throws, and none is added. */
  addFaults(...rules: FaultRule[]): FaultRule[] {
    this.faults.use(...rules)
    return this.faults.list()
  }

  /** Drops the rules added at run time; with rules, they replace the initial ones too. */
  resetFaults(...rules: FaultRule[]): void {
    this.faults.reset(...rules)
  }

  /** Freezes (or thaws) the simulated clock; returns simulated now (ms). */
  freezeClock(frozen: boolean): number {
    this.clock.freeze(frozen)
    return this.clock.now()
  }

  /** Moves the simulated clock on by `ms` (timers due in the span fire); returns simulated now (ms). */
  advanceClock(ms: number): number {
    this.clock.advance(ms)
    return this.clock.now()
  }
}
