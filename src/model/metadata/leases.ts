// Leases: named holds on content, ingests, images and snapshots that keep them from garbage
// collection while a client works (ctr holds one around every pull, import and create). What a
// call creates under a lease (the containerd-lease metadata) is added to it by holdResource.
import { randomBytes } from 'node:crypto'
import type { LeaseRecord, NodeState, StatePath } from '../../store/schema.js'
import type { Core } from '../core.js'
import { RuntimeError, invalidArgument } from '../errors.js'
import { nowNs, nowString } from '../time.js'
import { own, ownTable } from '../own.js'

export interface LeaseInfo extends LeaseRecord {
  id: string
}

export interface LeaseResource {
  id: string
  type: string
}

export class Leases {
  constructor(private readonly core: Core) {}

  list(namespace: string): LeaseInfo[] {
    return Object.entries(own(this.core.state.leases, namespace) ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, r]) => ({ id, ...r }))
  }

  get(namespace: string, id: string): LeaseInfo {
    const r = own(own(this.core.state.leases, namespace), id)
    if (!r) throw new RuntimeError('NotFound', `lease ${JSON.stringify(id)}: not found`)
    return { id, ...r }
  }

  /** Creates a lease; without an id, a random one as containerd's leases.WithRandomID makes. */
  create(namespace: string, id: string, labels: Record<string, string>): LeaseInfo {
    const leaseId = id || randomLeaseId()
    this.core.ensureNamespace(namespace)
    const byNs = ownTable(this.core.state.leases, namespace)
    if (own(byNs, leaseId)) throw new RuntimeError('AlreadyExists', `lease ${JSON.stringify(leaseId)}: already exists`)
    const kept = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ''))
    byNs[leaseId] = { labels: kept, createdAt: nowString(), resources: [] }
    this.core.changed(['leases', namespace, leaseId])
    return { id: leaseId, ...(byNs[leaseId] as LeaseRecord) }
  }

  /** Deletes a lease; what it alone held is then garbage (the caller runs the collector). */
  delete(namespace: string, id: string): void {
    this.get(namespace, id)
    delete this.core.state.leases[namespace]![id]
    this.core.changed(['leases', namespace, id])
  }

  addResource(namespace: string, id: string, resource: LeaseResource): void {
    const lease = this.#lease(namespace, id)
    const r = checkResource(resource)
    if (!lease.resources.some((x) => x.id === r.id && x.type === r.type)) lease.resources.push(r)
    this.core.changed(['leases', namespace, id])
  }

  /**
   * holdResource for a workflow of the model's own (an import): adds what it created to its lease and
   * records the lease as changed, so that the state file keeps what the lease protects from the collector.
   */
  hold(namespace: string, lease: string | undefined, resource: LeaseResource): void {
    holdResource(this.core.state, namespace, lease, resource)
    if (lease !== undefined) this.core.changed(['leases', namespace, lease])
  }

  deleteResource(namespace: string, id: string, resource: LeaseResource): void {
    const lease = this.#lease(namespace, id)
    const r = checkResource(resource)
    lease.resources = lease.resources.filter((x) => !(x.id === r.id && x.type === r.type))
    this.core.changed(['leases', namespace, id])
  }

  /** The resources, in containerd's order: content, images, ingests, then snapshots by snapshotter. */
  resources(namespace: string, id: string): LeaseResource[] {
    return this.#lease(namespace, id)
      .resources.map((r) => ({ ...r }))
      .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  #lease(namespace: string, id: string): LeaseRecord {
    const lease = own(own(this.core.state.leases, namespace), id)
    if (!lease) throw new RuntimeError('NotFound', `lease ${JSON.stringify(id)}: not found`)
    return lease
  }
}

/** containerd's leases.WithRandomID: "<nanoseconds of the second>-<3 random bytes, base64url>". */
function randomLeaseId(): string {
  return `${Number(nowNs() % 1_000_000_000n)}-${randomBytes(3).toString('base64url')}`
}

/** containerd's parseLeaseResource: the resource types a lease can hold, with their wording. */
function checkResource({ id, type }: LeaseResource): LeaseResource {
  const parts = type.split('/')
  switch (parts[0]) {
    case 'content':
    case 'ingests':
    case 'images':
      if (parts.length !== 1) throw invalidArgument(`invalid resource type ${type}: invalid argument`)
      if (parts[0] === 'content') {
        const problem = digestProblem(id)
        if (problem) throw invalidArgument(`invalid content resource id ${id}: ${problem}: invalid argument`)
      }
      return { id, type }
    case 'snapshots':
      if (parts.length !== 2) throw invalidArgument(`invalid snapshot resource type ${type}: invalid argument`)
      return { id, type }
    default:
      throw new RuntimeError('Unimplemented', `resource type ${type} not supported yet: not implemented`)
  }
}

const ALGORITHMS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 }

/** go-digest's Parse: undefined for a valid digest, else its error text. */
export function digestProblem(s: string): string | undefined {
  const i = s.indexOf(':')
  if (i <= 0 || i + 1 === s.length) return 'invalid checksum digest format'
  const algorithm = s.slice(0, i)
  const encoded = s.slice(i + 1)
  const length = ALGORITHMS[algorithm]
  if (length === undefined) {
    return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(s) ? 'unsupported digest algorithm' : 'invalid checksum digest format'
  }
  if (encoded.length !== length) return 'invalid checksum digest length'
  return /^[a-f0-9]+$/.test(encoded) ? undefined : 'invalid checksum digest format'
}

/**
 * Adds what a call created to the lease in its metadata, as containerd's add*Lease do: nothing
 * without a lease, NotFound when the lease does not exist.
 */
export function holdResource(state: NodeState, namespace: string, lease: string | undefined, resource: LeaseResource): void {
  if (lease === undefined) return
  const record = own(own(state.leases, namespace), lease)
  if (!record) throw new RuntimeError('NotFound', 'lease does not exist: not found')
  if (!record.resources.some((r) => r.id === resource.id && r.type === resource.type)) record.resources.push({ ...resource })
}

/** What holdResource and releaseResource change: the call's lease, if it has one (for the store). */
export const leasePaths = (namespace: string, lease: string | undefined): StatePath[] =>
  lease === undefined ? [] : [['leases', namespace, lease]]

/** The lease in a call's metadata must exist before the call creates anything under it. */
export function checkLease(state: NodeState, namespace: string, lease: string | undefined): void {
  if (lease !== undefined && !own(own(state.leases, namespace), lease))
    throw new RuntimeError('NotFound', 'lease does not exist: not found')
}

/** Drops a resource from the call's lease (remove*Lease): when the resource goes or is renamed. */
export function releaseResource(state: NodeState, namespace: string, lease: string | undefined, resource: LeaseResource): void {
  if (lease === undefined) return
  const record = own(own(state.leases, namespace), lease)
  if (!record) return
  record.resources = record.resources.filter((r) => !(r.id === resource.id && r.type === resource.type))
}

/** Lease labels the collector reads: an RFC 3339 expiry, and "flat" (hold the objects, not their references). */
export const LABEL_GC_EXPIRE = 'containerd.io/gc.expire'
export const LABEL_GC_FLAT = 'containerd.io/gc.flat'

/** How long a lease a workflow takes for itself lasts if nothing deletes it (client.Pull's and the transfer service's 24h). */
export const WORKFLOW_LEASE_MS = 24 * 60 * 60 * 1000

/** The labels of a lease that expires `ms` from now, as leases.WithExpiration writes them (RFC 3339, UTC). */
export function expiringIn(ms: number): Record<string, string> {
  return { [LABEL_GC_EXPIRE]: `${new Date(Date.now() + ms).toISOString().slice(0, 19)}Z` }
}

export function leaseExpired(lease: LeaseRecord, nowMs = Date.now()): boolean {
  const exp = lease.labels[LABEL_GC_EXPIRE]
  if (exp === undefined) return false
  const at = Date.parse(exp)
  return Number.isFinite(at) && nowMs > at
}
