// Input checks shared by the CRI face: what a malformed request gets instead of a crash.
import { invalidArgument } from '../model/errors.js'

/** An id or id prefix from the client: required, and no longer than an id can be. */
export function requireId(value: string, what: string): string {
  if (value === '') throw invalidArgument(`${what} id is required`)
  if (value.length > 64) throw invalidArgument(`${what} id ${JSON.stringify(value.slice(0, 80))}… is longer than 64 characters`)
  return value
}

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** A label selector is a map of Kubernetes label keys to values; reject keys no label can have. */
export function checkLabelSelector(selector: Record<string, string>): void {
  for (const [key, value] of Object.entries(selector)) {
    const slash = key.lastIndexOf('/')
    const prefix = slash === -1 ? undefined : key.slice(0, slash)
    const name = slash === -1 ? key : key.slice(slash + 1)
    const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix))
    if (!prefixOk || !QUALIFIED_NAME.test(name)) {
      throw invalidArgument(
        `invalid label selector key ${JSON.stringify(key)}: a label key is an optional DNS prefix and "/" followed by a name of up to 63 letters, digits, "-", "_" or "."`,
      )
    }
    if (value.length > 63) throw invalidArgument(`invalid label selector value for ${JSON.stringify(key)}: longer than 63 characters`)
  }
}

/** Names and strings that end up in file names and ids. */
export function checkName(value: string, what: string, max = 253): void {
  if (value.length > max) throw invalidArgument(`${what} is ${value.length} characters long; the limit is ${max}`)
  if (value.includes('\0') || value.includes('/')) throw invalidArgument(`${what} ${JSON.stringify(value)} must not contain "/" or NUL`)
}
