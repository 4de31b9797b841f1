// Leases: named holds on content, ingests, images and snapshots that keep them from garbage
// collection while a client works (ctr holds one around every pull, import and create).
import { randomBytes } from 'node:crypto'
import type { LeaseRecord } from '../store/schema.js'
import type { Core } from './core.js'
import { RuntimeError, invalidArgument } from './errors.js'
import { validateIdentifier, validateLabels } from './namespaces.js'
import { nowString } from './time.js'

export interface LeaseInfo extends LeaseRecord {
  id: string
}

export class Leases {
  constructor(private readonly core: Core) {}

  list(namespace: string): LeaseInfo[] {
    return Object.entries(this.core.state.leases[namespace] ?? {}).map(([id, r]) => ({ id, ...r }))
  }

  get(namespace: string, id: string): LeaseInfo {
    const r = this.core.state.leases[namespace]?.[id]
    if (!r) throw new RuntimeError('NotFound', `lease ${JSON.stringify(id)}: not found`)
    return { id, ...r }
  }

  create(namespace: string, id: string, labels: Record<string, string>): LeaseInfo {
    const leaseId = id || `${Date.now()}-${randomBytes(3).toString('hex')}`
    validateIdentifier(leaseId)
    validateLabels(labels, 'lease.Labels')
    this.core.ensureNamespace(namespace)
    const byNs = (this.core.state.leases[namespace] ??= {})
    if (byNs[leaseId]) throw new RuntimeError('AlreadyExists', `lease ${JSON.stringify(leaseId)}: already exists`)
    byNs[leaseId] = { labels: { ...labels }, createdAt: nowString(), resources: [] }
    this.core.changed()
    return { id: leaseId, ...(byNs[leaseId] as LeaseRecord) }
  }

  delete(namespace: string, id: string): void {
    this.get(namespace, id)
    delete this.core.state.leases[namespace]![id]
    this.core.changed()
  }

  addResource(namespace: string, id: string, resource: { id: string; type: string }): void {
    checkResource(resource)
    const lease = this.core.state.leases[namespace]?.[id]
    if (!lease) throw new RuntimeError('NotFound', 'lease does not exist: not found')
    if (!lease.resources.some((r) => r.id === resource.id && r.type === resource.type)) lease.resources.push({ ...resource })
    this.core.changed()
  }

  deleteResource(namespace: string, id: string, resource: { id: string; type: string }): void {
    checkResource(resource)
    const lease = this.core.state.leases[namespace]?.[id]
    if (!lease) throw new RuntimeError('NotFound', 'lease does not exist: not found')
    lease.resources = lease.resources.filter((r) => !(r.id === resource.id && r.type === resource.type))
    this.core.changed()
  }

  resources(namespace: string, id: string): { id: string; type: string }[] {
    const lease = this.core.state.leases[namespace]?.[id]
    if (!lease) throw new RuntimeError('NotFound', 'lease does not exist: not found')
    return lease.resources.map((r) => ({ ...r }))
  }
}

/** The resource types containerd's lease manager accepts. */
function checkResource({ id, type }: { id: string; type: string }): void {
  const parts = type.split('/')
  switch (parts[0]) {
    case 'content':
    case 'ingests':
    case 'images':
      if (parts.length !== 1) throw invalidArgument(`invalid resource type ${type}: invalid argument`)
      if (parts[0] === 'content' && !/^sha256:[a-f0-9]{64}$/.test(id)) {
        throw invalidArgument(`invalid content resource id ${id}: invalid checksum digest format: invalid argument`)
      }
      return
    case 'snapshots':
      if (parts.length !== 2) throw invalidArgument(`invalid snapshot resource type ${type}: invalid argument`)
      return
    default:
      throw new RuntimeError('Unimplemented', `resource type ${type} not supported yet: not implemented`)
  }
}
