// containerd 2.x's local transfer service between a registry and the image store (core/transfer/
// local/pull.go, push.go): pull (OCIRegistry → ImageStore) over the model's registry pull, push
// (ImageStore → OCIRegistry) over the registry push, each telling its progress as containerd's
// progress tracker does: status lines ("Resolving from …", "Pulling from …", "Completed pull from …")
// and one entry per blob, named by its ingest ref and linked to the blob that named it.
import type { Credentials } from '../../registry/auth.js'
import { RuntimeError } from '../errors.js'
import { pull, refKey, type BlobEvent, type Platform, type PullStores } from '../metadata/registry-pull.js'
import { push } from '../metadata/registry-push.js'
import { parseReference } from '../reference.js'
import {
  unpackerOf,
  type ImageStoreSpec,
  type ImageTransfer,
  type PlatformSpec,
  type ProgressEvent,
  type ProgressFn,
  type TransferHost,
} from './images.js'

/** containerd.types.transfer.OCIRegistry, decoded: the reference and how its registry is reached. */
export interface RegistrySpec {
  reference: string
  /** Asked when a host challenges (the client's auth stream); none: anonymous. */
  credentials?: Credentials
  /** RegistryResolver.host_dir: a hosts directory of <host>/hosts.toml files the client names. */
  hostDir: string
  defaultScheme: string
  headers: Record<string, string>
}

/** OCIRegistry's String(), as the status lines name it. */
const named = (r: RegistrySpec): string => `OCI Registry (${r.reference})`

function resolverOptions(r: RegistrySpec): { configPath?: string; defaultScheme?: 'http' | 'https'; headers: Record<string, string> } {
  if (r.defaultScheme !== '' && r.defaultScheme !== 'http' && r.defaultScheme !== 'https') {
    throw new RuntimeError(
      'InvalidArgument',
      `default scheme ${JSON.stringify(r.defaultScheme)} is neither http nor https: invalid argument`,
    )
  }
  return {
    ...(r.hostDir ? { configPath: r.hostDir } : {}),
    ...(r.defaultScheme ? { defaultScheme: r.defaultScheme as 'http' | 'https' } : {}),
    headers: r.headers,
  }
}

/** containerd's progress tracker looks at the content store's ingests this often. */
const TICK_MS = 300

/**
 * containerd's ProgressTracker (local/progress.go): a blob is told at once when it is added
 * ("waiting") or found on the other side ("already exists"); how far it got ("downloading",
 * "uploading") and that it is done ("complete") only at the tracker's ticks and once more when the
 * transfer ends, after its last status line, so ctr's last frame shows every blob done under it.
 */
class ProgressTracker {
  readonly #pending = new Map<string, ProgressEvent>()
  readonly #timer: NodeJS.Timeout

  constructor(
    private readonly root: string,
    private readonly transferState: string,
    private readonly progress: ProgressFn,
  ) {
    this.#timer = setInterval(() => this.#flush(), TICK_MS)
    this.#timer.unref()
  }

  readonly blob = (e: BlobEvent): void => {
    const d = e.desc
    const p: ProgressEvent = {
      event: e.state === 'downloading' ? this.transferState : e.state,
      name: refKey(d),
      parents: e.parent ? [refKey(e.parent)] : [this.root],
      progress: e.offset,
      total: d.size,
      desc: { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.annotations ? { annotations: d.annotations } : {}) },
    }
    if (e.state === 'waiting' || e.state === 'already exists') this.progress(p)
    else this.#pending.set(d.digest, p)
  }

  #flush(): void {
    for (const p of this.#pending.values()) this.progress(p)
    this.#pending.clear()
  }

  /** The transfer ended: what is pending is told (not when it failed), and the ticks stop. */
  stop(succeeded: boolean): void {
    clearInterval(this.#timer)
    if (succeeded) this.#flush()
  }
}

/** Runs `work` with a tracker, stopped when it ends. */
async function tracked(root: string, state: string, progress: ProgressFn, work: (t: ProgressTracker) => Promise<void>): Promise<void> {
  const tracker = new ProgressTracker(root, state, progress)
  let ok = false
  try {
    await work(tracker)
    ok = true
  } finally {
    tracker.stop(ok)
  }
}

export class RegistryTransfer {
  constructor(
    private readonly host: TransferHost,
    private readonly images: ImageTransfer,
  ) {}

  /** Transfer(OCIRegistry → ImageStore): fetch and unpack the image, then store it under the store's names. */
  async pull(namespace: string, source: RegistrySpec, store: ImageStoreSpec, progress: ProgressFn, signal: AbortSignal): Promise<void> {
    const ref = parseReference(source.reference)
    const { settings, inflight } = this.host.images.registryAccess
    const stores: PullStores = {
      content: this.host.content,
      snapshots: this.host.snapshots,
      leases: this.host.leases,
      gc: () => this.host.gc(),
      inflight,
    }
    // containerd's pull fetches every manifest of the store's platforms (all of them when it names
    // none; with all_metadata the others' manifests and configs too) and unpacks every manifest
    // whose layers it fetched into the one snapshotter the unpacks select.
    const platform = store.unpacks[0]?.platform ?? store.platforms[0]
    progress({ event: `Resolving from ${named(source)}` })
    const unpacker = unpackerOf(store, settings.transferUnpackPlatform)
    await tracked(source.reference, 'downloading', progress, async (tracker) => {
      const pulled = await pull(stores, ref, {
        namespace,
        snapshotter: unpacker && 'snapshotter' in unpacker ? unpacker.snapshotter : '',
        ...resolverOptions(source),
        ...(source.credentials ? { credentials: source.credentials } : {}),
        ...(platform ? { platform: platformOf(platform) } : {}),
        platforms: store.platforms.map(platformOf),
        allMetadata: store.allMetadata,
        unpack: unpacker !== undefined,
        ...(unpacker && 'only' in unpacker && unpacker.only ? { unpackOnly: unpacker.only } : {}),
        userAgent: settings.userAgent,
        ...(settings.refuseEmptyBasic === false ? { refuseEmptyBasic: false } : {}),
        // No image_pull_progress_timeout: that is CRI's; containerd's transfer has none. The pull
        // (and a credential question it waits on) ends with the call.
        signal,
        resolveFailure: 'failed to resolve image',
        // Once the reference resolved containerd says so, then sets up its unpacker (which may refuse).
        onResolved: () => {
          progress({ event: `Pulling from ${named(source)}` })
          progress({ event: 'fetching image content', name: source.reference })
          if (unpacker && 'refused' in unpacker) throw unpacker.refused
        },
        onBlob: tracker.blob,
      })
      try {
        const target = { mediaType: pulled.target.mediaType, digest: pulled.target.digest, size: pulled.target.size }
        for (const name of this.images.storeTarget(namespace, store, target)) {
          progress({ event: 'saved', name })
        }
      } finally {
        // The image records root the content now (the transfer's lease ends here).
        try {
          stores.leases.delete(namespace, pulled.lease)
        } catch {
          // Already gone.
        }
      }
      progress({ event: `Completed pull from ${named(source)}` })
    })
  }

  /** Transfer(ImageStore → OCIRegistry): the image's blobs, read from the content store, sent to the registry. */
  async push(namespace: string, source: ImageStoreSpec, dest: RegistrySpec, progress: ProgressFn, signal: AbortSignal): Promise<void> {
    const ref = parseReference(dest.reference)
    const img = this.host.images.record(namespace, source.name)
    const target = { mediaType: img.mediaType, digest: img.manifestDigest, size: img.size, annotations: img.annotations ?? {} }
    progress({ event: `Pushing to ${named(dest)}` })
    progress({ event: 'pushing content', name: img.name, desc: target })
    await tracked(img.name, 'uploading', progress, async (tracker) => {
      await push(this.host.content, ref, target, {
        namespace,
        ...resolverOptions(dest),
        ...(dest.credentials ? { credentials: dest.credentials } : {}),
        platforms: source.platforms.map(platformOf),
        ...(tagOf(dest.reference) ? { tag: tagOf(dest.reference) } : {}),
        userAgent: this.host.images.registryAccess.settings.userAgent,
        signal,
        onBlob: tracker.blob,
      })
      progress({ event: 'pushed content', name: img.name, desc: target })
      progress({ event: `Completed push to ${named(dest)}`, desc: target })
    })
  }
}

const platformOf = (p: PlatformSpec): Platform => ({ os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) })

/** The tag of a "name:tag@digest" reference (the reference's object before its "@"), if it has one. */
function tagOf(reference: string): string | undefined {
  const object = reference.slice(reference.lastIndexOf('/') + 1)
  const at = object.indexOf('@')
  const named = at >= 0 ? object.slice(0, at) : object
  const colon = named.indexOf(':')
  return at >= 0 && colon >= 0 ? named.slice(colon + 1) : undefined
}
