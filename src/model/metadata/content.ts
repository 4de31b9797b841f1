// The content store: blobs addressed by digest, written through named ingests (refs) that can be
// resumed, verified on commit, seen per namespace with their own labels. Bytes live in a BlobStore
// shared by all namespaces; what each namespace holds, with labels, is in the state. The rules and
// wording are containerd's metadata content store (core/metadata/content.go) over its local store.
// With a store of files (--state), an ingest past a few MiB is written to a file as it arrives and
// that file becomes the blob on commit, so a large layer is not held in memory.
import { createHash, type Hash } from 'node:crypto'
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import type { BlobStore } from '../../store/blobs.js'
import type { ContentRecord } from '../../store/schema.js'
import type { Core } from '../core.js'
import { RuntimeError, invalidArgument } from '../errors.js'
import { checkLease, digestProblem, holdResource, leasePaths, releaseResource } from './leases.js'
import { validateLabels } from './namespaces.js'
import { nowNs, nowString } from '../time.js'
import { own, ownTable } from '../own.js'

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

export function checkDigest(digest: string): void {
  const problem = digestProblem(digest)
  if (problem) throw invalidArgument(`invalid digest ${JSON.stringify(digest)}: ${problem}: invalid argument`)
}

/** Past this many bytes an ingest is written to a file, when the blob store keeps files. */
const SPILL_BYTES = 4 * 1024 * 1024

/** An unleased ingest may be collected once stale, as containerd's writer marks it. */
const INGEST_EXPIRY_NS = 24n * 3600n * 1_000_000_000n

/** An ingest in progress (containerd's content.Status plus the bytes so far). */
export interface Ingest {
  namespace: string
  ref: string
  /** The size declared when the ingest began (0: unknown). */
  total: number
  /** Set when the ingest stands for a blob the store already has (a shared blob seen from another namespace). */
  expected: string
  startedAt: string
  updatedAt: string
  chunks: Buffer[]
  /** With a store of files, a large ingest's bytes go to a file of it instead of `chunks` (as containerd's ingest directory). */
  spill?: { path: string; fd: number }
  offset: number
  /** Unix ns after which the collector may drop an unleased ingest; undefined once a lease holds it. */
  expiresAt?: bigint
  /** When a writer took the ingest (one writer per ref at a time). */
  lockedSince?: number
  hash: Hash
}

export interface ContentInfo extends ContentRecord {
  digest: string
}

export class Content {
  /** In-progress writes by namespace and ref; like containerd's ingest directories, not in the state file. */
  #ingests = new Map<string, Ingest>()

  constructor(
    private readonly core: Core,
    readonly blobs: BlobStore,
  ) {}

  /** Every blob a namespace holds, by digest. */
  list(namespace: string): ContentInfo[] {
    return Object.entries(own(this.core.state.content, namespace) ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([digest, r]) => ({ digest, ...r, labels: { ...r.labels } }))
  }

  has(namespace: string, digest: string): boolean {
    return own(own(this.core.state.content, namespace), digest) !== undefined && this.blobs.has(digest)
  }

  info(namespace: string, digest: string): ContentInfo {
    const r = own(own(this.core.state.content, namespace), digest)
    if (!r || !this.blobs.has(digest)) throw new RuntimeError('NotFound', `content digest ${digest}: not found`)
    return { digest, ...r, labels: { ...r.labels } }
  }

  /**
   * Updates labels, the only mutable field: with no paths they are replaced; `labels` replaces
   * them, `labels.<key>` sets one (an empty value removes it); any other path is refused.
   */
  update(namespace: string, digest: string, labels: Record<string, string>, paths: readonly string[]): ContentInfo {
    const record = own(own(this.core.state.content, namespace), digest)
    if (!record || !this.blobs.has(digest)) throw new RuntimeError('NotFound', `content digest ${digest}: not found`)
    let next = { ...record.labels }
    if (paths.length === 0) next = { ...labels }
    for (const path of paths) {
      if (path.startsWith('labels.')) {
        const key = path.slice('labels.'.length)
        next[key] = labels[key] ?? ''
      } else if (path === 'labels') next = { ...labels }
      else throw invalidArgument(`cannot update ${JSON.stringify(path)} field on content info ${JSON.stringify(digest)}: invalid argument`)
    }
    validateLabels(next, 'info.Labels')
    record.labels = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== ''))
    record.updatedAt = nowString()
    this.core.changed(['content', namespace, digest])
    return { digest, ...record, labels: { ...record.labels } }
  }

  /** The bytes of a blob the namespace holds, from offset; size 0 reads to the end. */
  read(namespace: string, digest: string, offset: number, size: number): Buffer {
    const { size: total } = this.info(namespace, digest)
    const start = Math.max(0, Math.min(offset, total))
    // Only the range is read: a store of files does not load a large blob for each chunk a client asks.
    return this.blobs.read(digest, start, size > 0 ? Math.min(size, total - start) : total - start)
  }

  /** Removes the namespace's record (the bytes go once no namespace holds them). */
  delete(namespace: string, digest: string, lease?: string): void {
    const byNs = own(this.core.state.content, namespace)
    if (!byNs || !own(byNs, digest)) throw new RuntimeError('NotFound', `content digest ${digest}: not found`)
    delete byNs[digest]
    releaseResource(this.core.state, namespace, lease, { id: digest, type: 'content' })
    this.core.changed(['content', namespace, digest], ...leasePaths(namespace, lease))
    this.collectBlob(digest)
    this.core.emit(namespace, '/content/delete', 'containerd.events.ContentDelete', { digest })
  }

  /** Drops a record without the checks or events of Delete (the garbage collector). */
  drop(namespace: string, digest: string): void {
    const byNs = own(this.core.state.content, namespace)
    if (!byNs || !own(byNs, digest)) return
    delete byNs[digest]
    this.core.changed(['content', namespace, digest])
    this.collectBlob(digest)
  }

  /**
   * Adds a blob as a writer's commit does (an import's blobs, a catalog pull's, a checkpoint's):
   * a blob new to the namespace is published as /content/create, as core/metadata/content.go does.
   */
  create(namespace: string, data: Buffer, labels: Record<string, string> = {}, digest = sha256(data)): ContentInfo {
    const fresh = !this.has(namespace, digest)
    const info = this.put(namespace, data, labels, digest)
    if (fresh) this.#announce(namespace, digest, data.length)
    return info
  }

  /** containerd 2.x publishes each blob committed to the store (generations before 2.0 publish none; the Events face knows). */
  #announce(namespace: string, digest: string, size: number): void {
    this.core.emit(namespace, '/content/create', 'containerd.events.ContentCreate', { digest, size })
  }

  /** Adds a blob directly, unannounced (a restored state's catalog blobs). */
  put(namespace: string, data: Buffer, labels: Record<string, string> = {}, digest = sha256(data)): ContentInfo {
    this.core.ensureNamespace(namespace)
    if (!this.blobs.has(digest)) this.blobs.put(digest, data)
    const byNs = ownTable(this.core.state.content, namespace)
    const now = nowString()
    const existing = own(byNs, digest)
    byNs[digest] = existing
      ? { ...existing, labels: { ...existing.labels, ...labels }, updatedAt: now }
      : { size: data.length, labels: { ...labels }, createdAt: now, updatedAt: now }
    this.core.changed(['content', namespace, digest])
    return { digest, ...(byNs[digest] as ContentRecord) }
  }

  // Ingests -----------------------------------------------------------------------------------

  statuses(namespace: string): Ingest[] {
    return [...this.#ingests.values()].filter((i) => i.namespace === namespace).sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))
  }

  /** Every ingest of every namespace (the collector). */
  allIngests(): Ingest[] {
    return [...this.#ingests.values()]
  }

  status(namespace: string, ref: string): Ingest {
    const ingest = this.#ingests.get(`${namespace}/${ref}`)
    if (!ingest) throw new RuntimeError('NotFound', `reference ${ref}: not found`)
    return ingest
  }

  /**
   * Opens (or resumes) the ingest for a ref and takes its lock, as containerd's Writer does. A
   * blob the namespace already has is AlreadyExists (and joins the lease); one another namespace
   * has is shared: the ingest starts complete, so committing it needs no bytes.
   */
  openWriter(namespace: string, ref: string, total: number, expected: string, lease?: string): Ingest {
    if (ref === '') throw invalidArgument('ref must not be empty: invalid argument')
    if (expected !== '') checkDigest(expected)
    checkLease(this.core.state, namespace, lease)
    if (expected !== '' && this.has(namespace, expected)) {
      holdResource(this.core.state, namespace, lease, { id: expected, type: 'content' })
      if (lease !== undefined) this.core.changed(['leases', namespace, lease])
      throw new RuntimeError('AlreadyExists', `content ${expected}: already exists`)
    }
    const key = `${namespace}/${ref}`
    let ingest = this.#ingests.get(key)
    if (ingest?.lockedSince !== undefined) {
      const since = ingest.lockedSince
      throw new RuntimeError(
        'Unavailable',
        `ref ${ref} locked for ${Date.now() - since}ms (since ${new Date(since).toISOString()}): unavailable`,
      )
    }
    const shared = expected !== '' && this.blobs.has(expected) ? (this.blobs.get(expected) as Buffer) : undefined
    const sharedFits = shared !== undefined && (total === 0 || total === shared.length)
    if (ingest && total > 0 && ingest.total > 0 && total !== ingest.total) {
      // containerd's local store cannot resume with a different total; it starts the ingest again.
      this.#unspill(ingest)
      ingest = undefined
    }
    this.core.ensureNamespace(namespace)
    if (!ingest) {
      const now = nowString()
      ingest = { namespace, ref, total, expected: '', startedAt: now, updatedAt: now, chunks: [], offset: 0, hash: createHash('sha256') }
      this.#ingests.set(key, ingest)
    }
    if (sharedFits && ingest.offset === 0) {
      ingest.expected = expected
      ingest.total = shared.length
      this.append(ingest, shared)
      ingest.updatedAt = ingest.startedAt
    }
    if (lease !== undefined) {
      holdResource(this.core.state, namespace, lease, { id: ref, type: 'ingests' })
      this.core.changed(['leases', namespace, lease])
    } else ingest.expiresAt = nowNs() + INGEST_EXPIRY_NS
    ingest.lockedSince = Date.now()
    return ingest
  }

  /** Gives the ingest's lock back (the writer closed). */
  release(ingest: Ingest): void {
    delete ingest.lockedSince
  }

  truncate(ingest: Ingest, size: number): void {
    const data = this.#bytesOf(ingest).subarray(0, size)
    this.#unspill(ingest)
    ingest.chunks = data.length > 0 ? [data] : []
    ingest.offset = data.length
    ingest.hash = createHash('sha256').update(data)
    ingest.expected = ''
    ingest.updatedAt = nowString()
  }

  append(ingest: Ingest, data: Buffer): void {
    ingest.hash.update(data)
    ingest.offset += data.length
    ingest.updatedAt = nowString()
    const files = this.blobs.files
    if (!ingest.spill && files && ingest.offset > SPILL_BYTES) {
      const path = files.temp()
      ingest.spill = { path, fd: openSync(path, 'w+') }
      for (const chunk of ingest.chunks) writeSync(ingest.spill.fd, chunk)
      ingest.chunks = []
    }
    if (ingest.spill) writeSync(ingest.spill.fd, data)
    else ingest.chunks.push(Buffer.from(data))
  }

  /** What an ingest holds, in one Buffer (a truncate; rare). */
  #bytesOf(ingest: Ingest): Buffer {
    return ingest.spill ? readFileSync(ingest.spill.path) : Buffer.concat(ingest.chunks)
  }

  /** Closes and removes an ingest's file, if it has one. */
  #unspill(ingest: Ingest): void {
    if (!ingest.spill) return
    closeSync(ingest.spill.fd)
    rmSync(ingest.spill.path, { force: true })
    delete ingest.spill
  }

  /** The digest of what was written so far. */
  digestOf(ingest: Ingest): string {
    return `sha256:${ingest.hash.copy().digest('hex')}`
  }

  /**
   * Commits as containerd's namespaced writer does: the size and the expected digest (when
   * given) must match what was written; the ingest ends either way once the checks pass; a blob
   * the namespace already has is AlreadyExists. The new blob joins the call's lease.
   */
  commit(ingest: Ingest, size: number, expected: string, labels: Record<string, string> | undefined, lease?: string): ContentInfo {
    const base = labels ?? {}
    validateLabels(base, 'info.Labels')
    if (size !== 0 && size !== ingest.offset) {
      throw new RuntimeError(
        'FailedPrecondition',
        `${JSON.stringify(ingest.ref)} failed size validation: ${ingest.offset} != ${size}: failed precondition`,
      )
    }
    const digest = this.digestOf(ingest)
    if (expected !== '' && expected !== digest) {
      throw new RuntimeError('FailedPrecondition', `unexpected commit digest ${digest}, expected ${expected}: failed precondition`)
    }
    // The chunks as written: a store of files writes them one after another, never joined in memory.
    const data = ingest.chunks
    const length = ingest.offset
    const spilled = ingest.spill
    delete ingest.spill
    if (spilled) closeSync(spilled.fd)
    this.#ingests.delete(`${ingest.namespace}/${ingest.ref}`)
    delete ingest.lockedSince
    const state = this.core.state
    releaseResource(state, ingest.namespace, lease, { id: ingest.ref, type: 'ingests' })
    holdResource(state, ingest.namespace, lease, { id: digest, type: 'content' })
    this.core.changed(['content', ingest.namespace, digest], ...leasePaths(ingest.namespace, lease))
    if (own(own(state.content, ingest.namespace), digest) && this.blobs.has(digest)) {
      if (spilled) rmSync(spilled.path, { force: true })
      throw new RuntimeError('AlreadyExists', `content ${digest}: already exists`)
    }
    if (spilled) this.blobs.files?.adopt(digest, spilled.path)
    else if (!this.blobs.has(digest)) this.blobs.put(digest, data)
    const now = nowString()
    const record: ContentRecord = {
      size: length,
      labels: Object.fromEntries(Object.entries(base).filter(([, v]) => v !== '')),
      createdAt: now,
      updatedAt: now,
    }
    ownTable(state.content, ingest.namespace)[digest] = record
    this.#announce(ingest.namespace, digest, length)
    return { digest, ...record, labels: { ...record.labels } }
  }

  abort(namespace: string, ref: string, lease?: string): void {
    const ingest = this.#ingests.get(`${namespace}/${ref}`)
    if (!ingest) throw new RuntimeError('NotFound', `reference ${ref}: not found`)
    this.#unspill(ingest)
    this.#ingests.delete(`${namespace}/${ref}`)
    releaseResource(this.core.state, namespace, lease, { id: ref, type: 'ingests' })
    if (lease !== undefined) this.core.changed(['leases', namespace, lease])
  }

  /** Drops an ingest without checks (the garbage collector). */
  dropIngest(namespace: string, ref: string): void {
    const ingest = this.#ingests.get(`${namespace}/${ref}`)
    if (ingest) this.#unspill(ingest)
    this.#ingests.delete(`${namespace}/${ref}`)
  }

  /** Removes a blob's bytes once no namespace holds it. */
  collectBlob(digest: string): void {
    const held = Object.values(this.core.state.content).some((byNs) => Object.hasOwn(byNs, digest))
    if (!held) this.blobs.delete(digest)
  }
}
