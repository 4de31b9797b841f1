// The files of an OCI image layout with one layer, as `ctr images import` reads it from a tar:
// oci-layout, index.json (naming the image) and the blobs (the gzipped layer, config, manifest).
// Plain JavaScript, so the e2e tests and the benchmarks (bench/, run without a build) share it.
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`

/**
 * An image's blobs as a registry or an archive holds them: the gzipped layers (lowest first), the
 * config naming their diff ids, and the manifest naming them all.
 * @param {Buffer[]} layerTars the layers, uncompressed
 * @param {Record<string, unknown>} config the image config's `config` (Env, Cmd, …)
 * @param {number} [level] gzip level of the layers
 */
export function imageBlobs(layerTars, config, level = 6) {
  const diffIds = layerTars.map((t) => sha256(t))
  const layers = layerTars.map((t) => gzipSync(t, { level }))
  const configBlob = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: diffIds } }),
  )
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBlob), size: configBlob.length },
      layers: layers.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(b), size: b.length })),
    }),
  )
  return { diffIds, layers, config: configBlob, manifest }
}

/**
 * @param {string} name the image name (io.containerd.image.name)
 * @param {Buffer} layerTar the layer, uncompressed
 * @param {Record<string, unknown>} config the image config's `config` (Env, Cmd, …)
 * @param {number} [level] gzip level of the layer
 * @returns {{ name: string, data: Buffer }[]}
 */
export function ociLayout(name, layerTar, config, level = 6) {
  const { layers, config: configBlob, manifest } = imageBlobs([layerTar], config, level)
  const layer = /** @type {Buffer} */ (layers[0])
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: sha256(manifest),
        size: manifest.length,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':').pop() },
      },
    ],
  }
  const blob = (data) => ({ name: `blobs/sha256/${sha256(data).slice(7)}`, data })
  return [
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    blob(layer),
    blob(configBlob),
    blob(manifest),
  ]
}
