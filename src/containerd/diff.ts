// Diff service: Apply unpacks a layer blob from the content store into the snapshot its mounts
// belong to (model/unpack.ts: its uncompressed tar kept once in the layer store, the snapshot
// recording the layer's index); Diff writes a layer of the changes between two mount sets, which
// here is always empty.
import { randomBytes } from 'node:crypto'
import type { DiffHandlers } from '../generated/containerd/services/diff/v1/Diff.js'
import { sha256 } from '../model/metadata/content.js'
import { RuntimeError, invalidArgument, wrap } from '../model/errors.js'
import { EMPTY_TAR, MEDIA_LAYER, MEDIA_LAYER_GZIP, compressLayer } from '../model/metadata/layers.js'
import { applyLayer } from '../model/metadata/unpack.js'
import type { Node } from '../model/node.js'
import { nowNs } from '../model/time.js'
import type { Implementation } from '../rpc/adapter.js'
import { leaseOf, namespaceOf } from './context.js'

const LABEL_UNCOMPRESSED = 'containerd.io/uncompressed'

/** The ref containerd's walking differ writes under when the request names none. */
const uniqueRef = (): string => `${Number(nowNs() % 1_000_000_000n)}-${randomBytes(3).toString('base64url')}`

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
      const namespace = namespaceOf(ctx)
      const lease = leaseOf(ctx)
      const mediaType = req.media_type || MEDIA_LAYER_GZIP
      const blob = compressLayer(EMPTY_TAR, mediaType)
      const labels: Record<string, string> = { ...req.labels }
      if (mediaType !== MEDIA_LAYER) labels[LABEL_UNCOMPRESSED] = sha256(EMPTY_TAR)
      const digest = sha256(blob)
      let ingest
      try {
        ingest = content.openWriter(namespace, req.ref || uniqueRef(), 0, '', lease)
      } catch (err) {
        throw wrap(err, 'failed to open writer')
      }
      try {
        if (req.ref) content.truncate(ingest, 0)
        content.append(ingest, blob)
        content.commit(ingest, 0, digest, labels, lease)
      } catch (err) {
        if (!(err instanceof RuntimeError && err.kind === 'AlreadyExists')) throw wrap(err, 'failed to commit')
      } finally {
        content.release(ingest)
      }
      const info = content.info(namespace, digest)
      if (info.labels[LABEL_UNCOMPRESSED] === undefined && labels[LABEL_UNCOMPRESSED] !== undefined) {
        content.update(namespace, digest, labels, [`labels.${LABEL_UNCOMPRESSED}`])
      }
      return { diff: { media_type: mediaType, digest, size: info.size, annotations: {} } }
    },
  }
}
