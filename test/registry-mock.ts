// A registry of the OCI Distribution API for msw to serve in-process: manifests by tag and digest
// (HEAD and GET, with Docker-Content-Digest), blobs (optionally by a redirect to another host),
// Basic or Bearer auth (token endpoint, anonymous tokens), and faults: a blob served with the wrong
// bytes, cut short, or stalled. Every request is recorded with its headers.
import { createHash } from 'node:crypto'
import { delay, http, HttpResponse, type HttpHandler } from 'msw'

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

export interface Seen {
  method: string
  url: string
  headers: Record<string, string>
}

export interface MockAuth {
  scheme: 'basic' | 'bearer'
  username?: string
  password?: string
  /** Bearer: tokens are given without credentials (a public repository). */
  anonymous?: boolean
  /** Bearer: the token endpoint the challenge names; the registry's own /token unless given. */
  realm?: string
}

export class MockRegistry {
  readonly manifests = new Map<string, { mediaType: string; body: Buffer }>()
  readonly blobs = new Map<string, Buffer>()
  readonly seen: Seen[] = []
  auth: MockAuth | undefined
  /** Blobs served with other bytes, cut short, or stalled after their first bytes. */
  readonly corrupt = new Set<string>()
  readonly truncated = new Set<string>()
  readonly stalled = new Set<string>()
  /** Blobs answered only after this many ms (a slow download). */
  readonly delayed = new Map<string, number>()
  /** Blob downloads redirect to `storage` (another origin), as registries backed by S3 do. */
  redirect = false
  /** HEAD on manifests answers 405 (registries that never implemented it). */
  noHead = false
  /** Stalled downloads the client gave up on (it aborted the request). */
  abandoned = 0

  constructor(
    readonly origin: string,
    readonly storage = 'http://127.0.0.3:5998',
  ) {}

  /** Adds a manifest (or index) under its digest and, when given, a tag: its digest. */
  putManifest(repo: string, mediaType: string, body: Buffer, tag?: string): string {
    const digest = sha256(body)
    this.manifests.set(`${repo}@${digest}`, { mediaType, body })
    if (tag) this.manifests.set(`${repo}:${tag}`, { mediaType, body })
    return digest
  }

  putBlob(data: Buffer): string {
    const digest = sha256(data)
    this.blobs.set(digest, data)
    return digest
  }

  count(method: string, pathEnd: string): number {
    return this.seen.filter((s) => s.method === method && new URL(s.url).pathname.endsWith(pathEnd)).length
  }

  #authorized(request: Request, repo: string): Response | undefined {
    const a = this.auth
    if (!a) return undefined
    const given = request.headers.get('authorization') ?? ''
    if (a.scheme === 'basic') {
      const ok = given === `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`
      if (ok) return undefined
      return HttpResponse.json(
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] },
        { status: 401, headers: { 'WWW-Authenticate': `Basic realm="Registry Realm"` } },
      )
    }
    if (given === `Bearer token-for-${repo}`) return undefined
    return HttpResponse.json(
      { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] },
      {
        status: 401,
        headers: {
          'WWW-Authenticate': `Bearer realm="${a.realm ?? `${this.origin}/token`}",service="mock-registry",scope="repository:${repo}:pull"${given ? ',error="insufficient_scope"' : ''}`,
        },
      },
    )
  }

  /** The token endpoint: GET (anonymous or Basic) and the OAuth POST. */
  async #token(request: Request): Promise<Response> {
    const a = this.auth
    const url = new URL(request.url)
    let user = ''
    let pass = ''
    let scope = url.searchParams.getAll('scope').join(' ')
    if (request.method === 'POST') {
      const form = new URLSearchParams(await request.text())
      user = form.get('username') ?? ''
      pass = form.get('password') ?? form.get('refresh_token') ?? ''
      scope = form.get('scope') ?? ''
    } else {
      const basic = /^Basic (.+)$/.exec(request.headers.get('authorization') ?? '')
      if (basic)
        [user = '', pass = ''] = Buffer.from(basic[1] as string, 'base64')
          .toString()
          .split(':')
    }
    const credentialed = user !== '' || pass !== ''
    const valid = credentialed ? user === a?.username && pass === a?.password : a?.anonymous === true
    if (!valid) return HttpResponse.json({ details: 'incorrect username or password' }, { status: 401, statusText: 'Unauthorized' })
    const repo = /repository:([^:]+):/.exec(scope)?.[1] ?? ''
    const token = `token-for-${repo}`
    return HttpResponse.json(request.method === 'POST' ? { access_token: token } : { token })
  }

  handlers(): HttpHandler[] {
    const record = (request: Request): void => {
      this.seen.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers) })
    }
    return [
      http.all(`${this.origin}/token`, ({ request }) => {
        record(request)
        return this.#token(request)
      }),
      http.all(`${this.origin}/v2/*`, async ({ request }) => {
        record(request)
        const path = new URL(request.url).pathname.slice('/v2/'.length)
        const m = /^(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path)
        if (!m) return HttpResponse.json({ errors: [{ code: 'UNSUPPORTED', message: 'not here' }] }, { status: 404 })
        const [, repo = '', kind, ref = ''] = m
        const denied = this.#authorized(request, repo)
        if (denied) return denied
        if (kind === 'manifests') {
          if (this.noHead && request.method === 'HEAD') return new HttpResponse(null, { status: 405 })
          const found = this.manifests.get(ref.startsWith('sha256:') ? `${repo}@${ref}` : `${repo}:${ref}`)
          if (!found) {
            return HttpResponse.json(
              { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: ref } }] },
              { status: 404, statusText: 'Not Found' },
            )
          }
          const headers = {
            'Content-Type': found.mediaType,
            'Content-Length': String(found.body.length),
            'Docker-Content-Digest': sha256(found.body),
          }
          return new HttpResponse(request.method === 'HEAD' ? null : found.body, { headers })
        }
        const blob = this.blobs.get(ref)
        if (!blob) {
          return HttpResponse.json(
            { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: ref }] },
            { status: 404 },
          )
        }
        const wait = this.delayed.get(ref)
        if (wait !== undefined && request.method === 'GET') await delay(wait)
        if (this.redirect) {
          return new HttpResponse(null, { status: 307, headers: { Location: `${this.storage}/storage/${ref}` } })
        }
        return this.#blobBody(ref, blob, request)
      }),
      http.get(`${this.storage}/storage/:digest`, ({ request, params }) => {
        record(request)
        const digest = String(params.digest)
        const blob = this.blobs.get(digest)
        // Storage is not the registry: an Authorization header meant for the registry must not reach it.
        if (!blob || request.headers.has('authorization')) return new HttpResponse(null, { status: 403 })
        return this.#blobBody(digest, blob, request)
      }),
    ]
  }

  #blobBody(digest: string, blob: Buffer, request: Request): Response {
    const headers = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest }
    if (request.method === 'HEAD') return new HttpResponse(null, { headers: { ...headers, 'Content-Length': String(blob.length) } })
    if (this.corrupt.has(digest)) {
      const other = Buffer.from(blob)
      other.writeUInt8((other.at(-1) ?? 0) ^ 0xff, other.length - 1)
      return new HttpResponse(other, { headers })
    }
    if (this.truncated.has(digest)) return new HttpResponse(blob.subarray(0, Math.floor(blob.length / 2)), { headers })
    if (this.stalled.has(digest)) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the stream's callbacks have their own `this`
      const registry = this
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(blob.subarray(0, 10))
          // …and nothing more, until the client gives up.
          request.signal.addEventListener('abort', () => {
            registry.abandoned++
            controller.error(new Error('aborted'))
          })
        },
      })
      return new HttpResponse(stream, { headers })
    }
    return new HttpResponse(blob, { headers })
  }
}
