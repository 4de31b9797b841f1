// Registry authorization as containerd's dockerAuthorizer does it (remotes/docker/authorizer.go,
// remotes/docker/auth/fetch.go, 1.6.20): a 401's WWW-Authenticate challenge picks the scheme; Basic
// sends the credentials as they are; Bearer fetches a token from the challenge's realm — with a
// secret by the OAuth POST (falling back to GET with Basic auth where the server refuses POST),
// without one anonymously by GET — once per host and scope set.
import { RegistryError } from './errors.js'
import type { HostTls } from './tls.js'
import { requestError, send } from './transport.js'

export interface Challenge {
  scheme: 'basic' | 'bearer' | string
  parameters: Record<string, string>
}

/**
 * A registry's credentials for a host: username and secret (no username: the secret is an identity
 * token). Asked only when a host challenges; a Transfer client answers over its auth stream, hence a promise.
 */
export type Credentials = (
  host: string,
  /** The requests' own signal: a question still open when it aborts is given up. */
  signal?: AbortSignal,
) => { username: string; secret: string } | undefined | Promise<{ username: string; secret: string } | undefined>

/** Parses WWW-Authenticate headers (auth.ParseAuthHeader): scheme then key="value" pairs. */
export function parseChallenges(headers: readonly string[]): Challenge[] {
  const out: Challenge[] = []
  for (const header of headers) {
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header)
    if (!m) continue
    const parameters: Record<string, string> = {}
    const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g
    let p: RegExpExecArray | null
    while ((p = re.exec(m[2] as string)))
      parameters[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '')
    out.push({ scheme: (m[1] as string).toLowerCase(), parameters })
  }
  return out
}

interface Handler {
  scheme: 'basic' | 'bearer'
  username: string
  secret: string
  realm: string
  service: string
  scopes: string[]
  /** Tokens by the scope set they were fetched for (one fetch per set, shared by concurrent requests). */
  tokens: Map<string, Promise<string>>
}

/** auth.ErrUnexpectedStatus's text. */
const unexpectedStatus = (method: string, url: string, res: Response): RegistryError =>
  new RegistryError('Unknown', `unexpected status from ${method} request to ${url}: ${res.status} ${res.statusText}`, res.status)

export class Authorizer {
  readonly #handlers = new Map<string, Handler>()
  /**
   * A challenge being answered, by host: containerd holds the authorizer's lock across credentials(),
   * so a second 401 from the host waits for the first's answer (asked once, its token cache kept).
   */
  readonly #answering = new Map<string, Promise<boolean>>()

  constructor(
    private readonly credentials: Credentials | undefined,
    private readonly headers: Record<string, string>,
    private readonly signal?: AbortSignal,
    /** The TLS settings of the host this authorizer serves: its token requests use them too (WithAuthClient). */
    private readonly tls?: HostTls,
    /** containerd 1.7 and later refuse an empty Basic answer (ErrInvalidAuthorization); 1.6 leaves the 401 as it is. */
    private readonly refuseEmptyBasic = true,
  ) {}

  /** The Authorization header for a request to `host`, when a challenge from it was answered before. */
  async authorize(host: string, scopes: readonly string[]): Promise<string | undefined> {
    const h = this.#handlers.get(host)
    if (!h) return undefined
    if (h.scheme === 'basic') {
      if (h.username === '' || h.secret === '')
        throw new RegistryError('Unknown', 'failed to handle basic auth because missing username or secret')
      return `Basic ${Buffer.from(`${h.username}:${h.secret}`).toString('base64')}`
    }
    const all = [...new Set([...h.scopes, ...scopes])].sort()
    const key = all.join(' ')
    let token = h.tokens.get(key)
    if (!token) {
      token = this.#fetchToken(h, all)
      h.tokens.set(key, token)
      // A failed fetch is not cached for good: the next request asks again, as a new handler would.
      token.catch(() => h.tokens.delete(key))
    }
    return `Bearer ${await token}`
  }

  /**
   * Learns from a 401 (AddResponses): true when a retry may now succeed. A Bearer challenge that
   * names an error for a request that was already retried is refused credentials.
   */
  async addResponse(host: string, res: Response, retried: boolean): Promise<boolean> {
    for (let pending = this.#answering.get(host); pending; pending = this.#answering.get(host)) await pending.catch(() => false)
    const answer = this.#addResponse(host, res, retried)
    this.#answering.set(host, answer)
    try {
      return await answer
    } finally {
      if (this.#answering.get(host) === answer) this.#answering.delete(host)
    }
  }

  async #addResponse(host: string, res: Response, retried: boolean): Promise<boolean> {
    for (const c of parseChallenges(res.headers.get('www-authenticate')?.split(/,(?=\s*(?:Basic|Bearer)\b)/i) ?? [])) {
      if (c.scheme === 'bearer') {
        const error = c.parameters.error
        if (error && retried) {
          this.#handlers.delete(host)
          throw new RegistryError('Unauthorized', `server message: ${error}: authorization failed`)
        }
        if (this.#handlers.has(host)) return true
        const realm = c.parameters.realm
        if (!realm) throw new RegistryError('Unknown', 'no realm specified for token auth challenge')
        try {
          new URL(realm)
        } catch {
          throw new RegistryError('Unknown', `invalid token auth challenge realm: parse "${realm}": invalid URI for request`)
        }
        const cred = await this.credentials?.(host, this.signal)
        this.#handlers.set(host, {
          scheme: 'bearer',
          username: cred?.username ?? '',
          secret: cred?.secret ?? '',
          realm,
          service: c.parameters.service ?? '',
          scopes: c.parameters.scope ? c.parameters.scope.split(' ') : [],
          tokens: new Map(),
        })
        return true
      }
      if (c.scheme === 'basic' && this.credentials) {
        const cred = await this.credentials(host, this.signal)
        if (!cred || cred.username === '' || cred.secret === '') {
          // An answer without a user name or secret (ctr without --user, CRI without auth).
          if (this.refuseEmptyBasic) throw new RegistryError('Unauthorized', 'authorization failed: no basic auth credentials')
          return false
        }
        this.#handlers.set(host, { scheme: 'basic', ...cred, realm: '', service: '', scopes: [], tokens: new Map() })
        return true
      }
    }
    return false
  }

  async #fetchToken(h: Handler, scopes: string[]): Promise<string> {
    if (h.secret !== '') {
      try {
        return await this.#oauthPost(h, scopes)
      } catch (err) {
        const status = err instanceof RegistryError ? err.status : undefined
        const fallback = (status === 405 && h.username !== '') || status === 404 || status === 401 || status === 400
        if (!fallback) throw prefix(err, 'failed to fetch oauth token')
        try {
          return await this.#tokenGet(h, scopes, true)
        } catch (e) {
          throw prefix(e, 'failed to fetch oauth token')
        }
      }
    }
    try {
      return await this.#tokenGet(h, scopes, false)
    } catch (err) {
      throw prefix(err, 'failed to fetch anonymous token')
    }
  }

  /** auth.FetchTokenWithOAuth: a form POST to the realm. */
  async #oauthPost(h: Handler, scopes: string[]): Promise<string> {
    const form = new URLSearchParams()
    form.set('scope', scopes.join(' '))
    form.set('service', h.service)
    form.set('client_id', 'containerd-client')
    if (h.username === '') {
      form.set('grant_type', 'refresh_token')
      form.set('refresh_token', h.secret)
    } else {
      form.set('grant_type', 'password')
      form.set('username', h.username)
      form.set('password', h.secret)
    }
    const realm = new URL(h.realm)
    const res = await send(
      realm,
      {
        method: 'POST',
        headers: { ...this.headers, 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: form.toString(),
        ...(this.signal ? { signal: this.signal } : {}),
      },
      this.tls,
    ).catch((err: unknown) => {
      throw requestError('POST', realm, err, this.signal)
    })
    if (res.status < 200 || res.status >= 400) throw unexpectedStatus('POST', h.realm, res)
    const body = (await res.json().catch(() => {
      throw new RegistryError('Unknown', 'unable to decode token response: invalid JSON')
    })) as { access_token?: string }
    if (!body.access_token) throw new RegistryError('Unknown', 'authorization server did not include a token in the response')
    return body.access_token
  }

  /** auth.FetchToken: a GET to the realm with service and scope, Basic auth when there are credentials. */
  async #tokenGet(h: Handler, scopes: string[], withCredentials: boolean): Promise<string> {
    const url = new URL(h.realm)
    if (h.service) url.searchParams.set('service', h.service)
    for (const s of scopes) url.searchParams.append('scope', s)
    const headers: Record<string, string> = { ...this.headers }
    if (withCredentials) headers.Authorization = `Basic ${Buffer.from(`${h.username}:${h.secret}`).toString('base64')}`
    const res = await send(url, { method: 'GET', headers, ...(this.signal ? { signal: this.signal } : {}) }, this.tls).catch(
      (err: unknown) => {
        throw requestError('GET', url, err, this.signal)
      },
    )
    if (res.status < 200 || res.status >= 400) throw unexpectedStatus('GET', url.toString(), res)
    const body = (await res.json().catch(() => {
      throw new RegistryError('Unknown', 'unable to decode token response: invalid JSON')
    })) as { token?: string; access_token?: string }
    const token = body.token || body.access_token
    if (!token) throw new RegistryError('Unknown', 'authorization server did not include a token in the response')
    return token
  }
}

function prefix(err: unknown, text: string): RegistryError {
  if (err instanceof RegistryError) return new RegistryError(err.kind, `${text}: ${err.message}`, err.status)
  return new RegistryError('Unknown', `${text}: ${err instanceof Error ? err.message : String(err)}`)
}
