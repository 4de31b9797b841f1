// Snapshots, per snapshotter and namespace, with containerd's metadata rules: active and view
// snapshots are prepared on a committed parent, an active one is committed under a new name,
// and a snapshot with children cannot be removed. Nothing is mounted: Mounts answers with what a
// client can hand to the runtime, which here is simulated.
import type { SnapshotKind, SnapshotRecord } from '../store/schema.js'
import type { Core } from './core.js'
import { RuntimeError, invalidArgument } from './errors.js'
import { validateLabels } from './namespaces.js'
import { nowString } from './time.js'

export const SNAPSHOTTERS = ['overlayfs', 'native'] as const

export interface SnapshotInfo extends SnapshotRecord {
  name: string
}

export interface Mount {
  type: string
  source: string
  target: string
  options: string[]
}

export class Snapshots {
  constructor(private readonly core: Core) {}

  /** containerd's snapshots service refuses an unknown snapshotter with InvalidArgument. */
  checkSnapshotter(name: string): void {
    if (name === '') throw invalidArgument('snapshotter argument missing: invalid argument')
    if (!(SNAPSHOTTERS as readonly string[]).includes(name)) throw invalidArgument(`snapshotter not loaded: ${name}: invalid argument`)
  }

  #table(snapshotter: string, namespace: string, create = false): Record<string, SnapshotRecord> {
    this.checkSnapshotter(snapshotter)
    const state = this.core.state
    if (!create) return state.snapshots[snapshotter]?.[namespace] ?? {}
    const bySnapshotter = (state.snapshots[snapshotter] ??= {})
    return (bySnapshotter[namespace] ??= {})
  }

  list(snapshotter: string, namespace: string): SnapshotInfo[] {
    return Object.entries(this.#table(snapshotter, namespace)).map(([name, r]) => ({ name, ...r }))
  }

  stat(snapshotter: string, namespace: string, key: string): SnapshotInfo {
    const r = this.#table(snapshotter, namespace)[key]
    if (!r) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    return { name: key, ...r }
  }

  /** Creates an active (prepare) or view snapshot on a committed parent; returns its mounts. */
  create(
    kind: 'active' | 'view',
    snapshotter: string,
    namespace: string,
    key: string,
    parent: string,
    labels: Record<string, string>,
  ): Mount[] {
    if (key === '') throw invalidArgument('snapshot key must not be empty: invalid argument')
    validateLabels(labels, 'snapshot.Labels')
    const table = this.#table(snapshotter, namespace)
    if (table[key]) throw new RuntimeError('AlreadyExists', `snapshot ${JSON.stringify(key)}: already exists`)
    if (parent !== '') {
      const p = table[parent]
      if (!p) throw new RuntimeError('NotFound', `parent snapshot ${parent} does not exist: not found`)
      if (p.kind !== 'committed') throw invalidArgument(`parent ${JSON.stringify(parent)} is not committed snapshot: invalid argument`)
    }
    this.core.ensureNamespace(namespace)
    const now = nowString()
    this.#table(snapshotter, namespace, true)[key] = { kind, parent, labels: { ...labels }, createdAt: now, updatedAt: now }
    this.core.changed()
    return this.mounts(snapshotter, namespace, key)
  }

  mounts(snapshotter: string, namespace: string, key: string): Mount[] {
    const s = this.stat(snapshotter, namespace, key)
    if (s.kind === 'committed')
      throw new RuntimeError('FailedPrecondition', `requested snapshot ${key} not active or view: failed precondition`)
    // An empty list: there is no filesystem to mount, and clients (ctr) accept it.
    return []
  }

  commit(snapshotter: string, namespace: string, name: string, key: string, labels: Record<string, string>): void {
    if (name === '') throw invalidArgument('snapshot name must not be empty: invalid argument')
    validateLabels(labels, 'snapshot.Labels')
    const table = this.#table(snapshotter, namespace)
    const active = table[key]
    if (!active) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    if (table[name]) throw new RuntimeError('AlreadyExists', `snapshot ${JSON.stringify(name)}: already exists`)
    if (active.kind !== 'active')
      throw new RuntimeError('FailedPrecondition', `snapshot ${JSON.stringify(key)} is not active: failed precondition`)
    const now = nowString()
    table[name] = { ...active, kind: 'committed' as SnapshotKind, labels: { ...active.labels, ...labels }, createdAt: now, updatedAt: now }
    delete table[key]
    this.core.changed()
  }

  remove(snapshotter: string, namespace: string, key: string): void {
    const table = this.#table(snapshotter, namespace)
    if (!table[key]) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    if (Object.values(table).some((s) => s.parent === key)) {
      throw new RuntimeError('FailedPrecondition', 'cannot remove snapshot with child: failed precondition')
    }
    delete table[key]
    this.core.changed()
  }

  /** Updates labels only: `labels` replaces them all, `labels.<key>` one of them. */
  update(snapshotter: string, namespace: string, name: string, labels: Record<string, string>, paths: string[]): SnapshotInfo {
    const table = this.#table(snapshotter, namespace)
    const r = table[name]
    if (!r) throw new RuntimeError('NotFound', `snapshot ${name} does not exist: not found`)
    validateLabels(labels, 'snapshot.Labels')
    if (paths.length === 0) r.labels = { ...labels }
    for (const path of paths) {
      if (path === 'labels') r.labels = { ...labels }
      else if (path.startsWith('labels.')) {
        const k = path.slice(7)
        const v = labels[k]
        if (v === undefined || v === '') delete r.labels[k]
        else r.labels[k] = v
      } else throw invalidArgument(`cannot update ${JSON.stringify(path)} field on snapshot ${JSON.stringify(name)}: invalid argument`)
    }
    r.updatedAt = nowString()
    this.core.changed()
    return { name, ...r }
  }

  /** Disk usage: what the layer applied here added (Diff.Apply), or nothing for an empty one. */
  usage(snapshotter: string, namespace: string, key: string): { size: number; inodes: number } {
    const s = this.stat(snapshotter, namespace, key)
    return { size: s.usageBytes ?? 0, inodes: s.files?.length ?? 0 }
  }

  /** Records what a layer unpacked into an active snapshot. */
  recordLayer(snapshotter: string, namespace: string, key: string, files: string[], bytes: number): void {
    const table = this.#table(snapshotter, namespace)
    const r = table[key]
    if (!r) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    r.files = [...(r.files ?? []), ...files]
    r.usageBytes = (r.usageBytes ?? 0) + bytes
    r.updatedAt = nowString()
    this.core.changed()
  }
}
