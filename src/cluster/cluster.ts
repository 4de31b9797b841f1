// Many nodes from one process (--nodes N, startFakeCluster): N independent servers, each a whole
// node of its own — socket, state, pod range, loopback address, journal, fault rules, clock,
// streaming server — started from one plan (plan.ts). They share only what never changes once
// loaded: the program, the parsed protos and service definitions, the image catalog (server.ts
// loads them once, when the module is imported).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS, type FakeClusterOptions, type FakeContainerdOptions } from '../config.js'
import type { NodeSummary } from '../control/nodes.js'
import type { FaultRule } from '../faults/rule.js'
import { plainEntry, type JournalEntry, type JournalFilter } from '../journal/journal.js'
import { createLogger, type Logger } from '../log.js'
import { startNode, type FakeContainerd } from '../server.js'
import { journalShare } from './journal-share.js'
import { explainStartFailure, planCluster, type NodePlan } from './plan.js'

/** A node by its index (0 …) or name (node-0 …). */
export type NodeRef = number | string

/** Which nodes an operation acts on: one, or (without `node`) every node. */
export interface NodeTarget {
  node?: NodeRef
}

export interface FakeCluster extends AsyncDisposable {
  /** The nodes, node-0 first: each a whole FakeContainerd (its socket, faults, journal, clock, state). */
  readonly nodes: readonly FakeContainerd[]
  /** The directory of the nodes' sockets (node-<i>.sock). */
  readonly socketDir: string
  /** One node, by index or name; an unknown one throws naming the nodes there are. */
  node(ref: NodeRef): FakeContainerd
  /** Name, socket, pod CIDR, host and streaming addresses of every node (what Control.ListNodes answers). */
  list(): NodeSummary[]
  /** Adds fault rules to one node or to every node; a rule the engine refuses throws, and no node gets any. */
  addFaults(rules: FaultRule | FaultRule[], target?: NodeTarget): void
  /** The calls one node (or every node, each entry with its node's name) answered, oldest first per node. */
  calls(method?: string, filter?: JournalFilter, target?: NodeTarget): (JournalEntry & { node: string })[]
  /** Every node (or one) emptied, its run-time fault rules and journal dropped: a fresh start for the next test. */
  reset(target?: NodeTarget): void
  /** Restarts every node (or one) on its socket; with `state`, nothing is lost. */
  restart(target?: NodeTarget): Promise<void>
  /** Stops every node, writes their state, removes their sockets. */
  close(): Promise<void>
}

/** A node's log lines name it: many nodes write to one stderr. */
function namedLog(log: Logger, name: string): Logger {
  const at = (write: (msg: string) => void) => (msg: string) => write(`${name}: ${msg}`)
  return { error: at(log.error), warn: at(log.warn), info: at(log.info), debug: at(log.debug), level: log.level }
}

/**
 * Starts `options.nodes` nodes in this process. Options are the single server's, read per node:
 * `socketDir` (default a fresh temp directory removed on close) holds node-<i>.sock; `state` is a
 * directory of node-<i>.json; each node draws pod IPs from its /24 of `podCidr`, opens hostPorts and
 * host-network servers on 127.0.<1+i/254>.<1+i%254>, and streams on that address (a --stream-address
 * off loopback with a fixed port gives node i port + i). Node i's fault probabilities draw on seed
 * `seed + i`, so that nodes differ from each other and each repeats itself run after run; without
 * journal limits, each node keeps a 1/N share of one server's (journal-share.ts).
 */
export async function startFakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  // The type leaves them out; a JavaScript caller (or the CLI's parsed options, spread) may still give them.
  const oneNode = options as FakeClusterOptions & Pick<FakeContainerdOptions, 'web' | 'seedState' | 'socket'>
  if (oneNode.web !== undefined)
    throw new Error(
      'the web view shows one node and cannot be combined with nodes (--nodes): leave web (--web) out, or start a single server with it',
    )
  if (oneNode.seedState !== undefined)
    throw new Error(
      "a seed state is one node's (its pod CIDR, its uuid) and cannot seed every node of a cluster: leave seedState (--seed-state) out, " +
        'or restore a snapshot into one node with cluster.node(i).restore()',
    )
  if (oneNode.socket !== undefined)
    throw new Error("socket is one node's: a cluster's nodes are socketDir/node-<i>.sock; give socketDir instead of socket")
  const plan = (socketDir: string): NodePlan[] =>
    planCluster({
      nodes: options.nodes,
      socketDir,
      podCidr: options.podCidr ?? DEFAULTS.podCidr,
      stateDir: options.state,
      streamAddress: options.streamAddress ?? DEFAULTS.streamAddress,
    })
  // Checked before a temp directory is made for the sockets, so that a refusal leaves nothing behind.
  plan(options.socketDir ?? tmpdir())
  let tempDir: string | undefined
  const socketDir = options.socketDir ?? (tempDir = mkdtempSync(join(tmpdir(), 'fake-cluster-')))
  const plans = plan(socketDir)
  for (const [dir, what] of [[socketDir, 'socket directory'], ...(options.state ? [[options.state, 'state directory']] : [])] as const) {
    try {
      mkdirSync(dir, { recursive: true })
    } catch (err) {
      if (tempDir) rmSync(tempDir, { recursive: true, force: true })
      throw new Error(`cannot make the ${what} ${dir}: ${(err as Error).message}`)
    }
  }
  const log = createLogger(options.logLevel ?? 'warn', options.logFormat ?? DEFAULTS.logFormat)
  const nodes: FakeContainerd[] = []
  const list = (): NodeSummary[] => nodes.map((n) => n.summary())
  const journal = journalShare(options.nodes, options)
  const nodeOptions = (plan: NodePlan): FakeContainerdOptions => {
    const { nodes: _n, socketDir: _d, state: _s, ...rest } = options
    return {
      ...rest,
      ...journal,
      seed: (options.seed ?? DEFAULTS.seed) + plan.index,
      socket: plan.socket,
      podCidr: plan.podCidr,
      streamAddress: plan.streamAddress,
      ...(plan.state ? { state: plan.state } : {}),
    }
  }
  for (const plan of plans) {
    try {
      nodes.push(
        await startNode(nodeOptions(plan), { name: plan.name, hostAddress: plan.hostAddress, nodes: list, log: namedLog(log, plan.name) }),
      )
    } catch (err) {
      // Every node started so far is closed (its socket, lock and state written) before the refusal,
      // which names the node that failed; a failure closing one does not hide why the start failed.
      const closed = await Promise.allSettled(nodes.map((n) => n.close()))
      for (const r of closed)
        if (r.status === 'rejected') log.error(`closing a node after ${plan.name} failed to start: ${String(r.reason)}`)
      if (tempDir) rmSync(tempDir, { recursive: true, force: true })
      throw explainStartFailure(plan, err as Error)
    }
  }

  const node = (ref: NodeRef): FakeContainerd => {
    const found = typeof ref === 'number' ? nodes[ref] : nodes.find((n) => n.name === ref)
    if (!found)
      throw new Error(
        `no node ${typeof ref === 'number' ? ref : JSON.stringify(ref)} in this cluster: it has node-0 … node-${nodes.length - 1}`,
      )
    return found
  }
  const targets = (target: NodeTarget = {}): readonly FakeContainerd[] => (target.node === undefined ? nodes : [node(target.node)])
  let closing: Promise<void> | undefined
  const self: FakeCluster = {
    nodes,
    socketDir,
    node,
    list,
    addFaults: (rules, target) => {
      const added = Array.isArray(rules) ? rules : [rules]
      const chosen = targets(target)
      // The first node checks the rules (the engine refuses a bad one whole) before any node takes them.
      chosen[0]?.faults.use(...added)
      for (const n of chosen.slice(1)) n.faults.use(...added)
    },
    calls: (method, filter, target) =>
      targets(target).flatMap((n) => n.calls(method, filter).map((e) => ({ ...plainEntry(e), node: n.name }))),
    reset: (target) => {
      for (const n of targets(target)) n.reset()
    },
    restart: async (target) => {
      await Promise.all(targets(target).map((n) => n.restart()))
    },
    close: () => {
      closing ??= (async () => {
        await Promise.all(nodes.map((n) => n.close()))
        if (tempDir) rmSync(tempDir, { recursive: true, force: true })
      })()
      return closing
    },
    [Symbol.asyncDispose]: () => self.close(),
  }
  return self
}
