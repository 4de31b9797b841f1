import { randomBytes } from 'node:crypto'
import { RuntimeError, invalidArgument, notFound, wrap } from './errors.js'

/** A containerd object id: 64 lowercase hex characters (32 random bytes), as containerd's CRI makes them. */
export function newId(): string {
  return randomBytes(32).toString('hex')
}

/**
 * Resolves a full id or a unique prefix of one, like containerd's truncindex.
 * Returns undefined when nothing matches; throws when the prefix is ambiguous or empty.
 */
export function resolvePrefix(ids: Iterable<string>, prefix: string): string | undefined {
  // truncindex refuses a space only when an id is added; a prefix with one simply matches nothing.
  if (prefix === '') throw invalidArgument("prefix can't be empty")
  let found: string | undefined
  for (const id of ids) {
    if (id === prefix) return id
    if (id.startsWith(prefix)) {
      if (found !== undefined) throw new RuntimeError('Unknown', `Multiple IDs found with provided prefix: ${prefix}`)
      found = id
    }
  }
  return found
}

/**
 * Ids kept sorted in chunks of at most 2 × `chunk`: adding or removing one moves the ids of its
 * chunk, not all of them (one sorted array made every add O(n): 30,000 containers, 30,000 moves each).
 */
class SortedIds {
  #chunks: string[][] = []

  constructor(private readonly chunk: number) {}

  add(id: string): void {
    const c = this.#chunkFor(id)
    if (c === undefined) {
      this.#chunks.push([id])
      return
    }
    const ids = this.#chunks[c]!
    ids.splice(lowerBound(ids, id), 0, id)
    // Full: split in two, so a chunk never grows past twice the size.
    if (ids.length > 2 * this.chunk) this.#chunks.splice(c + 1, 0, ids.splice(this.chunk))
  }

  delete(id: string): void {
    const c = this.#chunkFor(id)
    if (c === undefined) return
    const ids = this.#chunks[c]!
    const at = lowerBound(ids, id)
    if (ids[at] !== id) return
    ids.splice(at, 1)
    if (ids.length === 0) this.#chunks.splice(c, 1)
  }

  /** The first `n` ids not below `from`, in order. */
  from(from: string, n: number): string[] {
    const out: string[] = []
    let c = this.#chunkFor(from)
    if (c === undefined) return out
    let at = lowerBound(this.#chunks[c]!, from)
    while (out.length < n && c < this.#chunks.length) {
      const ids = this.#chunks[c]!
      if (at < ids.length) out.push(ids[at++]!)
      else {
        c++
        at = 0
      }
    }
    return out
  }

  clear(): void {
    this.#chunks = []
  }

  /** The chunk an id belongs in: the first whose last id is not below it, else the last; undefined when there is none. */
  #chunkFor(id: string): number | undefined {
    const chunks = this.#chunks
    if (chunks.length === 0) return undefined
    let lo = 0
    let hi = chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (chunks[mid]!.at(-1)! < id) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** The index of the first of the sorted `ids` not below `id`. */
function lowerBound(ids: readonly string[], id: string): number {
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ids[mid]! < id) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Records by id, with the ids kept sorted so a prefix resolves as containerd's truncindex does
 * without visiting every id: the ids a prefix starts are adjacent, from the first not below it.
 */
export class IdIndex<T extends { id: string }> {
  #byId = new Map<string, T>()
  readonly #sorted: SortedIds

  /** `chunk`: how many sorted ids an add or delete moves at most (about); small ones only in tests. */
  constructor(chunk = 256) {
    this.#sorted = new SortedIds(chunk)
  }

  get size(): number {
    return this.#byId.size
  }

  /** The records, in the order they were added. */
  values(): IterableIterator<T> {
    return this.#byId.values()
  }

  get(id: string): T | undefined {
    return this.#byId.get(id)
  }

  add(record: T): void {
    if (this.#byId.has(record.id)) return
    this.#byId.set(record.id, record)
    this.#sorted.add(record.id)
  }

  delete(record: T): void {
    if (this.#byId.get(record.id) !== record) return
    this.#byId.delete(record.id)
    this.#sorted.delete(record.id)
  }

  clear(): void {
    this.#byId.clear()
    this.#sorted.clear()
  }

  /** As resolvePrefix over these ids: the record a full id or unique prefix names; throws on an ambiguous or bad one. */
  find(prefix: string): T | undefined {
    // A whole id is itself (kubelet passes whole ids): ids made by newId() have one length, so one
    // is never a prefix of another and this is what the prefix search would find.
    const exact = this.#byId.get(prefix)
    if (exact !== undefined) return exact
    // Only the first two ids at or after the prefix can start with it and still be told apart.
    const id = resolvePrefix(this.#sorted.from(prefix, 2), prefix)
    return id === undefined ? undefined : this.#byId.get(id)
  }
}

/**
 * What `find` finds (a lookup by full id or prefix), with every failure an error that starts with
 * `context`, the way containerd words it: `<context>: not found`, `<context>: Multiple IDs found with
 * provided prefix: …`.
 */
export function getByPrefix<T>(find: () => T | undefined, context: string): T {
  let found: T | undefined
  try {
    found = find()
  } catch (err) {
    throw wrap(err, context)
  }
  if (!found) throw notFound(`${context}: not found`)
  return found
}
