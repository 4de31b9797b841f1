/** An image's blobs: gzipped layers, config, manifest (see oci-layout.mjs). */
export declare function imageBlobs(
  layerTars: readonly Buffer[],
  config: Record<string, unknown>,
  level?: number,
): { diffIds: string[]; layers: Buffer[]; config: Buffer; manifest: Buffer }
/** The files of an OCI image layout with one layer (see oci-layout.mjs). */
export declare function ociLayout(
  name: string,
  layerTar: Buffer,
  config: Record<string, unknown>,
  level?: number,
): { name: string; data: Buffer }[]
