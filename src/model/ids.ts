import { randomBytes } from 'node:crypto'
import { RuntimeError, invalidArgument } from './errors.js'

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
