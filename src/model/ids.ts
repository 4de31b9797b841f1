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
 * Records by id, with the ids kept sorted so a prefix resolves as containerd's truncindex does
 * without visiting every id: the ids a prefix starts are adjacent, from the first not below it.
 */
export class IdIndex<T extends { id: string }> {
  #byId = new Map<string, T>()
  #sorted: string[] = []

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
    this.#sorted.splice(this.#lowerBound(record.id), 0, record.id)
  }

  delete(record: T): void {
    if (this.#byId.get(record.id) !== record) return
    this.#byId.delete(record.id)
    this.#sorted.splice(this.#lowerBound(record.id), 1)
  }

  clear(): void {
    this.#byId.clear()
    this.#sorted = []
  }

  /** As resolvePrefix over these ids: the record a full id or unique prefix names; throws on an ambiguous or bad one. */
  find(prefix: string): T | undefined {
    // A whole id is itself (kubelet passes whole ids): ids made by newId() have one length, so one
    // is never a prefix of another and this is what the prefix search would find.
    const exact = this.#byId.get(prefix)
    if (exact !== undefined) return exact
    const at = this.#lowerBound(prefix)
    // Only the first two ids at or after the prefix can start with it and still be told apart.
    const id = resolvePrefix(this.#sorted.slice(at, at + 2), prefix)
    return id === undefined ? undefined : this.#byId.get(id)
  }

  #lowerBound(id: string): number {
    let lo = 0
    let hi = this.#sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#sorted[mid]! < id) lo = mid + 1
      else hi = mid
    }
    return lo
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
