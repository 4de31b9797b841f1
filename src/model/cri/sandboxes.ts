// Pod sandboxes: each is a pause container with a task, in namespace k8s.io, carrying CRI's
// sandbox metadata. State machine (containerd's CRI):
//
//   RunPodSandbox ──▶ READY ──StopPodSandbox / pause exits──▶ NOTREADY ──RemovePodSandbox──▶ gone
//                       └──────────────RemovePodSandbox (stops first)──────────────────────▶ gone
import { merged } from '../own.js'
import type { FiredNodeFaults } from '../../faults/engine.js'
import type { PodSandboxConfig__Output } from '../../generated/runtime/v1/PodSandboxConfig.js'
import type { ContainerRecord, CriSandboxMeta, NodeState, StatePath } from '../../store/schema.js'
import { SIGKILL } from '../../sim/signals.js'
import { RuntimeError, invalidArgument, nameReserved, unknown } from '../errors.js'
import { getByPrefix, newId } from '../ids.js'
import { CRI_NAMESPACE, UNPACK_SNAPSHOTTER } from '../metadata/images.js'
import type { FaultEngine } from '../../faults/engine.js'
import type { LifecycleEventType } from '../events.js'
import type { ContainerStore } from '../metadata/container-store.js'
import type { Images } from '../metadata/images.js'
import type { Snapshots } from '../metadata/snapshots.js'
import type { TaskService } from '../runtime/task-service.js'
import type { HostPorts } from '../runtime/host-ports.js'
import type { Tasks } from '../runtime/tasks.js'
import type { Containers } from './containers.js'
import type { Cidr } from './ipam.js'
import type { CriIndex } from './record-index.js'
import { isSandbox, sandboxName, type AppContainerRecord, type SandboxLookup, type SandboxRecord } from './records.js'
import { hostNamespaces, ociSpec } from './spec.js'
import { nowString } from '../time.js'

/** The parts of the node a pod is made of (Node has them all). */
export interface SandboxesHost {
  readonly state: NodeState
  changed(...paths: StatePath[]): void
  publish(type: LifecycleEventType, containerId: string, sandboxId: string): void
  readonly options: { readonly sandboxImage: string; readonly runtimeHandlers: readonly string[]; readonly nodeName?: string }
  readonly cidr: Cidr
  readonly faults: FaultEngine
  readonly containerStore: ContainerStore
  readonly criIndex: CriIndex
  readonly images: Images
  readonly snapshots: Snapshots
  readonly tasks: Tasks
  readonly taskService: TaskService
  readonly containers: Containers
  readonly hostPorts: Pick<HostPorts, 'open' | 'close'>
}

export class Sandboxes implements SandboxLookup {
  /** Names and IPs of pods whose host ports are being opened (no record yet): taken all the same. */
  #settingUp = new Map<string, { name: string; ip: string }>()

  constructor(private readonly node: SandboxesHost) {
    // One record, two views: deleting a sandbox through containerd's API must not leave CRI
    // containers of a pod that is gone.
    node.containerStore.guardDelete((record) => {
      if (isSandbox(record) && node.criIndex.hasContainers(record.id)) {
        throw new RuntimeError(
          'FailedPrecondition',
          `container ${JSON.stringify(record.id)} is a pod sandbox that still has containers; remove the pod with RemovePodSandbox: failed precondition`,
        )
      }
    })
  }

  all(): SandboxRecord[] {
    return [...this.node.criIndex.sandboxes.values()]
  }

  /** Finds a sandbox by id or unique id prefix; undefined when there is none. */
  find(idOrPrefix: string): SandboxRecord | undefined {
    return this.node.criIndex.sandboxes.find(idOrPrefix)
  }

  /** Like find, but a missing sandbox is containerd's NotFound error. */
  get(idOrPrefix: string, context = `an error occurred when try to find sandbox ${JSON.stringify(idOrPrefix)}`): SandboxRecord {
    return getByPrefix(() => this.find(idOrPrefix), context)
  }

  at(address: string): readonly SandboxRecord[] {
    return this.node.criIndex.sandboxesAt(address)
  }

  withNetns(path: string): SandboxRecord | undefined {
    return this.node.criIndex.sandboxWithNetns(path)
  }

  /** A pod's containers, oldest first. */
  containersOf(sandboxId: string): AppContainerRecord[] {
    return this.node.criIndex.containersOf(sandboxId)
  }

  /** Runs a pod sandbox; node faults that fire are noted in `noted` (the call's, for its journal entry). */
  async run(config: PodSandboxConfig__Output, runtimeHandler: string, noted?: FiredNodeFaults): Promise<SandboxRecord> {
    const node = this.node
    const metadata = config.metadata
    if (!metadata) throw invalidArgument('sandbox config must include metadata')
    if (!metadata.name) throw invalidArgument('sandbox config metadata must include a name')
    const name = sandboxName(config)
    const holder = this.#holderOf(name)
    if (holder) throw nameReserved('sandbox', name, holder)
    const id = newId()
    const handler = runtimeHandler || (node.options.runtimeHandlers[0] ?? 'runc')
    if (!node.options.runtimeHandlers.includes(handler)) {
      throw unknown(`unable to get OCI runtime for sandbox ${JSON.stringify(id)}: no runtime for ${JSON.stringify(handler)} is configured`)
    }
    // The pause image is made present, as containerd's ensurePauseImageExists does; its pull pins it.
    const pause = node.images.resolve(node.options.sandboxImage) ?? (await node.images.pull(node.options.sandboxImage, undefined, noted))
    // A name taken while the pause image was pulled is still taken.
    const late = this.#holderOf(name)
    if (late) throw nameReserved('sandbox', name, late)

    const hostNetwork = config.linux?.security_context?.namespace_options?.network === 'NODE'
    let ip = ''
    if (!hostNetwork) {
      const fired = node.faults.nodeFault('sandboxNetwork', { ids: [], name: metadata.name, labels: config.labels }, noted)
      if (fired) {
        throw unknown(
          `failed to setup network for sandbox ${JSON.stringify(id)}: plugin type="bridge" name="fake-containerd" failed (add): ${fired.rule.message ?? 'failed to allocate for range 0: no IP addresses available in range set'}`,
        )
      }
      const settingUp = new Set([...this.#settingUp.values()].map((p) => p.ip))
      ip =
        node.criIndex.ips.allocate(
          node.cidr,
          (a) => node.criIndex.holdsIp(a),
          (a) => settingUp.has(a),
        ) ?? ''
      if (ip === '') {
        throw unknown(
          `failed to setup network for sandbox ${JSON.stringify(id)}: no IP addresses available in range set: ${node.state.podCidr}`,
        )
      }
      // The portmap plugin's part of the network setup: host ports that cannot be had fail the pod.
      this.#settingUp.set(id, { name, ip })
      try {
        await node.hostPorts.open(id, ip, config.port_mappings ?? [])
      } finally {
        this.#settingUp.delete(id)
      }
    }
    try {
      return this.#create(id, config, name, handler, pause, ip, hostNetwork)
    } catch (err) {
      await node.hostPorts.close(id)
      throw err
    }
  }

  /** The id of the pod holding `name`, a ready record or one being set up. */
  #holderOf(name: string): string | undefined {
    return this.node.criIndex.sandboxNamed(name) ?? [...this.#settingUp].find(([, p]) => p.name === name)?.[0]
  }

  #create(
    id: string,
    config: PodSandboxConfig__Output,
    name: string,
    handler: string,
    pause: NonNullable<ReturnType<Images['resolve']>>,
    ip: string,
    hostNetwork: boolean,
  ): SandboxRecord {
    const node = this.node
    const metadata = config.metadata!
    const now = nowString()
    // /etc/hostname and HOSTNAME= name the pod by its config, else by the node (containerd: os.Hostname()).
    const hostname = config.hostname || node.options.nodeName || metadata.name
    const annotations = merged(config.annotations, {
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-id': id,
      'io.kubernetes.cri.sandbox-name': metadata.name,
      'io.kubernetes.cri.sandbox-namespace': metadata.namespace,
      'io.kubernetes.cri.sandbox-uid': metadata.uid,
      'io.kubernetes.cri.sandbox-log-directory': config.log_directory,
    })
    const record: SandboxRecord = {
      namespace: CRI_NAMESPACE,
      id,
      image: pause.repoTags[0] ?? pause.id,
      labels: merged(config.labels, { 'io.cri-containerd.kind': 'sandbox' }),
      runtime: { name: 'io.containerd.runc.v2' },
      snapshotter: 'overlayfs',
      snapshotKey: id,
      spec: ociSpec({
        id,
        sandboxId: id,
        args: [...pause.content.config.entrypoint, ...pause.content.config.cmd],
        env: pause.content.config.env,
        cwd: pause.content.config.workingDir,
        user: { uid: 65535, gid: 65535 },
        // containerd's spec carries the config's hostname alone (oci.WithHostname(config.GetHostname())).
        hostname: hostNetwork ? '' : config.hostname,
        annotations,
        readonlyRootfs: true,
        pidNamespace: 'container',
        ...hostNamespaces(config),
        cgroupParent: config.linux?.cgroup_parent ?? '',
      }),
      createdAt: now,
      updatedAt: now,
      cri: {
        kind: 'sandbox',
        config,
        name,
        runtimeHandler: handler,
        ready: true,
        createdAt: now,
        ip,
        additionalIps: [],
        hostname,
        netnsPath: hostNetwork ? '' : `/var/run/netns/cni-${id.slice(0, 8)}`,
      },
    }
    // The pause container's rootfs, on the image's unpacked layers, as containerd prepares it.
    node.snapshots.prepareUnmounted(UNPACK_SNAPSHOTTER, CRI_NAMESPACE, id, node.images.topSnapshot(CRI_NAMESPACE, pause.id), {})
    node.containerStore.add(record)
    node.publish('CREATED', id, id)
    // The pause process is the runtime's own: none of runc's checks can refuse it (nothing in it came
    // from a client), and making its view to look for /pause would cost every RunPodSandbox.
    node.tasks.create(record)
    node.taskService.start(record)
    node.publish('STARTED', id, id)
    return record
  }

  /** Stops every container of the sandbox (SIGKILL, as containerd does), then the pause process. */
  async stop(idOrPrefix: string): Promise<void> {
    const sandbox = this.find(idOrPrefix)
    if (!sandbox) return
    const containers = this.containersOf(sandbox.id)
    await Promise.all(containers.map((c) => this.node.containers.stop(c.id, 0)))
    if (sandbox.task?.status === 'running' || sandbox.task?.status === 'paused') {
      this.node.tasks.kill(sandbox.id, SIGKILL)
      await this.node.tasks.waitExit(sandbox)
    } else if (sandbox.cri.ready) {
      this.#markNotReady(sandbox)
    }
    // The network is torn down with the pod (containerd's teardownPodNetwork): its host ports are
    // free once StopPodSandbox answers, and its IP goes back to IPAM.
    await this.node.hostPorts.close(sandbox.id)
    if (!sandbox.cri.networkDown && (sandbox.cri.ip !== '' || sandbox.cri.additionalIps.length > 0)) {
      sandbox.cri.networkDown = true
      this.node.criIndex.networkTornDown(sandbox)
      this.node.changed(['containers', sandbox.id])
    }
  }

  async remove(idOrPrefix: string): Promise<void> {
    const sandbox = this.find(idOrPrefix)
    if (!sandbox) return
    await this.stop(sandbox.id)
    for (const c of this.containersOf(sandbox.id)) {
      await this.node.containers.remove(c.id)
    }
    this.node.containerStore.delete(CRI_NAMESPACE, sandbox.id)
    this.node.publish('DELETED', sandbox.id, sandbox.id)
  }

  /** Records the pod's overhead and resources kubelet reports (UpdatePodSandboxResources); either may be left out. */
  updateResources(idOrPrefix: string, overhead: CriSandboxMeta['overhead'] | null, resources: CriSandboxMeta['resources'] | null): void {
    const sandbox = this.get(idOrPrefix)
    if (overhead) sandbox.cri.overhead = overhead
    if (resources) sandbox.cri.resources = resources
    this.node.changed(['containers', sandbox.id])
  }

  onExit(record: SandboxRecord | ContainerRecord): void {
    if (!isSandbox(record)) return
    this.node.tasks.delete(record)
    this.#markNotReady(record)
  }

  #markNotReady(sandbox: SandboxRecord): void {
    if (!sandbox.cri.ready) return
    void this.node.hostPorts.close(sandbox.id)
    sandbox.cri.ready = false
    sandbox.updatedAt = nowString()
    this.node.changed(['containers', sandbox.id])
    this.node.publish('STOPPED', sandbox.id, sandbox.id)
  }
}
