// A push to a real registry, as containerd's remotes.PushContent over the docker pusher does it
// (core/remotes/handlers.go, core/remotes/docker/pusher.go, 2.1): the image's blobs are read from
// the content store and sent configs and layers first, then the manifests, then the indexes, each
// blob once; a blob the registry has already (HEAD) is not sent again; manifests and indexes are put
// under the reference's tag (getManifestPath), or their digest. An index's manifests of platforms
// the caller did not ask for are left out (platforms.Any), none asked for is every platform.
import { Repository, type Descriptor } from '../../registry/client.js'
import { RegistryError } from '../../registry/errors.js'
import type { Credentials } from '../../registry/auth.js'
import { RuntimeError } from '../errors.js'
import { isIndex, isManifest } from '../media-types.js'
import type { ImageReference } from '../reference.js'
import type { Content } from './content.js'
import { checkDescriptor, inBatches, resolverHosts, type BlobEvent, type Platform } from './registry-pull.js'

export interface RegistryPushOptions {
  namespace: string
  /** Asked for a host's credentials when it challenges (a Transfer client's auth stream). */
  credentials?: Credentials
  /** --registry-config-path, or the resolver's host_dir: containerd's hosts directory (hosts.toml). */
  configPath?: string
  defaultScheme?: 'http' | 'https'
  headers?: Record<string, string>
  /** The tag of a "name:tag@digest" reference: the target goes under it when the digest is the target's. */
  tag?: string
  /** The platforms of an index to push; none: all. */
  platforms?: Platform[]
  signal?: AbortSignal
  userAgent: string
  /** Each blob as containerd's push progress tracker sees it. */
  onBlob?: (event: BlobEvent) => void
}

/** How many blobs go up at once (containerd's max_concurrent_uploaded_layers default). */
const CONCURRENT_UPLOADS = 3

const platformMatches = (want: Platform, p: Descriptor['platform']): boolean =>
  p?.os === want.os && p.architecture === want.architecture && (!want.variant || !p.variant || p.variant === want.variant)

/**
 * Where a manifest goes (pusher.go getManifestPath): under the reference's tag (every manifest of
 * the push, as containerd does: the index put last leaves the tag on it); under its digest when the
 * reference names a digest, unless it is that digest and the reference has a tag too ("name:tag@digest").
 */
function manifestPath(ref: ImageReference, tagged: string | undefined, desc: Descriptor): string {
  if (ref.digest) return tagged !== undefined && ref.digest === desc.digest ? tagged : desc.digest
  return ref.tag ?? desc.digest
}

/**
 * Pushes `target` (an image's manifest or index, with everything it names) to `ref`'s repository,
 * in remotes.PushContent's order: every other blob while the tree is walked, then the manifests,
 * then the indexes, innermost first. The first failure aborts every request still running or queued.
 */
export async function push(content: Content, ref: ImageReference, target: Descriptor, options: RegistryPushOptions): Promise<void> {
  const ns = options.namespace
  const domain = ref.repository.split('/')[0] as string
  // Ends with the push: a failure (or the caller's cancel) stops the other uploads, none outlives the call.
  const controller = new AbortController()
  const onAbort = (): void => controller.abort()
  options.signal?.addEventListener('abort', onAbort)
  if (options.signal?.aborted) controller.abort()
  const repo = new Repository(domain, ref.repository, {
    hosts: resolverHosts(domain, options),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    signal: controller.signal,
    userAgent: options.userAgent,
  })

  const bytesOf = (desc: Descriptor): Buffer => {
    const data = content.read(ns, desc.digest, 0, 0)
    if (data.length !== desc.size) {
      throw new RuntimeError('FailedPrecondition', `content ${desc.digest} has ${data.length} bytes, its descriptor says ${desc.size}`)
    }
    return data
  }

  const children = (desc: Descriptor, data: Buffer): Descriptor[] => {
    let blob: { manifests?: unknown[]; config?: unknown; layers?: unknown[] }
    try {
      blob = JSON.parse(data.toString('utf8')) as typeof blob
    } catch (err) {
      throw new RuntimeError('Unknown', `blob ${desc.digest} is not JSON: ${(err as Error).message}`)
    }
    if (isIndex(desc.mediaType)) {
      const all = (blob.manifests ?? []).map((m) => checkDescriptor(m, 'manifest'))
      const wanted = options.platforms ?? []
      return wanted.length === 0 ? all : all.filter((m) => !m.platform || wanted.some((p) => platformMatches(p, m.platform)))
    }
    if (!blob.config) throw new RuntimeError('Unknown', `manifest ${desc.digest} has no config`)
    return [checkDescriptor(blob.config, 'config'), ...(blob.layers ?? []).map((l) => checkDescriptor(l, 'layer'))]
  }

  interface Item {
    desc: Descriptor
    parent: Descriptor | undefined
    data: Buffer
  }
  // The tree, each blob once: plain blobs, manifests, indexes in the order they were seen.
  const seen = new Set<string>()
  const blobs: Item[] = []
  const manifests: Item[] = []
  const indexes: Item[] = []
  const walk = (desc: Descriptor, parent: Descriptor | undefined, depth: number): void => {
    if (seen.has(desc.digest)) return
    if (depth > 8) throw new RuntimeError('Unknown', `index ${desc.digest} nests too deep`)
    seen.add(desc.digest)
    options.onBlob?.({ state: 'waiting', desc, ...(parent ? { parent } : {}), offset: 0 })
    const data = bytesOf(desc)
    const item = { desc, parent, data }
    if (!isIndex(desc.mediaType) && !isManifest(desc.mediaType)) {
      blobs.push(item)
      return
    }
    ;(isIndex(desc.mediaType) ? indexes : manifests).push(item)
    for (const c of children(desc, data)) walk(c, desc, depth + 1)
  }

  /** One blob: nothing when the registry has it already. */
  const send = async ({ desc, parent, data }: Item): Promise<void> => {
    if (controller.signal.aborted) throw new RegistryError('Cancelled', 'context canceled')
    const manifest = isIndex(desc.mediaType) || isManifest(desc.mediaType)
    const path = manifest ? manifestPath(ref, options.tag, desc) : desc.digest
    const under = path === desc.digest ? undefined : path
    if (await repo.exists(desc, under)) {
      options.onBlob?.({ state: 'already exists', desc, ...(parent ? { parent } : {}), offset: desc.size })
      return
    }
    if (manifest) await repo.putManifest(desc, data, under)
    else await repo.upload(desc, data)
    options.onBlob?.({ state: 'complete', desc, ...(parent ? { parent } : {}), offset: desc.size })
  }
  const sendAll = (items: readonly Item[]): Promise<void> =>
    inBatches(items, CONCURRENT_UPLOADS, async (item) => {
      try {
        await send(item)
      } catch (err) {
        controller.abort()
        throw err
      }
    })

  try {
    walk(target, undefined, 0)
    await sendAll(blobs)
    await sendAll(manifests)
    for (const index of indexes.reverse()) await send(index)
  } catch (err) {
    controller.abort()
    if (err instanceof RegistryError) {
      if (err.kind === 'Cancelled') throw new RuntimeError('Canceled', 'context canceled')
      throw new RuntimeError(err.kind === 'NotFound' || err.kind === 'FailedPrecondition' ? err.kind : 'Unknown', err.message)
    }
    throw err
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
}
