// Diff.Apply's work, as containerd's fsApplier does it: the layer blob is read from the content
// store through its media type's stream processor, the tar stream is applied (here: indexed, and
// kept once in the layer store under its diff id), and the applied descriptor names that
// uncompressed stream. With stores of files (--state) the blob is streamed: the uncompressed tar is
// written straight to the layer store's directory and its headers read from there, so a large layer
// is never whole in memory; otherwise the bytes are in memory anyway and are used as they are.
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, createWriteStream, openSync, rmSync } from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { readAt } from '../../store/blobs.js'
import type { Content } from './content.js'
import { sha256 } from './content.js'
import { wrap } from '../errors.js'
import { MEDIA_LAYER, gzipError, indexLayer, layerCompression, readTar, uncompressedLayer, type LayerIndex } from './layers.js'
import type { SnapshotRef, Snapshots } from './snapshots.js'

export interface LayerDescriptor {
  media_type: string
  digest: string
}

export interface Applied {
  media_type: string
  digest: string
  size: number
}

interface Unpacked {
  diffId: string
  size: number
  index: LayerIndex
  /** Keeps the tar in the layer store under its diff id. */
  keep(): void
  /** Forgets it (the mounts were not one of this server's snapshots). */
  drop(): void
}

/** The blob in memory: uncompressed there, the tar's bytes kept as they are (a memory store shares them). */
function unpackBuffer(content: Content, snapshots: Snapshots, namespace: string, desc: LayerDescriptor): Unpacked {
  const blob = content.read(namespace, desc.digest, 0, 0)
  const tar = uncompressedLayer(blob, desc.media_type)
  const index = indexLayer(readTar(tar))
  const diffId = sha256(tar)
  return {
    diffId,
    size: tar.length,
    index,
    keep: () => {
      if (!snapshots.layerStore.has(diffId)) snapshots.layerStore.put(diffId, tar)
    },
    drop: () => {},
  }
}

/** The blob's file streamed through gunzip into a file of the layer store; headers read from that file. */
async function unpackFile(
  blobPath: string,
  compression: 'gzip' | 'none',
  layerFiles: NonNullable<Snapshots['layerStore']['files']>,
): Promise<Unpacked> {
  const temp = layerFiles.temp()
  const hash = createHash('sha256')
  let size = 0
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      size += chunk.length
      done(null, chunk)
    },
  })
  try {
    if (compression === 'gzip') await pipeline(createReadStream(blobPath), createGunzip(), count, createWriteStream(temp))
    else await pipeline(createReadStream(blobPath), count, createWriteStream(temp))
  } catch (err) {
    rmSync(temp, { force: true })
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('Z_')) throw gzipError(err)
    throw err
  }
  let index: LayerIndex
  const tarFd = openSync(temp, 'r')
  try {
    index = indexLayer(readTar({ size, read: (offset, length) => readAt(tarFd, offset, length) }))
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  } finally {
    closeSync(tarFd)
  }
  const diffId = `sha256:${hash.digest('hex')}`
  return { diffId, size, index, keep: () => layerFiles.adopt(diffId, temp), drop: () => rmSync(temp, { force: true }) }
}

/**
 * Applies a layer blob to the snapshot `target` names (when it is an active one): its index is
 * recorded there and its tar kept. Returns the applied descriptor (the uncompressed stream).
 */
export async function applyLayer(
  content: Content,
  snapshots: Snapshots,
  namespace: string,
  desc: LayerDescriptor,
  target: SnapshotRef | undefined,
): Promise<Applied> {
  try {
    content.info(namespace, desc.digest)
  } catch (err) {
    throw wrap(err, 'failed to get reader from content store')
  }
  const blobFiles = content.blobs.files
  const layerFiles = snapshots.layerStore.files
  const unpacked =
    blobFiles && layerFiles
      ? await unpackFile(blobFiles.path(desc.digest), layerCompression(content.blobs.read(desc.digest, 0, 4), desc.media_type), layerFiles)
      : unpackBuffer(content, snapshots, namespace, desc)
  const active = target && snapshots.kindOf(target.snapshotter, target.namespace, target.key) === 'active' ? target : undefined
  if (active) {
    unpacked.keep()
    snapshots.recordLayer(
      active.snapshotter,
      active.namespace,
      active.key,
      { tar: unpacked.diffId, entries: unpacked.index.entries },
      unpacked.index.bytes,
    )
  } else unpacked.drop()
  return { media_type: MEDIA_LAYER, digest: unpacked.diffId, size: unpacked.size }
}
