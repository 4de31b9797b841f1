// The image store. containerd keeps image records (name → manifest); CRI shows one image per
// config digest, with every record naming it: tags as repo_tags, repo@digest as repo_digests, and
// the id record "sha256:<config>". Pulls "fetch" from the catalog (or synthesise, see PullPolicy).
import { createHash } from 'node:crypto'
import { catalog, findInCatalog, type CatalogEntry } from '../../images/catalog.js'
import type { ImageConfig, ImageContent, ImageRecord } from '../../store/schema.js'
import type { FaultEngine, FiredNodeFaults } from '../../faults/engine.js'
import type { Content } from './content.js'
import type { Core } from '../core.js'
import { catalogDiffId, imageChainId, readImageContent, storeCatalogImage } from './image-content.js'
import type { AuthConfig } from '../../registry/credentials.js'
import { hostDirectory } from '../../registry/hosts.js'
import { pull as registryPull, type PulledImage, type PullStores } from './registry-pull.js'
import type { Snapshots } from './snapshots.js'
import { Leases } from './leases.js'
import { validateLabels } from './namespaces.js'
import { RuntimeError, unknown, wrap } from '../errors.js'
import { isDigest, parseReference, type ImageReference } from '../reference.js'
import { nowString } from '../time.js'
import type { Logger } from '../../log.js'

export const CRI_NAMESPACE = 'k8s.io'
/** containerd's CRI unpacks images for, and gives containers snapshots from, this snapshotter. */
export const UNPACK_SNAPSHOTTER = 'overlayfs'
const IMAGE_CREATE = 'containerd.services.images.v1.ImageCreate'
const IMAGE_UPDATE = 'containerd.services.images.v1.ImageUpdate'
const IMAGE_DELETE = 'containerd.services.images.v1.ImageDelete'
export const LABEL_MANAGED = 'io.cri-containerd.image'
export const LABEL_PINNED = 'io.cri-containerd.pinned'

/**
 * any: unknown references are synthesised so demos just work; catalog: only catalog images pull;
 * registry: catalog images still come from the catalog (offline) unless their registry is configured
 * in --registry-config-path, every other reference from its registry over HTTP (registry-pull.ts),
 * and nothing is synthesised.
 */
export type PullPolicy = 'any' | 'catalog' | 'registry'

/** CRI's AuthConfig, as the face hands it over. */
export type Credentials = AuthConfig

/** How registry pulls reach registries (pull policy registry). */
export interface RegistrySettings {
  /** containerd's config_path: a hosts directory of <host>/hosts.toml files. */
  configPath?: string
  /** image_pull_progress_timeout in ms: a pull that receives nothing for this long is cut off; 0: never. */
  progressTimeoutMs: number
  /** The User-Agent sent, "containerd/<version>". */
  userAgent: string
  /** An empty Basic answer is refused ("no basic auth credentials", containerd 1.7 on); 1.6 leaves the 401. */
  refuseEmptyBasic?: boolean
  /**
   * The one platform the transfer service unpacks (1.7's default unpack_config matches only the
   * default platform, platforms.OnlyStrict); none: every platform (2.x, check_platform_supported false).
   */
  transferUnpackPlatform?: { os: string; architecture: string }
}

/** One image as CRI shows it. */
export interface ImageView {
  id: string
  repoTags: string[]
  repoDigests: string[]
  size: number
  pinned: boolean
  content: ImageContent
}

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`

/** The least time a pull takes: the registry round trips of resolving and fetching, on loopback. */
const REGISTRY_ROUND_TRIPS_MS = 3

export class Images {
  constructor(
    private readonly core: Core,
    private readonly content: Content,
    private readonly snapshots: Snapshots,
    private readonly pullPolicy: PullPolicy,
    /** References whose records are labelled pinned when pulled (the sandbox image), normalised. */
    private readonly pinnedRefs: readonly string[],
    private readonly faults: FaultEngine,
    private readonly log: Pick<Logger, 'warn'>,
    private readonly registry: RegistrySettings = { progressTimeoutMs: 5 * 60_000, userAgent: 'containerd/v1.6.20' },
  ) {}

  #generation = 0

  /**
   * Bumped at every change to the image records or their content (this class makes them all), so
   * that what is derived from an image can be kept until then (model/runtime/views.ts).
   */
  get generation(): number {
    return this.#generation
  }

  #changed(): void {
    this.#generation++
    this.core.changed(['images'], ['imageContent'])
  }

  /** Registry pulls in progress, by reference and credentials: the same image pulled at once is fetched once. */
  readonly #pulls = new Map<string, { done: Promise<PulledImage>; waiting: number; controller: AbortController }>()
  /** Blob fetches in progress, shared by concurrent pulls of images with common layers. */
  readonly #inflight = new Map<string, Promise<void>>()

  /** What pulls and pushes other than CRI's (Transfer) share with CRI's: how registries are reached, the blob fetches in flight. */
  get registryAccess(): { settings: RegistrySettings; inflight: Map<string, Promise<void>> } {
    return { settings: this.registry, inflight: this.#inflight }
  }

  /** The synthesised images warned about, by id: once each. */
  private readonly warned = new Set<string>()

  /**
   * Why an image is not what its name says, when it was synthesised (made up from a reference the
   * catalog lacks, under pull policy any); undefined for a catalog or imported image.
   */
  synthesisedNote(image: ImageView): string | undefined {
    const synthesised = [...image.repoTags, ...image.repoDigests].some((name) => {
      const ref = parseReference(name)
      return !findInCatalog(ref.repository, ref.tag, ref.digest) && synthesise(ref).configDigest === image.id
    })
    return synthesised ? SYNTHESISED_NOTE : undefined
  }

  /** All images of a namespace, grouped by config digest. */
  list(namespace = CRI_NAMESPACE): ImageView[] {
    const byId = new Map<string, ImageRecord[]>()
    for (const r of this.core.state.images) {
      if (r.namespace !== namespace || r.configDigest === '') continue
      const group = byId.get(r.configDigest)
      if (group) group.push(r)
      else byId.set(r.configDigest, [r])
    }
    return [...byId].flatMap(([id, records]) => {
      const content = this.core.state.imageContent[id]
      return content ? [view(id, records, content)] : []
    })
  }

  /**
   * The image with this id (its config digest), as CRI's image store answers ContainerStatus for a
   * container's image: no name parsed, no prefix, no view of every other image made.
   */
  byId(id: string, namespace = CRI_NAMESPACE): ImageView | undefined {
    const records = this.core.state.images.filter((r) => r.namespace === namespace && r.configDigest === id)
    const content = this.core.state.imageContent[id]
    return records.length > 0 && content ? view(id, records, content) : undefined
  }

  /**
   * Finds an image by id, unique id prefix ("sha256:ab…" or bare hex), tag or repo digest, as
   * containerd's LocalResolve does. Returns undefined when there is none.
   */
  resolve(refOrId: string, namespace = CRI_NAMESPACE): ImageView | undefined {
    const images = this.list(namespace)
    if (refOrId === '') return undefined
    let name: string | undefined
    try {
      name = parseReference(refOrId).normalized
    } catch {
      name = undefined
    }
    if (name !== undefined) {
      const byName = images.find((i) => i.repoTags.includes(name) || i.repoDigests.includes(name))
      if (byName) return byName
    }
    const hex = refOrId.startsWith('sha256:') ? refOrId.slice(7) : refOrId
    if (!/^[a-f0-9]+$/.test(hex)) return undefined
    const matches = images.filter((i) => i.id.slice(7).startsWith(hex))
    if (matches.length > 1) throw unknown(`ambiguous digest string: ${refOrId}`)
    return matches[0]
  }

  /** Pulls a reference: records tag (or digest), repo digest and id; returns the image id. A pullFailure fault is noted in `noted`. */
  async pull(reference: string, credentials: Credentials | undefined, noted?: FiredNodeFaults, signal?: AbortSignal): Promise<ImageView> {
    const ref = parseReference(reference)
    await this.#injectedPullFailure(ref, noted)
    if (this.#fromRegistry(ref)) {
      let pulled: PulledImage
      try {
        pulled = await this.#sharedRegistryPull(ref, credentials, signal)
      } catch (err) {
        throw wrap(err, `failed to pull and unpack image "${ref.normalized}"`)
      }
      try {
        const content = readImageContent(this.content, CRI_NAMESPACE, pulled.target, pulled.manifestDigest)
        if (!content) throw unknown(`failed to pull and unpack image "${ref.normalized}": get image config descriptor: not found`)
        this.core.state.imageContent[content.configDigest] ??= content
        return this.#record(ref, { ...pulled.target, configDigest: pulled.configDigest })
      } finally {
        // The image record now roots what the pull's lease held (client.Pull's lease ends here).
        this.#endLease(pulled.lease)
      }
    }
    // A pull always asks the registry (resolve, manifest, blobs), even for an image already here,
    // and that takes a few round trips even on loopback: a client deadline shorter than that expires
    // before the answer, as it does against containerd (critest's "should timeout if requested").
    await new Promise((resolve) => setTimeout(resolve, REGISTRY_ROUND_TRIPS_MS))
    const entry = this.fetch(ref, credentials)
    const state = this.core.state
    state.imageContent[entry.configDigest] ??= {
      configDigest: entry.configDigest,
      manifestDigest: entry.manifestDigest,
      size: entry.size,
      os: entry.os,
      architecture: entry.architecture,
      config: entry.config,
    }
    this.core.ensureNamespace(CRI_NAMESPACE)
    const target = storeCatalogImage(this.content, CRI_NAMESPACE, entry, true)
    this.#unpack(entry)
    return this.#record(ref, { ...target, configDigest: entry.configDigest })
  }

  /**
   * Whether a pull asks the reference's registry: only under pull policy registry, for a reference
   * the catalog lacks, or for any reference whose registry has a host directory in
   * --registry-config-path (the user said where that registry is, so even a catalog image comes
   * from it; "_default" counts, as containerd reads it for every host).
   */
  #fromRegistry(ref: ImageReference): boolean {
    if (this.pullPolicy !== 'registry') return false
    if (!findInCatalog(ref.repository, ref.tag, ref.digest)) return true
    return hostDirectory(ref.repository.split('/')[0] as string, this.registry.configPath) !== undefined
  }

  /**
   * One registry pull per reference and credentials at a time: later callers wait for the first.
   * The download stops once every caller has gone (a cancelled PullImage).
   */
  async #sharedRegistryPull(
    ref: ImageReference,
    credentials: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<PulledImage> {
    const key = JSON.stringify([ref.normalized, credentials ?? null])
    let shared = this.#pulls.get(key)
    if (!shared) {
      const controller = new AbortController()
      const stores: PullStores = {
        content: this.content,
        snapshots: this.snapshots,
        leases: new Leases(this.core),
        gc: () => this.core.gc(),
        inflight: this.#inflight,
      }
      this.core.ensureNamespace(CRI_NAMESPACE)
      const done = registryPull(stores, ref, {
        namespace: CRI_NAMESPACE,
        snapshotter: UNPACK_SNAPSHOTTER,
        ...(credentials ? { auth: credentials } : {}),
        ...(this.registry.configPath ? { configPath: this.registry.configPath } : {}),
        progressTimeoutMs: this.registry.progressTimeoutMs,
        userAgent: this.registry.userAgent,
        ...(this.registry.refuseEmptyBasic === false ? { refuseEmptyBasic: false } : {}),
        log: (msg) => this.log.warn(msg),
        signal: controller.signal,
      }).finally(() => this.#pulls.delete(key))
      shared = { done, waiting: 0, controller }
      this.#pulls.set(key, shared)
    }
    const mine = shared
    mine.waiting++
    const leave = (): void => {
      if (--mine.waiting === 0) mine.controller.abort()
    }
    signal?.addEventListener('abort', leave, { once: true })
    try {
      return await mine.done
    } finally {
      if (!signal?.aborted) mine.waiting--
      signal?.removeEventListener('abort', leave)
    }
  }

  /** Deletes a finished pull's lease (once: callers sharing the pull each end it). */
  #endLease(lease: string): void {
    if (this.core.state.leases[CRI_NAMESPACE]?.[lease] === undefined) return
    delete this.core.state.leases[CRI_NAMESPACE][lease]
    this.core.changed(['leases', CRI_NAMESPACE, lease])
  }

  /** Writes the records of a pulled image (its name, repo digest and id), as CRI's PullImage does. */
  #record(ref: ImageReference, target: { mediaType: string; digest: string; size: number; configDigest: string }): ImageView {
    const now = nowString()
    const state = this.core.state
    this.core.ensureNamespace(CRI_NAMESPACE)
    const names = [ref.normalized, `${ref.repository}@${target.digest}`, target.configDigest]
    for (const name of new Set(names)) {
      // As containerd: a record is pinned when its own name is one of the pinned references.
      const labels: Record<string, string> = {
        [LABEL_MANAGED]: 'managed',
        ...(this.pinnedRefs.includes(name) ? { [LABEL_PINNED]: 'pinned' } : {}),
      }
      const existing = state.images.find((r) => r.namespace === CRI_NAMESPACE && r.name === name)
      if (existing) {
        // A tag moves to the newly pulled image, as a registry tag can.
        existing.manifestDigest = target.digest
        existing.mediaType = target.mediaType
        existing.size = target.size
        existing.configDigest = target.configDigest
        existing.labels = { ...existing.labels, ...labels }
        existing.updatedAt = now
        this.core.emit(CRI_NAMESPACE, '/images/update', IMAGE_UPDATE, { name, labels: existing.labels })
      } else {
        this.core.emit(CRI_NAMESPACE, '/images/create', IMAGE_CREATE, { name, labels })
        state.images.push({
          namespace: CRI_NAMESPACE,
          name,
          manifestDigest: target.digest,
          mediaType: target.mediaType,
          size: target.size,
          configDigest: target.configDigest,
          labels,
          createdAt: now,
          updatedAt: now,
        })
      }
    }
    this.dropUnreferencedContent()
    this.#changed()
    const pulledImage = this.resolve(target.configDigest)
    if (!pulledImage) throw unknown(`image ${target.configDigest} vanished right after its pull`)
    return pulledImage
  }

  /**
   * Removes the image a reference resolves to, with every name it has: containerd's CRI deletes
   * all references of the image whether it was named by tag, digest or id. False when none matched.
   */
  remove(refOrId: string, namespace = CRI_NAMESPACE): boolean {
    const image = this.resolve(refOrId, namespace)
    if (!image) return false
    const state = this.core.state
    for (const r of state.images) {
      if (r.namespace === namespace && r.configDigest === image.id)
        this.core.emit(namespace, '/images/delete', IMAGE_DELETE, { name: r.name })
    }
    state.images = state.images.filter((r) => r.namespace !== namespace || r.configDigest !== image.id)
    this.dropUnreferencedContent()
    this.#changed()
    this.core.gc()
    return true
  }

  /**
   * The committed snapshot of the image's one layer, as containerd's unpack leaves it (named by its
   * chain id, with no layer bytes: the fake registry has none). Containers' snapshots start from it.
   */
  #unpack(entry: CatalogEntry): void {
    const chain = catalogDiffId(entry)
    if (this.snapshots.kindOf(UNPACK_SNAPSHOTTER, CRI_NAMESPACE, chain) !== undefined) return
    const key = `extract-${process.hrtime.bigint()} ${chain}`
    this.snapshots.prepareUnmounted(UNPACK_SNAPSHOTTER, CRI_NAMESPACE, key, '', { 'containerd.io/snapshot.ref': chain })
    // The layer's files are synthesised, not listed; its disk usage is the image's size.
    this.snapshots.recordUsage(UNPACK_SNAPSHOTTER, CRI_NAMESPACE, key, entry.size)
    this.snapshots.commit(UNPACK_SNAPSHOTTER, CRI_NAMESPACE, chain, key, { 'containerd.io/snapshot.ref': chain })
  }

  /**
   * Puts back the blobs and snapshots of catalog images a restored state names but this server does
   * not hold (a snapshot carries records, not bytes): the fake registry can always serve them again.
   */
  restoreCatalogContent(): void {
    for (const r of this.core.state.images) {
      if (r.namespace !== CRI_NAMESPACE || this.content.blobs.has(r.manifestDigest)) continue
      const entry = catalog().find((e) => e.configDigest === r.configDigest && e.manifestDigest === r.manifestDigest)
      if (!entry) continue
      storeCatalogImage(this.content, CRI_NAMESPACE, entry)
      this.#unpack(entry)
    }
  }

  /** What CRI's snapshotter uses in k8s.io: every image layer and container writable layer. */
  filesystemUsage(): { size: number; inodes: number } {
    // Containers' writable layers go at the collection after their removal.
    this.core.settleGc()
    return this.snapshots.totalUsage(UNPACK_SNAPSHOTTER, CRI_NAMESPACE)
  }

  /** The snapshot an image's containers start from, or "" when it is not unpacked. */
  topSnapshot(namespace: string, configDigest: string): string {
    const chain = imageChainId(this.content, namespace, configDigest)
    if (chain === '') return ''
    return this.snapshots.kindOf(UNPACK_SNAPSHOTTER, namespace, chain) === 'committed' ? chain : ''
  }

  /**
   * The image whose unpack made the committed snapshot `chain`, for a container on it whose image
   * may have moved or gone: `name`'s image when it still is that one, else another of the namespace
   * on the same chain, else the catalog image whose chain it is; undefined when none is known.
   */
  idOfChain(namespace: string, chain: string, name: string): string | undefined {
    if (chain === '') return undefined
    let named: ImageView | undefined
    try {
      named = this.resolve(name, namespace)
    } catch {
      named = undefined // an ambiguous id prefix names none
    }
    if (named && imageChainId(this.content, namespace, named.id) === chain) return named.id
    for (const image of this.list(namespace)) if (imageChainId(this.content, namespace, image.id) === chain) return image.id
    return catalog().find((e) => catalogDiffId(e) === chain)?.configDigest
  }

  /**
   * An image's config by id, for a container made of it, even once no record names the image: its
   * content while a record holds it, else the catalog's, else the one `name` synthesises (pull
   * policy any) when that is this image; the fake registry serves either again, the same.
   */
  configOf(id: string, name: string): ImageConfig | undefined {
    const held = this.core.state.imageContent[id]?.config
    if (held) return held
    const entry = catalog().find((e) => e.configDigest === id)
    if (entry) return entry.config
    try {
      const made = synthesise(parseReference(name))
      return made.configDigest === id ? made.config : undefined
    } catch {
      return undefined // a name that is no reference (an id) synthesises nothing
    }
  }

  // containerd's Images service: the records themselves ------------------------------------

  records(namespace: string): ImageRecord[] {
    return this.core.state.images.filter((r) => r.namespace === namespace)
  }

  record(namespace: string, name: string): ImageRecord {
    const r = this.core.state.images.find((i) => i.namespace === namespace && i.name === name)
    if (!r) throw new RuntimeError('NotFound', `image ${JSON.stringify(name)}: not found`)
    return r
  }

  /** Creates a record (Images.Create): the config is read from the content store when it is there. */
  createRecord(namespace: string, input: RecordInput): ImageRecord {
    validateRecord(input)
    if (this.core.state.images.some((i) => i.namespace === namespace && i.name === input.name)) {
      throw new RuntimeError('AlreadyExists', `image ${JSON.stringify(input.name)}: already exists`)
    }
    this.core.ensureNamespace(namespace)
    const now = nowString()
    const record: ImageRecord = {
      namespace,
      name: input.name,
      manifestDigest: input.target.digest,
      mediaType: input.target.mediaType,
      size: input.target.size,
      annotations: { ...input.target.annotations },
      configDigest: this.#learnConfig(namespace, input.target),
      labels: { ...input.labels },
      createdAt: now,
      updatedAt: now,
    }
    this.core.state.images.push(record)
    this.#changed()
    this.core.emit(namespace, '/images/create', IMAGE_CREATE, { name: record.name, labels: record.labels })
    return record
  }

  /** Replaces a record's fields (Images.Update, after the face applied the field mask). */
  updateRecord(namespace: string, input: RecordInput): ImageRecord {
    validateRecord(input)
    const record = this.record(namespace, input.name)
    record.labels = { ...input.labels }
    if (record.manifestDigest !== input.target.digest || record.mediaType !== input.target.mediaType) {
      record.configDigest = this.#learnConfig(namespace, input.target)
    }
    record.manifestDigest = input.target.digest
    record.mediaType = input.target.mediaType
    record.size = input.target.size
    record.annotations = { ...input.target.annotations }
    record.updatedAt = nowString()
    this.#changed()
    this.core.emit(namespace, '/images/update', IMAGE_UPDATE, { name: record.name, labels: record.labels })
    return record
  }

  deleteRecord(namespace: string, name: string, targetDigest?: string): void {
    const record = this.record(namespace, name)
    if (targetDigest !== undefined && targetDigest !== '' && record.manifestDigest !== targetDigest) {
      throw new RuntimeError(
        'NotFound',
        `image ${JSON.stringify(name)} has target ${record.manifestDigest}, not ${targetDigest}: not found`,
      )
    }
    this.core.state.images = this.core.state.images.filter((r) => r !== record)
    this.dropUnreferencedContent()
    this.#changed()
    this.core.emit(namespace, '/images/delete', IMAGE_DELETE, { name })
    // containerd collects at once for a synchronous delete and moments later otherwise.
    this.core.gc()
  }

  /** Learns an image's config from its blobs; "" when they are not (yet) in the content store. */
  #learnConfig(namespace: string, target: { mediaType: string; digest: string }): string {
    const learned = readImageContent(this.content, namespace, target)
    if (!learned) return ''
    this.core.state.imageContent[learned.configDigest] ??= learned
    return learned.configDigest
  }

  /** A pullFailure node fault, as the registry or the network would fail the pull. */
  async #injectedPullFailure(ref: ImageReference, noted: FiredNodeFaults | undefined): Promise<void> {
    const fired = this.faults.nodeFault('pullFailure', { ids: [], name: ref.normalized, image: ref.normalized, labels: {} }, noted)
    if (!fired) return
    const r = fired.rule
    const prefix = `failed to pull and unpack image "${ref.normalized}": failed to resolve reference "${ref.normalized}"`
    const host = ref.repository.split('/')[0] as string
    switch (r.pull ?? 'unavailable') {
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, r.durationMs ?? 5000))
        return
      case 'notFound':
        throw new RuntimeError('NotFound', `${prefix}: ${ref.normalized}: not found`)
      case 'unauthorized':
        throw new RuntimeError(
          'Unknown',
          `${prefix}: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`,
        )
      case 'unavailable':
        throw new RuntimeError(
          'Unknown',
          `${prefix}: ${r.message ?? `failed to do request: Head "https://${host}/v2/${ref.repository.slice(host.length + 1)}/manifests/${ref.tag ?? ref.digest}": dial tcp: lookup ${host}: no such host`}`,
        )
    }
  }

  /** What the fake registry serves for a reference, after checking credentials. */
  private fetch(ref: ImageReference, credentials: Credentials | undefined): CatalogEntry {
    const entry = findInCatalog(ref.repository, ref.tag, ref.digest)
    const pullError = (reason: string, kind: RuntimeError['kind'] = 'Unknown'): RuntimeError =>
      new RuntimeError(
        kind,
        `failed to pull and unpack image "${ref.normalized}": failed to resolve reference "${ref.normalized}": ${reason}`,
      )
    if (entry) {
      if (entry.auth) {
        const given = decodeCredentials(credentials)
        if (!given) {
          throw pullError(
            'pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
          )
        }
        if (given.username !== entry.auth.username || given.password !== entry.auth.password) {
          const host = ref.repository.split('/')[0] as string
          throw pullError(
            `failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://${host}/token: 401 Unauthorized`,
          )
        }
      }
      return entry
    }
    if (this.pullPolicy !== 'any') throw pullError(`${ref.normalized}: not found`, 'NotFound')
    const made = synthesise(ref)
    if (!this.warned.has(made.configDigest)) {
      this.warned.add(made.configDigest)
      this.log.warn(`image ${ref.normalized} is ${SYNTHESISED_NOTE}`)
    }
    return made
  }

  /** Image content no record points at any more is garbage, as containerd's GC would find it. */
  private dropUnreferencedContent(): void {
    const state = this.core.state
    const used = new Set(state.images.map((r) => r.configDigest))
    for (const id of Object.keys(state.imageContent)) if (!used.has(id)) delete state.imageContent[id]
  }
}

export interface RecordInput {
  name: string
  labels: Record<string, string>
  target: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }
}

/** containerd's validateImage. */
function validateRecord(input: RecordInput): void {
  if (input.name === '') throw new RuntimeError('InvalidArgument', 'image name must not be empty: invalid argument')
  validateLabels(input.labels, 'image.Labels')
  if (!/^sha256:[a-f0-9]{64}$/.test(input.target.digest)) {
    throw new RuntimeError(
      'InvalidArgument',
      `target.Digest ${JSON.stringify(input.target.digest)} invalid: invalid checksum digest format: invalid argument`,
    )
  }
  if (input.target.size <= 0) throw new RuntimeError('InvalidArgument', 'target.Size must be greater than zero: invalid argument')
  if (input.target.mediaType === '') throw new RuntimeError('InvalidArgument', 'target.MediaType must be set: invalid argument')
}

function view(id: string, records: ImageRecord[], content: ImageContent): ImageView {
  const repoTags: string[] = []
  const repoDigests: string[] = []
  for (const r of records) {
    if (isDigest(r.name)) continue
    if (r.name.includes('@')) repoDigests.push(r.name)
    else repoTags.push(r.name)
  }
  return {
    id,
    repoTags: repoTags.sort(),
    repoDigests: repoDigests.sort(),
    size: content.size,
    pinned: records.some((r) => r.labels[LABEL_PINNED] === 'pinned'),
    content,
  }
}

function decodeCredentials(c: Credentials | undefined): { username: string; password: string } | undefined {
  if (!c) return undefined
  if (c.username) return { username: c.username, password: c.password ?? '' }
  if (c.auth) {
    const decoded = Buffer.from(c.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  return undefined
}

const SYNTHESISED_NOTE =
  'synthesised: not in the image catalog (fixtures/images/), so made up from its name; its command, /usr/local/bin/app, ' +
  'runs until it is stopped and serves nothing (--pull-policy catalog refuses such images)'

/** A deterministic image for a reference the catalog lacks: the same reference always gives the same image. */
function synthesise(ref: ImageReference): CatalogEntry {
  const key = ref.digest ?? `${ref.repository}:${ref.tag}`
  const manifestDigest = ref.digest ?? sha256(`fake-containerd manifest ${key}`)
  const configDigest = sha256(`fake-containerd config ${key}`)
  const size = 2_000_000 + (parseInt(configDigest.slice(7, 13), 16) % 48_000_000)
  return {
    repository: ref.repository,
    tag: ref.tag ?? null,
    manifestDigest,
    configDigest,
    size,
    os: 'linux',
    architecture: 'amd64',
    config: {
      user: '',
      entrypoint: [],
      cmd: ['/usr/local/bin/app'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      workingDir: '/',
      exposedPorts: [],
      stopSignal: '',
      labels: {},
      volumes: [],
    },
    auth: null,
  }
}
