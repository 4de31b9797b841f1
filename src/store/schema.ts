// The node's whole state as plain JSON data: what the state file holds and what a snapshot is.
// Bump SCHEMA_VERSION on any incompatible change and add a migration in store/migrate.ts.
import type { SavedLayer } from '../sim/fs/mem.js'
import type { PodSandboxConfig__Output } from '../generated/runtime/v1/PodSandboxConfig.js'
import type { ContainerConfig__Output } from '../generated/runtime/v1/ContainerConfig.js'
import type { LinuxContainerResources__Output as LinuxContainerResources } from '../generated/runtime/v1/LinuxContainerResources.js'

export const SCHEMA_VERSION = 4

/** The image config fields a runtime uses (OCI image config, camel-cased). */
export interface ImageConfig {
  user: string
  entrypoint: string[]
  cmd: string[]
  env: string[]
  workingDir: string
  exposedPorts: string[]
  stopSignal: string
  labels: Record<string, string>
  volumes: string[]
}

/** What is known of one image's content, keyed by its config digest (the image id). */
export interface ImageContent {
  configDigest: string
  manifestDigest: string
  size: number
  os: string
  architecture: string
  config: ImageConfig
}

/** A containerd image record: a name pointing at a manifest. CRI shows one image per config digest. */
export interface ImageRecord {
  namespace: string
  name: string
  /** The target descriptor: digest (a manifest or index), media type, size, annotations. */
  manifestDigest: string
  mediaType: string
  size: number
  annotations?: Record<string, string>
  /** The config digest (image id) learned from the content; "" while unknown. */
  configDigest: string
  labels: Record<string, string>
  createdAt: string
  updatedAt: string
}

export type TaskStatus = 'created' | 'running' | 'paused' | 'stopped'

/** An exec'd process of a task (containerd's Tasks.Exec). */
export interface ExecRecord {
  pid: number
  status: TaskStatus
  createdAt: string
  startedAt?: string
  exitedAt?: string
  exitStatus?: number
  /** The OCI process spec (JSON) the client sent. */
  process: Record<string, unknown>
  io?: { stdin: string; stdout: string; stderr: string; terminal: boolean }
}

/** A containerd task: the simulated init process of a container. */
export interface TaskRecord {
  /** Its init's host PID (what containerd reports). */
  pid: number
  /** Its init's PID inside its PID namespace (1, or its place in the pod's shared one). */
  nsPid?: number
  status: TaskStatus
  createdAt: string
  startedAt?: string
  exitedAt?: string
  exitStatus?: number
  /** Why the process ended, when the runtime knows better than the exit code (OOMKilled). */
  exitReason?: string
  /** The stdio paths (FIFOs) a containerd client gave; CRI tasks log to files instead. */
  io?: { stdin: string; stdout: string; stderr: string; terminal: boolean }
  execs?: Record<string, ExecRecord>
  /**
   * The resources Tasks.Update set on the task's cgroup (OCI LinuxResources). containerd leaves the
   * container record's spec as it was; a new task starts from the spec again.
   */
  resources?: Record<string, unknown>
  /** How a node fault (crash, OOM) scripted this run; kept so a restart does not forget it. */
  injected?: { exitCode?: number; exitAfterMs?: number; oomAfterMs?: number }
}

/** CRI's view of a pod sandbox, kept on the sandbox's pause container. */
export interface CriSandboxMeta {
  kind: 'sandbox'
  config: PodSandboxConfig__Output
  name: string
  runtimeHandler: string
  ready: boolean
  createdAt: string
  ip: string
  additionalIps: string[]
  hostname: string
  netnsPath: string
  /** StopPodSandbox tore its network down: the IP went back to IPAM and status reports none (containerd's closed netns). */
  networkDown?: boolean
  /** Resources last set through UpdatePodSandboxResources. */
  overhead?: LinuxContainerResources
  resources?: LinuxContainerResources
}

/**
 * A ContainerConfig as stored: env values arrive as bytes (cri-api 1.36 made KeyValue.value bytes)
 * and are kept as UTF-8 strings so the state stays plain JSON.
 */
export type StoredContainerConfig = Omit<ContainerConfig__Output, 'envs'> & { envs: { key: string; value: string }[] }

/** The exit CRI remembers after it deletes a container's task. */
export interface CriExit {
  startedAt: string
  finishedAt: string
  exitCode: number
  reason: string
  message: string
}

/** CRI's view of an app container. */
export interface CriContainerMeta {
  kind: 'container'
  sandboxId: string
  config: StoredContainerConfig
  name: string
  /** The image id (config digest) resolved at creation. */
  imageId: string
  logPath: string
  createdAt: string
  stopSignal: string
  resources?: LinuxContainerResources
  exit?: CriExit
  /** Set once StartContainer has run: the container can never start again. */
  started?: boolean
}

/** A protobuf Any kept in the state: its bytes base64-encoded. */
export interface StoredAny {
  type_url: string
  value: string
}

/** A containerd container. Pause sandboxes and CRI app containers are both containers. */
export type { SavedLayer }

export interface ContainerRecord {
  namespace: string
  id: string
  image: string
  labels: Record<string, string>
  runtime: { name: string; options?: StoredAny }
  extensions?: Record<string, StoredAny>
  /** The sandbox (containerd 2.x sandbox API) this container belongs to, if any. */
  sandbox?: string
  snapshotter: string
  snapshotKey: string
  /** The OCI runtime spec, as JSON. */
  spec: Record<string, unknown>
  createdAt: string
  updatedAt: string
  task?: TaskRecord
  cri?: CriSandboxMeta | CriContainerMeta
  /**
   * The hostname a process set in the UTS namespace this record owns (a pod's, or a lone
   * container's), saved with its writable layer: the namespace outlives a containerd restart.
   */
  utsHostname?: string
}

export interface NamespaceRecord {
  labels: Record<string, string>
}

/** A blob in the content store, as one namespace sees it (the bytes are in the blob store). */
export interface ContentRecord {
  size: number
  labels: Record<string, string>
  createdAt: string
  updatedAt: string
}

export type SnapshotKind = 'active' | 'view' | 'committed'

export interface SnapshotRecord {
  kind: SnapshotKind
  /** The committed snapshot this one is based on, or "". */
  parent: string
  labels: Record<string, string>
  createdAt: string
  updatedAt: string
  /** The layers Diff.Apply unpacked here, in order: the index of each one's files. */
  layers?: AppliedLayer[]
  /** Bytes those files take (Usage). */
  usageBytes?: number
}

/**
 * One entry of a layer's index: [path, kind, mode, uid, gid, mtime (ms), size, where].
 * Kinds: f file (where: the offset of its bytes in the layer's tar), d directory, l symlink (where:
 * its target), h hard link (where: the path it links to), c/b character/block device (size: the
 * device number, major << 20 | minor), p fifo; w a whiteout (path: what it removes) and o an opaque
 * directory (path: the directory), as the layer's `.wh.` entries say.
 */
export type LayerEntry = [
  path: string,
  kind: LayerEntryKind,
  mode: number,
  uid: number,
  gid: number,
  mtimeMs: number,
  size: number,
  where?: number | string,
]
export type LayerEntryKind = 'f' | 'd' | 'l' | 'h' | 'c' | 'b' | 'p' | 'w' | 'o'

/** A layer applied to a snapshot: where its uncompressed tar is kept, and its files. */
export interface AppliedLayer {
  /** The digest of the uncompressed tar (the layer's diff id): its bytes in the layer store; "" when they were not kept (state version 1). */
  tar: string
  entries: LayerEntry[]
}

export interface LeaseRecord {
  labels: Record<string, string>
  createdAt: string
  resources: { id: string; type: string }[]
}

/**
 * A sandbox made through containerd 2.x's Sandbox Store (CRI pods are not here: their records are
 * derived from their pause containers), with what its controller knows of it.
 */
export interface SandboxStoreRecord {
  runtime: { name: string; options?: StoredAny }
  spec?: StoredAny
  labels: Record<string, string>
  extensions: Record<string, StoredAny>
  sandboxer: string
  createdAt: string
  updatedAt: string
  /** The simulated sandbox process the controller started (0: never started). */
  pid: number
  ready: boolean
  exitedAt?: string
}

export interface NodeState {
  version: number
  /** Identifies this node's state for its whole life (containerd's introspection uuid). */
  uuid: string
  namespaces: Record<string, NamespaceRecord>
  images: ImageRecord[]
  imageContent: Record<string, ImageContent>
  containers: Record<string, ContainerRecord>
  /** namespace → digest → record */
  content: Record<string, Record<string, ContentRecord>>
  /** snapshotter → namespace → key → record */
  snapshots: Record<string, Record<string, Record<string, SnapshotRecord>>>
  /** namespace → lease id → record */
  leases: Record<string, Record<string, LeaseRecord>>
  /**
   * namespace → sandbox id → record: the Sandbox Store's own records. A namespace's key is its
   * sandbox bucket, kept (maybe empty) once made, as containerd's bolt store keeps it.
   */
  sandboxes: Record<string, Record<string, SandboxStoreRecord>>
  /**
   * container id → what its processes wrote to its root filesystem (the overlay's upper layer), saved
   * when it changed before a write, when the server stops or a snapshot is taken, and put back when
   * its view is next made. Apart from the container's record, so a status change does not write the
   * layer again, and a layer's change does not write the record.
   */
  layers: Record<string, SavedLayer>
  podCidr: string
  nextPid: number
}

/**
 * A place in the state a change is at, for the store to write (store/state-log.ts): a collection,
 * then keys into it (`['containers', id]`, `['content', namespace, digest]`). A path names a record,
 * or a whole collection when its records are few (`['images']`, `['leases', namespace]`). A new
 * collection needs nothing more than its changes naming it.
 */
export type StatePath = readonly [keyof NodeState, ...string[]]

/**
 * The first host PID the fake gives a process: above Linux's largest pid_max (2^22), so no real
 * process can have one. A client that acts on a task's PID on the host (dockerd's top runs ps for
 * it; its last-resort kill signals it) can then never reach a real process.
 */
export const FIRST_HOST_PID = 4_194_305

export function emptyState(uuid: string, podCidr: string): NodeState {
  return {
    version: SCHEMA_VERSION,
    uuid,
    namespaces: {},
    images: [],
    imageContent: {},
    containers: {},
    content: {},
    snapshots: {},
    leases: {},
    sandboxes: {},
    layers: {},
    podCidr,
    nextPid: FIRST_HOST_PID,
  }
}
