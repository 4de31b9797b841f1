// containerd container records: what Containers.Create/Update/Delete manage, and what CRI's
// sandboxes and containers are underneath. Every change emits its /containers/* event.
import type { ContainerRecord, NodeState, StoredAny } from '../../store/schema.js'
import type { Core } from '../core.js'
import { RuntimeError, invalidArgument, notFound } from '../errors.js'
import { validateIdentifier, validateLabels } from './namespaces.js'
import { nowString } from '../time.js'
import { own } from '../own.js'

/** The fields of a record an Update may name (containerd's container, translated by the face). */
export interface ContainerPatch {
  id: string
  labels: Record<string, string>
  extensions: Record<string, StoredAny>
  /** The OCI spec, read only when `spec` is to change; undefined when the request carried none. */
  spec: () => Record<string, unknown> | undefined
  image: string
  snapshotKey: string
  /** Immutable: "" or the record's own. */
  snapshotter: string
  runtimeName: string
}

/** What Update changes when the request names no fields. */
const DEFAULT_PATHS = ['labels', 'spec', 'extensions', 'image', 'snapshotkey']

/** A check a higher layer makes before a record may go (CRI: a pod that still has containers). */
export type DeleteGuard = (record: ContainerRecord) => void

/**
 * An index a higher layer keeps over the records (CRI's names, id prefixes, pods' containers): told
 * of every record added and removed, and rebuilt from scratch when the state was replaced (reset,
 * restore), so a lookup never has to list every record.
 */
export interface RecordIndex {
  clear(): void
  added(record: ContainerRecord): void
  removed(record: ContainerRecord): void
}

export class ContainerStore {
  #guards: DeleteGuard[] = []
  #indexes: RecordIndex[] = []
  /** The records object the indexes were built from: another one means the state was replaced. */
  #indexed: NodeState['containers'] | undefined

  constructor(private readonly core: Core) {}

  /** Keeps `index` up to date from now on (it is filled with the records there are). */
  addIndex(index: RecordIndex): void {
    this.#indexes.push(index)
    this.#indexed = undefined
  }

  /**
   * Brings the indexes up to date with the state: call before reading one. The records change only
   * through add() and delete(); a replaced state is a new object, seen here and indexed again.
   */
  synced(): void {
    const records = this.core.state.containers
    if (records === this.#indexed) return
    this.#indexed = records
    for (const index of this.#indexes) {
      index.clear()
      for (const r of Object.values(records)) index.added(r)
    }
  }

  /** Adds a check Containers.Delete makes (model/cri/sandboxes.ts adds CRI's). */
  guardDelete(guard: DeleteGuard): void {
    this.#guards.push(guard)
  }

  list(namespace: string): ContainerRecord[] {
    return Object.values(this.core.state.containers).filter((c) => c.namespace === namespace)
  }

  find(namespace: string, id: string): ContainerRecord | undefined {
    const c = own(this.core.state.containers, id)
    return c?.namespace === namespace ? c : undefined
  }

  get(namespace: string, id: string): ContainerRecord {
    const c = this.find(namespace, id)
    if (!c) {
      throw new RuntimeError('NotFound', `container ${JSON.stringify(id)} in namespace ${JSON.stringify(namespace)}: not found`)
    }
    return c
  }

  add(record: ContainerRecord): ContainerRecord {
    validateIdentifier(record.id)
    validateLabels(record.labels, 'containers.Labels')
    if (record.runtime.name === '') throw invalidArgument('must specify a runtime: invalid argument')
    if (!record.spec) throw invalidArgument('must specify a container spec: invalid argument')
    if (own(this.core.state.containers, record.id))
      throw new RuntimeError('AlreadyExists', `container ${JSON.stringify(record.id)}: already exists`)
    this.core.ensureNamespace(record.namespace)
    this.synced()
    this.core.state.containers[record.id] = record
    for (const index of this.#indexes) index.added(record)
    this.core.changed(['containers', record.id])
    this.core.emit(record.namespace, '/containers/create', 'containerd.events.ContainerCreate', {
      id: record.id,
      image: record.image,
      runtime: { name: record.runtime.name },
    })
    return record
  }

  /** Marks a record updated and emits the event; callers have changed its fields. */
  touched(record: ContainerRecord): void {
    record.updatedAt = nowString()
    this.core.changed(['containers', record.id])
    this.core.emit(record.namespace, '/containers/update', 'containerd.events.ContainerUpdate', {
      id: record.id,
      image: record.image,
      labels: record.labels,
      snapshot_key: record.snapshotKey,
    })
  }

  /**
   * containerd's metadata update: the fields `paths` names (labels.<key> and extensions.<key> one
   * at a time) take the patch's values; the snapshotter and runtime may not change.
   */
  update(namespace: string, patch: ContainerPatch, paths: string[]): ContainerRecord {
    if (patch.id === '') throw invalidArgument('must specify a container id: invalid argument')
    const record = this.find(namespace, patch.id)
    if (!record) throw new RuntimeError('NotFound', `container ${JSON.stringify(patch.id)}: not found`)
    if (patch.snapshotter !== '' && patch.snapshotter !== record.snapshotter) {
      throw invalidArgument('container.Snapshotter field is immutable: invalid argument')
    }
    if (patch.runtimeName !== '' && patch.runtimeName !== record.runtime.name) {
      throw invalidArgument('container.Runtime.Name field is immutable: invalid argument')
    }
    const next = { ...record, labels: { ...record.labels }, extensions: { ...record.extensions } }
    for (const path of paths.length > 0 ? paths : DEFAULT_PATHS) {
      if (path.startsWith('labels.')) {
        const key = path.slice('labels.'.length)
        const value = patch.labels[key]
        if (value === undefined || value === '') delete next.labels[key]
        else next.labels[key] = value
      } else if (path.startsWith('extensions.')) {
        const key = path.slice('extensions.'.length)
        const value = patch.extensions[key]
        if (value === undefined) delete next.extensions[key]
        else next.extensions[key] = value
      } else if (path === 'labels') next.labels = { ...patch.labels }
      else if (path === 'spec') {
        const spec = patch.spec()
        if (!spec) throw invalidArgument('update failed validation: container.Spec must be set: invalid argument')
        next.spec = spec
      } else if (path === 'extensions') next.extensions = { ...patch.extensions }
      else if (path === 'image') next.image = patch.image
      else if (path === 'snapshotkey') next.snapshotKey = patch.snapshotKey
      else throw invalidArgument(`cannot update ${JSON.stringify(path)} field on ${JSON.stringify(patch.id)}: invalid argument`)
    }
    Object.assign(record, next)
    this.touched(record)
    return record
  }

  /**
   * Containers.Delete: as containerd's metadata store answers (the namespace's bucket, then the
   * container's), refused while its task runs or a guard objects.
   */
  deleteChecked(namespace: string, id: string): void {
    const record = this.find(namespace, id)
    if (!record) {
      if (!this.core.namespaceExists(namespace))
        throw notFound(`cannot delete container ${JSON.stringify(id)} in namespace ${JSON.stringify(namespace)}: not found`)
      throw notFound(`container ${id}: not found`)
    }
    if (record.task && record.task.status !== 'stopped') {
      throw new RuntimeError(
        'FailedPrecondition',
        `cannot delete container ${JSON.stringify(id)}: its task is ${record.task.status}; kill and delete the task first: failed precondition`,
      )
    }
    for (const guard of this.#guards) guard(record)
    this.delete(namespace, id)
  }

  /** Deletes a record without Containers.Delete's checks: the model's own removals (CRI's), which made sure first. */
  delete(namespace: string, id: string): void {
    const c = this.get(namespace, id)
    this.synced()
    delete this.core.state.containers[c.id]
    for (const index of this.#indexes) index.removed(c)
    this.core.changed(['containers', c.id])
    // Its writable layer goes with it, as the snapshotter removes the active snapshot's upper directory.
    if (Object.hasOwn(this.core.state.layers, c.id)) {
      delete this.core.state.layers[c.id]
      this.core.changed(['layers', c.id])
    }
    this.core.emit(namespace, '/containers/delete', 'containerd.events.ContainerDelete', { id })
    // Removals come in bulk (a pod with its containers, a node drained): one collection after the burst.
    this.core.gcSoon()
  }
}
