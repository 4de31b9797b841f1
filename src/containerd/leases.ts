// Leases service: holds on content, ingests, images and snapshots. Deleting a lease, or a
// resource from one, lets the garbage collector take what nothing else holds.
import type { Lease } from '../generated/containerd/services/leases/v1/Lease.js'
import type { LeasesHandlers } from '../generated/containerd/services/leases/v1/Leases.js'
import type { LeaseInfo } from '../model/metadata/leases.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import { namespaceOf } from './context.js'
import { timestamp } from './convert.js'
import { mapField, parseFilters } from './filters.js'

const toLease = (l: LeaseInfo): Lease => ({ id: l.id, created_at: timestamp(l.createdAt), labels: l.labels })

export function leasesService(node: Node): Implementation<LeasesHandlers> {
  const leases = node.leases
  return {
    Create: (req, ctx) => ({ lease: toLease(leases.create(namespaceOf(ctx), req.id, req.labels)) }),
    Delete: (req, ctx) => {
      leases.delete(namespaceOf(ctx), req.id)
      // containerd collects at once when asked to (sync) and soon after otherwise; here always at once.
      node.gc()
      return {}
    },
    List: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const match = parseFilters(req.filters)
      const adaptor = (l: LeaseInfo) => (path: string[]) =>
        path[0] === 'id' ? l.id || undefined : path[0] === 'labels' ? mapField(path.slice(1), l.labels) : undefined
      return {
        leases: leases
          .list(namespace)
          .filter((l) => match(adaptor(l)))
          .map(toLease),
      }
    },
    AddResource: (req, ctx) => {
      leases.addResource(namespaceOf(ctx), req.id, { id: req.resource?.id ?? '', type: req.resource?.type ?? '' })
      return {}
    },
    DeleteResource: (req, ctx) => {
      leases.deleteResource(namespaceOf(ctx), req.id, { id: req.resource?.id ?? '', type: req.resource?.type ?? '' })
      node.gc()
      return {}
    },
    ListResources: (req, ctx) => ({ resources: leases.resources(namespaceOf(ctx), req.id) }),
  }
}
