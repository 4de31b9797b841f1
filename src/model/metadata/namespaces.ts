// containerd namespaces: every containerd object lives in one. A namespace exists once it is
// created explicitly or once anything is created in it, and it can be deleted only when empty.
import type { Core } from '../core.js'
import { RuntimeError, invalidArgument } from '../errors.js'
import { own } from '../own.js'

const IDENTIFIER = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/
const MAX_LENGTH = 76

/** containerd's identifiers.Validate, with its wording. */
export function validateIdentifier(s: string): void {
  if (s.length === 0) throw invalidArgument('identifier must not be empty: invalid argument')
  if (s.length > MAX_LENGTH)
    throw invalidArgument(`identifier ${JSON.stringify(s)} greater than maximum length (${MAX_LENGTH} characters): invalid argument`)
  if (!IDENTIFIER.test(s)) throw invalidArgument(`identifier ${JSON.stringify(s)} must match ${IDENTIFIER.source}: invalid argument`)
}

/** containerd's label validation: keys and values together at most 4096 bytes. */
export function validateLabels(labels: Record<string, string>, what: string): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') throw invalidArgument(`${what}: label key must not be empty: invalid argument`)
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > 4096) {
      throw invalidArgument(
        `${what}: label key and value length (${Buffer.byteLength(k) + Buffer.byteLength(v)} bytes) greater than maximum size (4096 bytes), key: ${k.slice(0, 10)}: invalid argument`,
      )
    }
  }
}

export class Namespaces {
  constructor(private readonly core: Core) {}

  list(): string[] {
    return Object.keys(this.core.state.namespaces).sort()
  }

  exists(name: string): boolean {
    return Object.hasOwn(this.core.state.namespaces, name)
  }

  /** A namespace's labels; none for one that holds nothing yet, as containerd's Labels answers
   * (so Namespaces.Get never says NotFound: the Go client asks it for its default namespace). */
  labels(name: string): Record<string, string> {
    return { ...own(this.core.state.namespaces, name)?.labels }
  }

  create(name: string, labels: Record<string, string>): void {
    validateIdentifier(name)
    validateLabels(labels, 'namespace.Labels')
    if (this.exists(name)) throw new RuntimeError('AlreadyExists', `namespace ${JSON.stringify(name)}: already exists`)
    this.core.state.namespaces[name] = { labels: { ...labels } }
    this.core.changed(['namespaces', name])
    this.core.emit(name, '/namespaces/create', 'containerd.events.NamespaceCreate', { name, labels })
  }

  /** Makes sure a namespace exists, as creating any object in it does. */
  ensure(name: string): void {
    if (this.exists(name)) return
    this.core.state.namespaces[name] = { labels: {} }
    this.core.changed(['namespaces', name])
    this.core.emit(name, '/namespaces/create', 'containerd.events.NamespaceCreate', { name, labels: {} })
  }

  /** Sets or, with an empty value, removes labels; as containerd's SetLabel, it makes the namespace
   * when it is not there yet. */
  setLabels(name: string, labels: Record<string, string>): void {
    validateLabels(labels, 'namespace.Labels')
    validateIdentifier(name)
    const ns = own(this.core.state.namespaces, name) ?? (this.core.state.namespaces[name] = { labels: {} })
    for (const [k, v] of Object.entries(labels)) {
      if (v === '') delete ns.labels[k]
      else ns.labels[k] = v
    }
    this.core.changed(['namespaces', name])
    this.core.emit(name, '/namespaces/update', 'containerd.events.NamespaceUpdate', { name, labels: ns.labels })
  }

  /** Deletes an empty namespace; says what is left in one that is not. */
  delete(name: string): void {
    const state = this.core.state
    const left: string[] = []
    if (state.images.some((i) => i.namespace === name)) left.push('images')
    if (Object.keys(own(state.content, name) ?? {}).length > 0) left.push('blobs')
    if (Object.values(state.containers).some((c) => c.namespace === name)) left.push('containers')
    for (const [snapshotter, byNs] of Object.entries(state.snapshots)) {
      if (Object.keys(own(byNs, name) ?? {}).length > 0) left.push(`snapshots on ${JSON.stringify(snapshotter)} snapshotter`)
    }
    if (left.length > 0) {
      throw new RuntimeError(
        'FailedPrecondition',
        `namespace ${JSON.stringify(name)} must be empty, but it still has ${left.join(', ')}: failed precondition`,
      )
    }
    if (!this.exists(name)) throw new RuntimeError('NotFound', `namespace ${JSON.stringify(name)}: not found`)
    delete state.namespaces[name]
    delete state.leases[name]
    // containerd 2.1's listNs does not count sandboxes: deleting the namespace's bucket drops them.
    delete state.sandboxes[name]
    this.core.changed(['namespaces', name], ['leases', name], ['sandboxes', name])
    this.core.emit(name, '/namespaces/delete', 'containerd.events.NamespaceDelete', { name })
  }
}
