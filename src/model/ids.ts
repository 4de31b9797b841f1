import { randomBytes } from 'node:crypto'
import type { ContainerRecord } from '../store/schema.js'
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
  if (prefix === '') throw invalidArgument("prefix can't be empty")
  if (prefix.includes(' ')) throw invalidArgument("illegal character: ' '")
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
 * The record kept under exactly this id, if `is` accepts it: a lookup without listing every record.
 * Ids made by newId() all have one length, so a full one is never the prefix of another and a hit
 * is what findByPrefix would find.
 */
export function byFullId<T extends ContainerRecord>(
  records: Readonly<Record<string, ContainerRecord>>,
  id: string,
  is: (r: ContainerRecord) => r is T,
): T | undefined {
  const r = Object.hasOwn(records, id) ? records[id] : undefined
  return r !== undefined && is(r) ? r : undefined
}

/** Finds a record by full id or unique prefix; undefined when none matches. */
export function findByPrefix<T extends { id: string }>(records: readonly T[], prefix: string): T | undefined {
  const id = resolvePrefix(
    records.map((r) => r.id),
    prefix,
  )
  return id === undefined ? undefined : records.find((r) => r.id === id)
}

/**
 * Like findByPrefix, but every failure is an error that starts with `context`, the way containerd
 * words it: `<context>: not found`, `<context>: Multiple IDs found with provided prefix: …`.
 */
export function getByPrefix<T extends { id: string }>(records: readonly T[], prefix: string, context: string): T {
  let found: T | undefined
  try {
    found = findByPrefix(records, prefix)
  } catch (err) {
    throw wrap(err, context)
  }
  if (!found) throw notFound(`${context}: not found`)
  return found
}
