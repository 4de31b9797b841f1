// The state's id-keyed tables are plain objects: a key that names an Object.prototype member
// ("constructor", "toString", both valid containerd identifiers) must find only what the table holds.

/** What a table holds under a key; never an inherited member. */
export const own = <T>(table: Record<string, T> | undefined, key: string): T | undefined =>
  table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined

/** The inner table under a key, made when there is none. */
export function ownTable<T>(tables: Record<string, Record<string, T>>, key: string): Record<string, T> {
  const found = own(tables, key)
  if (found) return found
  const made: Record<string, T> = {}
  tables[key] = made
  return made
}

/**
 * A copy of a table with one more entry, made key by key. V8 gives objects built the same way one
 * hidden class; a spread (`{ ...labels, key: value }`) at a site that has seen tables of many shapes
 * makes a hidden class per copy (some 150 bytes on every container record).
 */
export function withEntry<T>(table: Readonly<Record<string, T>>, key: string, value: T): Record<string, T> {
  const copy: Record<string, T> = {}
  for (const k of Object.keys(table)) copy[k] = table[k] as T
  copy[key] = value
  return copy
}
