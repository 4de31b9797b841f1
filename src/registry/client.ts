// One repository on a registry, read as containerd's docker resolver and fetcher read it
// (remotes/docker/resolver.go, fetcher.go, 1.6.20): resolve a tag or digest to a descriptor with a
// HEAD (GET when the registry gives no digest or refuses HEAD), fetch manifests and blobs by digest,
// each request tried on the hosts in order, retried after a 401 once the authorizer answered its
// challenge (at most five times), after a 405 on HEAD as a GET, after a 408 or 429.
import { createHash } from 'node:crypto'
import { Authorizer, type Credentials } from './auth.js'
import { RegistryError } from './errors.js'
import type { RegistryHost } from './hosts.js'
import { requestError, send } from './transport.js'
import { MEDIA } from '../model/media-types.js'

/** What a registry may answer a resolve with (schema 1 only to be refused by name). */
const MANIFEST_TYPES: readonly string[] = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.dockerSchema1, MEDIA.ociManifest, MEDIA.ociIndex]

/** The Accept header of a resolve (resolver.go NewResolver). */
export const RESOLVE_ACCEPT = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex, '*/*'].join(', ')

/** containerd refuses a manifest larger than this (resolver.go MaxManifestSize: 4 * 1048 * 1048, not quite 4 MiB). */
export const MAX_MANIFEST_SIZE = 4 * 1048 * 1048

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  urls?: string[]
  platform?: { os?: string; architecture?: string; variant?: string }
  annotations?: Record<string, string>
}

export interface RepositoryOptions {
  /** The hosts to try, in order (hosts.ts registryHosts). */
  hosts: RegistryHost[]
  credentials?: Credentials
  /** Cancels every request (a cancelled PullImage, a stalled pull). */
  signal?: AbortSignal
  userAgent: string
  /** An empty Basic answer is refused (containerd 1.7 and later), not left as the 401. */
  refuseEmptyBasic?: boolean
}

const isManifestType = (t: string): boolean => MANIFEST_TYPES.includes(t)

/**
 * RegistryHost.isProxy (remotes/docker/registry.go): a host other than the reference's domain is a
 * mirror, except registry-1.docker.io for docker.io, which is docker.io's own registry.
 */
export const isProxy = (host: string, domain: string): boolean =>
  host !== domain && (domain !== 'docker.io' || host !== 'registry-1.docker.io')

/** Go's net/http method as its errors print it: "Head", "Get". */
/** A fetch failure (no HTTP response) as containerd reports it: Go's url.Error after "failed to do request". */
function networkError(method: string, url: URL, err: unknown, signal: AbortSignal | undefined): RegistryError {
  const e = requestError(method, url, err, signal)
  return new RegistryError(e.kind, `failed to do request: ${e.message}`)
}

/** The registry's error body (errcode.Errors) as containerd prints it. */
async function registryMessage(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.json()) as { errors?: { code?: string; message?: string }[] }
    const errors = body.errors ?? []
    if (errors.length === 0) return undefined
    // containerd knows a few codes (remotes/docker/errdesc.go); the rest read as "unknown".
    const known = new Set(['UNKNOWN', 'UNSUPPORTED', 'UNAUTHORIZED', 'DENIED', 'UNAVAILABLE', 'TOOMANYREQUESTS'])
    const one = (e: { code?: string; message?: string }): string =>
      `${(known.has(e.code ?? '') ? (e.code as string) : 'UNKNOWN').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`
    return errors.length === 1 ? one(errors[0] as object) : `errors:\n${errors.map((e) => `${one(e)}\n`).join('')}`
  } catch {
    return undefined
  }
}

/**
 * getManifestMediaType: the Content-Type without its parameters; "text/plain" is a schema 1 manifest
 * (registry.access.redhat.com served them so).
 */
function manifestMediaType(res: Response): string {
  const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? ''
  return type === 'text/plain' ? MEDIA.dockerSchema1 : type
}

/** Drops a response's body without waiting for it (a mocked or stalled body may never settle). */
function discard(res: Response): void {
  res.body?.cancel().catch(() => undefined)
}

export class Repository {
  readonly authorizer: Authorizer
  /** The repository's path on the registry, without its domain: "library/busybox". */
  readonly path: string

  constructor(
    /** The domain of the reference ("docker.io", "127.0.0.1:5000"). */
    readonly domain: string,
    repository: string,
    private readonly options: RepositoryOptions,
  ) {
    this.path = repository.slice(domain.length + 1)
    this.authorizer = new Authorizer(
      options.credentials,
      { 'User-Agent': options.userAgent },
      options.signal,
      undefined,
      options.refuseEmptyBasic ?? true,
    )
  }

  /** A host with TLS settings of its own has an authorizer of its own, whose token requests use them. */
  readonly #authorizers = new Map<RegistryHost, Authorizer>()

  #authorizer(host: RegistryHost): Authorizer {
    if (!host.tls) return this.authorizer
    let a = this.#authorizers.get(host)
    if (!a) {
      a = new Authorizer(
        this.options.credentials,
        { 'User-Agent': this.options.userAgent },
        this.options.signal,
        host.tls,
        this.options.refuseEmptyBasic ?? true,
      )
      this.#authorizers.set(host, a)
    }
    return a
  }

  #hosts(capability: 'pull' | 'resolve' | 'push'): RegistryHost[] {
    return this.options.hosts.filter((h) => h.capabilities.includes(capability))
  }

  #url(host: RegistryHost, ...parts: string[]): URL {
    const url = new URL(`${host.scheme}://${host.host}${host.path}/${this.path}/${parts.join('/')}`)
    // addNamespace: a mirror is told which registry the repository belongs to.
    if (isProxy(host.host, this.domain)) url.searchParams.set('ns', this.domain)
    return url
  }

  /** One request with containerd's retries (doWithRetries). The caller reads or cancels the body. */
  async #request(
    host: RegistryHost,
    method: string,
    url: URL,
    headers: Record<string, string>,
    scope: string,
    body?: Buffer,
    /** Sent without the authorizer: an upload moved to another host or scheme (pusher.go strips it). */
    anonymous = false,
  ): Promise<Response> {
    const responses: Response[] = []
    let m = method
    for (;;) {
      let auth: string | undefined
      if (!anonymous) {
        try {
          auth = await this.#authorizer(host).authorize(host.host, [scope])
        } catch (err) {
          // The caller's own errors (a cancelled credential question) keep their code and text.
          if (!(err instanceof RegistryError)) throw err
          throw new RegistryError(err.kind, `failed to authorize: ${err.message}`, err.status)
        }
      }
      let res: Response
      try {
        res = await send(
          url,
          {
            method: m,
            headers: { 'User-Agent': this.options.userAgent, ...host.header, ...headers, ...(auth ? { Authorization: auth } : {}) },
            ...(this.options.signal ? { signal: this.options.signal } : {}),
            ...(body ? { body } : {}),
          },
          host.tls,
        )
      } catch (err) {
        throw networkError(m, url, err, this.options.signal)
      }
      responses.push(res)
      if (responses.length > 5) return res
      let retry = false
      if (res.status === 401 && !anonymous) retry = await this.#authorizer(host).addResponse(host.host, res, responses.length > 1)
      else if (res.status === 405 && m === 'HEAD' && url.pathname.includes('/manifests/')) {
        // Registries that did not implement HEAD on manifests.
        m = 'GET'
        retry = true
      } else if (res.status === 408 || res.status === 429) retry = true
      if (!retry) return res
      discard(res)
    }
  }

  /** Resolves a tag or digest to the descriptor of its manifest or index (dockerResolver.Resolve). */
  async resolve(ref: { tag?: string; digest?: string; normalized: string }): Promise<Descriptor> {
    const paths = ref.digest
      ? [
          ['manifests', ref.digest],
          ['blobs', ref.digest],
        ]
      : [['manifests', ref.tag ?? 'latest']]
    const hosts = this.#hosts('resolve')
    if (hosts.length === 0) throw new RegistryError('NotFound', 'no resolve hosts: not found')
    const scope = `repository:${this.path}:pull`
    let firstErr: RegistryError | undefined
    for (const parts of paths) {
      for (const host of hosts) {
        const url = this.#url(host, ...parts)
        let res: Response
        try {
          res = await this.#request(host, 'HEAD', url, { Accept: RESOLVE_ACCEPT }, scope)
        } catch (err) {
          // Not the registry's: the credential callback's own error (Canceled stays Canceled).
          if (!(err instanceof RegistryError)) throw err
          let e = err
          if (e.kind === 'Cancelled') throw e
          if (e.kind === 'Unauthorized') {
            e = new RegistryError(
              'Unauthorized',
              `pull access denied, repository does not exist or may require authorization: ${e.message}`,
            )
          }
          firstErr ??= e
          continue
        }
        discard(res)
        if (res.status > 299) {
          if (res.status === 404) continue
          if (res.status > 399) {
            firstErr ??= new RegistryError(
              'Unknown',
              `pulling from host ${host.host} failed with status code [${parts.join(' ')}]: ${res.status} ${res.statusText}`,
              res.status,
            )
            continue
          }
          throw new RegistryError(
            'Unknown',
            `pulling from host ${host.host} failed with unexpected status code [${parts.join(' ')}]: ${res.status} ${res.statusText}`,
          )
        }
        // A Content-Length that is not a whole number is as good as none: the manifest is fetched and measured.
        const length = res.headers.get('content-length') ?? ''
        let size = /^\d+$/.test(length) && Number.isSafeInteger(Number(length)) ? Number(length) : -1
        let mediaType = manifestMediaType(res)
        let digest = ref.digest ?? ''
        if (digest === '') {
          const header = res.headers.get('docker-content-digest') ?? ''
          if (header !== '' && size !== -1) {
            if (!/^sha256:[a-f0-9]{64}$/.test(header))
              throw new RegistryError('Unknown', `"${header}" in header not a valid digest: invalid checksum digest format`)
            digest = header
          }
        }
        if (digest === '' || size === -1) {
          // No digest or size from HEAD: the manifest itself is fetched and hashed.
          // Streamed into the hash, and cut off once past the largest manifest containerd accepts.
          const get = await this.#request(host, 'GET', url, { Accept: RESOLVE_ACCEPT }, scope)
          if (get.status > 299 || !get.body) {
            discard(get)
            firstErr ??= new RegistryError(
              get.status === 404 ? 'NotFound' : 'Unknown',
              `pulling from host ${host.host} failed with status code [${parts.join(' ')}]: ${get.status} ${get.statusText}`,
              get.status,
            )
            continue
          }
          mediaType = manifestMediaType(get)
          if (digest === '' && mediaType === MEDIA.dockerSchema1) {
            discard(get)
            throw new RegistryError(
              'Unimplemented',
              `not implemented: media type "${MEDIA.dockerSchema1}" is no longer supported since containerd v2.0, please rebuild the image as "${MEDIA.dockerManifest}" or "${MEDIA.ociManifest}"`,
            )
          }
          const hash = createHash('sha256')
          const reader = get.body.getReader()
          size = 0
          try {
            for (;;) {
              const { done, value } = await reader.read()
              if (done) break
              size += value.byteLength
              if (size > MAX_MANIFEST_SIZE) break
              hash.update(value)
            }
          } catch (err) {
            throw networkError('GET', url, err, this.options.signal)
          } finally {
            // Not awaited: a mocked or stalled body may never settle its cancel.
            reader.cancel().catch(() => undefined)
          }
          if (digest === '') digest = `sha256:${hash.digest('hex')}`
        }
        if (size > MAX_MANIFEST_SIZE) {
          firstErr ??= new RegistryError('NotFound', `rejecting ${size} byte manifest for ${ref.normalized}: not found`)
          continue
        }
        return { digest, mediaType, size }
      }
    }
    throw firstErr ?? new RegistryError('NotFound', `${ref.normalized}: not found`)
  }

  /**
   * Opens a manifest or blob by digest (dockerFetcher.Fetch): manifests from the manifests endpoint,
   * everything else from blobs (redirects to storage followed). The body is the caller's to read.
   */
  async fetch(desc: Descriptor): Promise<ReadableStream<Uint8Array>> {
    const hosts = this.#hosts('pull')
    if (hosts.length === 0) throw new RegistryError('NotFound', 'no pull hosts: not found')
    const endpoint = isManifestType(desc.mediaType) ? 'manifests' : 'blobs'
    let firstErr: RegistryError | undefined
    for (const host of hosts) {
      const url = this.#url(host, endpoint, desc.digest)
      try {
        const res = await this.#request(host, 'GET', url, { Accept: `${desc.mediaType}, */*` }, `repository:${this.path}:pull`)
        if (res.status > 299) {
          // req.String(): the URL with its query (a mirror's ?ns=).
          const where = url.toString()
          if (res.status === 404) {
            discard(res)
            throw new RegistryError('NotFound', `content at ${where} not found: not found`, 404)
          }
          const message = await registryMessage(res)
          const status = `${res.status} ${res.statusText}`
          throw new RegistryError(
            'Unknown',
            message === undefined
              ? `unexpected status code ${where}: ${status}`
              : `unexpected status code ${where}: ${status} - Server message: ${message}`,
            res.status,
          )
        }
        if (!res.body) throw new RegistryError('Unknown', `unexpected empty body from ${url.toString()}`)
        return res.body
      } catch (err) {
        if (!(err instanceof RegistryError) || err.kind === 'Cancelled') throw err
        firstErr ??= err
      }
    }
    if (firstErr?.kind === 'NotFound' && endpoint === 'blobs') {
      throw new RegistryError('NotFound', `could not fetch content descriptor ${desc.digest} (${desc.mediaType}) from remote: not found`)
    }
    throw firstErr as RegistryError
  }

  // Pushing, as containerd's dockerPusher (remotes/docker/pusher.go, 2.1): a HEAD first (a blob by
  // digest, a manifest by its tag or digest), then a blob by POST and a monolithic PUT ?digest=, a
  // manifest by PUT. Every request asks for pull and push on the repository.

  #pushHost(): RegistryHost {
    const host = this.#hosts('push')[0]
    if (!host) throw new RegistryError('NotFound', 'no push hosts: not found')
    return host
  }

  get #pushScope(): string {
    return `repository:${this.path}:pull,push`
  }

  /**
   * Whether the registry already has `desc` (a manifest under `tag` counts only when its digest is
   * the same). Refused credentials do not stop a push here: containerd goes on to the upload.
   */
  async exists(desc: Descriptor, tag?: string): Promise<boolean> {
    const host = this.#pushHost()
    const manifest = isManifestType(desc.mediaType)
    const url = this.#url(host, manifest ? 'manifests' : 'blobs', manifest && tag ? tag : desc.digest)
    let res: Response
    try {
      res = await this.#request(host, 'HEAD', url, { Accept: `${desc.mediaType}, */*` }, this.#pushScope)
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'Unauthorized') return false
      throw err
    }
    discard(res)
    if (res.status === 200) return !(manifest && tag) || res.headers.get('docker-content-digest') === desc.digest
    if (res.status === 404) return false
    throw unexpected('HEAD', url, res)
  }

  /** Uploads a blob: POST for an upload location, then PUT of the bytes with their digest. */
  async upload(desc: Descriptor, data: Buffer): Promise<void> {
    const host = this.#pushHost()
    const start = this.#url(host, 'blobs', 'uploads/')
    let res: Response
    try {
      res = await this.#request(host, 'POST', start, {}, this.#pushScope)
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'Unauthorized') {
        throw new RegistryError(
          'Unauthorized',
          `push access denied, repository does not exist or may require authorization: ${err.message}`,
        )
      }
      throw err
    }
    discard(res)
    // 201: the registry has it already (a cross-repository mount answered).
    if (res.status === 201) return
    if (res.status !== 200 && res.status !== 202 && res.status !== 204) throw unexpected('POST', start, res)
    // The Location as pusher.go reads it: a path is on the same host; a host without a scheme takes
    // the registry's. Credentials go only where the POST went: an upload moved to another host or
    // scheme is sent without them, as containerd drops its authorizer then.
    let location = res.headers.get('location') ?? ''
    if (!location.startsWith('/') && !location.includes('://')) location = `${host.scheme}://${location}`
    let url: URL
    try {
      url = new URL(location, `${host.scheme}://${host.host}`)
    } catch {
      throw new RegistryError('Unknown', `unable to parse location ${res.headers.get('location') ?? ''}: invalid URL`)
    }
    url.searchParams.append('digest', desc.digest)
    const requested = new URL(res.url || start.toString())
    const moved = url.host !== requested.host || url.protocol !== requested.protocol
    await this.#put(host, url, 'application/octet-stream', data, moved)
  }

  /** Puts a manifest or index under `tag`, or under its digest. */
  async putManifest(desc: Descriptor, data: Buffer, tag?: string): Promise<void> {
    const host = this.#pushHost()
    await this.#put(host, this.#url(host, 'manifests', tag ?? desc.digest), desc.mediaType, data)
  }

  async #put(host: RegistryHost, url: URL, contentType: string, data: Buffer, anonymous = false): Promise<void> {
    const res = await this.#request(host, 'PUT', url, { 'Content-Type': contentType }, this.#pushScope, data, anonymous)
    discard(res)
    if (res.status !== 200 && res.status !== 201 && res.status !== 204) throw unexpected('PUT', url, res)
  }
}

/** remoteserrors.ErrUnexpectedStatus's text. */
const unexpected = (method: string, url: URL, res: Response): RegistryError =>
  new RegistryError('Unknown', `unexpected status from ${method} request to ${url.toString()}: ${res.status} ${res.statusText}`, res.status)
