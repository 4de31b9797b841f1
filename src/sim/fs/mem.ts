// In-memory trees: a MemLayer is one layer of entries (an image's files, the writable upper layer
// of a container, a tmpfs); Tmpfs is a backend over one layer; Overlay is overlayfs over read-only
// lower layers and one writable upper layer: a change copies the entry up first, a removal of
// something a lower layer holds leaves a whiteout, and a directory made where one was removed is
// opaque (the lower layers' entries under it stay hidden).
import type { Attrs, Backend, DeviceKind, Entry } from './backend.js'
import { baseOf, isUnder, joinPath, parentOf } from './backend.js'
import { FsError, type FileType } from './types.js'
import { BUSYBOX_MAX_BYTES, HEADERS_BYTES, inspectBinary, inspectCached, type BinaryInfo } from '../binary.js'

export interface MemNode {
  type: FileType
  mode: number
  uid: number
  gid: number
  mtimeMs: number
  data?: Buffer
  /** Where a lower layer's file bytes are read from when asked (data, once set, takes over). */
  source?: FileSource
  /** Hard links to this node (the paths of a layer sharing it); 1 when absent. */
  nlink?: number
  target?: string
  rdev?: [number, number]
  device?: DeviceKind
}

const EMPTY = Buffer.alloc(0)

/**
 * The bytes of a file of an image layer, read only when asked: from a layer's tar in the content
 * store, or wherever another lower layer keeps them (a host directory). `size` is known up front.
 */
export interface FileSource {
  readonly size: number
  read(): Buffer
  /** Optional: `length` bytes from `offset` without reading the rest. */
  slice?(offset: number, length: number): Buffer
}

/** A file node's bytes: its own, else its source's. */
export function bytesOf(node: MemNode): Buffer {
  return node.data ?? node.source?.read() ?? EMPTY
}

/** What a file node's bytes say it runs, read once per node's bytes (its source, or its own data). */
export function inspectNode(node: MemNode): BinaryInfo {
  if (node.data) return inspectCached(node.data, () => bytesOf(node))
  const source = node.source
  if (!source) return inspectBinary(EMPTY)
  // A large file of a layer: its headers only, not its whole bytes.
  if (source.size > BUSYBOX_MAX_BYTES && source.slice) {
    const slice = source.slice.bind(source)
    return inspectCached(source, () => slice(0, HEADERS_BYTES), false)
  }
  return inspectCached(source, () => source.read())
}

/** A file node's size without reading it. */
export const sizeOf = (node: MemNode): number => node.data?.length ?? node.source?.size ?? 0

/**
 * A read-only tree of files: what an overlay's lower layers are (an image's files). MemLayer is one;
 * a lower layer can also build its nodes from elsewhere (an image's layer index, a host directory).
 */
export interface LowerLayer {
  get(p: string): MemNode | undefined
  has(p: string): boolean
  /** The names in directory `p`. */
  children(p: string): string[]
}

/** Room left behind a file's bytes, by the Buffer that holds them (only that exact view may grow into it). */
const spare = new WeakMap<Buffer, Buffer>()

/**
 * A file's bytes with `data` appended. Capacity grows by half as a file grows, so a process appending
 * small writes without end (yes > f) costs linear time, not quadratic; a view of the old bytes
 * someone holds is never changed.
 */
function appendData(cur: Buffer, data: Buffer): Buffer {
  const size = cur.length + data.length
  let backing = spare.get(cur)
  spare.delete(cur)
  if (!backing || backing.length < size) {
    backing = Buffer.allocUnsafe(Math.max(256, Math.ceil(size * 1.5)))
    cur.copy(backing)
  }
  data.copy(backing, cur.length)
  const next = backing.subarray(0, size)
  spare.set(next, backing)
  return next
}

export function dirNode(mode: number, mtimeMs: number, uid = 0, gid = 0): MemNode {
  return { type: 'dir', mode, uid, gid, mtimeMs }
}

export function fileNode(data: Buffer | string, mode: number, mtimeMs: number, uid = 0, gid = 0): MemNode {
  return { type: 'file', mode, uid, gid, mtimeMs, data: typeof data === 'string' ? Buffer.from(data) : data }
}

export function linkNode(target: string, mtimeMs: number, uid = 0, gid = 0): MemNode {
  return { type: 'symlink', mode: 0o777, uid, gid, mtimeMs, target }
}

export function deviceNode(device: DeviceKind, rdev: [number, number], mode: number, mtimeMs: number): MemNode {
  return { type: 'char', mode, uid: 0, gid: 0, mtimeMs, rdev, device }
}

/** An overlay's upper layer as JSON: entries (file bytes in base64), whiteouts, opaque directories. */
export interface SavedLayer {
  entries: [string, Omit<MemNode, 'data'> & { data?: string }][]
  whiteouts: string[]
  opaque: string[]
}

/**
 * One layer: entries by path, with an index of each directory's names. Most layers of a container
 * hold nothing but their root (a masked path's empty tmpfs, /dev/pts, an unchanged upper layer),
 * so the root is a field and the maps are made with the first entry below it.
 */
export class MemLayer implements LowerLayer {
  #root: MemNode | undefined
  #nodes: Map<string, MemNode> | undefined
  #children: Map<string, Set<string>> | undefined

  constructor(root?: MemNode) {
    this.#root = root
  }

  get(p: string): MemNode | undefined {
    return p === '/' ? this.#root : this.#nodes?.get(p)
  }

  has(p: string): boolean {
    return this.get(p) !== undefined
  }

  /** Sets an entry; missing parent directories are made (0755 root:root) so a layer is always a tree. */
  set(p: string, node: MemNode): void {
    if (p === '/') {
      this.#root = node
      return
    }
    const parent = parentOf(p)
    if (!this.has(parent)) this.set(parent, dirNode(0o755, node.mtimeMs))
    this.#children ??= new Map()
    this.#nodes ??= new Map()
    let names = this.#children.get(parent)
    if (!names) this.#children.set(parent, (names = new Set()))
    names.add(baseOf(p))
    this.#nodes.set(p, node)
  }

  children(p: string): string[] {
    const names = this.#children?.get(p)
    return names ? [...names] : []
  }

  /** Removes an entry and everything under it. */
  delete(p: string): void {
    for (const name of this.children(p)) this.delete(joinPath(p, name))
    this.#children?.delete(p)
    if (p === '/') this.#root = undefined
    else {
      this.#nodes?.delete(p)
      this.#children?.get(parentOf(p))?.delete(baseOf(p))
    }
  }

  /** Every path, sorted. */
  paths(): string[] {
    const below = [...(this.#nodes?.keys() ?? [])]
    return (this.#root ? ['/', ...below] : below).sort()
  }

  /** Total bytes of the files held. */
  bytes(): number {
    let n = this.#root?.data?.length ?? 0
    for (const node of this.#nodes?.values() ?? []) n += sizeOf(node)
    return n
  }
}

export function entryOf(node: MemNode, subdirs: number, dirSize: number): Entry {
  const size =
    node.type === 'file' ? sizeOf(node) : node.type === 'dir' ? dirSize : node.type === 'symlink' ? (node.target ?? '').length : 0
  return {
    type: node.type,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    size,
    mtimeMs: node.mtimeMs,
    nlink: node.type === 'dir' ? 2 + subdirs : (node.nlink ?? 1),
    ...(node.target !== undefined ? { target: node.target } : {}),
    ...(node.rdev ? { rdev: node.rdev } : {}),
    ...(node.device ? { device: node.device } : {}),
  }
}

const newNode = (type: FileType, attrs: Attrs, extra: Partial<MemNode> = {}): MemNode => ({
  type,
  mode: attrs.mode,
  uid: attrs.uid,
  gid: attrs.gid,
  mtimeMs: attrs.mtimeMs,
  ...extra,
})

/** A tmpfs: one writable in-memory layer. Share one between containers to share its files (a pod's /dev/shm). */
export class Tmpfs implements Backend {
  readonly layer: MemLayer

  constructor(
    root: MemNode = dirNode(0o1777, Date.now()),
    private readonly now: () => number = Date.now,
  ) {
    this.layer = new MemLayer(root)
  }

  lstat(p: string, links = false): Entry | undefined {
    const node = this.layer.get(p)
    if (!node) return undefined
    const names = node.type === 'dir' ? this.layer.children(p) : []
    const subdirs = links ? names.filter((n) => this.layer.get(joinPath(p, n))?.type === 'dir').length : 0
    return entryOf(node, subdirs, 40 + 20 * names.length)
  }

  readdir(p: string): string[] {
    return this.layer.children(p)
  }

  read(p: string): Buffer {
    const node = this.layer.get(p)
    return node ? bytesOf(node) : EMPTY
  }

  inspect(p: string): BinaryInfo {
    const node = this.layer.get(p)
    return node ? inspectNode(node) : inspectBinary(EMPTY)
  }

  write(p: string, data: Buffer, append: boolean, attrs: Attrs): void {
    const node = this.layer.get(p)
    if (!node) {
      this.layer.set(p, newNode('file', attrs, { data }))
      return touchParent(this.layer, p, attrs.mtimeMs)
    }
    node.data = append ? appendData(bytesOf(node), data) : data
    delete node.source
    node.mtimeMs = attrs.mtimeMs
  }

  mkdir(p: string, attrs: Attrs): void {
    this.layer.set(p, newNode('dir', attrs))
    touchParent(this.layer, p, attrs.mtimeMs)
  }

  symlink(target: string, p: string, attrs: Attrs): void {
    this.layer.set(p, newNode('symlink', { ...attrs, mode: 0o777 }, { target }))
    touchParent(this.layer, p, attrs.mtimeMs)
  }

  remove(p: string): void {
    this.layer.delete(p)
    touchParent(this.layer, p, this.now())
  }

  rename(from: string, to: string): void {
    moveTree(this.layer, from, this.layer, to)
    this.layer.delete(from)
  }

  setattr(p: string, attrs: { mode?: number; mtimeMs?: number }): void {
    const node = this.layer.get(p)
    if (!node) return
    if (attrs.mode !== undefined) node.mode = attrs.mode
    if (attrs.mtimeMs !== undefined) node.mtimeMs = attrs.mtimeMs
  }
}

/** A directory's modification time changes when an entry is made or removed in it. */
function touchParent(layer: MemLayer, p: string, mtimeMs: number): void {
  if (p === '/') return
  const parent = layer.get(parentOf(p))
  if (parent) parent.mtimeMs = mtimeMs
}

function moveTree(src: MemLayer, from: string, dst: MemLayer, to: string): void {
  const node = src.get(from)
  if (!node) return
  dst.set(to, { ...node })
  for (const name of src.children(from)) moveTree(src, joinPath(from, name), dst, joinPath(to, name))
}

/** One change of a container's writable layer against its image, as `ctr snapshot diff` would list it. */
export interface Change {
  kind: 'add' | 'modify' | 'delete'
  path: string
}

/** overlayfs: read-only lower layers (the first one on top) under one writable upper layer. */
/**
 * How much a container's writable layer may hold. The fake keeps it in memory, so a process that
 * writes without end fills it (ENOSPC, as a full disk would) instead of the server's memory.
 */
export const WRITABLE_LAYER_BYTES = 256 * 1024 * 1024

export class Overlay implements Backend {
  readonly upper = new MemLayer()
  /** At least what the upper layer holds: writes add to it; it is made exact when near the limit. */
  #bytes = 0
  /** Paths removed from the lower layers. */
  readonly whiteouts = new Set<string>()
  /** Upper directories that hide whatever the lower layers hold under them. */
  readonly opaque = new Set<string>()
  /** Counts the changes to the upper layer, so that a saver can tell whether there is anything new. */
  generation = 0
  /** Called on each change to the upper layer. */
  onChange: (() => void) | undefined

  constructor(
    readonly lowers: readonly LowerLayer[],
    private readonly now: () => number,
    private readonly limitBytes = WRITABLE_LAYER_BYTES,
  ) {
    const root = lowers.map((l) => l.get('/')).find((n) => n !== undefined)
    if (!root) this.upper.set('/', dirNode(0o755, now()))
  }

  /** True when the lower layers' entry at `p` shows through (nothing above it removed or hid it). */
  #lowerVisible(p: string): boolean {
    if (this.whiteouts.has(p)) return false
    for (let a = p; a !== '/';) {
      a = parentOf(a)
      if (this.opaque.has(a) || this.whiteouts.has(a)) return false
      const up = this.upper.get(a)
      if (up && up.type !== 'dir') return false
    }
    return true
  }

  #lower(p: string): MemNode | undefined {
    if (!this.#lowerVisible(p)) return undefined
    for (const l of this.lowers) {
      const node = l.get(p)
      if (node) return node
    }
    return undefined
  }

  #node(p: string): MemNode | undefined {
    return this.upper.get(p) ?? this.#lower(p)
  }

  lstat(p: string, links = false): Entry | undefined {
    const node = this.#node(p)
    if (!node) return undefined
    const subdirs = links && node.type === 'dir' ? this.readdir(p).filter((n) => this.#node(joinPath(p, n))?.type === 'dir').length : 0
    return entryOf(node, subdirs, 4096)
  }

  readdir(p: string): string[] {
    const names = new Set<string>()
    const up = this.upper.get(p)
    if (up?.type === 'dir') for (const n of this.upper.children(p)) names.add(n)
    if (!(up && up.type !== 'dir') && !this.opaque.has(p) && this.#lowerVisible(p)) {
      for (const l of this.lowers) {
        const node = l.get(p)
        if (!node) continue
        if (node.type !== 'dir') break
        for (const n of l.children(p)) if (!this.whiteouts.has(joinPath(p, n))) names.add(n)
      }
    }
    return [...names]
  }

  read(p: string): Buffer {
    const node = this.#node(p)
    return node ? bytesOf(node) : EMPTY
  }

  inspect(p: string): BinaryInfo {
    const node = this.#node(p)
    return node ? inspectNode(node) : inspectBinary(EMPTY)
  }

  /** Copies an entry (not its children) and its parents into the upper layer. */
  #copyUp(p: string): MemNode | undefined {
    const up = this.upper.get(p)
    if (up) return up
    const low = this.#lower(p)
    if (!low) return undefined
    if (p !== '/') this.#copyUp(parentOf(p))
    // A copy that is no longer one of the lower layer's hard links; its bytes are read when written.
    const { nlink: _nlink, ...copy } = low
    this.upper.set(p, copy)
    return copy
  }

  #changed(): void {
    this.generation++
    this.onChange?.()
  }

  /** Makes an entry in the upper layer where nothing shows now (a removed lower entry makes a directory opaque). */
  #create(p: string, node: MemNode): void {
    this.#changed()
    this.#copyUp(parentOf(p))
    const wasRemoved = this.whiteouts.delete(p)
    this.upper.set(p, node)
    touchParent(this.upper, p, node.mtimeMs)
    if (node.type === 'dir' && (wasRemoved || this.#lower(p) !== undefined)) this.opaque.add(p)
  }

  write(p: string, data: Buffer, append: boolean, attrs: Attrs): void {
    if (this.#bytes + data.length > this.limitBytes) {
      this.#bytes = this.upper.bytes()
      const up = this.upper.get(p)
      const replaced = append || !up ? 0 : sizeOf(up)
      if (this.#bytes - replaced + data.length > this.limitBytes) throw new FsError('ENOSPC', p)
    }
    this.#bytes += data.length
    this.#changed()
    const node = this.#copyUp(p)
    if (!node) return this.#create(p, newNode('file', attrs, { data }))
    node.data = append ? appendData(bytesOf(node), data) : data
    delete node.source
    node.mtimeMs = attrs.mtimeMs
  }

  mkdir(p: string, attrs: Attrs): void {
    this.#create(p, newNode('dir', attrs))
  }

  symlink(target: string, p: string, attrs: Attrs): void {
    this.#create(p, newNode('symlink', { ...attrs, mode: 0o777 }, { target }))
  }

  remove(p: string): void {
    this.#changed()
    const inLower = this.#lower(p) !== undefined
    this.upper.delete(p)
    this.opaque.delete(p)
    for (const w of [...this.whiteouts]) if (w !== p && isUnder(w, p)) this.whiteouts.delete(w)
    for (const o of [...this.opaque]) if (isUnder(o, p)) this.opaque.delete(o)
    if (inLower) {
      this.#copyUp(parentOf(p))
      this.whiteouts.add(p)
    }
    touchParent(this.upper, p, this.now())
  }

  rename(from: string, to: string): void {
    const copy = (src: string, dst: string): void => {
      const node = this.#node(src)
      if (!node) return
      this.#create(dst, { ...node })
      if (node.type === 'dir') for (const n of this.readdir(src)) copy(joinPath(src, n), joinPath(dst, n))
    }
    copy(from, to)
    const removeTree = (p: string): void => {
      if (this.#node(p)?.type === 'dir') for (const n of this.readdir(p)) removeTree(joinPath(p, n))
      this.remove(p)
    }
    removeTree(from)
  }

  setattr(p: string, attrs: { mode?: number; mtimeMs?: number }): void {
    this.#changed()
    const node = this.#copyUp(p)
    if (!node) return
    if (attrs.mode !== undefined) node.mode = attrs.mode
    if (attrs.mtimeMs !== undefined) node.mtimeMs = attrs.mtimeMs
  }

  /** What the upper layer changed: added and modified entries, and removals (whiteouts). */
  changes(): Change[] {
    const out: Change[] = []
    for (const p of this.upper.paths()) {
      if (p === '/') continue
      const low = this.#lowerUnderneath(p)
      const node = this.upper.get(p) as MemNode
      if (!low) out.push({ kind: 'add', path: p })
      else if (node.type !== 'dir' || node.mode !== low.mode || node.mtimeMs !== low.mtimeMs || this.opaque.has(p))
        out.push({ kind: 'modify', path: p })
    }
    for (const p of this.whiteouts) out.push({ kind: 'delete', path: p })
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  }

  /** The upper layer as plain JSON (file bytes in base64): what a restart brings back. */
  save(): SavedLayer {
    const entries: SavedLayer['entries'] = []
    for (const p of this.upper.paths()) {
      const { data: own, source, ...node } = this.upper.get(p) as MemNode
      const data = own ?? source?.read()
      entries.push([p, data && data.length > 0 ? { ...node, data: data.toString('base64') } : node])
    }
    return { entries, whiteouts: [...this.whiteouts], opaque: [...this.opaque] }
  }

  /** Puts back an upper layer `save` made. */
  load(saved: SavedLayer): void {
    for (const [p, { data, ...node }] of saved.entries) {
      this.upper.set(p, {
        ...node,
        ...(data !== undefined ? { data: Buffer.from(data, 'base64') } : node.type === 'file' ? { data: EMPTY } : {}),
      })
    }
    for (const p of saved.whiteouts) this.whiteouts.add(p)
    for (const p of saved.opaque) this.opaque.add(p)
    this.#bytes = this.upper.bytes()
  }

  /** The lower entry an upper one covers, ignoring removals above it. */
  #lowerUnderneath(p: string): MemNode | undefined {
    for (const l of this.lowers) {
      const node = l.get(p)
      if (node) return node
    }
    return undefined
  }
}
