// What each container's processes see: one filesystem per container (image layers, a writable
// layer, the CRI mounts, synthesised /etc and /proc), built when first needed and shared by the
// container's init process and every exec in it, so a file one writes, another reads. A pod's
// /etc/hosts, /etc/resolv.conf, /etc/hostname and /dev/shm are shared by its containers, and so is
// its UTS namespace (the hostname sethostname changes). The views live in memory; each container's
// writable layer is saved into state.layers (by container id) when the server stops (or a snapshot
// is taken) and comes back with its view after a restart, and so is a hostname a process set (into
// its record). With --state-sync each write of the state saves the layers changed since the last
// one (a change to a layer is a change to the state), so that what a container wrote survives a
// crash too.
import type { CapabilitySets } from '../../sim/fs/security.js'
import { catalogFiles } from '../../images/catalog.js'
import {
  containerIdentity,
  createContainerFs,
  mountTarget,
  mountsMiss,
  sandboxFiles,
  type ContainerFs,
  type ContainerFsInput,
  type Fs,
  type MountInput,
  type SharedView,
  type Tmpfs,
} from '../../sim/fs/index.js'
import type { Identity } from '../../sim/context.js'
import { submountsOf, type HostMount } from '../../sim/fs/host.js'
import type { ImageFiles, ImageInput } from '../../sim/fs/image.js'
import type { NetNamespace, Uts } from '../../sim/kernel.js'
import type { SeccompProfile } from '../../sim/seccomp.js'
import type { ProcessEntry } from '../../sim/fs/procfs.js'
import type { AppliedLayer, ContainerRecord, NodeState, StatePath } from '../../store/schema.js'
import { layerFiles } from '../metadata/layer-tree.js'
import { sysvipc } from '../../sim/host-proc.js'
import { UNPACK_SNAPSHOTTER } from '../metadata/images.js'
import { memoryLimitOf, memorySwapOf } from './stats.js'
import type { SimClock } from '../../sim/clock.js'
import type { NodeNetwork } from '../../sim/net-namespaces.js'
import type { Images } from '../metadata/images.js'
import type { Snapshots } from '../metadata/snapshots.js'
import { networkNamespace } from './network.js'
import type { PidTable } from './pids.js'
import { pidNamespaceOf } from './pids.js'
import { isAppContainer, isSandbox, type AppContainerRecord, type SandboxLookup, type SandboxRecord } from '../cri/records.js'

interface ProcessUser {
  uid: number
  gid: number
  additionalGids?: number[]
}

const userOf = (r: ContainerRecord): ProcessUser =>
  ((r.spec.process as { user?: ProcessUser } | undefined)?.user ?? { uid: 0, gid: 0 }) as ProcessUser
/** A CRI container whose SupplementalGroupsPolicy is Strict: its image's /etc/group adds no groups. */
function strictGroups(record: ContainerRecord): boolean {
  if (!isAppContainer(record)) return false
  const policy: unknown = record.cri.config.linux?.security_context?.supplemental_groups_policy
  return policy === 'Strict' || policy === 1
}

/**
 * The container shares the node's IPC namespace (ipcs shows the host's segments): its runtime spec
 * has no ipc namespace, as runc reads it (model/cri/spec.ts leaves it out for a host-IPC pod).
 */
function hostIpc(record: ContainerRecord): boolean {
  const namespaces = ((record.spec.linux as { namespaces?: { type: string }[] } | undefined)?.namespaces ?? []) as { type: string }[]
  return !namespaces.some((n) => n.type === 'ipc')
}

/**
 * The hostname a pod, a pod's container or a lone container starts with: its UTS namespace's at
 * start. A pod's is its config's, else the node's (cri.hostname), which containerd leaves out of the
 * runtime spec, so that runc's new UTS namespace keeps the host's name.
 */
export function givenHostname(record: ContainerRecord, sandboxes: Pick<SandboxLookup, 'find'>): string {
  if (isSandbox(record)) return record.cri.hostname
  if (isAppContainer(record)) return sandboxes.find(record.cri.sandboxId)?.cri.hostname ?? ''
  return (record.spec as { hostname?: string }).hostname || record.id.slice(0, 12)
}

/**
 * The host directory a containerd-API container's spec names as its root: an absolute `root.path`
 * (dockerd's graphdriver directory, `ctr run --rootfs DIR`). runc uses that path as it is; the
 * rootfs mounts of CreateTask go to the bundle's relative `rootfs` instead.
 */
export function hostRootfsOf(record: ContainerRecord): string | undefined {
  if (isSandbox(record) || isAppContainer(record)) return undefined
  const path = (record.spec.root as { path?: string } | undefined)?.path
  return path?.startsWith('/') ? path : undefined
}

/** The parts of the node a container's view is built from (Node has them all). */
export interface ViewsHost {
  readonly state: NodeState
  changed(...paths: StatePath[]): void
  /** Each change to a writable layer is a change to the state, saved with it (--state-sync). */
  readonly durableViews: boolean
  readonly clock: SimClock
  readonly images: Images
  readonly snapshots: Snapshots
  readonly sandboxes: SandboxLookup
  readonly pids: PidTable
  readonly network: NodeNetwork
}

/** What makes containers' views alike (ContainerViews.#alike): a key, the image, a shared view's input, the container's own mount targets. */
interface Alike {
  key: string
  image: ImageInput
  input: ContainerFsInput
  targets: string[]
}

/** Image trees a node keeps for containers yet to be made (those made hold theirs). */
const TREES_KEPT = 256

/** Shared views kept (sim/fs/shared.ts): one per image, user and security context in use. */
const SHARED_KEPT = 64
/** Distinct Alikes kept to be handed to the next container made alike (ContainerViews.#kept). */
const ALIKE_KEPT = 1024

/**
 * How many unchanged views are kept after their last build. A view nothing changed is built again
 * the same when next needed (ContainerFs.pristine), so thousands of sleeping containers hold none
 * (a view is tens of KB: its mount table, /dev, /sys, /proc); a changed one is kept while its container is.
 */
export const IDLE_VIEWS = 32

export class ContainerViews {
  #fs = new Map<string, ContainerFs>()
  #pods = new Map<string, Tmpfs>()
  /** UTS namespaces: one per pod (its sandbox's id), one per container made through containerd's API. */
  #uts = new Map<string, Uts>()
  /** The host mounts under each container's bind mounts when it started (pin()), by host path. */
  #submounts = new Map<string, Map<string, HostMount[]>>()
  /** The generation of each container's writable layer last saved into state.layers. */
  #saved = new Map<string, number>()
  /** When each container's view was first made: a view built again has the same file times. */
  #madeAt = new Map<string, number>()
  /** The ids of the views built last, oldest first: past IDLE_VIEWS, an unchanged one is let go. */
  #recent: string[] = []
  /** Views built, for tests (test/integration/views-idle.test.ts): a sleeping container must not keep one. */
  built = 0
  /** Shared views built, for tests (test/integration/shared-views.test.ts): one for the containers made alike. */
  sharedBuilt = 0

  /**
   * This node's image trees, by their layers: containers of one image share one. They read this
   * node's layer store, so they are the node's (gone with it), not the process's (sim/fs/image.ts).
   */
  readonly #trees = new Map<string, ImageFiles>()
  /** #alike()'s answers, by container id. */
  readonly #alikes = new Map<string, Alike>()
  /**
   * One Alike for all the containers made alike (with their mount targets): a record points at it
   * rather than holding its own key, input and image (about 1.2 KB a pod). A dedupe table, bounded:
   * an Alike dropped from it lives on with the records that hold it.
   */
  readonly #alikeKept = new Map<string, Alike>()
  /** Views shared by the containers made alike, by what makes them alike (#alike); the least recently made go past SHARED_KEPT. */
  readonly #shared = new Map<string, ContainerFs>()

  constructor(private readonly node: ViewsHost) {}

  /** The container's filesystem (created on first use). */
  fs(record: ContainerRecord): ContainerFs {
    let fs = this.#fs.get(record.id)
    if (!fs) {
      // A view without a saved layer holds what the record does: nothing to save until it changes.
      const saved = !Object.hasOwn(this.node.state.layers, record.id)
      fs = this.#create(record)
      this.built++
      this.#fs.set(record.id, fs)
      if (saved) this.#saved.set(record.id, fs.overlay.generation)
      this.#madeAt.set(record.id, fs.madeAtMs)
      if (this.node.durableViews) fs.overlay.onChange = () => this.node.changed(['layers', record.id])
      this.#recent.push(record.id)
      if (this.#recent.length > IDLE_VIEWS) this.#letGo(this.#recent.shift() as string)
    }
    return fs
  }

  /**
   * The view that stands in for the container's own while it has none (sim/fs/shared.ts): one
   * shared by the pods' and CRI containers made of one image, user and security context. None
   * for a container whose own view is built (it may have changed), that has a saved writable
   * layer, or that was made through containerd's API (its spec can say anything).
   */
  shared(record: ContainerRecord): SharedView | undefined {
    if (this.#fs.has(record.id) || Object.hasOwn(this.node.state.layers, record.id)) return undefined
    const alike = this.#alike(record)
    if (!alike) return undefined
    let fs = this.#shared.get(alike.key)
    // A shared view something changed (an answer that wrote) stands for nobody.
    if (!fs?.pristine) {
      fs = createContainerFs(alike.input)
      this.sharedBuilt++
      if (this.#shared.size >= SHARED_KEPT) this.#shared.delete(this.#shared.keys().next().value as string)
      this.#shared.set(alike.key, fs)
    }
    return { fs, targets: alike.targets }
  }

  /**
   * What `compute` makes of the container's files as its init process sees them: answered on the
   * shared view when what it read is none of the container's own (shared()), else on its own view.
   * `key` names what is computed (the same key, the same answer while the files are unchanged).
   */
  read<T>(record: ContainerRecord, key: string, compute: (fs: Fs) => T): T {
    const shared = this.shared(record)
    const answer = shared?.fs.shared(undefined, key, (read) => mountsMiss(read, shared.targets), compute)
    if (answer) return answer.value
    const own = this.fs(record)
    return own.memo(key, () => compute(own))
  }

  /** The identity of the container's processes, with names from its /etc/passwd and /etc/group (ContainerFs.identity). */
  identity(record: ContainerRecord): Identity {
    const user = this.#user(record)
    return this.read(record, 'identity', (fs) => containerIdentity(fs, user))
  }

  /**
   * What makes a CRI container's view answer as another's (shared()): its image, its user and its
   * security context; the shared view's input; the targets of its own mounts. Kept per record (a
   * PATH search asks at each name): none of it changes while the record is there, but its user,
   * which only drop() changes (process-env.ts setUser).
   */
  #alike(record: ContainerRecord): Alike | undefined {
    if (!isSandbox(record) && !isAppContainer(record)) return undefined
    let alike = this.#alikes.get(record.id)
    if (!alike) this.#alikes.set(record.id, (alike = this.#kept(this.#alikeNow(record))))
    return alike
  }

  #kept(alike: Alike): Alike {
    const key = `${alike.key}\0${alike.targets.join('\0')}`
    const found = this.#alikeKept.get(key)
    if (found) return found
    if (this.#alikeKept.size >= ALIKE_KEPT) this.#alikeKept.delete(this.#alikeKept.keys().next().value as string)
    this.#alikeKept.set(key, alike)
    return alike
  }

  #alikeNow(record: SandboxRecord | AppContainerRecord): Alike {
    const image = this.#image(record)
    const user = this.#user(record)
    const now = () => this.node.clock.now()
    if (isSandbox(record)) {
      return {
        key: `sandbox\0${image.key}\0${JSON.stringify(user)}`,
        image: image.input,
        input: { image: image.input, user, hostname: '', readonlyRootfs: true, now },
        targets: [],
      }
    }
    const security = record.cri.config.linux?.security_context ?? null
    const seccomp = (record.spec.linux as { seccomp?: SeccompProfile } | undefined)?.seccomp
    return {
      key: `container\0${image.key}\0${JSON.stringify(user)}\0${JSON.stringify(security)}\0${seccomp ? JSON.stringify(seccomp) : ''}`,
      image: image.input,
      input: { image: image.input, user, hostname: '', security, ...(seccomp ? { seccomp } : {}), now },
      targets: record.cri.config.mounts.filter((m) => m.container_path !== '').map((m) => mountTarget(m.container_path)),
    }
  }

  /**
   * The container's image as its view shows it, and a key that names it: what the container was
   * made of, not what its image's name says now (a pull moves a tag, RemoveImage drops it; runc runs
   * the container from its own snapshot). The layers are those of the container's snapshot and its
   * parents (the snapshotter keeps them while it is there, image or not); the config and catalog
   * files are those of its image id (the CRI record's; else the image unpacked into that chain).
   * Before the snapshot is prepared (CreateContainer reads /etc/passwd first) or without one (a
   * containerd-API container made without), the image's own top snapshot.
   */
  #image(record: ContainerRecord): { key: string; input: ImageInput } {
    const node = this.node
    const namespace = record.namespace
    const parent = this.#snapshotParent(record)
    let id: string | undefined
    let chain: string
    let layers: AppliedLayer[]
    if (parent !== undefined) {
      chain = parent
      layers = node.snapshots.layers(record.snapshotter, namespace, record.snapshotKey)
      id = isAppContainer(record) ? record.cri.imageId : node.images.idOfChain(namespace, parent, record.image)
    } else {
      id = isAppContainer(record) ? record.cri.imageId : this.#resolve(record)
      chain = id ? node.images.topSnapshot(namespace, id) : ''
      layers = chain ? node.snapshots.layers(UNPACK_SNAPSHOTTER, namespace, chain) : []
    }
    // The same layers, the same tree: containers of one image share it.
    const tree = layers.length > 0 ? `${namespace}\0${chain}\0${layers.map((l) => l.tar).join(',')}` : ''
    const files = tree ? this.#treeOf(tree, layers) : undefined
    const config = id ? node.images.configOf(id, record.image) : undefined
    const extraFiles = id ? catalogFiles(id) : undefined
    return {
      // A synthesised tree (no layers) takes its flavour from the name too.
      key: `${id ?? ''}\0${tree || record.image}`,
      input: {
        name: record.image,
        ...(config ? { config } : {}),
        ...(files ? { files } : {}),
        ...(extraFiles ? { extraFiles } : {}),
      },
    }
  }

  /** The parent of the container's own snapshot, or undefined when it has none (yet). */
  #snapshotParent(record: ContainerRecord): string | undefined {
    if (record.snapshotKey === '') return undefined
    try {
      return this.node.snapshots.parentOf(record.snapshotter, record.namespace, record.snapshotKey)
    } catch {
      return undefined // a snapshotter this node does not have: runc would get no rootfs from it
    }
  }

  /** The id of the image a containerd-API container names, when its name resolves. */
  #resolve(record: ContainerRecord): string | undefined {
    try {
      return this.node.images.resolve(record.image, record.namespace)?.id
    } catch {
      return undefined // an ambiguous id prefix names none
    }
  }

  /** The user the container's processes run as, as its view takes it. */
  #user(record: ContainerRecord): ContainerFsInput['user'] {
    const user = userOf(record)
    // A CRI container's are its security context's: CreateContainer adds the image's /etc/group
    // memberships to the spec's additionalGids (from this view), which the view adds itself; so the
    // view is the same before and after (one shared view, not one for CreateContainer, one after).
    const groups = isAppContainer(record)
      ? (record.cri.config.linux?.security_context?.supplemental_groups ?? []).map(Number)
      : (user.additionalGids ?? [])
    return {
      uid: user.uid,
      gid: user.gid,
      supplementalGroups: groups.filter((g) => g !== user.gid),
      ...(strictGroups(record) ? { strictGroups: true } : {}),
    }
  }

  /**
   * The container starts (its task is created: runc makes its mounts): the host's mounts under its
   * bind mounts' host paths now are the ones its view takes along, and all a private one shows,
   * however late its view is built. A view built before that counts as the start.
   */
  pin(record: ContainerRecord): void {
    const binds = this.#binds(record)
    if (binds.length === 0) return
    // A view built before now (CreateContainer read a file of the container's own) took the host's
    // mounts of then: an unchanged one is let go, to be built again with these; a changed one is
    // kept, and so are the mounts it was built with, so that a view built again agrees with it.
    const built = this.#fs.get(record.id)
    if (built && !built.pristine && this.#submounts.has(record.id)) return
    if (built) this.#fs.delete(record.id)
    this.#pinNow(record, binds)
  }

  #pinNow(record: ContainerRecord, binds: MountInput[]): void {
    const submounts = new Map<string, HostMount[]>()
    for (const m of binds) if (!submounts.has(m.host_path)) submounts.set(m.host_path, submountsOf(m.host_path))
    this.#submounts.set(record.id, submounts)
  }

  /** The container's bind mounts, each with the host mounts under it when the container started (pin()). */
  #bindMounts(record: ContainerRecord): MountInput[] {
    if (!this.#submounts.has(record.id)) this.#pinNow(record, this.#binds(record))
    const submounts = this.#submounts.get(record.id)
    return this.#binds(record).map((m) => {
      const under = submounts?.get(m.host_path)
      return under ? { ...m, submounts: under } : m
    })
  }

  /** The host paths a CRI container's config, or another's spec, bind-mounts. */
  #binds(record: ContainerRecord): MountInput[] {
    if (isSandbox(record)) return []
    if (isAppContainer(record)) {
      return record.cri.config.mounts.map((m): MountInput => ({
        container_path: m.container_path,
        host_path: m.host_path,
        readonly: m.readonly,
        recursive_read_only: m.recursive_read_only,
        propagation: m.propagation,
      }))
    }
    const mounts = (record.spec as { mounts?: { destination: string; source: string; type?: string; options?: string[] }[] }).mounts ?? []
    return mounts
      .filter((m) => m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind'))
      .map((m): MountInput => ({
        container_path: m.destination,
        host_path: m.source,
        readonly: m.options?.includes('ro') === true || m.options?.includes('rro') === true,
        recursive_read_only: m.options?.includes('rro') === true,
      }))
  }

  /** How many containers hold a view now. */
  get live(): number {
    return this.#fs.size
  }

  /** Lets an unchanged view go (it is built again, the same, when next needed); a changed one stays. */
  #letGo(id: string): void {
    if (this.#fs.get(id)?.pristine && !this.#recent.includes(id)) this.#fs.delete(id)
  }

  /** Forgets a removed container's (or pod's) view. */
  drop(id: string): void {
    this.#fs.delete(id)
    this.#pods.delete(id)
    this.#uts.delete(id)
    this.#saved.delete(id)
    this.#madeAt.delete(id)
    this.#submounts.delete(id)
    this.#alikes.delete(id)
  }

  clear(): void {
    this.#fs.clear()
    this.#pods.clear()
    this.#uts.clear()
    this.#saved.clear()
    this.#madeAt.clear()
    this.#submounts.clear()
    this.#recent = []
    this.#shared.clear()
    this.#alikes.clear()
    this.#alikeKept.clear()
  }

  /**
   * Saves each container's writable layer into state.layers (the server is stopping, or a snapshot
   * is taken), as the snapshotter keeps an upper directory on disk across a containerd restart.
   */
  save(): void {
    this.saveChanged(true)
  }

  /**
   * Saves into state.layers the writable layers changed since they were last saved (all of them
   * with `all`), and the hostnames processes set; the store calls it before each write (--state-sync).
   * A layer or record is a change for the store only when what it holds changed.
   */
  saveChanged(all = false): void {
    for (const [id, fs] of this.#fs) {
      const record = this.node.state.containers[id]
      const generation = fs.overlay.generation
      const changed = this.#saved.get(id) !== generation
      if (!record || (!all && !changed)) continue
      this.#saved.set(id, generation)
      if (fs.overlay.changes().length === 0) delete this.node.state.layers[id]
      else this.node.state.layers[id] = fs.overlay.save()
      if (changed) this.node.changed(['layers', id])
    }
    // A hostname a process set (sethostname) stays, as the pod's UTS namespace outlives containerd.
    for (const [id, uts] of this.#uts) {
      const record = this.node.state.containers[id]
      if (!record) continue
      const kept = uts.hostname === givenHostname(record, this.node.sandboxes) ? undefined : uts.hostname
      if (record.utsHostname === kept) continue
      if (kept === undefined) delete record.utsHostname
      else record.utsHostname = kept
      this.node.changed(['containers', id])
    }
  }

  /** The processes of a container's PID namespace, as /proc and ps show them. */
  processes(record: ContainerRecord): ProcessEntry[] {
    return this.node.pids.list(pidNamespaceOf(this.node.pids, record)).map(({ pid, ppid, node }) => ({
      pid,
      ppid,
      args: node.args,
      ...(node.comm ? { comm: node.comm } : {}),
      uid: node.uid,
      gid: node.gid,
      ...(node.groups ? { groups: node.groups } : {}),
    }))
  }

  /** The pod's shared files. */
  #pod(sandbox: SandboxRecord): Tmpfs {
    let files = this.#pods.get(sandbox.id)
    if (!files) {
      files = sandboxFiles({
        hostname: sandbox.cri.hostname,
        podIp: sandbox.cri.ip,
        dns: sandbox.cri.config.dns_config,
        now: () => this.node.clock.now(),
      })
      this.#pods.set(sandbox.id, files)
    }
    return files
  }

  /**
   * The UTS namespace of a pod (or a lone container): the hostname it was given, or set since; and
   * its network namespace as the kernel's checks see it (node.network: the pod's, or the node's).
   */
  #namespaces(record: ContainerRecord, id: string, hostname: string): { uts: Uts; net: NetNamespace } {
    let uts = this.#uts.get(id)
    if (!uts) this.#uts.set(id, (uts = { hostname: this.node.state.containers[id]?.utsHostname ?? hostname }))
    return { uts, net: this.node.network.kernelView(networkNamespace(this.node.sandboxes, record)) }
  }

  /** The tree of a chain of layers, made on first use; the least recently made go past TREES_KEPT. */
  #treeOf(key: string, layers: Parameters<typeof layerFiles>[1]): ImageFiles {
    let files = this.#trees.get(key)
    if (!files) {
      files = layerFiles(key, layers, (tar, offset, length) => this.node.snapshots.readLayer(tar, offset, length))
      if (this.#trees.size >= TREES_KEPT) this.#trees.delete(this.#trees.keys().next().value as string)
      this.#trees.set(key, files)
    }
    return files
  }

  #create(record: ContainerRecord): ContainerFs {
    const node = this.node
    // A layer saved by an earlier run comes back once; from then on the view holds it.
    const saved = node.state.layers
    const writable = Object.hasOwn(saved, record.id) ? saved[record.id] : undefined
    delete saved[record.id]
    const madeAtMs = this.#madeAt.get(record.id)
    const base = {
      ...(writable ? { writable } : {}),
      ...(madeAtMs !== undefined ? { madeAtMs } : {}),
      image: this.#alike(record)?.image ?? this.#image(record).input,
      user: this.#user(record),
      processes: () => this.processes(record),
      procNet: (file: string) => node.network.procNet(networkNamespace(node.sandboxes, record), file),
      sysvipc: (file: string) => sysvipc(file, hostIpc(record)),
      now: () => node.clock.now(),
    }
    if (isSandbox(record)) {
      return createContainerFs({
        ...base,
        hostname: record.cri.hostname,
        ...this.#namespaces(record, record.id, record.cri.hostname),
        sandbox: this.#pod(record),
        readonlyRootfs: true,
      })
    }
    if (isAppContainer(record)) {
      const sandbox = node.sandboxes.find(record.cri.sandboxId)
      const hostname = sandbox?.cri.hostname ?? ''
      // The Localhost profile containerd loaded into the spec; RuntimeDefault is derived from the security context.
      const seccomp = (record.spec.linux as { seccomp?: SeccompProfile } | undefined)?.seccomp
      return createContainerFs({
        ...base,
        hostname,
        ...this.#namespaces(record, record.cri.sandboxId, hostname),
        ...(seccomp ? { seccomp } : {}),
        ...(sandbox ? { sandbox: this.#pod(sandbox), podIp: sandbox.cri.ip } : {}),
        mounts: this.#bindMounts(record),
        sysctls: sandbox?.cri.config.linux?.sysctls ?? {},
        security: record.cri.config.linux?.security_context ?? null,
        memoryLimitBytes: () => Number(memoryLimitOf(record)),
      })
    }
    // A container made through containerd's API: its runtime spec says it all.
    const spec = record.spec as {
      hostname?: string
      root?: { path?: string; readonly?: boolean }
      process?: { capabilities?: Partial<Record<keyof CapabilitySets, string[]>>; noNewPrivileges?: boolean }
      linux?: { seccomp?: SeccompProfile; maskedPaths?: string[]; readonlyPaths?: string[] }
    }
    const caps = spec.process?.capabilities
    const mounts = this.#bindMounts(record)
    const hostname = spec.hostname || record.id.slice(0, 12)
    const rootfs = hostRootfsOf(record)
    return createContainerFs({
      ...base,
      ...(rootfs !== undefined ? { hostRootfs: rootfs } : {}),
      memoryLimitBytes: () => Number(memoryLimitOf(record)),
      memorySwap: () => memorySwapOf(record),
      hostname,
      ...this.#namespaces(record, record.id, hostname),
      seccomp: spec.linux?.seccomp ?? null,
      // What the spec grants (ctr run --privileged, --cap-add), not CRI's defaults.
      ...(caps
        ? {
            capabilities: {
              bounding: caps.bounding ?? [],
              effective: caps.effective ?? [],
              permitted: caps.permitted ?? [],
              inheritable: caps.inheritable ?? [],
              ambient: caps.ambient ?? [],
            },
          }
        : {}),
      noNewPrivs: spec.process?.noNewPrivileges === true,
      maskedPaths: spec.linux?.maskedPaths ?? [],
      readonlyPaths: spec.linux?.readonlyPaths ?? [],
      readonlyRootfs: spec.root?.readonly ?? false,
      mounts,
    })
  }
}
