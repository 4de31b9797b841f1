// fakecontainerd.control.v1.Control: the test harness over the wire — fault rules, the journal,
// the node's state and the simulated clock — for clients in other processes or languages.
// Every operation on the harness's side is the library's own (harness.ts); this file only turns
// requests and JSON into its calls and its errors into InvalidArgument.
import type { ControlHandlers } from '../generated/fakecontainerd/control/v1/Control.js'
import type { FaultRule } from '../faults/rule.js'
import type { Harness } from '../harness.js'
import { toJson } from '../journal/journal.js'
import { invalidArgument } from '../model/errors.js'
import type { Implementation } from '../rpc/adapter.js'
import type { NodeDirectory } from './nodes.js'

export interface ControlTargets {
  /** The server's harness: the same object the library API uses (and the node of this run, its processes). */
  harness: Harness
  /** This node and the others of its process (ListNodes). */
  nodes: NodeDirectory
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`)
  }
}

/** Runs a harness operation, turning what it refuses (a rule, a state) into InvalidArgument. */
function refused<T>(change: () => T): T {
  try {
    return change()
  } catch (err) {
    throw invalidArgument((err as Error).message)
  }
}

const asList = (value: unknown): FaultRule[] => (Array.isArray(value) ? (value as FaultRule[]) : [value as FaultRule])

export function controlService({ harness, nodes }: ControlTargets): Implementation<ControlHandlers> {
  const { faults, journal } = harness
  return {
    AddFaults: (req) => {
      const added = asList(parseJson(req.rules_json, 'rules_json'))
      return { rules_json: JSON.stringify(refused(() => harness.addFaults(...added))) }
    },
    ListFaults: () => ({ rules_json: JSON.stringify(faults.list()) }),
    ResetFaults: (req) => {
      const next = req.rules_json ? asList(parseJson(req.rules_json, 'rules_json')) : []
      refused(() => harness.resetFaults(...next))
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
      // A service or method no served RPC has is refused (journal.ts), as a fault rule naming it is.
      const entries = refused(() =>
        harness.calls(undefined, {
          ...(req.service ? { service: req.service } : {}),
          ...(req.method ? { method: req.method } : {}),
          ...(req.namespace ? { namespace: req.namespace } : {}),
          ...(req.has_code ? { code: req.code } : {}),
          ...(req.since !== '0' ? { since: Number(req.since) } : {}),
        }),
      )
      // `last` is below every call still open, as the web view's: polling with since=last misses no slow call.
      return { entries_json: JSON.stringify(toJson(entries)), last: journal.settled }
    },
    ClearJournal: () => {
      journal.clear()
      return {}
    },
    ResetState: () => {
      harness.reset()
      return {}
    },
    ListProcesses: (req) => ({
      processes: harness.processes(req.pids).map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        uid: p.uid,
        gid: p.gid,
        args: p.args,
        comm: p.comm,
        container_id: p.containerId,
        namespace: p.namespace,
        started_ms: p.startedMs.toString(),
        state: p.state,
        rss_bytes: p.rssBytes.toString(),
      })),
    }),
    SnapshotState: () => ({ state_json: JSON.stringify(harness.snapshot()) }),
    RestoreState: (req) => {
      const state = parseJson<unknown>(req.state_json, 'state_json')
      refused(() => harness.restore(state))
      return {}
    },
    ListNodes: () => ({
      nodes: nodes.list().map((n) => ({
        name: n.name,
        address: n.address,
        pod_cidr: n.podCidr,
        host_address: n.hostAddress,
        stream_url: n.streamUrl,
        self: n.name === nodes.self,
      })),
    }),
    AdvanceClock: (req) => ({ now_ms: Math.round(harness.advanceClock(Number(req.milliseconds))) }),
    FreezeClock: (req) => ({ now_ms: Math.round(harness.freezeClock(req.frozen)) }),
  }
}
