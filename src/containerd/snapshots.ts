// Snapshots service: every request names a snapshotter ("overlayfs" or "native"); the namespace
// comes from the call, and a lease in the call holds what it creates.
import type { Info } from '../generated/containerd/services/snapshots/v1/Info.js'
import type { SnapshotsHandlers } from '../generated/containerd/services/snapshots/v1/Snapshots.js'
import type { Node } from '../model/node.js'
import type { SnapshotInfo } from '../model/metadata/snapshots.js'
import type { Implementation } from '../rpc/adapter.js'
import { leaseOf, namespaceOf } from './context.js'
import { timestamp } from './convert.js'
import { mapField, parseFilters, type Adaptor } from './filters.js'

const KINDS = { active: 'ACTIVE', view: 'VIEW', committed: 'COMMITTED' } as const
const LIST_BLOCK = 100

export function toSnapshotInfo(s: SnapshotInfo): Info {
  return {
    name: s.name,
    parent: s.parent,
    kind: KINDS[s.kind],
    created_at: timestamp(s.createdAt),
    updated_at: timestamp(s.updatedAt),
    labels: s.labels,
  }
}

/** containerd's snapshot filter fields: kind, name, parent (always present), labels.<key>. */
function adaptor(s: SnapshotInfo): Adaptor {
  return (path) => {
    switch (path[0]) {
      case 'kind':
        return s.kind
      case 'name':
        return s.name
      case 'parent':
        return s.parent
      case 'labels':
        return mapField(path.slice(1), s.labels)
    }
    return undefined
  }
}

export function snapshotsService(node: Node): Implementation<SnapshotsHandlers> {
  const snapshots = node.snapshots
  return {
    Prepare: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      const namespace = namespaceOf(ctx)
      return { mounts: snapshots.prepare(req.snapshotter, namespace, req.key, req.parent, req.labels, leaseOf(ctx)) }
    },
    View: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      const namespace = namespaceOf(ctx)
      return { mounts: snapshots.view(req.snapshotter, namespace, req.key, req.parent, req.labels, leaseOf(ctx)) }
    },
    Mounts: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      return { mounts: snapshots.mounts(req.snapshotter, namespaceOf(ctx), req.key) }
    },
    Commit: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      const namespace = namespaceOf(ctx)
      snapshots.commit(req.snapshotter, namespace, req.name, req.key, req.labels, req.parent, leaseOf(ctx))
      return {}
    },
    Remove: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      snapshots.remove(req.snapshotter, namespaceOf(ctx), req.key, leaseOf(ctx))
      node.gc()
      return {}
    },
    Stat: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      return { info: toSnapshotInfo(snapshots.stat(req.snapshotter, namespaceOf(ctx), req.key)) }
    },
    Update: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      const namespace = namespaceOf(ctx)
      const info = snapshots.update(req.snapshotter, namespace, req.info?.name ?? '', req.info?.labels ?? {}, req.update_mask?.paths ?? [])
      return { info: toSnapshotInfo(info) }
    },
    List: async (req, ctx, send) => {
      snapshots.checkSnapshotter(req.snapshotter)
      const namespace = namespaceOf(ctx)
      const match = parseFilters(req.filters)
      const infos = snapshots
        .list(req.snapshotter, namespace)
        .filter((s) => match(adaptor(s)))
        .map(toSnapshotInfo)
      for (let i = 0; i < infos.length; i += LIST_BLOCK) send({ info: infos.slice(i, i + LIST_BLOCK) })
    },
    Usage: (req, ctx) => {
      snapshots.checkSnapshotter(req.snapshotter)
      const usage = snapshots.usage(req.snapshotter, namespaceOf(ctx), req.key)
      return { size: usage.size, inodes: usage.inodes }
    },
    Cleanup: (req) => {
      snapshots.cleanup(req.snapshotter)
      return {}
    },
  }
}
