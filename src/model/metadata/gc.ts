// Garbage collection as containerd's metadata store does it (core/metadata/gc.go): mark from the
// roots, follow references, sweep what was not reached, in every namespace.
//
// Roots: images (their target digest), containers (their snapshot, and their image), leases that
// have not expired (what they hold; a "flat" lease only the objects, not their references),
// content and snapshots labelled containerd.io/gc.root, and ingests not held by a lease that have
// not gone stale. References: content labels containerd.io/gc.ref.content[.name] (a digest),
// containerd.io/gc.ref.snapshot.<snapshotter>[/name] (a key) and containerd.io/gc.ref.image[.name];
// back references gc.bref.*; a snapshot's parent; an ingest's expected blob. An edge to an object
// that does not exist (an image whose blobs were never stored) is simply not followed.
//
// Swept: content records and snapshots (with a /snapshot/remove event), ingests, expired leases.
// Blobs go once no namespace holds them. Images and containers are roots and never swept.
import type { NodeState, StatePath } from '../../store/schema.js'
import type { Content } from './content.js'
import { LABEL_GC_FLAT, leaseExpired } from './leases.js'
import type { Snapshots } from './snapshots.js'
import { nowNs } from '../time.js'
import { own } from '../own.js'

export const LABEL_GC_ROOT = 'containerd.io/gc.root'
const REF_CONTENT = 'containerd.io/gc.ref.content'
const REF_IMAGE = 'containerd.io/gc.ref.image'
const REF_SNAPSHOT = 'containerd.io/gc.ref.snapshot.'
const BREF_CONTENT = 'containerd.io/gc.bref.content'
const BREF_IMAGE = 'containerd.io/gc.bref.image'
const BREF_CONTAINER = 'containerd.io/gc.bref.container'
const BREF_SNAPSHOT = 'containerd.io/gc.bref.snapshot.'

/** What the collector needs of the node. */
export interface GcModel {
  readonly state: NodeState
  readonly content: Content
  readonly snapshots: Snapshots
  changed(...paths: StatePath[]): void
}

export interface GcResult {
  content: { namespace: string; digest: string }[]
  snapshots: { namespace: string; snapshotter: string; key: string }[]
  ingests: { namespace: string; ref: string }[]
  leases: { namespace: string; id: string }[]
}

type Kind = 'content' | 'snapshot' | 'image' | 'container' | 'ingest'
/** A node of the graph; "flat" nodes hold their object but do not lead on (flat leases). */
interface GcNode {
  kind: Kind
  namespace: string
  /** digest, "<snapshotter>/<key>", image name, container id, ingest ref */
  key: string
  flat?: boolean
}

const nodeId = (n: GcNode): string => `${n.kind}${n.flat ? '-flat' : ''}\0${n.namespace}\0${n.key}`
const objectId = (kind: Kind, namespace: string, key: string): string => `${kind}\0${namespace}\0${key}`

/** A "name" suffix on a reference label must start with "." or "/" (containerd ignores other keys). */
const namedRef = (label: string, prefix: string): boolean =>
  label === prefix || label[prefix.length] === '.' || label[prefix.length] === '/'

/** The objects a set of labels refers to (forward references). */
function labelRefs(namespace: string, labels: Record<string, string>, out: (n: GcNode) => void): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(REF_CONTENT) && namedRef(k, REF_CONTENT)) out({ kind: 'content', namespace, key: v })
    else if (k.startsWith(REF_IMAGE) && namedRef(k, REF_IMAGE)) out({ kind: 'image', namespace, key: v })
    else if (k.startsWith(REF_SNAPSHOT)) {
      const snapshotter = k.slice(REF_SNAPSHOT.length).split('/')[0] as string
      out({ kind: 'snapshot', namespace, key: `${snapshotter}/${v}` })
    }
  }
}

/** Back references on an object's labels: the object each names will refer to this one. */
function labelBackRefs(namespace: string, labels: Record<string, string>, out: (from: GcNode) => void): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(BREF_CONTENT) && namedRef(k, BREF_CONTENT)) out({ kind: 'content', namespace, key: v })
    else if (k.startsWith(BREF_IMAGE) && namedRef(k, BREF_IMAGE)) out({ kind: 'image', namespace, key: v })
    else if (k.startsWith(BREF_CONTAINER) && namedRef(k, BREF_CONTAINER)) out({ kind: 'container', namespace, key: v })
    else if (k.startsWith(BREF_SNAPSHOT)) {
      const snapshotter = k.slice(BREF_SNAPSHOT.length).split('/')[0] as string
      out({ kind: 'snapshot', namespace, key: `${snapshotter}/${v}` })
    }
  }
}

/** Runs one collection over every namespace and returns what it removed. */
export function collectGarbage(model: GcModel): GcResult {
  const { state, content, snapshots } = model
  const roots: GcNode[] = []
  const backRefs = new Map<string, GcNode[]>()
  const addBackRef = (from: GcNode, to: GcNode): void => {
    const id = objectId(from.kind, from.namespace, from.key)
    const list = backRefs.get(id)
    if (list) list.push(to)
    else backRefs.set(id, [to])
  }
  const now = nowNs()
  const result: GcResult = { content: [], snapshots: [], ingests: [], leases: [] }

  // Roots, and back references declared by objects' labels.
  for (const [namespace, leases] of Object.entries(state.leases)) {
    for (const [id, lease] of Object.entries(leases)) {
      if (leaseExpired(lease)) {
        result.leases.push({ namespace, id })
        continue
      }
      const flat = Object.hasOwn(lease.labels, LABEL_GC_FLAT)
      for (const r of lease.resources) {
        if (r.type === 'content') roots.push({ kind: 'content', namespace, key: r.id, flat })
        else if (r.type === 'images') roots.push({ kind: 'image', namespace, key: r.id, flat })
        else if (r.type === 'ingests') roots.push({ kind: 'ingest', namespace, key: r.id })
        else if (r.type.startsWith('snapshots/')) roots.push({ kind: 'snapshot', namespace, key: `${r.type.slice(10)}/${r.id}`, flat })
      }
    }
  }
  for (const image of state.images) roots.push({ kind: 'image', namespace: image.namespace, key: image.name })
  for (const c of Object.values(state.containers)) {
    const node: GcNode = { kind: 'container', namespace: c.namespace, key: c.id }
    roots.push(node)
    labelBackRefs(c.namespace, c.labels, (from) => addBackRef(from, node))
  }
  for (const ingest of content.allIngests()) {
    if (ingest.expiresAt !== undefined && ingest.expiresAt > now)
      roots.push({ kind: 'ingest', namespace: ingest.namespace, key: ingest.ref })
  }
  for (const [namespace, byDigest] of Object.entries(state.content)) {
    for (const [digest, r] of Object.entries(byDigest)) {
      const node: GcNode = { kind: 'content', namespace, key: digest }
      if (Object.hasOwn(r.labels, LABEL_GC_ROOT)) roots.push(node)
      labelBackRefs(namespace, r.labels, (from) => addBackRef(from, node))
    }
  }
  for (const [snapshotter, byNs] of Object.entries(state.snapshots)) {
    for (const [namespace, table] of Object.entries(byNs)) {
      for (const [key, r] of Object.entries(table)) {
        const node: GcNode = { kind: 'snapshot', namespace, key: `${snapshotter}/${key}` }
        if (Object.hasOwn(r.labels, LABEL_GC_ROOT)) roots.push(node)
        labelBackRefs(namespace, r.labels, (from) => addBackRef(from, node))
      }
    }
  }

  // Mark.
  const marked = new Set<string>()
  const visited = new Set<string>()
  const stack = [...roots]
  const ingests = new Map(content.allIngests().map((i) => [`${i.namespace}\0${i.ref}`, i]))
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    const id = nodeId(n)
    if (visited.has(id)) continue
    visited.add(id)
    marked.add(objectId(n.kind, n.namespace, n.key))
    const next = (m: GcNode): void => void stack.push(m)
    for (const from of backRefs.get(objectId(n.kind, n.namespace, n.key)) ?? []) next(from)
    switch (n.kind) {
      case 'content': {
        const r = own(own(state.content, n.namespace), n.key)
        if (r && !n.flat) labelRefs(n.namespace, r.labels, next)
        break
      }
      case 'snapshot': {
        const slash = n.key.indexOf('/')
        const snapshotter = n.key.slice(0, slash)
        const r = own(own(own(state.snapshots, snapshotter), n.namespace), n.key.slice(slash + 1))
        if (!r) break
        if (r.parent !== '') next({ kind: 'snapshot', namespace: n.namespace, key: `${snapshotter}/${r.parent}`, flat: n.flat })
        if (!n.flat) labelRefs(n.namespace, r.labels, next)
        break
      }
      case 'image': {
        const image = state.images.find((i) => i.namespace === n.namespace && i.name === n.key)
        if (!image) break
        if (image.manifestDigest) next({ kind: 'content', namespace: n.namespace, key: image.manifestDigest, flat: n.flat })
        if (!n.flat) labelRefs(n.namespace, image.labels, next)
        break
      }
      case 'container': {
        // Records are kept by id: a lookup, not a scan of every container for each one marked.
        const c = own(state.containers, n.key)
        if (!c || c.namespace !== n.namespace) break
        if (c.snapshotter !== '' && c.snapshotKey !== '')
          next({ kind: 'snapshot', namespace: n.namespace, key: `${c.snapshotter}/${c.snapshotKey}` })
        if (c.image !== '') next({ kind: 'image', namespace: n.namespace, key: c.image })
        labelRefs(n.namespace, c.labels, next)
        break
      }
      case 'ingest': {
        const ingest = ingests.get(`${n.namespace}\0${n.key}`)
        if (ingest && ingest.expected !== '') next({ kind: 'content', namespace: n.namespace, key: ingest.expected })
        break
      }
    }
  }

  // Sweep.
  for (const { namespace, id } of result.leases) delete state.leases[namespace]?.[id]
  if (result.leases.length > 0) model.changed(...result.leases.map(({ namespace, id }): StatePath => ['leases', namespace, id]))
  for (const ingest of content.allIngests()) {
    if (marked.has(objectId('ingest', ingest.namespace, ingest.ref))) continue
    content.dropIngest(ingest.namespace, ingest.ref)
    result.ingests.push({ namespace: ingest.namespace, ref: ingest.ref })
  }
  for (const [snapshotter, byNs] of Object.entries(state.snapshots)) {
    for (const [namespace, table] of Object.entries(byNs)) {
      for (const key of Object.keys(table)) {
        if (marked.has(objectId('snapshot', namespace, `${snapshotter}/${key}`))) continue
        snapshots.drop(snapshotter, namespace, key)
        result.snapshots.push({ namespace, snapshotter, key })
      }
    }
  }
  for (const [namespace, byDigest] of Object.entries(state.content)) {
    for (const digest of Object.keys(byDigest)) {
      if (marked.has(objectId('content', namespace, digest))) continue
      content.drop(namespace, digest)
      result.content.push({ namespace, digest })
    }
  }
  return result
}

/** How many objects a collection removed, for a log line. */
export function gcSummary(r: GcResult): string {
  return `removed ${r.content.length} blobs, ${r.snapshots.length} snapshots, ${r.ingests.length} ingests, ${r.leases.length} expired leases`
}
