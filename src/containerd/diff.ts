// Diff service: Apply unpacks a layer blob from the content store into the snapshot its mounts
// belong to (model/metadata/unpack.ts); Diff writes a layer of the changes between two mount sets
// (model/metadata/diff.ts).
import type { DiffHandlers } from '../generated/containerd/services/diff/v1/Diff.js'
import { invalidArgument } from '../model/errors.js'
import { writeDiff } from '../model/metadata/diff.js'
import { applyLayer } from '../model/metadata/unpack.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import { leaseOf, namespaceOf } from './context.js'

export function diffService(node: Node): Implementation<DiffHandlers> {
  const { content, snapshots } = node
  return {
    Apply: async (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const desc = req.diff
      if (!desc) throw invalidArgument('diff descriptor is required: invalid argument')
      const applied = await applyLayer(content, snapshots, namespace, desc, snapshots.resolveMounts(req.mounts))
      return { applied: { ...applied, annotations: {} } }
    },

    Diff: (req, ctx) => {
      const written = writeDiff(content, namespaceOf(ctx), {
        mediaType: req.media_type,
        ref: req.ref,
        labels: req.labels,
        lease: leaseOf(ctx),
      })
      return { diff: { ...written, annotations: {} } }
    },
  }
}
