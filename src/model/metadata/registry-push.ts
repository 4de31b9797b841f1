// A push to a real registry, as containerd's remotes.PushContent over the docker pusher does it
// (core/remotes/handlers.go, core/remotes/docker/pusher.go, 2.1): the image's blobs are read from
// the content store and sent children first (config and layers, then each manifest, then the index),
// each blob once; a blob the registry has already (HEAD) is not sent again; the target manifest or
// index is put under the reference's tag, every other one under its digest. An index's manifests of
// platforms the caller did not ask for are left out (platforms.Any), none asked for is every platform.
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

/** Pushes `target` (an image's manifest or index, with everything it names) to `ref`'s repository. */
export async function push(content: Content, ref: ImageReference, target: Descriptor, options: RegistryPushOptions): Promise<void> {
  const ns = options.namespace
  const domain = ref.repository.split('/')[0] as string
  const repo = new Repository(domain, ref.repository, {
    hosts: resolverHosts(domain, options),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    userAgent: options.userAgent,
  })
  // A reference by digest puts the target under its digest; a tag puts it under the tag.
  const tag = ref.digest ? undefined : ref.tag
  const sent = new Map<string, Promise<void>>()

  const bytesOf = (desc: Descriptor): Buffer => {
    const data = content.read(ns, desc.digest, 0, 0)
    if (data.length !== desc.size) {
      throw new RuntimeError('FailedPrecondition', `content ${desc.digest} has ${data.length} bytes, its descriptor says ${desc.size}`)
    }
    return data
  }

  const children = (desc: Descriptor, data: Buffer): Descriptor[] => {
    if (!isIndex(desc.mediaType) && !isManifest(desc.mediaType)) return []
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

  /** One blob and, first, everything it names. */
  const send = (desc: Descriptor, parent: Descriptor | undefined): Promise<void> => {
    let running = sent.get(desc.digest)
    if (!running) {
      running = (async () => {
        options.onBlob?.({ state: 'waiting', desc, ...(parent ? { parent } : {}), offset: 0 })
        const data = bytesOf(desc)
        await inBatches(children(desc, data), CONCURRENT_UPLOADS, (c) => send(c, desc))
        const under = desc === target ? tag : undefined
        if (await repo.exists(desc, under)) {
          options.onBlob?.({ state: 'already exists', desc, ...(parent ? { parent } : {}), offset: desc.size })
          return
        }
        if (isIndex(desc.mediaType) || isManifest(desc.mediaType)) await repo.putManifest(desc, data, under)
        else await repo.upload(desc, data)
        options.onBlob?.({ state: 'complete', desc, ...(parent ? { parent } : {}), offset: desc.size })
      })()
      sent.set(desc.digest, running)
    }
    return running
  }

  try {
    await send(target, undefined)
  } catch (err) {
    if (err instanceof RegistryError) {
      if (err.kind === 'Cancelled') throw new RuntimeError('Canceled', 'context canceled')
      throw new RuntimeError(err.kind === 'NotFound' || err.kind === 'FailedPrecondition' ? err.kind : 'Unknown', err.message)
    }
    throw err
  }
}
