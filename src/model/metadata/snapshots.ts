// Snapshots, per snapshotter and namespace, with containerd's metadata rules: active and view
// snapshots are prepared on a committed parent, an active one is committed under a new name,
// and a snapshot with children cannot be removed. Nothing is mounted by the server. Mounts answer
// with a bind mount of an empty directory made for the snapshot under this server's own temp dir:
// a client (ctr reading /etc/passwd before it creates a container) can mount it, and Diff.Apply
// knows from its path which snapshot a layer is unpacked into. A layer applied to a snapshot is
// recorded as its index (store/schema.ts AppliedLayer); its uncompressed tar is kept in the layer
// store until no snapshot holds it.
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import type { BlobStore } from '../../store/blobs.js'
import type { AppliedLayer, NodeState, SnapshotKind, SnapshotRecord } from '../../store/schema.js'
import type { Core } from '../core.js'
import { RuntimeError, invalidArgument, unknown } from '../errors.js'
import { layerTree } from './layer-tree.js'
import { checkLease, holdResource, leasePaths, releaseResource } from './leases.js'
import { validateLabels } from './namespaces.js'
import { nowString } from '../time.js'
import { own, ownTable } from '../own.js'

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

/** Where a mount's directory says it belongs. */
export interface SnapshotRef {
  snapshotter: string
  namespace: string
  key: string
}

/** Mount directories left behind by servers that were not closed are removed when the process exits. */
const liveRoots = new Set<string>()
let exitHook = false
function trackRoot(dir: string): void {
  liveRoots.add(dir)
  if (exitHook) return
  exitHook = true
  process.once('exit', () => {
    for (const d of liveRoots) rmSync(d, { recursive: true, force: true })
  })
}

const sortByName = (a: SnapshotInfo, b: SnapshotInfo): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

export class Snapshots {
  #mountRoot: string | undefined
  /** Applied layers per tar, for the state's snapshots object they were counted in (#tarRefs). */
  #refs: { of: NodeState['snapshots']; counts: Map<string, number> } | undefined
  /** The mount directories made (and not yet removed) under #mountRoot, and whose they are. */
  #madeDirs = new Map<string, SnapshotRef>()
  /** How many snapshots name each as parent, for the state's snapshots object they were counted in (#children). */
  #kids: { of: NodeState['snapshots']; counts: Map<string, number> } | undefined

  constructor(
    private readonly core: Core,
    /** The uncompressed tars of applied layers, by digest (each file's bytes are read from there). */
    readonly layerStore: BlobStore,
  ) {}

  /** containerd's snapshots service refuses an unknown snapshotter with InvalidArgument. */
  checkSnapshotter(name: string): void {
    if (name === '') throw invalidArgument('snapshotter argument missing: invalid argument')
    if (!(SNAPSHOTTERS as readonly string[]).includes(name)) throw invalidArgument(`snapshotter not loaded: ${name}: invalid argument`)
  }

  #table(snapshotter: string, namespace: string, create = false): Record<string, SnapshotRecord> {
    this.checkSnapshotter(snapshotter)
    const state = this.core.state
    if (!create) return own(own(state.snapshots, snapshotter), namespace) ?? {}
    return ownTable(ownTable(state.snapshots, snapshotter), namespace)
  }

  list(snapshotter: string, namespace: string): SnapshotInfo[] {
    return Object.entries(this.#table(snapshotter, namespace))
      .map(([name, r]) => ({ name, ...r }))
      .sort(sortByName)
  }

  /** The kind of snapshot `key`, or undefined when there is none: a lookup, where list() copies every record. */
  kindOf(snapshotter: string, namespace: string, key: string): SnapshotKind | undefined {
    const table = this.#table(snapshotter, namespace)
    return own(table, key)?.kind
  }

  /** The parent of snapshot `key` ("" for none), or undefined when there is no such snapshot: a lookup, where stat() copies. */
  parentOf(snapshotter: string, namespace: string, key: string): string | undefined {
    return own(this.#table(snapshotter, namespace), key)?.parent
  }

  stat(snapshotter: string, namespace: string, key: string): SnapshotInfo {
    const r = own(this.#table(snapshotter, namespace), key)
    if (!r) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    return { name: key, ...r, labels: { ...r.labels } }
  }

  /** Prepare: an active snapshot on a committed parent; returns its mounts. */
  prepare(snapshotter: string, namespace: string, key: string, parent: string, labels: Record<string, string>, lease?: string): Mount[] {
    this.prepareUnmounted(snapshotter, namespace, key, parent, labels, lease)
    return this.#mountsOf(snapshotter, namespace, key, 'active')
  }

  /**
   * Prepare for the model's own use (CRI's rootfs, an unpack target): nobody is handed its mounts,
   * so no mount directory is made for it (Mounts makes one when a client asks).
   */
  prepareUnmounted(
    snapshotter: string,
    namespace: string,
    key: string,
    parent: string,
    labels: Record<string, string>,
    lease?: string,
  ): void {
    this.#create('active', snapshotter, namespace, key, parent, labels, lease)
    this.core.emit(namespace, '/snapshot/prepare', 'containerd.events.SnapshotPrepare', { key, parent, snapshotter })
  }

  /** View: a read-only snapshot on a committed parent; returns its mounts. */
  view(snapshotter: string, namespace: string, key: string, parent: string, labels: Record<string, string>, lease?: string): Mount[] {
    this.#create('view', snapshotter, namespace, key, parent, labels, lease)
    return this.#mountsOf(snapshotter, namespace, key, 'view')
  }

  #create(
    kind: 'active' | 'view',
    snapshotter: string,
    namespace: string,
    key: string,
    parent: string,
    labels: Record<string, string>,
    lease: string | undefined,
  ): void {
    validateLabels(labels, 'info.Labels')
    const table = this.#table(snapshotter, namespace)
    const state = this.core.state
    checkLease(state, namespace, lease)
    const resource = { id: key, type: `snapshots/${snapshotter}` }
    if (own(table, key)) {
      holdResource(state, namespace, lease, resource)
      if (lease !== undefined) this.core.changed(['leases', namespace, lease])
      throw new RuntimeError('AlreadyExists', `snapshot ${JSON.stringify(key)}: already exists`)
    }
    if (parent !== '') {
      const p = own(table, parent)
      if (!p) throw new RuntimeError('NotFound', `parent snapshot ${parent} does not exist: not found`)
      if (p.kind !== 'committed') {
        throw invalidArgument(`failed to create snapshot: parent ${JSON.stringify(parent)} is not committed snapshot: invalid argument`)
      }
    }
    if (key === '') throw unknown('bucket name required')
    this.core.ensureNamespace(namespace)
    const now = nowString()
    this.#childAdded(snapshotter, namespace, parent)
    this.#table(snapshotter, namespace, true)[key] = {
      kind,
      parent,
      labels: Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== '')),
      createdAt: now,
      updatedAt: now,
    }
    holdResource(state, namespace, lease, resource)
    this.core.changed(['snapshots', snapshotter, namespace, key], ...leasePaths(namespace, lease))
  }

  mounts(snapshotter: string, namespace: string, key: string): Mount[] {
    const s = this.stat(snapshotter, namespace, key)
    if (s.kind === 'committed') {
      const what = snapshotter === 'native' ? 'failed to get snapshot mount' : 'failed to get active mount'
      throw new RuntimeError('FailedPrecondition', `${what}: requested snapshot ${key} not active or view: failed precondition`)
    }
    return this.#mountsOf(snapshotter, namespace, key, s.kind)
  }

  /**
   * Commit: the active snapshot `key` becomes the committed `name`, with the labels given here
   * (not those of the active one). An active snapshot without a parent may be rebased on `parent`.
   */
  commit(
    snapshotter: string,
    namespace: string,
    name: string,
    key: string,
    labels: Record<string, string>,
    parent = '',
    lease?: string,
  ): void {
    validateLabels(labels, 'info.Labels')
    const table = this.#table(snapshotter, namespace)
    const state = this.core.state
    checkLease(state, namespace, lease)
    if (name === '') throw unknown('bucket name required')
    if (own(table, name)) throw new RuntimeError('AlreadyExists', `snapshot ${JSON.stringify(name)}: already exists`)
    const active = own(table, key)
    if (!active) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    const failed = snapshotter === 'native' ? 'failed to commit snapshot' : `failed to commit snapshot ${key}`
    const rebase = active.parent === '' && parent !== ''
    if (rebase && !own(table, parent)) throw new RuntimeError('NotFound', `parent snapshot ${parent} does not exist: not found`)
    if (active.kind !== 'active') {
      throw new RuntimeError('FailedPrecondition', `${failed}: snapshot ${JSON.stringify(key)} is not active: failed precondition`)
    }
    if (rebase && own(table, parent)?.kind !== 'committed') {
      throw new RuntimeError('FailedPrecondition', `${failed}: parent ${JSON.stringify(parent)} is not committed: failed precondition`)
    }
    const base = rebase ? parent : active.parent
    const now = nowString()
    const committed: SnapshotRecord = {
      kind: 'committed' as SnapshotKind,
      parent: base,
      labels: Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== '')),
      createdAt: now,
      updatedAt: now,
      ...(active.layers ? { layers: active.layers } : {}),
      ...(active.usageBytes !== undefined ? { usageBytes: active.usageBytes } : {}),
    }
    table[name] = committed
    delete table[key]
    this.#childGone(snapshotter, namespace, key, active.parent)
    this.#childAdded(snapshotter, namespace, base)
    holdResource(state, namespace, lease, { id: name, type: `snapshots/${snapshotter}` })
    releaseResource(state, namespace, lease, { id: key, type: `snapshots/${snapshotter}` })
    this.#removeDir(snapshotter, namespace, key)
    this.core.changed(
      ['snapshots', snapshotter, namespace, name],
      ['snapshots', snapshotter, namespace, key],
      ...leasePaths(namespace, lease),
    )
    this.core.emit(namespace, '/snapshot/commit', 'containerd.events.SnapshotCommit', { key, name, snapshotter })
  }

  remove(snapshotter: string, namespace: string, key: string, lease?: string): void {
    const table = this.#table(snapshotter, namespace)
    if (!own(table, key)) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    if ((this.#children().get(childKey(snapshotter, namespace, key)) ?? 0) > 0) {
      throw new RuntimeError('FailedPrecondition', 'cannot remove snapshot with child: failed precondition')
    }
    const gone = own(table, key)!
    const refs = this.#tarRefs()
    delete table[key]
    this.#childGone(snapshotter, namespace, key, gone.parent)
    this.#releaseLayers(gone, refs)
    releaseResource(this.core.state, namespace, lease, { id: key, type: `snapshots/${snapshotter}` })
    this.#removeDir(snapshotter, namespace, key)
    this.core.changed(['snapshots', snapshotter, namespace, key], ...leasePaths(namespace, lease))
    this.core.emit(namespace, '/snapshot/remove', 'containerd.events.SnapshotRemove', { key, snapshotter })
  }

  /** Removes a snapshot without checks (the garbage collector takes whole unreachable chains). */
  drop(snapshotter: string, namespace: string, key: string): void {
    const table = own(own(this.core.state.snapshots, snapshotter), namespace)
    const gone = own(table, key)
    if (!table || !gone) return
    const refs = this.#tarRefs()
    delete table[key]
    this.#childGone(snapshotter, namespace, key, gone.parent)
    this.#releaseLayers(gone, refs)
    this.#removeDir(snapshotter, namespace, key)
    this.core.changed(['snapshots', snapshotter, namespace, key])
    this.core.emit(namespace, '/snapshot/remove', 'containerd.events.SnapshotRemove', { key, snapshotter })
  }

  /** Updates labels only: no paths or `labels` replace them all, `labels.<key>` one of them. */
  update(snapshotter: string, namespace: string, name: string, labels: Record<string, string>, paths: readonly string[]): SnapshotInfo {
    const table = this.#table(snapshotter, namespace)
    if (name === '') throw invalidArgument('invalid argument')
    const r = own(table, name)
    if (!r) throw new RuntimeError('NotFound', `snapshot ${name} does not exist: not found`)
    let next = { ...r.labels }
    if (paths.length === 0) next = { ...labels }
    for (const path of paths) {
      if (path.startsWith('labels.')) {
        const k = path.slice('labels.'.length)
        next[k] = labels[k] ?? ''
      } else if (path === 'labels') next = { ...labels }
      else throw invalidArgument(`cannot update ${JSON.stringify(path)} field on snapshot ${JSON.stringify(name)}: invalid argument`)
    }
    validateLabels(next, 'info.Labels')
    r.labels = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== ''))
    r.updatedAt = nowString()
    this.core.changed(['snapshots', snapshotter, namespace, name])
    return { name, ...r, labels: { ...r.labels } }
  }

  /** Disk usage: what the layers applied here added (Diff.Apply), or nothing for an empty one. */
  usage(snapshotter: string, namespace: string, key: string): { size: number; inodes: number } {
    const s = this.stat(snapshotter, namespace, key)
    return { size: s.usageBytes ?? 0, inodes: (s.layers ?? []).reduce((n, l) => n + l.entries.length, 0) }
  }

  /** What every snapshot of a namespace on a snapshotter uses, summed: CRI's image filesystem. */
  totalUsage(snapshotter: string, namespace: string): { size: number; inodes: number } {
    let size = 0
    let inodes = 0
    for (const key of Object.keys(this.#table(snapshotter, namespace))) {
      const u = this.usage(snapshotter, namespace, key)
      size += u.size
      inodes += u.inodes
    }
    return { size, inodes }
  }

  /** Counts bytes unpacked into an active snapshot whose files are not listed (a catalog image's layer). */
  recordUsage(snapshotter: string, namespace: string, key: string, bytes: number): void {
    const r = own(this.#table(snapshotter, namespace), key)
    if (!r) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    r.usageBytes = (r.usageBytes ?? 0) + bytes
    this.core.changed(['snapshots', snapshotter, namespace, key])
  }

  /**
   * Cleanup: containerd's service asks the snapshotter it serves, which is the metadata store's
   * namespaced wrapper; that wrapper has no Cleanup, so every snapshotter answers Unimplemented.
   */
  cleanup(snapshotter: string): void {
    this.checkSnapshotter(snapshotter)
    throw new RuntimeError('Unimplemented', 'snapshotter does not implement Cleanup method: not implemented')
  }

  /** Records a layer unpacked into an active snapshot: its index (its tar is already in the layer store). */
  recordLayer(snapshotter: string, namespace: string, key: string, layer: AppliedLayer, bytes: number): void {
    const table = this.#table(snapshotter, namespace)
    const r = own(table, key)
    if (!r) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
    const refs = this.#tarRefs()
    r.layers = [...(r.layers ?? []), layer]
    if (layer.tar !== '') refs.set(layer.tar, (refs.get(layer.tar) ?? 0) + 1)
    r.usageBytes = (r.usageBytes ?? 0) + bytes
    r.updatedAt = nowString()
    this.core.changed(['snapshots', snapshotter, namespace, key])
  }

  /** The layers a snapshot shows, lowest first: its chain's, parent before child. */
  layers(snapshotter: string, namespace: string, key: string): AppliedLayer[] {
    const table = this.#table(snapshotter, namespace)
    const chain: AppliedLayer[][] = []
    const seen = new Set<string>()
    for (let k = key; k !== '' && !seen.has(k);) {
      seen.add(k)
      const r = table[k]
      if (!r) {
        if (k === key) throw new RuntimeError('NotFound', `snapshot ${key} does not exist: not found`)
        break
      }
      chain.unshift(r.layers ?? [])
      k = r.parent
    }
    return chain.flat()
  }

  /** The paths a snapshot shows (its layers composed, whiteouts applied, parents made), sorted. */
  files(snapshotter: string, namespace: string, key: string): string[] {
    return layerTree(this.layers(snapshotter, namespace, key), (t, o, n) => this.readLayer(t, o, n))
      .paths()
      .filter((p) => p !== '/')
  }

  /** Reads a range of an applied layer's tar. */
  readLayer(tar: string, offset: number, length: number): Buffer {
    return this.layerStore.read(tar, offset, length)
  }

  /**
   * How many applied layers of all snapshots name each tar: counted once from the state (again when
   * the state was replaced), then kept as layers are recorded and snapshots removed, so removing one
   * does not visit every other.
   */
  #tarRefs(): Map<string, number> {
    const snapshots = this.core.state.snapshots
    if (this.#refs?.of === snapshots) return this.#refs.counts
    const counts = new Map<string, number>()
    for (const bySnapshotter of Object.values(snapshots)) {
      for (const table of Object.values(bySnapshotter)) {
        for (const r of Object.values(table))
          for (const l of r.layers ?? []) if (l.tar !== '') counts.set(l.tar, (counts.get(l.tar) ?? 0) + 1)
      }
    }
    this.#refs = { of: snapshots, counts }
    return counts
  }

  /**
   * How many snapshots have each as parent: counted once from the state (again when the state was
   * replaced), then kept as snapshots are made, committed and removed, so a removal does not scan
   * its whole table for children.
   */
  #children(): Map<string, number> {
    const snapshots = this.core.state.snapshots
    if (this.#kids?.of === snapshots) return this.#kids.counts
    const counts = new Map<string, number>()
    for (const [snapshotter, bySnapshotter] of Object.entries(snapshots)) {
      for (const [namespace, table] of Object.entries(bySnapshotter)) {
        for (const r of Object.values(table)) {
          if (r.parent === '') continue
          const k = childKey(snapshotter, namespace, r.parent)
          counts.set(k, (counts.get(k) ?? 0) + 1)
        }
      }
    }
    this.#kids = { of: snapshots, counts }
    return counts
  }

  #childAdded(snapshotter: string, namespace: string, parent: string): void {
    if (parent === '') return
    const counts = this.#children()
    const k = childKey(snapshotter, namespace, parent)
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }

  /** A snapshot went: its parent has one child fewer, and it has none left to count. */
  #childGone(snapshotter: string, namespace: string, key: string, parent: string): void {
    const counts = this.#children()
    counts.delete(childKey(snapshotter, namespace, key))
    if (parent === '') return
    const k = childKey(snapshotter, namespace, parent)
    const left = (counts.get(k) ?? 1) - 1
    if (left > 0) counts.set(k, left)
    else counts.delete(k)
  }

  /** Drops the tars of a removed snapshot's layers that no other snapshot holds; `refs` counted it still. */
  #releaseLayers(record: SnapshotRecord, refs: Map<string, number>): void {
    for (const l of record.layers ?? []) {
      if (l.tar === '') continue
      const left = (refs.get(l.tar) ?? 1) - 1
      if (left > 0) refs.set(l.tar, left)
      else {
        refs.delete(l.tar)
        this.layerStore.delete(l.tar)
      }
    }
  }

  /** Finds the snapshot a mount list was made for (Diff.Apply), if it is one of ours. */
  resolveMounts(mounts: readonly Mount[]): SnapshotRef | undefined {
    const root = this.#mountRoot
    if (root === undefined) return undefined
    for (const m of mounts) {
      const dirs = [m.source, ...m.options.filter((o) => o.startsWith('upperdir=')).map((o) => o.slice('upperdir='.length))]
      for (const dir of dirs) {
        const rel = relative(root, dir)
        if (rel === '' || rel.startsWith('..')) continue
        const [snapshotter, namespace, hash, ...rest] = rel.split(sep)
        if (!snapshotter || !namespace || !hash || rest.length > 0) continue
        // Only a snapshot whose mounts were handed out has its directory: found by it, not by
        // hashing every key of the table.
        const ref = this.#madeDirs.get(join(root, snapshotter, namespace, hash))
        if (ref !== undefined && Object.hasOwn(this.core.state.snapshots[ref.snapshotter]?.[ref.namespace] ?? {}, ref.key))
          return { ...ref }
      }
    }
    return undefined
  }

  /** Removes this server's mount directories. */
  close(): void {
    if (this.#mountRoot === undefined) return
    rmSync(this.#mountRoot, { recursive: true, force: true })
    liveRoots.delete(this.#mountRoot)
    this.#mountRoot = undefined
    this.#madeDirs.clear()
  }

  #mountsOf(snapshotter: string, namespace: string, key: string, kind: SnapshotKind): Mount[] {
    if (this.#mountRoot === undefined) {
      this.#mountRoot = mkdtempSync(join(tmpdir(), 'fake-containerd-snapshots-'))
      trackRoot(this.#mountRoot)
    }
    const dir = join(this.#mountRoot, snapshotter, namespace, dirName(namespace, key))
    // Made again each time a client is handed the mounts: someone may have removed it in between.
    mkdirSync(dir, { recursive: true })
    this.#madeDirs.set(dir, { snapshotter, namespace, key })
    // What overlayfs and native answer for a snapshot without layers below it: a bind mount.
    return [{ type: 'bind', source: dir, target: '', options: [kind === 'view' ? 'ro' : 'rw', 'rbind'] }]
  }

  #removeDir(snapshotter: string, namespace: string, key: string): void {
    if (this.#mountRoot === undefined) return
    // Only a snapshot whose mounts a client was given has a directory: the others cost no system call.
    const dir = join(this.#mountRoot, snapshotter, namespace, dirName(namespace, key))
    if (!this.#madeDirs.delete(dir)) return
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A snapshot's directory name: its keys may hold any characters, so a digest of namespace and key. */
const dirName = (namespace: string, key: string): string => createHash('sha256').update(`${namespace}\0${key}`).digest('hex').slice(0, 32)

const childKey = (snapshotter: string, namespace: string, key: string): string => `${snapshotter}\0${namespace}\0${key}`
