// What an image is made of in the content store: an (optional) index, a manifest, a config and
// layers. A catalog pull writes the manifest and config the fake registry serves; an image that
// arrives through containerd's API (ctr import) is read back from its blobs to learn its config.
import type { CatalogEntry } from '../../images/catalog.js'
import type { ImageConfig, ImageContent } from '../../store/schema.js'
import type { Content } from './content.js'
import { sha256 } from './content.js'

import { MEDIA, isIndex } from '../media-types.js'

export { MEDIA }

/** The diff id (digest of the uncompressed layer) a catalog image's one layer is said to have. */
export const catalogDiffId = (entry: CatalogEntry): string => sha256(`fake-containerd diff ${entry.configDigest}`)

/** containerd's chain id of a list of diff ids: ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)). */
export function chainId(diffIds: readonly string[]): string {
  let chain = ''
  for (const diff of diffIds) chain = chain === '' ? diff : sha256(`${chain} ${diff}`)
  return chain
}

/** The chain id of an image's layers, read from its config blob; "" when that is not stored. */
export function imageChainId(content: Content, namespace: string, configDigest: string): string {
  if (!content.has(namespace, configDigest)) return ''
  // A config's bytes are its digest's: its chain id is read and hashed once (CreateContainer asks each time).
  let chain = chains.get(configDigest)
  if (chain !== undefined) return chain
  try {
    const config = JSON.parse(content.read(namespace, configDigest, 0, 0).toString('utf8')) as { rootfs?: { diff_ids?: string[] } }
    chain = chainId(config.rootfs?.diff_ids ?? [])
  } catch {
    return ''
  }
  if (chains.size >= 1024) chains.clear()
  chains.set(configDigest, chain)
  return chain
}

/** imageChainId's answers by config digest. */
const chains = new Map<string, string>()

/** The config blob an OCI image would carry for a catalog entry. */
function configJson(entry: CatalogEntry, diffId: string): Buffer {
  const c = entry.config
  return Buffer.from(
    JSON.stringify({
      architecture: entry.architecture,
      os: entry.os,
      config: {
        ...(c.user ? { User: c.user } : {}),
        Env: c.env,
        ...(c.entrypoint.length ? { Entrypoint: c.entrypoint } : {}),
        ...(c.cmd.length ? { Cmd: c.cmd } : {}),
        ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
        ...(c.exposedPorts.length ? { ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])) } : {}),
        ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
        ...(Object.keys(c.labels).length ? { Labels: c.labels } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  )
}

/**
 * Writes a catalog image's manifest and config into a namespace's content store, under the
 * digests the catalog gives (those of the real image; the fake registry does not have its exact
 * bytes). The one layer is described, sized so the image totals the catalog size, but not stored.
 * Returns the manifest descriptor, the image's target.
 */
export function storeCatalogImage(
  content: Content,
  namespace: string,
  entry: CatalogEntry,
  /** A pull's write: each blob new to the namespace is published (/content/create), the manifest before its config. */
  announce = false,
): { mediaType: string; digest: string; size: number } {
  const layerDigest = sha256(`fake-containerd layer ${entry.configDigest}`)
  const config = configJson(entry, catalogDiffId(entry))
  const manifestWithoutLayerSize = (layerSize: number): Buffer =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: entry.configDigest, size: config.length },
        layers: [{ mediaType: MEDIA.ociLayerGzip, digest: layerDigest, size: layerSize }],
      }),
    )
  const overhead = manifestWithoutLayerSize(0).length + config.length + 16
  const layerSize = Math.max(1, entry.size - overhead)
  const manifest = manifestWithoutLayerSize(layerSize)
  const write = announce ? content.create.bind(content) : content.put.bind(content)
  write(
    namespace,
    manifest,
    { 'containerd.io/gc.ref.content.config': entry.configDigest, 'containerd.io/gc.ref.content.l.0': layerDigest },
    entry.manifestDigest,
  )
  // As after containerd's unpack: the config holds the image's top snapshot against collection.
  write(namespace, config, { 'containerd.io/gc.ref.snapshot.overlayfs': catalogDiffId(entry) }, entry.configDigest)
  return { mediaType: MEDIA.ociManifest, digest: entry.manifestDigest, size: manifest.length }
}

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os?: string; architecture?: string }
}

/** Reads an image's config through its target (index → linux/amd64 manifest → config), if the blobs are there. */
export function readImageContent(
  content: Content,
  namespace: string,
  target: { mediaType: string; digest: string },
  /** The manifest an index was narrowed to (a registry pull's platform choice); else linux/amd64 or the first. */
  chosenManifest?: string,
): ImageContent | undefined {
  const blob = (digest: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(content.read(namespace, digest, 0, 0).toString('utf8')) as Record<string, unknown>
    } catch {
      return undefined
    }
  }
  // The size is containerd's Image.Size (usage.CalculateImageUsage with a manifest limit of 1): every
  // index on the way down (nested ones too) counted, at each the child LimitManifests puts first
  // (linux/amd64 before other platforms, those without a platform last), then the manifest, its
  // config and its layers, each by the size its descriptor gives.
  let at: Descriptor = { mediaType: target.mediaType, digest: target.digest, size: 0 }
  let size = 0
  for (let depth = 0; isIndex(at.mediaType); depth++) {
    const index = blob(at.digest)
    const manifests = (index?.manifests as Descriptor[] | undefined) ?? []
    const amd64 = (m: Descriptor): boolean => m.platform?.os === 'linux' && m.platform.architecture === 'amd64'
    const ordered = [
      ...manifests.filter((m) => m.platform && amd64(m)),
      ...manifests.filter((m) => m.platform && !amd64(m)),
      ...manifests.filter((m) => !m.platform),
    ]
    const pick = manifests.find((m) => m.digest === chosenManifest) ?? ordered[0]
    if (!pick && chosenManifest === undefined) return undefined
    size += content.info(namespace, at.digest).size
    if (!pick || depth > 8) {
      at = { mediaType: MEDIA.ociManifest, digest: chosenManifest as string, size: 0 }
      break
    }
    at = pick
  }
  const manifestDigest = at.digest
  const manifest = blob(manifestDigest)
  const configDesc = manifest?.config as Descriptor | undefined
  if (!manifest || !configDesc) return undefined
  const config = blob(configDesc.digest)
  if (!config) return undefined
  const layers = (manifest.layers as Descriptor[] | undefined) ?? []
  size += content.info(namespace, manifestDigest).size + configDesc.size + layers.reduce((acc, l) => acc + l.size, 0)
  const c = (config.config ?? {}) as Record<string, unknown>
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [])
  const imageConfig: ImageConfig = {
    user: typeof c.User === 'string' ? c.User : '',
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    env: strings(c.Env),
    workingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
    exposedPorts: Object.keys((c.ExposedPorts as object | undefined) ?? {}),
    stopSignal: typeof c.StopSignal === 'string' ? c.StopSignal : '',
    labels: (c.Labels as Record<string, string> | undefined) ?? {},
    volumes: Object.keys((c.Volumes as object | undefined) ?? {}),
  }
  return {
    configDigest: configDesc.digest,
    manifestDigest: target.digest,
    size,
    os: typeof config.os === 'string' ? config.os : 'linux',
    architecture: typeof config.architecture === 'string' ? config.architecture : 'amd64',
    config: imageConfig,
  }
}
