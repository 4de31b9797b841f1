// Image archives as containerd's core/images/archive reads and writes them: an OCI image layout
// (oci-layout, index.json, blobs/) or a Docker archive (manifest.json naming config and layer files),
// read into the content store; and the export tar (OCI layout plus Docker's manifest.json), its
// records sorted by name as containerd writes them, so the same images export to the same bytes.
import { RuntimeError, invalidArgument } from '../errors.js'
import type { Content } from '../metadata/content.js'
import { MEDIA } from '../metadata/image-content.js'
import { readTar } from '../metadata/layers.js'
import { parseReference } from '../reference.js'
import { goJsonKind } from '../../go-json.js'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: Platform
}

export interface Platform {
  architecture: string
  os: string
  'os.version'?: string
  variant?: string
}

const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name'
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name'

/** The blobs a write puts in the content store, so the caller can hold them (a lease). */
export type BlobWriter = (data: Buffer) => string

/**
 * Reads an archive into the content store (every regular file but oci-layout and manifest.json is a
 * blob, as containerd ingests them) and returns the descriptor of its index: index.json for an OCI
 * layout, or an index written for a Docker archive's manifests (one entry per repo tag).
 */
export function importArchive(bytes: Buffer, write: BlobWriter, read: (digest: string) => Buffer): Descriptor {
  let layout: { imageLayoutVersion?: string } | undefined
  let dockerManifests: DockerManifest[] | undefined
  const blobs = new Map<string, { digest: string; size: number }>()
  const symlinks = new Map<string, string>()
  // A stream that is not a tar fails in Go's archive/tar words, as containerd's importer reports it.
  for (const e of readTar(bytes)) {
    const name = e.path.slice(1)
    if (e.type === 'symlink') symlinks.set(name, joinPath(dirname(name), e.linkname))
    if (e.type !== 'file') continue
    const data = bytes.subarray(e.offset, e.offset + e.size)
    if (name === 'oci-layout') layout = json(data, `untar oci layout "${name}"`) as typeof layout
    else if (name === 'manifest.json') dockerManifests = dockerManifestsOf(json(data, `untar manifest "${name}"`), name)
    else blobs.set(name, { digest: write(Buffer.from(data)), size: e.size })
  }
  if (layout?.imageLayoutVersion) {
    if (layout.imageLayoutVersion !== '1.0.0') throw new RuntimeError('Unknown', `unsupported OCI version ${layout.imageLayoutVersion}`)
    const index = blobs.get('index.json')
    if (!index) throw new RuntimeError('Unknown', 'missing index.json in OCI layout 1.0.0')
    return { mediaType: MEDIA.ociIndex, ...index }
  }
  if (!dockerManifests) throw new RuntimeError('Unknown', 'unrecognized image format')
  for (const [name, target] of symlinks) {
    const desc = blobs.get(target)
    if (!desc) throw new RuntimeError('Unknown', `no target for symlink layer from "${name}" to "${target}"`)
    blobs.set(name, desc)
  }
  const manifests: Descriptor[] = []
  for (const m of dockerManifests) {
    const config = blobs.get(m.Config)
    if (!config) throw new RuntimeError('Unknown', `image config "${m.Config}" not found`)
    const layers = m.Layers.map((f) => {
      const desc = blobs.get(f)
      if (!desc) throw new RuntimeError('Unknown', `failed to resolve layers: layer "${f}" not found`)
      const head = read(desc.digest).subarray(0, 2)
      const gzip = head[0] === 0x1f && head[1] === 0x8b
      return { mediaType: gzip ? DOCKER_LAYER_GZIP : DOCKER_LAYER, digest: desc.digest, size: desc.size }
    })
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: { mediaType: DOCKER_CONFIG, ...config }, layers }),
    )
    const desc: Descriptor = { mediaType: MEDIA.dockerManifest, digest: write(manifest), size: manifest.length }
    const platform = configPlatform(read(config.digest))
    if (platform) desc.platform = platform
    const tags = m.RepoTags ?? []
    if (tags.length === 0) manifests.push(desc)
    for (const tag of tags) {
      const normalized = parseReference(tag).normalized
      manifests.push({ ...desc, annotations: { [ANNOTATION_IMAGE_NAME]: normalized, [ANNOTATION_REF_NAME]: ociReferenceName(normalized) } })
    }
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: manifests.map(goDescriptor) }))
  return { mediaType: MEDIA.ociIndex, digest: write(index), size: index.length }
}

type DockerManifest = { Config: string; RepoTags?: string[] | null; Layers: string[] }
const GO_ENTRY = 'struct { Config string; RepoTags []string; Layers []string }'

/**
 * manifest.json as Go's json.Unmarshal reads it into containerd's []struct{Config; RepoTags; Layers}: null
 * (or a missing field) is the zero value, any other shape fails in Go's words.
 */
function dockerManifestsOf(v: unknown, name: string): DockerManifest[] | undefined {
  const fail = (detail: string): RuntimeError => new RuntimeError('Unknown', `untar manifest "${name}": json: ${detail}`)
  const strings = (x: unknown, field: string): string[] => {
    if (x === null || x === undefined) return []
    if (!Array.isArray(x)) throw fail(`cannot unmarshal ${goJsonKind(x)} into Go struct field .${field} of type []string`)
    return x.map((e) => {
      if (e === null) return ''
      if (typeof e !== 'string') throw fail(`cannot unmarshal ${goJsonKind(e)} into Go struct field .${field} of type string`)
      return e
    })
  }
  if (v === null) return undefined
  if (!Array.isArray(v)) throw fail(`cannot unmarshal ${goJsonKind(v)} into Go value of type []${GO_ENTRY}`)
  return v.map((e: unknown) => {
    if (e === null) return { Config: '', RepoTags: [], Layers: [] }
    if (typeof e !== 'object' || Array.isArray(e)) throw fail(`cannot unmarshal ${goJsonKind(e)} into Go value of type ${GO_ENTRY}`)
    const o = e as Record<string, unknown>
    if (o.Config !== undefined && o.Config !== null && typeof o.Config !== 'string') {
      throw fail(`cannot unmarshal ${goJsonKind(o.Config)} into Go struct field .Config of type string`)
    }
    return {
      Config: (o.Config as string | null | undefined) ?? '',
      RepoTags: strings(o.RepoTags, 'RepoTags'),
      Layers: strings(o.Layers, 'Layers'),
    }
  })
}

/** The platform an image config names, if it names one. */
export function configPlatform(config: Buffer): Platform | undefined {
  try {
    const c = JSON.parse(config.toString('utf8')) as Record<string, unknown>
    if (typeof c.os !== 'string' || c.os === '') return undefined
    const p: Platform = { architecture: String(c.architecture ?? ''), os: c.os }
    if (typeof c['os.version'] === 'string' && c['os.version']) p['os.version'] = c['os.version']
    if (typeof c.variant === 'string' && c.variant) p.variant = c.variant
    return p
  } catch {
    return undefined
  }
}

/** OCI's ref name: the tag (or digest) of a full reference, as containerd's ociReferenceName gives it. */
export function ociReferenceName(name: string): string {
  const at = name.indexOf('@')
  if (at >= 0) return name.slice(at + 1)
  const colon = name.lastIndexOf(':')
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : name
}

/** A descriptor with its fields in the order Go's encoding/json writes them. */
export function goDescriptor(d: Descriptor): Record<string, unknown> {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.annotations && Object.keys(d.annotations).length ? { annotations: sortedObject(d.annotations) } : {}),
    ...(d.platform ? { platform: d.platform } : {}),
  }
}

const sortedObject = (o: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

function json(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'))
  } catch (err) {
    throw invalidArgument(`${what}: ${(err as Error).message}`)
  }
}

const dirname = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.')

function joinPath(dir: string, rel: string): string {
  const parts: string[] = []
  for (const part of `${dir}/${rel}`.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return parts.join('/')
}

// Export ---------------------------------------------------------------------------------------

interface TarRecord {
  name: string
  mode: number
  dir?: boolean
  data?: Buffer
}

/** What an export writes: the image manifests (named), and for Docker's manifest.json each one's names. */
export interface ExportPlan {
  /** The descriptors index.json lists (the images' targets, with their names annotated). */
  manifests: Descriptor[]
  /** Every blob to write (digests), walked from the targets. */
  blobs: string[]
  /** Docker's manifest.json entries: a manifest digest and the names it carries. */
  docker: { manifest: string; names: string[] }[]
}

/** The export tar of a plan: oci-layout, index.json, manifest.json and blobs/, sorted by name. */
export function exportArchive(content: Content, namespace: string, plan: ExportPlan): Buffer {
  const records: TarRecord[] = [{ name: 'oci-layout', mode: 0o444, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') }]
  for (const digest of plan.blobs)
    records.push({ name: `blobs/sha256/${digest.slice(7)}`, mode: 0o444, data: content.read(namespace, digest, 0, 0) })
  records.push({
    name: 'index.json',
    mode: 0o644,
    data: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: plan.manifests.map(goDescriptor) })),
  })
  if (plan.docker.length > 0) {
    const entries = plan.docker.map(({ manifest, names }) => {
      const m = JSON.parse(content.read(namespace, manifest, 0, 0).toString('utf8')) as {
        config: { digest: string }
        layers?: { digest: string }[]
      }
      const blobPath = (d: string): string => `blobs/sha256/${d.slice(7)}`
      return {
        Config: blobPath(m.config.digest),
        RepoTags: names.length ? names.map(familiar) : null,
        Layers: (m.layers ?? []).map((l) => blobPath(l.digest)),
      }
    })
    records.push({ name: 'manifest.json', mode: 0o644, data: Buffer.from(JSON.stringify(entries)) })
  }
  if (plan.blobs.length > 0) records.push({ name: 'blobs/', mode: 0o755, dir: true }, { name: 'blobs/sha256/', mode: 0o755, dir: true })
  records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const out: Buffer[] = []
  let last = ''
  for (const r of records) {
    if (r.name === last) continue
    last = r.name
    out.push(ustarHeader(r), ...(r.data ? [r.data, Buffer.alloc((512 - (r.data.length % 512)) % 512)] : []))
  }
  out.push(Buffer.alloc(1024))
  return Buffer.concat(out)
}

/** Docker's familiar form of a name with a tag: docker.io/library/x:1 → x:1. */
function familiar(name: string): string {
  const ref = parseReference(name)
  let repo = ref.repository
  if (repo.startsWith('docker.io/library/')) repo = repo.slice('docker.io/library/'.length)
  else if (repo.startsWith('docker.io/')) repo = repo.slice('docker.io/'.length)
  if (ref.digest && !ref.tag) return `${repo}@${ref.digest}`
  return `${repo}:${ref.tag ?? 'latest'}`
}

/** A USTAR header as Go's archive/tar writes one for a name, mode, size and type (no owner, time 0). */
function ustarHeader(r: TarRecord): Buffer {
  const h = Buffer.alloc(512)
  const octal = (value: number, at: number, width: number): void =>
    void h.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, 'latin1')
  h.write(r.name, 0, 100, 'utf8')
  octal(r.mode, 100, 8)
  octal(0, 108, 8)
  octal(0, 116, 8)
  octal(r.data?.length ?? 0, 124, 12)
  octal(0, 136, 12)
  h.write(r.dir ? '5' : '0', 156, 'latin1')
  h.write('ustar\x0000', 257, 'latin1')
  octal(0, 329, 8)
  octal(0, 337, 8)
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  return h
}
