// Diff service: Apply unpacks a layer blob from the content store into the snapshot its mounts
// belong to: its uncompressed tar is kept once in the layer store and the snapshot records the
// layer's index (each file's attributes and where its bytes are); Diff writes a layer of the
// changes between two mount sets, which here is always empty.
import { randomBytes } from 'node:crypto'
import type { DiffHandlers } from '../generated/containerd/services/diff/v1/Diff.js'
import { sha256 } from '../model/content.js'
import { RuntimeError, invalidArgument, wrap } from '../model/errors.js'
import { EMPTY_TAR, MEDIA_LAYER, MEDIA_LAYER_GZIP, compressLayer, indexLayer, readTar, uncompressedLayer } from '../model/layers.js'
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
    Apply: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const desc = req.diff
      if (!desc) throw invalidArgument('diff descriptor is required: invalid argument')
      let blob: Buffer
      try {
        blob = content.read(namespace, desc.digest, 0, 0)
      } catch (err) {
        throw wrap(err, 'failed to get reader from content store')
      }
      let tar: Buffer | undefined = uncompressedLayer(blob, desc.media_type)
      const layer = indexLayer(readTar(tar))
      // The applied descriptor names the uncompressed stream: its digest is the layer's diff id.
      const diffId = sha256(tar)
      const size = tar.length
      const target = snapshots.resolveMounts(req.mounts)
      if (target) {
        const s = snapshots.stat(target.snapshotter, target.namespace, target.key)
        if (s.kind === 'active') {
          if (!snapshots.layerStore.has(diffId)) snapshots.layerStore.put(diffId, tar)
          snapshots.recordLayer(target.snapshotter, target.namespace, target.key, { tar: diffId, entries: layer.entries }, layer.bytes)
        }
      }
      tar = undefined
      return { applied: { media_type: MEDIA_LAYER, digest: diffId, size, annotations: {} } }
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
