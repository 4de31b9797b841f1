// The OCI and Docker media types the node reads and writes, once: the image store, the registry
// client, archive import and export all tell an index from a manifest by these.

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const

/** An OCI index or a Docker manifest list. */
export const isIndex = (mediaType: string): boolean => mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList
/** An OCI or Docker schema 2 image manifest. */
export const isManifest = (mediaType: string): boolean => mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest
/** An image config (images.IsConfigType): the only configs containerd's unpacker reads, and all_metadata fetches. */
export const isConfig = (mediaType: string): boolean => mediaType === MEDIA.ociConfig || mediaType === MEDIA.dockerConfig
