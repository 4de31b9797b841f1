// The node: one model of everything the runtime holds — namespaces, images, containers (pause
// sandboxes and app containers alike), tasks — over one state store. The CRI face (and later the
// containerd and control faces) are thin translations over this object; they keep no state.
import { SimClock } from '../sim/clock.js'
import { SIGKILL } from '../sim/signals.js'
import { silentLogger, type Logger } from '../log.js'
import { FaultEngine } from '../faults/engine.js'
import type { ExitInfo } from '../sim/process.js'
import { checkState, type StateStore } from '../store/store.js'
import type { ContainerRecord, NodeState, StatePath } from '../store/schema.js'
import { Containers } from './cri/containers.js'
import { ContainerStore } from './metadata/container-store.js'
import type { Core } from './core.js'
import { EventBus, type LifecycleEventType } from './events.js'
import { Images, type PullPolicy, type RegistrySettings } from './metadata/images.js'
import { Content } from './metadata/content.js'
import { collectGarbage, gcSummary, type GcResult } from './metadata/gc.js'
import { Leases } from './metadata/leases.js'
import { Namespaces } from './metadata/namespaces.js'
import { Snapshots } from './metadata/snapshots.js'
import { memoryBlobs, type BlobStore } from '../store/blobs.js'
import { parseCidr, type Cidr } from './cri/ipam.js'
import { NodeNetwork } from '../sim/net-namespaces.js'
import { podDirectory } from './runtime/network.js'
import { HostPorts } from './runtime/host-ports.js'
import { TaskService } from './runtime/task-service.js'
import { parseReference } from './reference.js'
import { CriIndex } from './cri/record-index.js'
import { Sandboxes } from './cri/sandboxes.js'
import { SandboxRecords } from './sandbox/records.js'
import { initPlan } from './runtime/plans.js'
import { ContainerViews } from './runtime/views.js'
import { pidNamespaceOf, PidTable } from './runtime/pids.js'
import { MemoryCgroups } from './runtime/memory.js'
import { memoryLimitOf, usage, type Usage } from './runtime/stats.js'
import { Tasks } from './runtime/tasks.js'
import { nowNs } from './time.js'

export interface NodeOptions {
  sandboxImage: string
  podCidr: string
  runtimeHandlers: string[]
  pullPolicy: PullPolicy
  /** How pull policy registry reaches registries. */
  registry?: RegistrySettings
  /** The simulated clock processes sleep on (shared across restarts of one server). */
  clock?: SimClock
  log?: Logger
  /** Where content bytes live; memory when not given. */
  blobs?: BlobStore
  /** Where the uncompressed tars of applied layers live (the files of unpacked images); memory when not given. */
  layerBlobs?: BlobStore
  /** Node faults (crashes, pull failures, not-ready conditions) come from here. */
  faults?: FaultEngine
  /**
   * The node's name, as containerd takes the host's (os.Hostname()) for the /etc/hostname and
   * HOSTNAME= of a pod whose config names no hostname (its runtime spec's hostname stays empty);
   * without it such a pod is called by its metadata name.
   */
  nodeName?: string
  /** The loopback address hostPorts and host-network servers are opened on (default 127.0.0.1). */
  hostAddress?: string
}

/** The share of time collections may take (containerd's gc scheduler pause_threshold). */
const GC_PAUSE = 0.02
/** The gc scheduler's startup_delay: the first collection after a start. */
const STARTUP_GC_DELAY_MS = 100

export class Node implements Core {
  readonly events: EventBus
  readonly log: Logger
  readonly images: Images
  readonly namespaces: Namespaces
  readonly containerStore: ContainerStore
  /** CRI's lookups over the records: by id and prefix, names, a pod's containers, pods by IP. */
  readonly criIndex: CriIndex
  readonly content: Content
  readonly snapshots: Snapshots
  readonly leases: Leases
  /** The live processes (the shims' side). */
  readonly tasks: Tasks
  /** The task lifecycle both APIs use: checks, node faults, plans (containerd's tasks service). */
  readonly taskService: TaskService
  readonly sandboxes: Sandboxes
  /** containerd 2.x's sandbox records (the Sandbox API's view; CRI pods among them). */
  readonly sandboxRecords: SandboxRecords
  readonly containers: Containers
  /** What each container's processes see (filesystem, processes). */
  readonly views: ContainerViews
  /** Every simulated process and the PID namespaces they are seen in. */
  readonly pids = new PidTable()
  /** What the processes have allocated, per container; the OOM killer. */
  readonly memory: MemoryCgroups
  /** The pods' and the node's network namespaces: listeners, connections, DNS (none of it in the state). */
  readonly network: NodeNetwork
  /** What of that network the host reaches: hostPort mappings, host-network servers, loopback pod IPs. */
  readonly hostPorts: HostPorts
  readonly clock: SimClock
  readonly faults: FaultEngine
  cidr: Cidr

  constructor(
    readonly store: StateStore,
    readonly options: NodeOptions,
  ) {
    this.clock = options.clock ?? new SimClock()
    this.log = options.log ?? silentLogger
    this.faults = options.faults ?? new FaultEngine()
    this.events = new EventBus(this.log)
    this.cidr = parseCidr(store.data.podCidr)
    this.namespaces = new Namespaces(this)
    this.containerStore = new ContainerStore(this)
    this.criIndex = new CriIndex(this.containerStore)
    this.content = new Content(this, options.blobs ?? memoryBlobs())
    this.snapshots = new Snapshots(this, options.layerBlobs ?? memoryBlobs())
    this.leases = new Leases(this)
    this.images = new Images(
      this,
      this.content,
      this.snapshots,
      options.pullPolicy,
      [parseReference(options.sandboxImage).normalized],
      this.faults,
      this.log,
      options.registry,
    )
    this.tasks = new Tasks({
      clock: this.clock,
      log: this.log,
      allocatePid: () => this.state.nextPid++,
      changed: (...paths) => this.changed(...paths),
      emit: (namespace, topic, type, payload) => this.emit(namespace, topic, type, payload),
      storeBlob: (namespace, data) => this.content.create(namespace, data),
      onTaskExit: (record, exit) => this.#onTaskExit(record, exit),
      track: (record, proc, plan) => {
        const isInit = proc.pid === record.task?.pid
        const node = this.pids.add({
          hostPid: proc.pid,
          ns: pidNamespaceOf(this.pids, record),
          ...(isInit && record.task?.nsPid ? { pid: record.task.nsPid } : {}),
          containerId: record.id,
          args: plan.args,
          uid: plan.user.uid,
          gid: plan.user.gid,
          ...(plan.user.additionalGids ? { groups: plan.user.additionalGids } : {}),
          signal: (signo) => proc.kill(signo),
        })
        if (isInit && record.task && record.task.nsPid !== node.pid) record.task.nsPid = node.pid
        proc.onExit(() => {
          this.pids.remove(proc.pid)
          this.memory.release(record.id, proc.pid)
        })
      },
    })
    this.taskService = new TaskService(this)
    this.sandboxes = new Sandboxes(this)
    this.sandboxRecords = new SandboxRecords({
      core: this,
      sandboxes: this.sandboxes,
      allocatePid: () => this.state.nextPid++,
      emit: (namespace, topic, type, payload) => this.emit(namespace, topic, type, payload),
    })
    this.containers = new Containers(this)
    this.views = new ContainerViews(this)
    if (store.sync) store.beforeWrite = () => this.views.saveChanged()
    this.memory = new MemoryCgroups({ log: this.log, oomKill: (record) => this.tasks.oomKill(record) })
    this.network = new NodeNetwork(podDirectory(this.sandboxes, () => this.cidr))
    this.hostPorts = new HostPorts({
      network: this.network,
      log: this.log,
      podIp: (id) => this.sandboxes.find(id)?.cri.ip || undefined,
      hostAddress: options.hostAddress ?? '127.0.0.1',
    })
    // A removed container (or pod) takes its view and network namespace with it.
    this.events.envelopes.subscribe((e) => {
      if (e.topic !== '/containers/delete') return
      this.views.drop(String(e.payload.id))
      this.network.drop(String(e.payload.id))
      void this.hostPorts.close(String(e.payload.id))
    })
  }

  get state(): NodeState {
    return this.store.data
  }

  #changes = 0
  /** How many changes have been made to the state, in memory too (the web view makes its view again when it moves). */
  get changes(): number {
    return this.#changes
  }

  changed(...paths: StatePath[]): void {
    this.#changes++
    this.store.changed(...paths)
    for (const listener of this.#changeListeners) listener(paths)
  }

  readonly #changeListeners = new Set<(paths: readonly StatePath[]) => void>()
  /**
   * Calls `listener` with the paths of each change as the store is told of it (none: anywhere), so
   * that what a face derives from a record and keeps (cri/wire.ts: its encoded list item) is dropped
   * when the record changes. Returns the unsubscribe.
   */
  onChanged(listener: (paths: readonly StatePath[]) => void): () => void {
    this.#changeListeners.add(listener)
    return () => this.#changeListeners.delete(listener)
  }

  get durableViews(): boolean {
    return this.store.sync
  }

  emit(namespace: string, topic: string, type: string, payload: Record<string, unknown>): void {
    this.events.envelopes.publish({ namespace, topic, type, payload, at: nowNs() })
  }

  namespaceExists(namespace: string): boolean {
    return this.namespaces.exists(namespace)
  }

  ensureNamespace(namespace: string): void {
    this.namespaces.ensure(namespace)
  }

  /** A container's resource usage as stats and metrics report it: the model plus its live processes. */
  usage(record: ContainerRecord): Usage {
    return usage(record, memoryLimitOf(record), {
      processes: this.pids.countOf(record.id),
      chargedBytes: this.memory.chargedBytes(record.id),
    })
  }

  /** Garbage collection (model/metadata/gc.ts): call after deleting anything that may have held other objects. */
  gc(): GcResult {
    this.#dropPendingGc()
    const start = performance.now()
    const result = collectGarbage(this)
    this.#lastGc = { end: performance.now(), took: performance.now() - start }
    this.log.debug(`garbage collection: ${gcSummary(result)}`)
    return result
  }

  // containerd's gc scheduler (plugins/gc/scheduler.go): a collection walks every object, so after
  // deletions it waits until the last one's cost is at most GC_PAUSE of the time since (its
  // pause_threshold, 0.02); N deletions in a row then cost O(N) collections' worth, not O(N²).
  #gcTimer: NodeJS.Timeout | undefined
  #lastGc = { end: 0, took: 0 }

  gcSoon(atLeastMs = 0): void {
    if (this.#gcTimer !== undefined) return
    const wait = Math.max(atLeastMs, this.#lastGc.end + this.#lastGc.took / GC_PAUSE - performance.now())
    this.#gcTimer = setTimeout(() => this.settleGc(), wait)
    // A pending collection never keeps the process alive; close() settles it.
    this.#gcTimer.unref()
  }

  settleGc(): void {
    if (this.#gcTimer !== undefined) this.gc()
  }

  #dropPendingGc(): void {
    clearTimeout(this.#gcTimer)
    this.#gcTimer = undefined
  }

  publish(type: LifecycleEventType, containerId: string, sandboxId: string): void {
    this.events.lifecycle.publish({ type, containerId, sandboxId, at: nowNs() })
  }

  /** Sets the pod CIDR new sandboxes draw from (UpdateRuntimeConfig). */
  setPodCidr(text: string): void {
    this.cidr = parseCidr(text)
    this.state.podCidr = text.trim()
    this.changed(['podCidr'])
  }

  /** Brings processes back after a restart: running tasks keep running, as shims outlive containerd. */
  resume(): void {
    this.images.restoreCatalogContent()
    // containerd's gc scheduler collects once its startup_delay (100 ms) after start: what a lease
    // held until it expired while the server was down, or a crash left unreferenced, goes then.
    this.gcSoon(STARTUP_GC_DELAY_MS)
    for (const record of Object.values(this.state.containers)) {
      if (record.task?.status !== 'running' && record.task?.status !== 'paused') continue
      this.tasks.start(record, initPlan(this, record, true), true)
    }
    // Ready pods get their host ports back, as CNI's portmap rules outlive a containerd restart;
    // one that cannot be bound now is logged by open().
    for (const s of this.sandboxes.all()) {
      if (s.cri.ready) void this.hostPorts.open(s.id, s.cri.ip, s.cri.config.port_mappings ?? []).catch(() => {})
    }
  }

  /** Replaces the whole state (reset, restore): processes of the old state stop, those of the new one run. */
  replaceState(state: NodeState): void {
    // Refuse a state that will not load before anything of the current one is touched.
    checkState(state, 'the given state')
    this.views.save()
    const cidr = parseCidr(state.podCidr)
    this.#dropPendingGc()
    this.tasks.detachAll()
    this.pids.clear()
    this.memory.clear()
    this.views.clear()
    void this.hostPorts.closeAll()
    this.network.clear()
    this.store.replace(state)
    this.#changes++
    this.cidr = cidr
    this.resume()
  }

  /** Stops the processes and frees what the node holds on the host; resolves once its host ports are closed. */
  close(): Promise<void> {
    this.settleGc()
    this.views.save()
    this.tasks.detachAll()
    this.pids.clear()
    this.snapshots.close()
    return this.hostPorts.closeAll()
  }

  #onTaskExit(record: ContainerRecord, exit: ExitInfo): void {
    // What the container's processes started (daemons, workers) dies with it, as runc kills its cgroup.
    for (const p of this.pids.ofContainer(record.id)) p.signal(SIGKILL)
    if (record.cri?.kind === 'container') this.containers.onExit(record, exit)
    else if (record.cri?.kind === 'sandbox') this.sandboxes.onExit(record)
  }
}
