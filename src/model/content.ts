// The content store: blobs addressed by digest, written through named ingests (refs) that can be
// resumed, verified on commit, seen per namespace with their own labels. Bytes live in a BlobStore;
// what each namespace holds, with labels, is in the state.
import { createHash } from 'node:crypto'
import type { BlobStore } from '../store/blobs.js'
import type { ContentRecord } from '../store/schema.js'
import type { Core } from './core.js'
import { RuntimeError, invalidArgument } from './errors.js'
import { validateLabels } from './namespaces.js'
import { nowString } from './time.js'

const DIGEST = /^sha256:[a-f0-9]{64}$/

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

export function checkDigest(digest: string): void {
  if (!DIGEST.test(digest))
    throw invalidArgument(`invalid digest ${JSON.stringify(digest)}: want sha256:<64 hex characters>: invalid argument`)
}

/** An ingest in progress (containerd's content.Status plus the bytes so far). */
export interface Ingest {
  namespace: string
  ref: string
  total: number
  expected: string
  startedAt: string
  updatedAt: string
  chunks: Buffer[]
  offset: number
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

  list(namespace: string): ContentInfo[] {
    return Object.entries(this.core.state.content[namespace] ?? {}).map(([digest, r]) => ({ digest, ...r }))
  }

  info(namespace: string, digest: string): ContentInfo {
    checkDigest(digest)
    const r = this.core.state.content[namespace]?.[digest]
    if (!r || !this.blobs.has(digest)) throw new RuntimeError('NotFound', `content digest ${digest}: not found`)
    return { digest, ...r }
  }

  /** Replaces the labels (the only updatable field, as in containerd). */
  setLabels(namespace: string, digest: string, labels: Record<string, string>, keys?: string[]): ContentInfo {
    const info = this.info(namespace, digest)
    validateLabels(labels, 'content.Labels')
    const record = this.core.state.content[namespace]![digest]!
    if (keys === undefined) record.labels = { ...labels }
    else {
      for (const k of keys) {
        const v = labels[k]
        if (v === undefined || v === '') delete record.labels[k]
        else record.labels[k] = v
      }
    }
    record.updatedAt = nowString()
    this.core.changed()
    return { ...info, ...record }
  }

  read(namespace: string, digest: string, offset: number, size: number): Buffer {
    this.info(namespace, digest)
    const data = this.blobs.get(digest) as Buffer
    if (offset < 0 || offset > data.length)
      throw new RuntimeError('InvalidArgument', `offset ${offset} is outside blob ${digest} of ${data.length} bytes: invalid argument`)
    return size > 0 ? data.subarray(offset, offset + size) : data.subarray(offset)
  }

  delete(namespace: string, digest: string): void {
    this.info(namespace, digest)
    delete this.core.state.content[namespace]![digest]
    this.core.changed()
    this.collectBlob(digest)
  }

  /** Adds a blob directly (what a pull or an import writes). */
  put(namespace: string, data: Buffer, labels: Record<string, string> = {}, digest = sha256(data)): ContentInfo {
    this.core.ensureNamespace(namespace)
    if (!this.blobs.has(digest)) this.blobs.put(digest, data)
    const byNs = (this.core.state.content[namespace] ??= {})
    const now = nowString()
    const existing = byNs[digest]
    byNs[digest] = existing
      ? { ...existing, labels: { ...existing.labels, ...labels }, updatedAt: now }
      : { size: data.length, labels: { ...labels }, createdAt: now, updatedAt: now }
    this.core.changed()
    return { digest, ...(byNs[digest] as ContentRecord) }
  }

  // Ingests -----------------------------------------------------------------------------------

  statuses(namespace: string): Ingest[] {
    return [...this.#ingests.values()].filter((i) => i.namespace === namespace)
  }

  status(namespace: string, ref: string): Ingest {
    const ingest = this.#ingests.get(`${namespace}/${ref}`)
    if (!ingest) throw new RuntimeError('NotFound', `ref ${ref}: not found`)
    return ingest
  }

  /** Opens (or resumes) the ingest for a ref. */
  open(namespace: string, ref: string, total: number, expected: string): Ingest {
    if (ref === '') throw invalidArgument('ref must not be empty: invalid argument')
    if (expected !== '') {
      checkDigest(expected)
      if (this.core.state.content[namespace]?.[expected] && this.blobs.has(expected)) {
        throw new RuntimeError('AlreadyExists', `content ${expected}: already exists`)
      }
    }
    const key = `${namespace}/${ref}`
    let ingest = this.#ingests.get(key)
    if (!ingest) {
      const now = nowString()
      ingest = { namespace, ref, total, expected, startedAt: now, updatedAt: now, chunks: [], offset: 0 }
      this.#ingests.set(key, ingest)
    }
    if (total > 0) ingest.total = total
    if (expected !== '') ingest.expected = expected
    return ingest
  }

  truncate(ingest: Ingest, size: number): void {
    const data = Buffer.concat(ingest.chunks).subarray(0, size)
    ingest.chunks = [data]
    ingest.offset = data.length
    ingest.updatedAt = nowString()
  }

  append(ingest: Ingest, data: Buffer): void {
    ingest.chunks.push(Buffer.from(data))
    ingest.offset += data.length
    ingest.updatedAt = nowString()
  }

  digestOf(ingest: Ingest): string {
    return sha256(Buffer.concat(ingest.chunks))
  }

  /** Verifies size and digest as containerd's writer does, then stores the blob. */
  commit(ingest: Ingest, size: number, expected: string, labels: Record<string, string>): ContentInfo {
    const data = Buffer.concat(ingest.chunks)
    const want = size > 0 ? size : ingest.total
    if (want > 0 && data.length !== want) {
      throw new RuntimeError('FailedPrecondition', `unexpected commit size ${data.length}, expected ${want}: failed precondition`)
    }
    const digest = sha256(data)
    const expectedDigest = expected || ingest.expected
    if (expectedDigest !== '' && digest !== expectedDigest) {
      throw new RuntimeError('FailedPrecondition', `unexpected commit digest ${digest}, expected ${expectedDigest}: failed precondition`)
    }
    validateLabels(labels, 'content.Labels')
    this.#ingests.delete(`${ingest.namespace}/${ingest.ref}`)
    if (this.core.state.content[ingest.namespace]?.[digest] && this.blobs.has(digest)) {
      throw new RuntimeError('AlreadyExists', `content ${digest}: already exists`)
    }
    return this.put(ingest.namespace, data, labels, digest)
  }

  abort(namespace: string, ref: string): void {
    this.status(namespace, ref)
    this.#ingests.delete(`${namespace}/${ref}`)
  }

  /** Removes a blob's bytes once no namespace holds it. */
  collectBlob(digest: string): void {
    const held = Object.values(this.core.state.content).some((byNs) => Object.hasOwn(byNs, digest))
    if (!held) this.blobs.delete(digest)
  }
}
