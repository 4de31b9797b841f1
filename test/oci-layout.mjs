// The files of an OCI image layout with one layer, as `ctr images import` reads it from a tar:
// oci-layout, index.json (naming the image) and the blobs (the gzipped layer, config, manifest).
// Plain JavaScript, so the e2e tests and the benchmarks (bench/, run without a build) share it.
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`

/**
 * @param {string} name the image name (io.containerd.image.name)
 * @param {Buffer} layerTar the layer, uncompressed
 * @param {Record<string, unknown>} config the image config's `config` (Env, Cmd, …)
 * @param {number} [level] gzip level of the layer
 * @returns {{ name: string, data: Buffer }[]}
 */
export function ociLayout(name, layerTar, config, level = 6) {
  const layer = gzipSync(layerTar, { level })
  const configBlob = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] } }),
  )
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBlob), size: configBlob.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  )
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
