// A pull from a real registry, as containerd's client.Pull with unpack does it (pull.go,
// remotes/handlers.go, unpacker.go, 1.6.20): resolve the reference, fetch the index (choosing the
// platform's manifest), the manifest, the config and the layers into the content store — streamed,
// verified against their digests on commit, labelled for the collector as containerd labels them —
// then apply each layer onto a snapshot named by its chain id. A stall longer than the progress
// timeout or the caller's signal aborts every request. The pull runs under a lease (client.Pull's
// WithLease, 24h expiry) that holds every blob, ingest and snapshot it uses, so a collection during
// the pull takes none of them; the caller deletes the lease once the image record roots the content,
// and on failure the pull deletes it and the collector takes what nothing else holds, so nothing is
// left half-pulled. This is the entry point other APIs (CRI, Transfer) share.
import { Repository, MAX_MANIFEST_SIZE, type Descriptor } from '../../registry/client.js'
import { RegistryError } from '../../registry/errors.js'
import { registryHosts, type RegistryHost } from '../../registry/hosts.js'
import { credentialsFrom, type AuthConfig } from '../../registry/credentials.js'
import type { Credentials } from '../../registry/auth.js'
import type { ImageReference } from '../reference.js'
import { RuntimeError, type ErrorKind } from '../errors.js'
import type { Content } from './content.js'
import { chainId } from './image-content.js'
import { MEDIA, isConfig, isIndex, isManifest } from '../media-types.js'
import { goJsonKind, goJsonSyntaxError, unpackConfigTypeError } from '../../go-json.js'
import { WORKFLOW_LEASE_MS, digestProblem, expiringIn, type Leases } from './leases.js'
import { validateLabels } from './namespaces.js'
import type { Snapshots } from './snapshots.js'
import { applyLayer } from './unpack.js'
import { ANNOTATION_REF_NAME } from '../transfer/archive.js'
import { strictMatch } from '../platform-match.js'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export interface RegistryPullOptions {
  namespace: string
  /** The snapshotter layers are unpacked into. */
  snapshotter: string
  auth?: AuthConfig
  /** Asked for a host's credentials when it challenges (a Transfer client's auth stream); overrides `auth`. */
  credentials?: Credentials
  /** RegistryResolver.default_scheme: the default host's scheme ("http" with ctr --plain-http). */
  defaultScheme?: 'http' | 'https'
  /** RegistryResolver.headers: sent with every request. */
  headers?: Record<string, string>
  /** Each blob as a transfer's progress tracker sees it (local/progress.go). */
  onBlob?: (event: BlobEvent) => void
  platform?: Platform
  /**
   * A Transfer pull's platforms: every manifest of an index for one of them is fetched (none named:
   * every platform); without it, CRI's pull fetches the one manifest of `platform`.
   */
  platforms?: Platform[]
  /**
   * ImageStore.all_metadata (ctr 2.x pulls send it unless --skip-metadata): the manifests of the
   * other platforms are fetched too, each with its config but not its layers
   * (remotes.FilterManifestByPlatformHandler).
   */
  allMetadata?: boolean
  /**
   * Whether the manifests whose layers are fetched are unpacked into `snapshotter` (default true; a
   * Transfer without unpacks: false). containerd's unpacker unpacks each config it meets with its
   * manifest's layers, so a Transfer pull of several platforms unpacks each of them.
   */
  unpack?: boolean
  /** Only images whose config names this platform exactly are unpacked (containerd 1.7's transfer unpack config). */
  unpackOnly?: { os: string; architecture: string; variant: string }
  /** Called once the reference resolved, before anything is fetched; what it throws fails the pull. */
  onResolved?: () => void
  /** --registry-config-path: containerd's hosts directory (hosts.toml). */
  configPath?: string
  /** A pull that receives no bytes for this long is cut off (image_pull_progress_timeout); 0: never. */
  progressTimeoutMs?: number
  signal?: AbortSignal
  /** What a failed resolve says first: client.Pull's `failed to resolve reference "<ref>"` unless given (Transfer's "failed to resolve image"). */
  resolveFailure?: string
  /** Sent as User-Agent, as containerd sends "containerd/<version>". */
  userAgent: string
  /** An empty Basic answer is refused (containerd 1.7 on), not left as the 401. */
  refuseEmptyBasic?: boolean
  /** Where a hosts.toml that does not decode is reported (containerd logs it and reads the directory's certificate files). */
  log?: (msg: string) => void
}

export interface PulledImage {
  /** The image's target: the index or manifest the reference resolved to. */
  target: Descriptor
  manifestDigest: string
  configDigest: string
  /** The pull's lease, still held: the caller deletes it once the image record roots the content. */
  lease: string
}

/** Where a pull's blobs and snapshots go; `inflight` shares a blob's fetch and a layer's unpack among concurrent pulls. */
export interface PullStores {
  content: Content
  snapshots: Snapshots
  leases: Leases
  /** Runs the collector (after a failed pull's lease is deleted). */
  gc(): unknown
  /**
   * Work in progress shared by concurrent pulls: blob downloads by "<namespace>/<digest>", unpacks
   * by "sn://<snapshotter>/<namespace>/<chain id>".
   */
  inflight: Map<string, Promise<void>>
}

/**
 * A blob of the pull: added (waiting, with the blob that named it), already here, bytes received
 * (downloading, at most every PROGRESS_EVERY_MS), committed (complete).
 */
export interface BlobEvent {
  state: 'waiting' | 'already exists' | 'downloading' | 'complete'
  desc: Descriptor
  /** The index or manifest that named it; none for the pull's target. */
  parent?: Descriptor
  offset: number
}

/** The Go types containerd decodes an index, a manifest and (the unpacker) a config into. */
const GO_TYPE = { index: 'v1.Index', manifest: 'v1.Manifest', config: 'unpack.unpackConfig' } as const

/** containerd's progress tracker looks at active ingests every 300ms. */
const PROGRESS_EVERY_MS = 300

const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' }

/** The hosts a pull or push tries: the resolver's default scheme on the default host, its headers on every one. */
export function resolverHosts(
  domain: string,
  options: Pick<RegistryPullOptions, 'configPath' | 'defaultScheme' | 'headers' | 'log'>,
): RegistryHost[] {
  const hostOptions = {
    ...(options.defaultScheme ? { defaultScheme: options.defaultScheme } : {}),
    ...(options.log ? { log: options.log } : {}),
  }
  return registryHosts(domain, options.configPath, hostOptions).map((h) => ({ ...h, header: { ...options.headers, ...h.header } }))
}

/** remotes.MakeRefKey: the ingest ref containerd writes a descriptor under. */
export function refKey(desc: Descriptor): string {
  // A descriptor with OCI's ref name annotation is keyed "<name>@<digest>".
  const name = desc.annotations?.[ANNOTATION_REF_NAME]
  const key = name !== undefined ? `${name}@${desc.digest}` : desc.digest
  if (isManifest(desc.mediaType)) return `manifest-${key}`
  if (isIndex(desc.mediaType)) return `index-${key}`
  if (/\.layer\.|\.rootfs\./.test(desc.mediaType)) return `layer-${key}`
  if (/config/.test(desc.mediaType)) return `config-${key}`
  return `unknown-${key}`
}

/** platforms.Only for linux/amd64 and friends: the os and architecture match, the variant when one is asked for. */
const matches = (want: Platform, p: Descriptor['platform']): boolean =>
  p?.os === want.os && p.architecture === want.architecture && (want.variant === undefined || p.variant === want.variant)

/**
 * A descriptor from a registry or a manifest, checked before anything is fetched for it: a sha256
 * digest (go-digest's wording when it is not one) and a size that is a whole number of bytes, so
 * that no copy runs on without an end. `what` names it in the error.
 */
export function checkDescriptor(desc: unknown, what: string): Descriptor {
  const d = (desc ?? {}) as Partial<Record<keyof Descriptor, unknown>>
  if (typeof d.mediaType !== 'string') throw new RuntimeError('Unknown', `invalid ${what} descriptor: no media type`)
  const digest = typeof d.digest === 'string' ? d.digest : ''
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) {
    const problem = digestProblem(digest) ?? 'unsupported digest algorithm'
    throw new RuntimeError('Unknown', `invalid ${what} descriptor: digest ${JSON.stringify(digest)}: ${problem}`)
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new RuntimeError(
      'Unknown',
      `invalid ${what} descriptor ${digest}: size ${JSON.stringify(d.size ?? null)} is not a whole number of bytes`,
    )
  }
  return desc as Descriptor
}

/**
 * SetChildrenMappedLabels with ChildGCLabels for an index's children: manifests are
 * gc.ref.content.m.<n>, anything else gc.ref.content.<n>, each counted on its own.
 */
function childGcLabels(children: readonly Descriptor[]): Record<string, string> {
  const labels: Record<string, string> = {}
  const counts = new Map<string, number>()
  for (const child of children) {
    const prefix = isManifest(child.mediaType) ? 'containerd.io/gc.ref.content.m.' : 'containerd.io/gc.ref.content.'
    const n = counts.get(prefix) ?? 0
    counts.set(prefix, n + 1)
    labels[`${prefix}${n}`] = child.digest
  }
  return labels
}

function registryKind(err: RegistryError): ErrorKind {
  if (err.kind === 'NotFound' || err.kind === 'FailedPrecondition' || err.kind === 'Unimplemented') return err.kind
  return 'Unknown'
}

/**
 * Pulls `ref` into the content store and unpacks it. Errors carry containerd's text (without the
 * CRI prefix "failed to pull and unpack image"); on failure nothing the pull added is kept.
 */
export async function pull(stores: PullStores, ref: ImageReference, options: RegistryPullOptions): Promise<PulledImage> {
  const { content } = stores
  const ns = options.namespace
  const domain = ref.repository.split('/')[0] as string
  // The hosts (and their TLS files) are read first, as the resolver's first step: a file that cannot
  // be read fails the pull before anything is held.
  let hosts: RegistryHost[]
  try {
    hosts = resolverHosts(domain, options)
  } catch (err) {
    const prefix = options.resolveFailure ?? `failed to resolve reference "${ref.normalized}"`
    throw new RuntimeError('Unknown', `${prefix}: ${(err as Error).message}`)
  }
  const controller = new AbortController()
  const onAbort = (): void => controller.abort()
  options.signal?.addEventListener('abort', onAbort)
  if (options.signal?.aborted) controller.abort()
  let stalled = false
  let watchdog: NodeJS.Timeout | undefined
  /**
   * The pull's own requests in flight. containerd's progress reporter counts a moment with none as
   * progress: a pull only waiting on another pull's download of a shared blob (or unpacking) is
   * not stalled.
   */
  let active = 0
  const progressed = (): void => {
    if (!options.progressTimeoutMs) return
    clearTimeout(watchdog)
    watchdog = setTimeout(() => {
      if (active === 0) return progressed()
      stalled = true
      controller.abort()
    }, options.progressTimeoutMs)
    watchdog.unref()
  }
  const requesting = async <T>(request: () => Promise<T>): Promise<T> => {
    active++
    try {
      return await request()
    } finally {
      active--
    }
  }
  /** Rejects when the pull is cancelled: a wait on another pull's work ends at once. */
  const cancelled = new Promise<never>((_, reject) => {
    const fail = (): void => reject(new RegistryError('Cancelled', 'context canceled'))
    if (controller.signal.aborted) fail()
    else controller.signal.addEventListener('abort', fail, { once: true })
  })
  cancelled.catch(() => undefined)
  // Everything the pull touches is held by its lease before it is fetched, found or unpacked.
  const lease = stores.leases.create(ns, '', expiringIn(WORKFLOW_LEASE_MS)).id
  const hold = (id: string, type: string): void => stores.leases.addResource(ns, lease, { id, type })
  const repo = new Repository(domain, ref.repository, {
    hosts,
    credentials: options.credentials ?? credentialsFrom(options.auth),
    signal: controller.signal,
    userAgent: options.userAgent,
    ...(options.refuseEmptyBasic === false ? { refuseEmptyBasic: false } : {}),
  })
  const sourceKey = `containerd.io/distribution.source.${sourceHost(domain)}`
  /**
   * docker.AppendDistributionSourceLabel, for every blob the pull handles (fetched or already here):
   * the repository joins the blob's sources for this host, sorted, each once; a value past the label
   * size limit is not written (containerd warns and goes on).
   */
  const sourceLabel = (digest: string): Record<string, string> => {
    const have = content.info(ns, digest).labels[sourceKey]
    const repos = [...new Set([...(have ? have.split(',') : []), repo.path])].filter((r) => r !== '').sort()
    const label = { [sourceKey]: repos.join(',') }
    try {
      validateLabels(label, 'distribution source')
    } catch {
      return {}
    }
    return label
  }

  /** Streams one blob into the content store under its ref key, verified on commit. */
  const store = async (desc: Descriptor, labels: Record<string, string>, parent?: Descriptor): Promise<void> => {
    const tell = (state: BlobEvent['state'], offset: number): void =>
      options.onBlob?.({ state, desc, ...(parent ? { parent } : {}), offset })
    tell('waiting', 0)
    // Adds labels (and the distribution source) to a blob held, keeping its others (no paths would replace them all).
    const label = (): void => {
      const all = { ...labels, ...sourceLabel(desc.digest) }
      if (Object.keys(all).length > 0)
        content.update(
          ns,
          desc.digest,
          all,
          Object.keys(all).map((k) => `labels.${k}`),
        )
    }
    hold(desc.digest, 'content')
    const key = `${ns}/${desc.digest}`
    for (;;) {
      if (content.has(ns, desc.digest)) {
        label()
        tell('already exists', desc.size)
        return
      }
      const running = stores.inflight.get(key)
      if (!running) break
      try {
        await Promise.race([running, cancelled])
      } catch (err) {
        // Another pull's download, cancelled by its own caller: this pull fetches the blob itself.
        if (err instanceof RegistryError && err.kind === 'Cancelled' && !controller.signal.aborted) continue
        throw err
      }
      if (content.has(ns, desc.digest)) {
        label()
        tell('complete', desc.size)
      }
      return
    }
    const work = requesting(async () => {
      // The writer first: when it cannot be had (the ref is locked) nothing is fetched. A resumed
      // ingest is written again from its start.
      const ingestRef = refKey(desc)
      const ingest = content.openWriter(ns, ingestRef, desc.size, '', lease)
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
      try {
        if (ingest.offset > 0) content.truncate(ingest, 0)
        reader = (await repo.fetch(desc)).getReader()
        let told = Date.now()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          progressed()
          if (options.onBlob && Date.now() - told >= PROGRESS_EVERY_MS) {
            told = Date.now()
            tell('downloading', ingest.offset + value.byteLength)
          }
          content.append(ingest, Buffer.from(value.buffer, value.byteOffset, value.byteLength))
          if (ingest.offset > desc.size) break
        }
        try {
          content.commit(ingest, desc.size, desc.digest, labels, lease)
        } catch (err) {
          throw wrapAs(err, `failed commit on ref "${ingestRef}"`)
        }
        label()
        tell('complete', desc.size)
      } catch (err) {
        try {
          content.abort(ns, ingestRef, lease)
        } catch {
          // Committed or already gone: nothing to abort.
        }
        if (err instanceof RuntimeError) throw err
        throw copyError(err, controller.signal)
      } finally {
        // Not awaited: a mocked or stalled body may never settle its cancel.
        reader?.cancel().catch(() => undefined)
      }
    })
    stores.inflight.set(key, work)
    try {
      await work
    } finally {
      stores.inflight.delete(key)
    }
  }

  /** A manifest, index or config, stored and parsed; none larger than containerd accepts for a manifest. */
  const json = async <T>(desc: Descriptor, labels: Record<string, string>, what: keyof typeof GO_TYPE, parent?: Descriptor): Promise<T> => {
    if (desc.size > MAX_MANIFEST_SIZE) {
      throw new RuntimeError('Unknown', `rejecting ${desc.size} byte ${what} ${desc.digest}: larger than ${MAX_MANIFEST_SIZE} bytes`)
    }
    await store(desc, labels, parent)
    const text = content.read(ns, desc.digest, 0, 0).toString('utf8')
    // Go's decode error, as containerd returns it (no errdefs kind: Unknown); a config's in the
    // unpacker's words. JSON null leaves Go's struct empty.
    const failed = (why: string): RuntimeError =>
      new RuntimeError('Unknown', what === 'config' ? `unmarshal image config: ${why}` : `${what} ${desc.digest}: ${why}`)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw failed(goJsonSyntaxError(text, err as Error))
    }
    if (value === null) return {} as T
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw failed(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type ${GO_TYPE[what]}`)
    }
    const typeError = what === 'config' ? unpackConfigTypeError(value as Record<string, unknown>) : undefined
    if (typeError) throw failed(typeError)
    return value as T
  }

  try {
    progressed()
    let target: Descriptor
    try {
      target = checkDescriptor(await requesting(() => repo.resolve(ref)), 'target')
    } catch (err) {
      // client.Pull's own wording (pull.go) around the resolver's.
      if (!(err instanceof RegistryError)) throw err
      const prefix = options.resolveFailure ?? `failed to resolve reference "${ref.normalized}"`
      throw new RegistryError(err.kind, `${prefix}: ${err.message}`, err.status)
    }
    // containerd 2.x reads no Docker schema 1 manifest (the transfer service's pull, which CRI uses, says so).
    if (target.mediaType === MEDIA.dockerSchema1)
      throw new RuntimeError('InvalidArgument', 'schema 1 image manifests are no longer supported: invalid argument')
    options.onResolved?.()
    const platform = options.platform ?? DEFAULT_PLATFORM
    const every = options.platforms
    /**
     * The manifests to fetch, each with the index that named it (none for the target); `metadata`:
     * one of another platform that all_metadata fetches with its config only.
     */
    const chosen: { desc: Descriptor; namedBy: Descriptor | undefined; metadata?: true }[] = []
    // An index (nested ones too) is walked as the pull's handlers do: every child labelled for the
    // collector (SetChildrenMappedLabels, before any filter), those of another platform dropped and
    // those without one kept (FilterPlatforms). CRI's pull keeps one: platform-less ones last, the
    // first taken (LimitManifests with a limit of 1); a Transfer pull keeps every one of its
    // platforms (platforms.Ordered, or platforms.All when it names none), and with all_metadata the
    // others too, marked to be fetched without their layers.
    const walk = async (desc: Descriptor, namedBy: Descriptor | undefined, depth: number): Promise<void> => {
      if (!isIndex(desc.mediaType)) {
        // …nor one an index names (the fetch handler refuses it before fetching).
        if (desc.mediaType === MEDIA.dockerSchema1) throw new RuntimeError('Unknown', `${MEDIA.dockerSchema1} not supported`)
        if (!isManifest(desc.mediaType)) {
          throw new RuntimeError('Unknown', `encountered unknown type ${desc.mediaType}; children may not be fetched`)
        }
        const metadata = every !== undefined && every.length > 0 && desc.platform && !every.some((p) => matches(p, desc.platform))
        if (!chosen.some((c) => c.desc.digest === desc.digest)) chosen.push({ desc, namedBy, ...(metadata ? { metadata } : {}) })
        return
      }
      if (depth > 8) throw new RuntimeError('Unknown', `index ${desc.digest} nests too deep`)
      const index = await json<{ manifests?: Descriptor[] }>(desc, {}, 'index', namedBy)
      if (index.manifests !== undefined && !Array.isArray(index.manifests))
        throw new RuntimeError('Unknown', `index ${desc.digest} has no manifest list`)
      const children = index.manifests ?? []
      for (const m of children) checkDescriptor(m, 'manifest')
      const childLabels = childGcLabels(children)
      if (children.length > 0)
        content.update(
          ns,
          desc.digest,
          childLabels,
          Object.keys(childLabels).map((k) => `labels.${k}`),
        )
      const platformless = (m: Descriptor): boolean => m.platform === undefined || m.platform === null
      if (every) {
        const kept = children.filter(
          (m) => options.allMetadata || platformless(m) || every.length === 0 || every.some((p) => matches(p, m.platform)),
        )
        for (const m of kept) await walk(m, desc, depth + 1)
        return
      }
      const kept = children.filter((m) => platformless(m) || matches(platform, m.platform))
      const pick = [...kept.filter((m) => m.platform), ...kept.filter((m) => !m.platform)][0]
      if (!pick) throw new RuntimeError('NotFound', 'no match for platform in manifest: not found')
      await walk(pick, desc, depth + 1)
    }
    await walk(target, undefined, 0)
    // The manifest the pull answers with: the platform's (its descriptor's platform, else the first
    // with its layers).
    const answer = chosen.find((c) => !c.metadata && matches(platform, c.desc.platform)) ?? chosen.find((c) => !c.metadata)
    let result: { manifestDigest: string; configDigest: string } | undefined
    for (const { desc: manifestDesc, namedBy, metadata } of chosen) {
      const manifest = await json<{ config?: Descriptor; layers?: Descriptor[] }>(manifestDesc, {}, 'manifest', namedBy)
      if (!manifest.config) throw new RuntimeError('Unknown', `manifest ${manifestDesc.digest} has no config`)
      checkDescriptor(manifest.config, 'config')
      if (manifest.layers !== undefined && !Array.isArray(manifest.layers))
        throw new RuntimeError('Unknown', `manifest ${manifestDesc.digest} has no layer list`)
      const layers = manifest.layers ?? []
      for (const l of layers) checkDescriptor(l, 'layer')
      const manifestLabels: Record<string, string> = { 'containerd.io/gc.ref.content.config': manifest.config.digest }
      layers.forEach((l, i) => (manifestLabels[`containerd.io/gc.ref.content.l.${i}`] = l.digest))
      content.update(
        ns,
        manifestDesc.digest,
        manifestLabels,
        Object.keys(manifestLabels).map((k) => `labels.${k}`),
      )
      // Another platform's manifest (all_metadata) passes on its config only, and only an image config
      // (FilterManifestByPlatformHandler keeps children for which images.IsConfigType holds); neither
      // it nor a config of another type (an artifact's) is read: the unpacker reads image configs only.
      if (metadata || !isConfig(manifest.config.mediaType)) {
        if (!metadata || isConfig(manifest.config.mediaType)) await store(manifest.config, {}, manifestDesc)
        if (metadata) continue
        await inBatches(layers, 3, (l) => store(l, {}, manifestDesc))
        if (manifestDesc === answer?.desc) result = { manifestDigest: manifestDesc.digest, configDigest: manifest.config.digest }
        continue
      }
      const config = await json<{ rootfs?: { diff_ids?: string[] }; os?: string; architecture?: string }>(
        manifest.config,
        {},
        'config',
        manifestDesc,
      )
      const diffIds = config.rootfs?.diff_ids ?? []
      if (diffIds.length !== layers.length) {
        throw new RuntimeError('Unknown', `number of layers and diffIDs don't match: ${layers.length} != ${diffIds.length}`)
      }
      // Layers download together, as containerd's max_concurrent_downloads allows (3 by default).
      await inBatches(layers, 3, (l) => store(l, {}, manifestDesc))
      // (1.7's unpacker reads the config's os and architecture only.)
      const unpackable = !options.unpackOnly || strictMatch(options.unpackOnly, { os: config.os, architecture: config.architecture })
      if (options.unpack !== false && layers.length > 0 && unpackable) {
        await unpack(stores, ns, options.snapshotter, layers, diffIds, lease)
        const chain = chainId(diffIds)
        content.update(ns, manifest.config.digest, { [`containerd.io/gc.ref.snapshot.${options.snapshotter}`]: chain }, [
          `labels.containerd.io/gc.ref.snapshot.${options.snapshotter}`,
        ])
      }
      if (manifestDesc === answer?.desc) result = { manifestDigest: manifestDesc.digest, configDigest: manifest.config.digest }
    }
    return { target, manifestDigest: result?.manifestDigest ?? '', configDigest: result?.configDigest ?? '', lease }
  } catch (err) {
    // Nothing half-pulled: the lease ends and the collector takes what nothing else holds (another
    // pull's lease or an image keeps what it shares with this one).
    try {
      stores.leases.delete(ns, lease)
    } catch {
      // Already gone.
    }
    stores.gc()
    // A stall past the progress timeout cancels the pull's context as a cancelled PullImage does
    // (containerd's pull progress reporter): the request or copy under way reports context canceled,
    // which is code Canceled (errgrpc's mapping of context.Canceled).
    if (err instanceof RegistryError) throw new RuntimeError(err.kind === 'Cancelled' ? 'Canceled' : registryKind(err), err.message)
    if (stalled) throw new RuntimeError('Canceled', 'context canceled')
    throw err
  } finally {
    clearTimeout(watchdog)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Unpacks layers onto snapshots named by their chain ids (containerd's unpacker), skipping those
 * already there. Unpacks of one chain id are serialised across pulls, as the unpacker's duplication
 * suppressor does (a keyed lock on "sn://<snapshotter>/<chain id>"): a pull that finds another
 * unpacking the same layer waits for it, then uses its committed snapshot (its Prepare would meet
 * the committed target: AlreadyExists, and Stat finds it), so the layer is applied once. When the
 * other's unpack fails, the waiting pull unpacks the layer itself.
 */
async function unpack(
  stores: PullStores,
  ns: string,
  snapshotter: string,
  layers: readonly Descriptor[],
  diffIds: readonly string[],
  lease: string,
): Promise<void> {
  const { snapshots } = stores
  let parent = ''
  for (let i = 0; i < layers.length; i++) {
    const chain = chainId(diffIds.slice(0, i + 1))
    const layer = layers[i] as Descriptor
    stores.leases.addResource(ns, lease, { id: chain, type: `snapshots/${snapshotter}` })
    const lock = `sn://${snapshotter}/${ns}/${chain}`
    for (let running = stores.inflight.get(lock); running; running = stores.inflight.get(lock)) {
      await running.catch(() => undefined)
    }
    // Nothing awaited between the check and taking the lock: no other pull can slip in.
    if (snapshots.kindOf(snapshotter, ns, chain) !== 'committed') {
      const work = unpackLayer(stores, ns, snapshotter, layer, diffIds[i] as string, chain, parent, lease)
      stores.inflight.set(lock, work)
      try {
        await work
      } finally {
        stores.inflight.delete(lock)
      }
    }
    parent = chain
  }
}

/** One layer applied onto a new snapshot, committed under its chain id. */
async function unpackLayer(
  stores: PullStores,
  ns: string,
  snapshotter: string,
  layer: Descriptor,
  diffId: string,
  chain: string,
  parent: string,
  lease: string,
): Promise<void> {
  const { content, snapshots } = stores
  const key = `extract-${process.hrtime.bigint()} ${chain}`
  snapshots.prepareUnmounted(snapshotter, ns, key, parent, { 'containerd.io/snapshot.ref': chain }, lease)
  try {
    const applied = await applyLayer(
      content,
      snapshots,
      ns,
      { media_type: layer.mediaType, digest: layer.digest },
      { snapshotter, namespace: ns, key },
    )
    if (applied.digest !== diffId) throw new RuntimeError('Unknown', `wrong diff id calculated on extraction "${diffId}"`)
    content.update(ns, layer.digest, { 'containerd.io/uncompressed': applied.digest }, ['labels.containerd.io/uncompressed'])
    try {
      snapshots.commit(snapshotter, ns, chain, key, { 'containerd.io/snapshot.ref': chain }, '', lease)
    } catch (err) {
      // Committed meanwhile by an unpack outside the pulls (Diff.Apply through the API): it serves.
      if (!(err instanceof RuntimeError && err.kind === 'AlreadyExists')) throw err
      snapshots.drop(snapshotter, ns, key)
    }
  } catch (err) {
    snapshots.drop(snapshotter, ns, key)
    throw err
  }
}

/**
 * The host a distribution source label is keyed by: the reference's host without its port (Go's
 * url.Hostname, as docker.AppendDistributionSourceLabel takes it), an IPv6 address without brackets.
 */
function sourceHost(domain: string): string {
  const bracketed = /^\[([^\]]*)\]/.exec(domain)
  return bracketed ? (bracketed[1] as string) : (domain.split(':')[0] as string)
}

/** Runs `run` over `items`, at most `size` at a time. */
export async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  const workers = Array.from({ length: Math.min(size, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await run(item)
  })
  await Promise.all(workers)
}

function wrapAs(err: unknown, prefix: string): RuntimeError {
  if (err instanceof RuntimeError) return new RuntimeError(err.kind, `${prefix}: ${err.message}`)
  return new RuntimeError('Unknown', `${prefix}: ${err instanceof Error ? err.message : String(err)}`)
}

/** A body that broke off mid-copy, as content.Copy reports it. */
function copyError(err: unknown, signal: AbortSignal): Error {
  if (err instanceof RegistryError) return err
  if (signal.aborted) return new RegistryError('Cancelled', 'failed to copy: context canceled')
  const message = err instanceof Error ? err.message : String(err)
  return new RegistryError(
    'Unknown',
    `failed to copy: ${/terminated|other side closed|premature close/i.test(message) ? 'unexpected EOF' : message}`,
  )
}
