// containerd container records: what Containers.Create/Update/Delete manage, and what CRI's
// sandboxes and containers are underneath. Every change emits its /containers/* event.
import type { ContainerRecord } from '../../store/schema.js'
import type { Core } from '../core.js'
import { RuntimeError, invalidArgument } from '../errors.js'
import { validateIdentifier, validateLabels } from './namespaces.js'
import { nowString } from '../time.js'

export class ContainerStore {
  constructor(private readonly core: Core) {}

  list(namespace: string): ContainerRecord[] {
    return Object.values(this.core.state.containers).filter((c) => c.namespace === namespace)
  }

  find(namespace: string, id: string): ContainerRecord | undefined {
    const c = this.core.state.containers[id]
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
    if (this.core.state.containers[record.id])
      throw new RuntimeError('AlreadyExists', `container ${JSON.stringify(record.id)}: already exists`)
    this.core.ensureNamespace(record.namespace)
    this.core.state.containers[record.id] = record
    this.core.changed()
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
    this.core.changed()
    this.core.emit(record.namespace, '/containers/update', 'containerd.events.ContainerUpdate', {
      id: record.id,
      image: record.image,
      labels: record.labels,
      snapshot_key: record.snapshotKey,
    })
  }

  delete(namespace: string, id: string): void {
    const c = this.get(namespace, id)
    delete this.core.state.containers[c.id]
    this.core.changed()
    this.core.emit(namespace, '/containers/delete', 'containerd.events.ContainerDelete', { id })
    this.core.gc()
  }
}
