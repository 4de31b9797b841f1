// containerd 2.x's sandbox records (core/metadata/sandbox.go) and the controller's view of them.
// One record, many views: a CRI pod sandbox is a sandbox record in k8s.io (sandboxer "podsandbox",
// runtime the handler's type, the CRI metadata extension as containerd's CRI writes it), derived from
// the pod's container record, so CRI, ctr and the Sandbox API see the same pod. Records made through
// the Store API are the state's (`sandboxes`, with the namespaces whose sandbox bucket exists), so
// they outlive a restart; only the Wait calls waiting on them are this part's.
import type { ContainerRecord, SandboxStoreRecord, StoredAny } from '../../store/schema.js'
import type { Core } from '../core.js'
import { RuntimeError, invalidArgument, notFound, wrap } from '../errors.js'
import { CRI_NAMESPACE } from '../metadata/images.js'
import { validateIdentifier } from '../metadata/namespaces.js'
import type { Sandboxes } from '../cri/sandboxes.js'
import type { SandboxRecord } from '../cri/records.js'
import { nowString } from '../time.js'

export interface SandboxInfo {
  id: string
  runtime: { name: string; options?: StoredAny }
  spec?: StoredAny
  labels: Record<string, string>
  createdAt: string
  updatedAt: string
  extensions: Record<string, StoredAny>
  sandboxer: string
}

export interface SandboxStatus {
  id: string
  pid: number
  ready: boolean
  createdAt: string
  exitedAt?: string
  exitStatus?: number
  /** The record the pod's processes live in, for metrics; undefined for a record without a task. */
  record?: ContainerRecord
}

export interface SandboxHost {
  /** The state (its `sandboxes`) and the change signal. */
  readonly core: Pick<Core, 'state' | 'changed' | 'ensureNamespace'>
  readonly sandboxes: Sandboxes
  allocatePid(): number
  emit(namespace: string, topic: string, type: string, payload: Record<string, unknown>): void
}

const CRI_METADATA_TYPE = 'github.com/containerd/cri/pkg/store/sandbox/Metadata'
export const SANDBOXERS = ['podsandbox', 'shim'] as const

/** A Store record as the API shows it. */
function infoOf(id: string, r: SandboxStoreRecord): SandboxInfo {
  return {
    id,
    runtime: r.runtime,
    ...(r.spec ? { spec: r.spec } : {}),
    labels: r.labels,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    extensions: r.extensions,
    sandboxer: r.sandboxer,
  }
}

export class SandboxRecords {
  /** The Wait calls waiting on a Store sandbox's exit, by namespace and id. */
  readonly #exits = new Map<string, (() => void)[]>()

  constructor(private readonly host: SandboxHost) {}

  get #records(): Record<string, Record<string, SandboxStoreRecord>> {
    return this.host.core.state.sandboxes
  }

  list(namespace: string): SandboxInfo[] {
    const cri = namespace === CRI_NAMESPACE ? this.host.sandboxes.all().map(criInfo) : []
    return [...cri, ...Object.entries(this.#records[namespace] ?? {}).map(([id, r]) => infoOf(id, r))]
  }

  get(namespace: string, id: string): SandboxInfo {
    const found = this.#cri(namespace, id)
    if (found) return criInfo(found)
    return infoOf(id, this.#stored(namespace, id))
  }

  /** Create (core/metadata/sandbox.go): the store stamps both times itself. */
  create(namespace: string, info: SandboxInfo): SandboxInfo {
    try {
      validateIdentifier(info.id)
    } catch (err) {
      throw wrap(err, 'failed to validate sandbox: invalid sandbox ID')
    }
    if (this.#cri(namespace, info.id) || this.#records[namespace]?.[info.id]) {
      throw new RuntimeError('AlreadyExists', `write error: sandbox bucket ${JSON.stringify(info.id)} already exists: already exists`)
    }
    const now = nowString()
    const record: SandboxStoreRecord = {
      runtime: info.runtime,
      ...(info.spec ? { spec: info.spec } : {}),
      labels: { ...info.labels },
      extensions: { ...info.extensions },
      sandboxer: info.sandboxer,
      createdAt: now,
      updatedAt: now,
      pid: 0,
      ready: false,
    }
    // The metadata store makes the namespace with its first object (ctr namespaces ls lists it).
    this.host.core.ensureNamespace(namespace)
    ;(this.#records[namespace] ??= {})[info.id] = record
    this.host.core.changed(['sandboxes', namespace, info.id])
    return infoOf(info.id, record)
  }

  /** Update by field paths (labels, extensions, spec, runtime, labels.K, extensions.K; none = all four). */
  update(namespace: string, info: SandboxInfo, fields: readonly string[]): SandboxInfo {
    if (this.#cri(namespace, info.id)) {
      throw new RuntimeError(
        'FailedPrecondition',
        `sandbox ${JSON.stringify(info.id)} is a CRI pod; change it through CRI: failed precondition`,
      )
    }
    const own = this.#stored(namespace, info.id)
    if (fields.length === 0 && own.runtime.name !== info.runtime.name) {
      throw invalidArgument('sandbox.Runtime.Name field is immutable: invalid argument')
    }
    const next = { ...own, labels: { ...own.labels }, extensions: { ...own.extensions } }
    for (const f of fields.length ? fields : ['labels', 'extensions', 'spec', 'runtime']) {
      if (f === 'labels') next.labels = { ...info.labels }
      else if (f === 'extensions') next.extensions = { ...info.extensions }
      else if (f === 'spec') next.spec = info.spec
      else if (f === 'runtime') next.runtime = info.runtime
      else if (f.startsWith('labels.')) setOrDelete(next.labels, f.slice(7), info.labels[f.slice(7)])
      else if (f.startsWith('extensions.')) setOrDelete(next.extensions, f.slice(11), info.extensions[f.slice(11)])
      else throw invalidArgument(`cannot update ${JSON.stringify(f)} field on sandbox ${JSON.stringify(info.id)}: invalid argument`)
      // (labels.K and extensions.K set the key to the given value, as containerd's store does.)
    }
    next.updatedAt = nowString()
    ;(this.#records[namespace] as Record<string, SandboxStoreRecord>)[info.id] = next
    this.host.core.changed(['sandboxes', namespace, info.id])
    return infoOf(info.id, next)
  }

  delete(namespace: string, id: string): void {
    if (this.#cri(namespace, id)) {
      throw new RuntimeError(
        'FailedPrecondition',
        `sandbox ${JSON.stringify(id)} is a CRI pod; remove it with RemovePodSandbox: failed precondition`,
      )
    }
    if (!this.#anyIn(namespace)) throw notFound('no sandbox buckets: not found')
    const bucket = this.#records[namespace]
    if (!bucket?.[id]) throw notFound(`failed to delete sandbox ${JSON.stringify(id)}: not found`)
    delete bucket[id]
    this.host.core.changed(['sandboxes', namespace, id])
  }

  // The controller --------------------------------------------------------------------------

  checkSandboxer(sandboxer: string): void {
    if (sandboxer === '') throw invalidArgument('invalid argument: sandbox controller name can not be empty')
    if (!(SANDBOXERS as readonly string[]).includes(sandboxer))
      throw notFound(`not found: failed to get sandbox controller by ${sandboxer}`)
  }

  status(namespace: string, id: string): SandboxStatus {
    const pod = this.#cri(namespace, id)
    if (pod) {
      return {
        id: pod.id,
        pid: pod.task?.pid ?? 0,
        ready: pod.cri.ready,
        createdAt: pod.createdAt,
        ...(pod.cri.ready ? {} : { exitedAt: pod.task?.exitedAt ?? pod.updatedAt, exitStatus: pod.task?.exitStatus ?? 0 }),
        record: pod,
      }
    }
    const own = this.#stored(namespace, id)
    return {
      id,
      pid: own.pid,
      ready: own.ready,
      createdAt: own.createdAt,
      ...(own.exitedAt ? { exitedAt: own.exitedAt, exitStatus: 0 } : {}),
    }
  }

  /** Start: a CRI pod is running already; a Store record gets a (simulated) sandbox process. */
  start(namespace: string, id: string): SandboxStatus {
    if (this.#cri(namespace, id)) return this.status(namespace, id)
    const own = this.#stored(namespace, id)
    if (!own.ready) {
      own.pid = this.host.allocatePid()
      own.ready = true
      delete own.exitedAt
      this.host.core.changed(['sandboxes', namespace, id])
    }
    return this.status(namespace, id)
  }

  async stop(namespace: string, id: string): Promise<void> {
    if (this.#cri(namespace, id)) return this.host.sandboxes.stop(id)
    const own = this.#stored(namespace, id)
    if (!own.ready) return
    own.ready = false
    own.exitedAt = nowString()
    this.host.core.changed(['sandboxes', namespace, id])
    for (const w of this.#exits.get(`${namespace}\0${id}`)?.splice(0) ?? []) w()
  }

  /** Wait: until the sandbox has exited (or the call is cancelled). One abort listener, removed at the end. */
  async wait(namespace: string, id: string, signal: AbortSignal): Promise<SandboxStatus> {
    const pod = this.#cri(namespace, id)
    const own = pod ? undefined : this.#stored(namespace, id)
    if (signal.aborted) throw signal.reason
    let onAbort: () => void = () => {}
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    aborted.catch(() => {})
    try {
      if (pod) {
        // A CRI pod's exit has no waiter list: look every 50 ms.
        while (this.status(namespace, id).ready) {
          let timer: NodeJS.Timeout | undefined
          try {
            await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, 50))), aborted])
          } finally {
            clearTimeout(timer)
          }
        }
      } else if (own?.ready) {
        let exited: () => void = () => {}
        const done = new Promise<void>((resolve) => (exited = resolve))
        const key = `${namespace}\0${id}`
        const exits = this.#exits.get(key) ?? []
        this.#exits.set(key, exits)
        exits.push(exited)
        try {
          await Promise.race([done, aborted])
        } finally {
          const i = exits.indexOf(exited)
          if (i >= 0) exits.splice(i, 1)
          if (exits.length === 0 && this.#exits.get(key) === exits) this.#exits.delete(key)
        }
      }
      return this.status(namespace, id)
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** How many Wait calls are waiting on a Store sandbox's exit. */
  waiters(namespace: string, id: string): number {
    return this.#exits.get(`${namespace}\0${id}`)?.length ?? 0
  }

  /** Shutdown: a CRI pod is removed as RemovePodSandbox would; a Store record's sandbox is stopped. */
  async shutdown(namespace: string, id: string): Promise<void> {
    if (this.#cri(namespace, id)) return this.host.sandboxes.remove(id)
    await this.stop(namespace, id)
  }

  #cri(namespace: string, id: string): SandboxRecord | undefined {
    if (namespace !== CRI_NAMESPACE) return undefined
    const pod = this.host.sandboxes.find(id)
    return pod?.id === id ? pod : undefined
  }

  /** A record of the Store, with the metadata store's errors when it is not there. */
  #stored(namespace: string, id: string): SandboxStoreRecord {
    const own = this.#records[namespace]?.[id]
    if (own) return own
    if (!this.#anyIn(namespace)) throw notFound('no sandbox buckets: not found')
    throw notFound(`bucket ${JSON.stringify(id)} not found: not found`)
  }

  /**
   * Whether the namespace has a sandbox bucket: containerd makes it with the first sandbox (CRI pods included)
   * and keeps it when the last one is deleted, so "no sandbox buckets" is only for a namespace never used.
   */
  #anyIn(namespace: string): boolean {
    if (this.#records[namespace]) return true
    if (this.list(namespace).length === 0) return false
    this.#records[namespace] = {}
    this.host.core.changed(['sandboxes', namespace])
    return true
  }
}

function setOrDelete(map: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete map[key]
  else map[key] = value
}

/** The record containerd 2.x's CRI keeps for a pod (internal/cri/server/sandbox_run.go). */
function criInfo(pod: SandboxRecord): SandboxInfo {
  const metadata = {
    Version: 'v1',
    Metadata: {
      ID: pod.id,
      Name: pod.cri.name,
      Config: pod.cri.config,
      NetNSPath: pod.cri.netnsPath,
      IP: pod.cri.ip,
      AdditionalIPs: pod.cri.additionalIps,
      RuntimeHandler: pod.cri.runtimeHandler,
      CNIResult: null,
    },
  }
  return {
    id: pod.id,
    runtime: pod.runtime,
    spec: {
      type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
      value: Buffer.from(JSON.stringify(pod.spec)).toString('base64'),
    },
    labels: { ...pod.labels },
    createdAt: pod.createdAt,
    updatedAt: pod.updatedAt,
    extensions: { metadata: { type_url: CRI_METADATA_TYPE, value: Buffer.from(JSON.stringify(metadata)).toString('base64') } },
    sandboxer: 'podsandbox',
  }
}
