// Starts one fake-containerd: opens the state, builds the node, serves every face on one unix
// socket, and closes it all again without losing state. Fault rules and the journal belong to
// the server, not to one run of it: they survive restart().
import * as grpc from '@grpc/grpc-js'
import { runtimeVersionOf } from './containerd/profiles.js'
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { randomUUID } from 'node:crypto'
import { DEFAULTS, PACKAGE_VERSION, type FakeContainerdOptions } from './config.js'
import { runtimeInfo } from './cri/info.js'
import { FaultEngine } from './faults/engine.js'
import { Journal, JOURNAL_BUDGET, type JournalEntry, type JournalFilter } from './journal/journal.js'
import { services } from './services.js'
import { Node } from './model/node.js'
import { parseCidr } from './model/cri/ipam.js'
import { catalog } from './images/catalog.js'
import { addReflection, servicePackage } from './proto/load.js'
import { MESSAGE_LIMITS, SERVICES } from './service-descriptors.cjs'
import { OpenCalls, adapt, wireDefinition } from './rpc/adapter.js'
import { emptyState, type NodeState } from './store/schema.js'
import { StateStore } from './store/store.js'
import { validateRules } from './faults/validate.js'
import { fileBlobs, memoryBlobs, removeTemps } from './store/blobs.js'
import { createLogger, type Logger } from './log.js'
import { seedOf } from './seed-state.js'
import { SimClock } from './sim/clock.js'
import { Harness } from './harness.js'
import { StreamingServer } from './streaming/server.js'
import { modelBackend } from './streaming/backend.js'
import { WebServer } from './web/server.js'
import type { NodeDirectory, NodeSummary } from './control/nodes.js'

// Load the wire definitions and the image catalog when the module is imported, so that starting a
// server (one per test) costs only its socket.
for (const s of SERVICES) servicePackage(s.group)
catalog()

export interface FakeContainerd extends AsyncDisposable {
  /** gRPC target for clients: unix:///path/to/socket */
  readonly address: string
  readonly socketPath: string
  /** The node's name: node-<i> in a cluster (startFakeCluster), the host's name for a single server. */
  readonly name: string
  /** Name, socket, pod CIDR, host and streaming addresses: what Control.ListNodes tells of this node. */
  summary(): NodeSummary
  /** The node model behind every face, for tests that look inside. */
  readonly node: Node
  /** Fault rules: use(), reset(), restore(), list(), seed(). */
  readonly faults: FaultEngine
  /** Every call the server answered (a ring buffer). */
  readonly journal: Journal
  /** The simulated clock processes sleep on: freeze(), advance(ms). */
  readonly clock: SimClock
  /** The live web view's address (http://HOST:PORT/) with the `web` option; undefined without it. */
  readonly webUrl: string | undefined
  /** The calls of one method (or all), oldest first. */
  calls(method?: string, filter?: JournalFilter): JournalEntry[]
  /**
   * A fresh start for the next test: runtime fault rules dropped, journal cleared, the node emptied
   * (with the pod CIDR of the options, as a new server would start).
   */
  reset(): void
  /** A copy of the whole node state (JSON), with the files containers wrote. Content bytes are not part of it. */
  snapshot(): NodeState
  /**
   * Replaces the node state with a snapshot; running tasks in it start running. A malformed state
   * throws an Error naming the wrong field, and the node is left as it was.
   */
  restore(state: NodeState): void
  /** Stops and starts the server on the same socket, as a containerd restart would; with `state`, nothing is lost. */
  restart(): Promise<void>
  /** Stops serving, ends open streams, writes the state, removes the socket. */
  close(): Promise<void>
}

interface Running {
  node: Node
  store: StateStore
  streaming: StreamingServer
  close(): Promise<void>
}

/**
 * Who a server is among the nodes of its process. A single server is the host (its name, 127.0.0.1);
 * cluster/cluster.ts gives each node of a cluster its own, so that nodes sharing a host stay apart.
 */
export interface NodeIdentity {
  /** Its name: a pod whose config names no hostname is called this (containerd gives it the host's). */
  name?: string
  /** The loopback address its hostPorts and host-network servers are opened on (default 127.0.0.1). */
  hostAddress?: string
  /** Every node of the process, for Control.ListNodes (default: this one alone). */
  nodes?: () => NodeSummary[]
  /** Its log (a cluster's names the node on each line). */
  log?: Logger
}

export async function startFakeContainerd(options: FakeContainerdOptions = {}): Promise<FakeContainerd> {
  // The type keeps them out; a JavaScript caller (or one spreading the CLI's options) may still pass them.
  const cluster = options as { nodes?: unknown; socketDir?: unknown }
  if (cluster.nodes !== undefined || cluster.socketDir !== undefined)
    throw new Error('startFakeContainerd starts one node; for several (the nodes and socketDir options) call startFakeCluster')
  return startNode(options, {})
}

/** One node: startFakeContainerd's, or one of a cluster's (cluster/cluster.ts) with its identity. */
export async function startNode(options: FakeContainerdOptions, identity: NodeIdentity): Promise<FakeContainerd> {
  let tempDir: string | undefined
  let socketPath: string
  if (options.socket) socketPath = resolve(options.socket)
  else {
    tempDir = mkdtempSync(join(tmpdir(), 'fake-containerd-'))
    socketPath = join(tempDir, 'containerd.sock')
  }
  const log = identity.log ?? createLogger(options.logLevel ?? 'warn', options.logFormat ?? DEFAULTS.logFormat)
  const name = identity.name ?? hostname()
  const hostAddress = identity.hostAddress ?? '127.0.0.1'
  parseCidr(options.podCidr ?? DEFAULTS.podCidr)
  // Checked apart from the seed state's rules, so that a refusal's faults[i] counts in options.faults.
  validateRules(options.faults ?? [], 'options.faults has an invalid rule')
  const seed = options.seedState ? seedOf(options.seedState) : undefined
  const faults = new FaultEngine([...(seed?.faults ?? []), ...(options.faults ?? [])], options.seed ?? DEFAULTS.seed)
  faults.onFire((f) => log.debug(`fault fired (${f.count}): ${JSON.stringify(f.rule)}`))
  const journal = new Journal(options.journalSize ?? JOURNAL_BUDGET.size, options.journalBytes ?? JOURNAL_BUDGET.bytes)
  const clock = new SimClock()
  const seedState = seed?.state
  // The test harness both the library API below and the control service use (harness.ts).
  const harness = new Harness({ faults, journal, clock, podCidr: options.podCidr ?? DEFAULTS.podCidr })

  const summary = (): NodeSummary => ({
    name,
    address: `unix://${socketPath}`,
    socketPath,
    podCidr: running.node.state.podCidr,
    hostAddress,
    streamUrl: running.streaming.base,
  })
  const directory: NodeDirectory = { self: name, list: () => identity.nodes?.() ?? [summary()] }
  const shared = { log, harness, identity: { name, hostAddress }, directory }
  let running = await launch(options, socketPath, { ...shared, seedState })
  // The web view belongs to the server, not to one run: it reads the harness's current node, so a
  // restart() keeps the page's address and its open streams.
  let web: WebServer | undefined
  if (options.web !== undefined) {
    web = new WebServer(harness, log)
    try {
      await web.listen(options.web)
    } catch (err) {
      await running.close()
      clock.stop()
      if (tempDir) rmSync(tempDir, { recursive: true, force: true })
      throw new Error(`cannot serve the web view on ${options.web}: ${(err as Error).message}`)
    }
  }
  let closing: Promise<void> | undefined

  const self: FakeContainerd = {
    address: `unix://${socketPath}`,
    socketPath,
    name,
    summary,
    get node() {
      return running.node
    },
    faults,
    journal,
    clock,
    webUrl: web?.url,
    calls: (method, filter = {}) => harness.calls(method, filter),
    reset: () => harness.reset(),
    snapshot: () => harness.snapshot(),
    restore: (state) => harness.restore(state),
    restart: async () => {
      await running.close()
      running = await launch(options, socketPath, shared)
    },
    close: () => {
      closing ??= (async () => {
        await web?.close()
        await running.close()
        clock.stop()
        if (tempDir) rmSync(tempDir, { recursive: true, force: true })
      })()
      return closing
    },
    [Symbol.asyncDispose]: () => self.close(),
  }
  return self
}

/** One run of the server: state, node and gRPC server on the socket. */
async function launch(
  options: FakeContainerdOptions,
  socketPath: string,
  shared: {
    log: Logger
    harness: Harness
    identity: { name: string; hostAddress: string }
    directory: NodeDirectory
    seedState?: NodeState | undefined
  },
): Promise<Running> {
  const { log, harness } = shared
  const { faults, journal, clock } = harness
  const podCidr = options.podCidr ?? DEFAULTS.podCidr
  const store = await StateStore.open(options.state, () => shared.seedState ?? emptyState(randomUUID(), podCidr), {
    sync: options.stateSync ?? DEFAULTS.stateSync,
  })
  store.onError = (message) => log.error(message)
  // Writes a crash cut short, next to the state; the store's lock makes them this server's to remove.
  if (options.state) {
    for (const dir of [`${resolve(options.state)}.blobs`, `${resolve(options.state)}.blobs/layers`]) if (existsSync(dir)) removeTemps(dir)
  }
  const node = new Node(store, {
    sandboxImage: options.sandboxImage ?? DEFAULTS.sandboxImage,
    podCidr,
    runtimeHandlers: options.runtimeHandlers?.length ? options.runtimeHandlers : DEFAULTS.runtimeHandlers,
    pullPolicy: options.pullPolicy ?? DEFAULTS.pullPolicy,
    registry: {
      ...(options.registryConfigPath ? { configPath: options.registryConfigPath } : {}),
      progressTimeoutMs: options.imagePullProgressTimeoutMs ?? DEFAULTS.imagePullProgressTimeoutMs,
      userAgent: `containerd/${options.runtimeVersion ?? runtimeVersionOf(options.containerdVersion ?? DEFAULTS.containerdVersion)}`,
      refuseEmptyBasic: (options.containerdVersion ?? DEFAULTS.containerdVersion) !== '1.6',
      ...((options.containerdVersion ?? DEFAULTS.containerdVersion) === '1.7'
        ? { transferUnpackPlatform: { os: 'linux', architecture: 'amd64' } }
        : {}),
    },
    log,
    faults,
    clock,
    // A pod without a hostname is called by the node's name: a cluster's node's, else the host's, as
    // containerd's os.Hostname(); its host ports open on the node's own loopback address.
    nodeName: shared.identity.name,
    hostAddress: shared.identity.hostAddress,
    // Content bytes sit next to the state file (<state>.blobs/), or in memory with the state.
    blobs: options.state ? fileBlobs(`${resolve(options.state)}.blobs`, { sync: store.sync }) : memoryBlobs(),
    // The uncompressed tars of applied layers (an image's files), likewise: <state>.blobs/layers/.
    layerBlobs: options.state ? fileBlobs(`${resolve(options.state)}.blobs/layers`, { sync: store.sync }) : memoryBlobs(),
  })
  node.events.lifecycle.subscribe((e) =>
    log.info(`${e.containerId === e.sandboxId ? 'sandbox' : 'container'} ${e.containerId} ${e.type.toLowerCase()}`),
  )
  node.resume()
  harness.attach(node)

  const open = new OpenCalls()
  // containerd's message limits (16 MiB each way), not grpc-js's 4 MiB for what it receives.
  const server = new grpc.Server(MESSAGE_LIMITS)
  const containerd = options.containerdVersion ?? DEFAULTS.containerdVersion
  const runtimeVersion = options.runtimeVersion ?? runtimeVersionOf(containerd)
  const info = runtimeInfo(node, { runtimeName: options.runtimeName ?? DEFAULTS.runtimeName, runtimeVersion })
  // The streaming server Exec, Attach and PortForward send clients to (containerd's, on 127.0.0.1).
  const streaming = new StreamingServer(
    modelBackend(() => node),
    log,
  )
  try {
    await streaming.listen(options.streamAddress ?? DEFAULTS.streamAddress)
  } catch (err) {
    await node.close()
    await store.close()
    throw new Error(`cannot serve streams on ${options.streamAddress ?? DEFAULTS.streamAddress}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const table = services(
    node,
    info,
    { version: runtimeVersion, revision: `fake-containerd-${PACKAGE_VERSION}`, containerd },
    { harness, nodes: shared.directory },
    streaming,
  )
  for (const s of table) {
    const durability = store.sync ? { durability: store } : {}
    server.addService(
      wireDefinition(s.definition),
      adapt(s.name, s.definition, s.impl, s.harness ? { open, log, ...durability } : { open, log, faults, journal, ...durability }),
    )
  }
  addReflection(server)

  try {
    await prepareSocket(socketPath)
    await new Promise<void>((ok, fail) =>
      server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? fail(err) : ok())),
    )
    chmodSync(socketPath, 0o660)
  } catch (err) {
    await streaming.close()
    await node.close()
    await store.close()
    throw err
  }

  return {
    node,
    store,
    streaming,
    close: async () => {
      open.abortAll()
      await new Promise<void>((done) => {
        const timer = setTimeout(() => {
          server.forceShutdown()
          done()
        }, 1500)
        server.tryShutdown(() => {
          clearTimeout(timer)
          done()
        })
      })
      await streaming.close()
      await node.close()
      await store.close()
      rmSync(socketPath, { force: true })
    },
  }
}

/**
 * Replaces a stale socket file; refuses one that a live server still answers on, and anything at the
 * path that is not a socket (a regular file, a directory, a symlink), which is never removed.
 */
async function prepareSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true })
  const found = lstatSync(path, { throwIfNoEntry: false })
  if (found === undefined) return
  if (!found.isSocket()) {
    const what = found.isSymbolicLink()
      ? 'a symlink'
      : found.isDirectory()
        ? 'a directory'
        : found.isFile()
          ? 'a regular file'
          : 'not a socket'
    throw new Error(`${path} is ${what}, not a socket; refusing to replace it: remove it or choose another --socket`)
  }
  const live = await new Promise<boolean>((answer) => {
    const probe = connect(path)
    probe.once('connect', () => {
      probe.destroy()
      answer(true)
    })
    probe.once('error', () => answer(false))
  })
  if (live) throw new Error(`another server is already listening on ${path}; stop it or choose another --socket`)
  unlinkSync(path)
}
