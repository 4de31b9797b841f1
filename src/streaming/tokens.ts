// The streaming server's request cache (kubelet's cri/streaming request_cache.go, which containerd
// serves): each Exec, Attach or PortForward request is kept under a random 8-character base64url
// token for one minute of real time, taken out once, at most 1000 at a time.
import { randomBytes } from 'node:crypto'
import { RuntimeError } from '../model/errors.js'

export const TOKEN_TTL_MS = 60_000
export const MAX_IN_FLIGHT = 1000
const TOKEN_LENGTH = 8

export class RequestCache<T> {
  /** Oldest first (a Map keeps insertion order). */
  #entries = new Map<string, { request: T; expires: number }>()

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    this.#gc()
    return this.#entries.size
  }

  insert(request: T): string {
    this.#gc()
    if (this.#entries.size >= MAX_IN_FLIGHT) throw new RuntimeError('ResourceExhausted', 'maximum number of in-flight requests exceeded')
    for (let i = 0; i < 10; i++) {
      const token = randomBytes(6).toString('base64url').slice(0, TOKEN_LENGTH)
      if (this.#entries.has(token)) continue
      this.#entries.set(token, { request, expires: this.now() + TOKEN_TTL_MS })
      return token
    }
    throw new RuntimeError('Unknown', 'failed to generate unique token')
  }

  /** The request behind a token, which is used up; undefined when unknown, used or expired. */
  consume(token: string): T | undefined {
    const entry = this.#entries.get(token)
    if (!entry) return undefined
    this.#entries.delete(token)
    return this.now() > entry.expires ? undefined : entry.request
  }

  #gc(): void {
    const now = this.now()
    for (const [token, entry] of this.#entries) {
      if (now <= entry.expires) return
      this.#entries.delete(token)
    }
  }
}
