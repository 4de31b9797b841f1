// containerd 2.x's local transfer service for images (core/transfer/local): import an archive into
// the image store (content, gc labels, unpack, image records named as the ImageStore says), export
// images to an archive, and tag (image store to image store). The Transfer face decodes the request
// and carries the bytes; the work, and the progress it reports, is here.
import { randomBytes } from 'node:crypto'
import type { NodeState } from '../../store/schema.js'
import { RuntimeError, notFound } from '../errors.js'
import type { Content } from '../metadata/content.js'
import { chainId } from '../metadata/image-content.js'
import { isConfig, isIndex, isManifest } from '../media-types.js'
import type { Images } from '../metadata/images.js'
import { WORKFLOW_LEASE_MS, expiringIn, type Leases } from '../metadata/leases.js'
import type { Snapshots } from '../metadata/snapshots.js'
import { applyLayer } from '../metadata/unpack.js'
import { nowNs } from '../time.js'
import {
  configPlatform,
  exportArchive,
  importArchive,
  ociReferenceName,
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  type Descriptor,
  type Platform,
} from './archive.js'
import { strictMatch, type PlatformSpec } from '../platform-match.js'
import { goJsonKind } from '../../go-json.js'

export type { PlatformSpec }

export interface ImageReferenceSpec {
  name: string
  isPrefix: boolean
  allowOverwrite: boolean
  addDigest: boolean
  skipNamedDigest: boolean
}

/** containerd.types.transfer.ImageStore: where images go (or come from) and how they are named. */
export interface ImageStoreSpec {
  name: string
  labels: Record<string, string>
  platforms: PlatformSpec[]
  /** A pull fetches the manifests and configs of the other platforms too (not their layers). */
  allMetadata: boolean
  extraReferences: ImageReferenceSpec[]
  unpacks: { platform: PlatformSpec | undefined; snapshotter: string }[]
}

export interface ExportSpec {
  platforms: PlatformSpec[]
  allPlatforms: boolean
  skipCompatibilityManifest: boolean
}

/** One progress event, as containerd's transfer.Progress (an empty name is a status line). */
export interface ProgressEvent {
  event: string
  name?: string
  /** The names of the blobs (or the image) that named this one. */
  parents?: string[]
  progress?: number
  total?: number
  desc?: Descriptor
}

export type ProgressFn = (p: ProgressEvent) => void

export interface TransferHost {
  readonly state: NodeState
  readonly content: Content
  readonly snapshots: Snapshots
  readonly images: Images
  readonly leases: Leases
  /** Runs the collector (once an import's own lease is gone). */
  gc(): unknown
}

/**
 * What the unpacker of a transfer (pull or import) is set up with, as containerd 2.1's local transfer
 * service does with the transfer plugin's default configuration (plugins/transfer: unpack_config
 * unset is one entry, the default platform on the default snapshotter, and check_platform_supported
 * false makes its platform match every image): an ImageStore's unpacks are kept when they name that
 * snapshotter or none (getSupportedPlatform), and the unpacker then unpacks every config it meets
 * with its manifest's layers into that snapshotter, whatever platform the unpack named. None kept:
 * the unpacker cannot be made, refused once the transfer reaches it. No unpacks: none.
 */
export type Unpacker = { snapshotter: string; only?: PlatformSpec } | { refused: RuntimeError } | undefined

const TRANSFER_SNAPSHOTTER = 'overlayfs'

/**
 * `only`: containerd 1.7's unpack_config platform, matched strictly (platforms.OnlyStrict), both to
 * keep an unpack and to choose the images unpacked; none (2.x): any platform.
 */
export function unpackerOf(store: ImageStoreSpec, only?: { os: string; architecture: string }): Unpacker {
  if (store.unpacks.length === 0) return undefined
  const strict = only ? { ...only, variant: '' } : undefined
  const kept = store.unpacks.some(
    (u) =>
      (u.snapshotter === '' || u.snapshotter === TRANSFER_SNAPSHOTTER) && (!strict || strictMatch(strict, u.platform ?? DEFAULT_PLATFORM)),
  )
  if (kept) return { snapshotter: TRANSFER_SNAPSHOTTER, ...(strict ? { only: strict } : {}) }
  return { refused: new RuntimeError('InvalidArgument', 'unable to initialize unpacker: no unpack platforms defined: invalid argument') }
}

const REF_SOURCE = 'io.containerd.import.ref-source'
const LABEL_UNCOMPRESSED = 'containerd.io/uncompressed'
const DEFAULT_PLATFORM: PlatformSpec = { os: 'linux', architecture: 'amd64', variant: '' }

/** containerd's platform matcher for linux: os and architecture, and the variant when both name one. */
function matches(want: PlatformSpec, have: Platform): boolean {
  if (want.os !== have.os || want.architecture !== have.architecture) return false
  return !want.variant || !have.variant || want.variant === have.variant
}

/** How deep indexes may nest under an image (containerd has no bound; real images nest one or two levels). */
export const MAX_WALK_DEPTH = 32

const tooDeep = (): RuntimeError =>
  new RuntimeError('InvalidArgument', `image indexes are nested more than ${MAX_WALK_DEPTH} levels deep: invalid argument`)

export class ImageTransfer {
  constructor(private readonly host: TransferHost) {}

  /**
   * Transfer(ImageImportStream → ImageStore), local/import.go's importStream: imports the archive `receive` reads (the client's stream). The whole transfer runs under a lease:
   * the client's, or else one of its own until the images are stored (containerd's local transfer
   * withLease: a random id, expiring in 24 hours).
   */
  async import(
    namespace: string,
    receive: () => Promise<Buffer>,
    store: ImageStoreSpec,
    lease: string | undefined,
    progress: ProgressFn,
  ): Promise<void> {
    if (lease !== undefined) return this.#import(namespace, await receive(), store, lease, progress)
    const own = this.host.leases.create(namespace, '', expiringIn(WORKFLOW_LEASE_MS)).id
    try {
      await this.#import(namespace, await receive(), store, own, progress)
    } finally {
      this.host.leases.delete(namespace, own)
      this.host.gc()
    }
  }

  async #import(namespace: string, archive: Buffer, store: ImageStoreSpec, lease: string, progress: ProgressFn): Promise<void> {
    const { content } = this.host
    progress({ event: 'Importing' })
    const write = (data: Buffer): string => {
      const digest = content.create(namespace, data).digest
      this.host.leases.hold(namespace, lease, { id: digest, type: 'content' })
      return digest
    }
    const index = importArchive(archive, write, (d) => content.read(namespace, d, 0, 0))
    const descriptors: Descriptor[] = [index]
    const filter = store.platforms
    const unpacker = unpackerOf(store, this.host.images.registryAccess.settings.transferUnpackPlatform)
    if (unpacker && 'refused' in unpacker) throw unpacker.refused
    const manifests: Descriptor[] = []
    // Walk from the index: each parent is labelled with its children for the collector.
    // Each blob is walked once (a layout may name one child from many parents), and nesting is bounded.
    const walked = new Set<string>()
    const walk = (desc: Descriptor, depth: number): void => {
      if (walked.has(desc.digest)) return
      walked.add(desc.digest)
      if (depth > MAX_WALK_DEPTH) throw tooDeep()
      const all = this.#children(namespace, desc)
      if (desc.digest === index.digest) {
        for (const m of all) descriptors.push({ ...m, annotations: { ...m.annotations, [REF_SOURCE]: 'annotation' } })
      }
      const wanted = (p: Platform | undefined): boolean => !p || filter.length === 0 || filter.some((f) => matches(f, p))
      // With all_metadata a manifest of another platform passes on its image config only
      // (FilterManifestByPlatformHandler), so it has no layers to unpack.
      const other = store.allMetadata && isManifest(desc.mediaType) && !wanted(desc.platform)
      if (isManifest(desc.mediaType) && !other) manifests.push(desc)
      // The gc labels name every child, the platform filter only limits what is walked (containerd's
      // imagestore wraps SetChildrenMappedLabels inside FilterPlatforms or FilterManifestByPlatformHandler).
      if (all.length > 0) this.#labelChildren(namespace, desc, all)
      const children = other ? all.filter((c) => isConfig(c.mediaType)) : store.allMetadata ? all : all.filter((c) => wanted(c.platform))
      for (const c of children) walk(c, depth + 1)
    }
    walk(index, 0)
    // Every manifest walked (those the store's platforms keep) is unpacked, each of its platform.
    if (unpacker) for (const m of manifests) await this.#unpack(namespace, m, unpacker.snapshotter, unpacker.only, lease)
    for (const desc of descriptors) {
      for (const name of this.#storeNames(store, desc)) {
        const annotations = { ...desc.annotations }
        delete annotations[REF_SOURCE]
        const target = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations }
        this.#store(namespace, name, store.labels, target)
        progress({ event: 'saved', name, desc: { ...desc, annotations } })
      }
    }
    progress({ event: 'Completed import' })
  }

  /** Transfer(ImageStore → ImageExportStream): the archive of the images the store names. */
  export(namespace: string, source: ImageStoreSpec, spec: ExportSpec, progress: ProgressFn): Buffer {
    progress({ event: 'Exporting' })
    const images = this.#lookup(namespace, source)
    const platforms = spec.platforms.length > 0 ? spec.platforms : [DEFAULT_PLATFORM]
    const blobs = new Set<string>()
    // Each blob is walked once (many parents may name it), and nesting is bounded.
    const add = (desc: Descriptor, depth = 1): void => {
      if (blobs.has(desc.digest)) return
      if (depth > MAX_WALK_DEPTH) throw tooDeep()
      blobs.add(desc.digest)
      for (const c of this.#children(namespace, desc)) add(c, depth + 1)
    }
    const manifests: Descriptor[] = []
    const docker = new Map<string, string[]>()
    for (const img of images) {
      const annotations = { ...img.annotations, [ANNOTATION_IMAGE_NAME]: img.name, [ANNOTATION_REF_NAME]: ociReferenceName(img.name) }
      const desc: Descriptor = { mediaType: img.mediaType, digest: img.digest, size: img.size, annotations }
      manifests.push(desc)
      if (isManifest(desc.mediaType)) {
        add(desc)
        docker.set(desc.digest, [...(docker.get(desc.digest) ?? []), img.name])
      } else if (isIndex(desc.mediaType)) {
        blobs.add(desc.digest)
        const children = this.#children(namespace, desc)
        const matching = children.filter((m) => !m.platform || platforms.some((p) => matches(p, m.platform as Platform)))
        for (const m of spec.allPlatforms ? children : matching) add(m)
        const first = matching[0]
        if (!first) throw notFound('no manifest found for platform: not found')
        docker.set(first.digest, [...(docker.get(first.digest) ?? []), img.name])
      } else throw new RuntimeError('InvalidArgument', 'only manifests may be exported: invalid argument')
    }
    const bytes = exportArchive(this.host.content, namespace, {
      manifests,
      blobs: [...blobs],
      docker: spec.skipCompatibilityManifest ? [] : [...docker].map(([manifest, names]) => ({ manifest, names })),
    })
    progress({ event: 'Completed export' })
    return bytes
  }

  /** Transfer(ImageStore → ImageStore): the source image's target stored under the destination's names. */
  tag(namespace: string, source: ImageStoreSpec, dest: ImageStoreSpec): void {
    const img = this.host.images.record(namespace, source.name)
    const target = { mediaType: img.mediaType, digest: img.manifestDigest, size: img.size, annotations: img.annotations ?? {} }
    const names = this.#storeNames(dest, target)
    if (names.length === 0) throw notFound('no image name found: not found')
    for (const name of names) this.#store(namespace, name, dest.labels, target)
  }

  /** ImageStore.Store of one target (a pull's): the records the store names, created or updated; their names. */
  storeTarget(namespace: string, store: ImageStoreSpec, target: Descriptor): string[] {
    const names = this.#storeNames(store, target)
    if (names.length === 0) throw notFound('no image name found: not found')
    const annotations = target.annotations ?? {}
    for (const name of names) this.#store(namespace, name, store.labels, { ...target, annotations })
    return names
  }

  /** The images a store names for an export (ImageStore.Lookup). */
  #lookup(
    namespace: string,
    source: ImageStoreSpec,
  ): { name: string; mediaType: string; digest: string; size: number; annotations: Record<string, string> }[] {
    const names = source.name ? [source.name] : []
    for (const ref of source.extraReferences) {
      if (ref.isPrefix) throw new RuntimeError('Unimplemented', 'prefix lookup on export not implemented: not implemented')
      names.push(ref.name)
    }
    return names.map((name) => {
      const r = this.host.images.record(namespace, name)
      return { name, mediaType: r.mediaType, digest: r.manifestDigest, size: r.size, annotations: r.annotations ?? {} }
    })
  }

  /** The names ImageStore.Store gives a descriptor (imagestore.go). */
  #storeNames(store: ImageStoreSpec, desc: Descriptor): string[] {
    const names: string[] = []
    if (desc.annotations?.[REF_SOURCE] === 'annotation') {
      for (const ref of store.extraReferences) {
        if (!ref.isPrefix) continue
        const name = imageName(desc.annotations, refTranslator(ref.name, !ref.allowOverwrite))
        if (name === '') {
          if (ref.addDigest) names.push(`${ref.name}@${desc.digest}`)
          continue
        }
        names.push(name)
        if (ref.addDigest && !ref.skipNamedDigest) names.push(`${ref.name}@${desc.digest}`)
      }
      return names
    }
    if (store.name) names.push(store.name)
    for (const ref of store.extraReferences) if (!ref.isPrefix) names.push(ref.addDigest ? `${ref.name}@${desc.digest}` : ref.name)
    return names
  }

  /** Creates the image, or updates it when the name is taken. */
  #store(
    namespace: string,
    name: string,
    labels: Record<string, string>,
    target: { mediaType: string; digest: string; size: number; annotations: Record<string, string> },
  ): void {
    const images = this.host.images
    const input = { name, labels, target }
    if (images.records(namespace).some((r) => r.name === name)) images.updateRecord(namespace, input)
    else images.createRecord(namespace, input)
  }

  /** A descriptor's children (images.Children): an index's manifests, a manifest's config and layers. */
  #children(namespace: string, desc: Descriptor): Descriptor[] {
    if (!isIndex(desc.mediaType) && !isManifest(desc.mediaType)) return []
    const kind = isIndex(desc.mediaType) ? 'Index' : 'Manifest'
    const blob = parseBlob(this.host.content.read(namespace, desc.digest, 0, 0), desc.digest)
    if (kind === 'Index') return descriptors(blob.manifests, 'Index.manifests')
    if (blob.config === undefined || blob.config === null) {
      throw new RuntimeError('InvalidArgument', `manifest ${desc.digest} names no config: invalid argument`)
    }
    return [descriptorOf(blob.config, 'Manifest.config'), ...descriptors(blob.layers, 'Manifest.layers')]
  }

  /** images.SetChildrenMappedLabels: the gc references from a parent blob to its children. */
  #labelChildren(namespace: string, desc: Descriptor, children: Descriptor[]): void {
    const labels: Record<string, string> = {}
    if (isManifest(desc.mediaType)) {
      children.forEach(
        (c, i) => (labels[i === 0 ? 'containerd.io/gc.ref.content.config' : `containerd.io/gc.ref.content.l.${i - 1}`] = c.digest),
      )
    } else children.forEach((c, i) => (labels[`containerd.io/gc.ref.content.m.${i}`] = c.digest))
    this.host.content.update(
      namespace,
      desc.digest,
      labels,
      Object.keys(labels).map((k) => `labels.${k}`),
    )
  }

  /** Unpacks a manifest into the snapshotter: one committed snapshot per chain id. */
  async #unpack(
    namespace: string,
    manifest: Descriptor,
    snapshotter: string,
    only: PlatformSpec | undefined,
    lease: string | undefined,
  ): Promise<void> {
    const { content, snapshots } = this.host
    const [configDesc, ...layerDescs] = this.#children(namespace, manifest)
    const m = { config: configDesc as Descriptor, layers: layerDescs }
    // The unpacker starts only for an image config with layers, of a platform it unpacks (the config's own).
    if (m.layers.length === 0 || !isConfig(m.config.mediaType)) return
    const config = content.read(namespace, m.config.digest, 0, 0)
    // (1.7's unpacker reads the config's os and architecture only.)
    const own = configPlatform(config)
    if (only && !strictMatch(only, { os: own?.os, architecture: own?.architecture })) return
    const diffIds = ((JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? []) as string[]
    const layers = m.layers ?? []
    if (diffIds.length !== layers.length)
      throw new RuntimeError('Unknown', `number of layers and diffIDs don't match: ${layers.length} != ${diffIds.length}`)
    let parent = ''
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i] as Descriptor
      const chain = chainId(diffIds.slice(0, i + 1))
      if (snapshots.kindOf(snapshotter, namespace, chain) !== 'committed') {
        const key = `extract-${nowNs() % 1_000_000_000n}-${randomBytes(3).toString('base64url')} ${chain}`
        snapshots.prepareUnmounted(snapshotter, namespace, key, parent, {}, lease)
        try {
          const applied = await applyLayer(
            content,
            snapshots,
            namespace,
            { media_type: layer.mediaType, digest: layer.digest },
            { snapshotter, namespace, key },
          )
          if (applied.digest !== diffIds[i]) {
            throw new RuntimeError('Unknown', `wrong diff id calculated on extraction ${JSON.stringify(diffIds[i])}`)
          }
          snapshots.commit(snapshotter, namespace, chain, key, {}, '', lease)
        } catch (err) {
          if (snapshots.kindOf(snapshotter, namespace, key)) snapshots.remove(snapshotter, namespace, key, lease)
          throw err
        }
      }
      content.update(namespace, layer.digest, { [LABEL_UNCOMPRESSED]: diffIds[i] as string }, [`labels.${LABEL_UNCOMPRESSED}`])
      parent = chain
    }
    if (parent) {
      const label = `containerd.io/gc.ref.snapshot.${snapshotter}`
      content.update(namespace, m.config.digest, { [label]: parent }, [`labels.${label}`])
    }
  }
}

/** An index or manifest blob as JSON: an object, else an error naming the blob. */
function parseBlob(data: Buffer, digest: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(data.toString('utf8'))
  } catch (err) {
    throw new RuntimeError('Unknown', `blob ${digest} is not JSON: ${(err as Error).message}`)
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new RuntimeError(
      'Unknown',
      `blob ${digest}: json: cannot unmarshal ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v} into an index or manifest object`,
    )
  }
  return v as Record<string, unknown>
}

/** A JSON list of descriptors (null or absent is none), as Go's json.Unmarshal takes it into []v1.Descriptor. */
function descriptors(v: unknown, field: string): Descriptor[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v))
    throw new RuntimeError('Unknown', `json: cannot unmarshal ${goJsonKind(v)} into Go struct field ${field} of type []v1.Descriptor`)
  return v.map((d) => descriptorOf(d, field))
}

/** One descriptor: an object with a string mediaType and digest and a numeric size. */
function descriptorOf(v: unknown, field: string): Descriptor {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new RuntimeError('Unknown', `json: cannot unmarshal ${goJsonKind(v)} into Go struct field ${field} of type v1.Descriptor`)
  }
  const d = v as Record<string, unknown>
  for (const [key, type] of [
    ['mediaType', 'string'],
    ['digest', 'string'],
    ['size', 'number'],
  ] as const) {
    if (d[key] !== undefined && typeof d[key] !== type) {
      throw new RuntimeError(
        'Unknown',
        `json: cannot unmarshal ${goJsonKind(d[key])} into Go struct field ${field}.${key} of type ${type === 'number' ? 'int64' : 'string'}`,
      )
    }
  }
  if (typeof d.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d.digest)) {
    throw new RuntimeError(
      'InvalidArgument',
      `${field} names a descriptor without a valid digest (${JSON.stringify(d.digest ?? '')}): invalid argument`,
    )
  }
  return {
    ...(d as unknown as Descriptor),
    mediaType: (d.mediaType as string | undefined) ?? '',
    size: (d.size as number | undefined) ?? 0,
  }
}

/** archive.AddRefPrefix / FilterRefPrefix: a bare tag gets the prefix; a full reference must match it when checked. */
function refTranslator(image: string, checkPrefix: boolean): (ref: string) => string {
  return (ref) => {
    if (image === '') return ''
    if (/[/:@]/.test(ref)) {
      if (checkPrefix && !isImagePrefix(ref, image)) return ''
      return ref
    }
    return `${image}:${ref}`
  }
}

function isImagePrefix(s: string, prefix: string): boolean {
  if (!s.startsWith(prefix)) return false
  return s.length === prefix.length || '/:@'.includes(s[prefix.length] as string)
}

/** imagestore.go's imageName: containerd's full name annotation (kept only as it is), else OCI's ref name. */
function imageName(annotations: Record<string, string>, cleanup: (s: string) => string): string {
  const full = annotations[ANNOTATION_IMAGE_NAME] ?? ''
  if (full !== '') return cleanup(full) === full ? full : ''
  const ref = annotations[ANNOTATION_REF_NAME] ?? ''
  return ref === '' ? '' : cleanup(ref)
}
