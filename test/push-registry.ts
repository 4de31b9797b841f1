// A registry of the Distribution API on 127.0.0.1 for Transfer push and pull tests, in-process over
// node:http so a test can shape it: Basic or Bearer auth (a token endpoint taking Basic credentials),
// uploads whose Location names another origin, blob uploads that fail or never answer. Every request
// is recorded (method, path, Authorization) in the order it arrived; requests the client abandoned
// are counted.
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

export interface Seen {
  method: string
  path: string
  authorization: string | undefined
}

export class PushRegistry {
  readonly manifests = new Map<string, { mediaType: string; body: Buffer }>()
  readonly blobs = new Map<string, Buffer>()
  readonly seen: Seen[] = []
  /** Requires these Basic credentials (directly, or for a token when `bearer`). */
  user: { name: string; password: string } | undefined
  bearer = false
  /** POST answers a Location on this origin (another host) instead of a path. */
  uploadOrigin: string | undefined
  /** Uploads of these digests answer 500; of `hang`, never. */
  readonly fail = new Set<string>()
  readonly hang = new Set<string>()
  /** Requests left unanswered (hung) and, of those, the ones the client gave up on. */
  hung = 0
  abandoned = 0
  #server: Server | undefined
  origin = ''
  host = ''

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res))
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve))
    const { port } = this.#server.address() as AddressInfo
    this.host = `127.0.0.1:${port}`
    this.origin = `http://${this.host}`
    return this
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections()
    await new Promise((resolve) => this.#server?.close(resolve))
  }

  count(method: string, pattern: RegExp): number {
    return this.seen.filter((s) => s.method === method && pattern.test(s.path)).length
  }

  #basic(): string {
    return `Basic ${Buffer.from(`${this.user!.name}:${this.user!.password}`).toString('base64')}`
  }

  /** The 401 when the request is not authorized; none when it is. */
  #refuse(req: IncomingMessage, res: ServerResponse, repo: string): boolean {
    if (!this.user) return false
    const given = req.headers.authorization
    if (this.bearer ? given === 'Bearer pushed-token' : given === this.#basic()) return false
    const challenge = this.bearer
      ? `Bearer realm="${this.origin}/token",service="push-registry",scope="repository:${repo}:pull,push"`
      : 'Basic realm="push-registry"'
    res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }))
    return true
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin)
    this.seen.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, authorization: req.headers.authorization })
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    if (url.pathname === '/token') {
      if (req.headers.authorization !== this.#basic()) return void res.writeHead(401).end()
      res.writeHead(200, { 'Content-Type': 'application/json' })
      return void res.end(JSON.stringify({ token: 'pushed-token' }))
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs)\/(.+)$/.exec(url.pathname)
    if (!m) return void res.writeHead(404).end()
    const [, repo = '', kind, ref = ''] = m
    // An upload moved to another origin is that origin's to accept (it holds no credentials).
    if (!(req.method === 'PUT' && ref.startsWith('uploads/')) && this.#refuse(req, res, repo)) return
    if (kind === 'manifests') {
      if (req.method === 'PUT') {
        const entry = { mediaType: String(req.headers['content-type']), body }
        this.manifests.set(`${repo}:${ref}`, entry)
        this.manifests.set(`${repo}@${sha256(body)}`, entry)
        return void res.writeHead(201, { 'Docker-Content-Digest': sha256(body) }).end()
      }
      const found = this.manifests.get(ref.startsWith('sha256:') ? `${repo}@${ref}` : `${repo}:${ref}`)
      if (!found) return void res.writeHead(404).end()
      res.writeHead(200, {
        'Content-Type': found.mediaType,
        'Content-Length': found.body.length,
        'Docker-Content-Digest': sha256(found.body),
      })
      return void res.end(req.method === 'HEAD' ? undefined : found.body)
    }
    if (req.method === 'POST' && ref === 'uploads/') {
      const path = `/v2/${repo}/blobs/uploads/${Math.random().toString(36).slice(2)}`
      return void res.writeHead(202, { Location: `${this.uploadOrigin ?? ''}${path}` }).end()
    }
    if (req.method === 'PUT' && ref.startsWith('uploads/')) {
      const digest = url.searchParams.get('digest') ?? ''
      if (this.fail.has(digest)) return void res.writeHead(500).end()
      if (this.hang.has(digest)) {
        this.hung++
        res.on('close', () => this.abandoned++)
        return
      }
      this.blobs.set(digest, body)
      return void res.writeHead(201).end()
    }
    const blob = this.blobs.get(ref)
    if (!blob) return void res.writeHead(404).end()
    res.writeHead(200, { 'Content-Length': blob.length, 'Docker-Content-Digest': ref })
    res.end(req.method === 'HEAD' ? undefined : blob)
  }
}
