/** The files of an OCI image layout with one layer (see oci-layout.mjs). */
export declare function ociLayout(
  name: string,
  layerTar: Buffer,
  config: Record<string, unknown>,
  level?: number,
): { name: string; data: Buffer }[]
