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
 * Tables merged into a new one, key by key, a later table's value winning. V8 gives objects built
 * the same way one hidden class; a spread (`{ ...labels, key: value }`) at a site that has seen
 * tables of many shapes makes a hidden class per copy (some 150 bytes on every container record).
 */
export function merged<T>(...tables: Readonly<Record<string, T>>[]): Record<string, T> {
  const copy: Record<string, T> = {}
  for (const table of tables) {
    for (const k of Object.keys(table)) {
      // "__proto__" is a key like any other here (as a spread defines it), not the prototype.
      if (k === '__proto__') Object.defineProperty(copy, k, { value: table[k], enumerable: true, writable: true, configurable: true })
      else copy[k] = table[k] as T
    }
  }
  return copy
}
