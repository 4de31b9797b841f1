// The differ's side of containerd's diff service: Diff writes a layer of the changes between two
// mount sets into the content store. Nothing a simulated process writes reaches a snapshot's
// mounts, so the layer is always empty; what is real is where it goes (the ref, the lease, the
// uncompressed label) and what it answers. Apply is unpack.ts.
import { randomBytes } from 'node:crypto'
import { RuntimeError, wrap } from '../errors.js'
import { nowNs } from '../time.js'
import { sha256, type Content } from './content.js'
import { EMPTY_TAR, MEDIA_LAYER, MEDIA_LAYER_GZIP, compressLayer } from './layers.js'

const LABEL_UNCOMPRESSED = 'containerd.io/uncompressed'

/** The ref containerd's walking differ writes under when the request names none. */
const uniqueRef = (): string => `${Number(nowNs() % 1_000_000_000n)}-${randomBytes(3).toString('base64url')}`

export interface DiffRequest {
  /** The layer's media type; gzip when empty. */
  mediaType: string
  /** The content writer's ref; a unique one when empty. */
  ref: string
  labels: Record<string, string>
  lease: string | undefined
}

/** Writes the (empty) layer of changes and returns its descriptor. */
export function writeDiff(content: Content, namespace: string, req: DiffRequest): { media_type: string; digest: string; size: number } {
  const mediaType = req.mediaType || MEDIA_LAYER_GZIP
  const blob = compressLayer(EMPTY_TAR, mediaType)
  const labels: Record<string, string> = { ...req.labels }
  if (mediaType !== MEDIA_LAYER) labels[LABEL_UNCOMPRESSED] = sha256(EMPTY_TAR)
  const digest = sha256(blob)
  let ingest
  try {
    ingest = content.openWriter(namespace, req.ref || uniqueRef(), 0, '', req.lease)
  } catch (err) {
    throw wrap(err, 'failed to open writer')
  }
  try {
    if (req.ref) content.truncate(ingest, 0)
    content.append(ingest, blob)
    content.commit(ingest, 0, digest, labels, req.lease)
  } catch (err) {
    if (!(err instanceof RuntimeError && err.kind === 'AlreadyExists')) throw wrap(err, 'failed to commit')
  } finally {
    content.release(ingest)
  }
  const info = content.info(namespace, digest)
  if (info.labels[LABEL_UNCOMPRESSED] === undefined && labels[LABEL_UNCOMPRESSED] !== undefined) {
    content.update(namespace, digest, labels, [`labels.${LABEL_UNCOMPRESSED}`])
  }
  return { media_type: mediaType, digest, size: info.size }
}
