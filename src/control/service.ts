// fakecontainerd.control.v1.Control: the test harness over the wire — fault rules, the journal,
// the node's state and the simulated clock — for clients in other processes or languages.
import type { ControlHandlers } from '../generated/fakecontainerd/control/v1/Control.js'
import type { FaultEngine } from '../faults/engine.js'
import type { FaultRule } from '../faults/rule.js'
import { toJson, type Journal } from '../journal/journal.js'
import { invalidArgument } from '../model/errors.js'
import type { Node } from '../model/node.js'
import { HOST_NS, type ProcessNode } from '../model/pids.js'
import type { SimClock } from '../sim/clock.js'
import { emptyState, type NodeState } from '../store/schema.js'
import type { Implementation } from '../rpc/adapter.js'

export interface ControlTargets {
  node: Node
  faults: FaultEngine
  journal: Journal
  clock: SimClock
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`)
  }
}

/** Runs a rule change, turning a rule the engine refuses into InvalidArgument. */
function rules(change: () => void): void {
  try {
    change()
  } catch (err) {
    throw invalidArgument((err as Error).message)
  }
}

const asList = (value: unknown): FaultRule[] => (Array.isArray(value) ? (value as FaultRule[]) : [value as FaultRule])

export function controlService({ node, faults, journal, clock }: ControlTargets): Implementation<ControlHandlers> {
  return {
    AddFaults: (req) => {
      const added = asList(parseJson(req.rules_json, 'rules_json'))
      rules(() => faults.use(...added))
      return { rules_json: JSON.stringify(faults.list()) }
    },
    ListFaults: () => ({ rules_json: JSON.stringify(faults.list()) }),
    ResetFaults: (req) => {
      const next = req.rules_json ? asList(parseJson(req.rules_json, 'rules_json')) : []
      rules(() => faults.reset(...next))
      return {}
    },
    RestoreFaults: () => {
      faults.restore()
      return {}
    },
    SetSeed: (req) => {
      faults.seed(req.seed)
      return {}
    },
    GetJournal: (req) => {
      const entries = journal.entries({
        ...(req.service ? { service: req.service } : {}),
        ...(req.method ? { method: req.method } : {}),
        ...(req.namespace ? { namespace: req.namespace } : {}),
        ...(req.has_code ? { code: req.code } : {}),
        ...(req.since !== '0' ? { since: Number(req.since) } : {}),
      })
      return { entries_json: JSON.stringify(toJson(entries)), last: journal.last }
    },
    ClearJournal: () => {
      journal.clear()
      return {}
    },
    ResetState: () => {
      faults.reset()
      journal.clear()
      node.replaceState(emptyState(node.state.uuid, node.state.podCidr))
      return {}
    },
    ListProcesses: (req) => {
      const nodes = req.pids.length > 0 ? req.pids.map((pid) => node.pids.byHostPid(pid)) : node.pids.list(HOST_NS).map((p) => p.node)
      return {
        processes: nodes
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
              container_id: p.containerId,
              namespace: record?.namespace ?? '',
              started_ms: started ? (BigInt(started) / 1_000_000n).toString() : '0',
              state: record?.task?.status === 'paused' ? 'T' : 'S',
              rss_bytes: record ? node.usage(record).memoryRssBytes.toString() : '0',
            }
          }),
      }
    },
    SnapshotState: () => ({ state_json: JSON.stringify(node.state) }),
    RestoreState: (req) => {
      const state = parseJson<NodeState>(req.state_json, 'state_json')
      try {
        node.replaceState(state)
      } catch (err) {
        throw invalidArgument((err as Error).message)
      }
      return {}
    },
    AdvanceClock: (req) => {
      clock.advance(Number(req.milliseconds))
      return { now_ms: Math.round(clock.now()) }
    },
    FreezeClock: (req) => {
      clock.freeze(req.frozen)
      return { now_ms: Math.round(clock.now()) }
    },
  }
}
