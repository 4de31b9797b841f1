// The live web view (--web HOST:PORT): one static page (web/index.html in the package) and the JSON
// it is drawn from — each panel at /api/<panel>, all of them live at /api/events (Server-Sent
// Events) — and two actions, a preset fault added and the run-time faults cleared, which are the
// harness's own operations (harness.ts). A face: it reads the harness and its node and owns no
// state of the node's.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { hostname, networkInterfaces } from 'node:os'
import { servedServices } from '../faults/served.js'
import type { Harness } from '../harness.js'
import type { JournalEntry } from '../journal/journal.js'
import type { Logger } from '../log.js'
import { packagePath } from '../paths.js'
import { listenAt, parseWebAddress } from '../listen-address.js'
import { faults, containers, images, journalView, nodeView, pods } from './panels.js'
import { HOST_NS } from '../model/runtime/pids.js'
import { PRESET_PARAMS, presetRules } from './presets.js'
import { EventStream } from './sse.js'

/** How often open event streams are brought up to date (only while a page is open). */
const TICK_MS = 250
/** How soon after a call its journal entry is sent. */
const SOON_MS = 50
/** The most journal entries a stream keeps for a browser that has not taken them; older ones are counted as skipped. */
const JOURNAL_BATCH = 200
/** The largest request body an action takes. */
const MAX_BODY = 64 * 1024

/** The page, and its Content-Security-Policy: only its own inline script (by hash) runs. */
function loadPage(): { html: string; csp: string } {
  const html = readFileSync(packagePath('web', 'index.html'), 'utf8')
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
  )
  const csp = `default-src 'none'; script-src ${hashes.join(' ')}; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`
  return { html, csp }
}

/** A Host header's (or an origin's) name and port; the name lower-case, an IPv6 address in brackets. */
const HOST = /^(\[[0-9a-f:.]+\]|[^:[\]/\\@\s]+)(?::(\d{1,5}))?$/i

/** An address as a Host header names it: an IPv6 address in brackets, lower-case. */
const hostName = (address: string): string => (address.includes(':') ? `[${address}]` : address).toLowerCase()

/**
 * The names this server answers to: loopback names, the addresses of the machine's own interfaces,
 * its host name and the host it was told to listen on. A DNS-rebinding page reaches the server
 * under its own domain, which none of them is.
 */
export class AllowedHosts {
  readonly #names: ReadonlySet<string>

  constructor(
    names: Iterable<string>,
    /** The port the server listens on. */
    readonly port: number,
  ) {
    this.#names = new Set([...names].map(hostName))
  }

  /** The names of this machine, and `host` (the address it was told to listen on). */
  static forMachine(host: string, port: number): AllowedHosts {
    const names = ['localhost', '::1', hostname()]
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) names.push(i.address)
    // A wildcard too (http://0.0.0.0:PORT/ is the address the server prints): no page's domain is one.
    names.push(host)
    return new AllowedHosts(names, port)
  }

  #name(name: string): boolean {
    const n = name.toLowerCase()
    return this.#names.has(n) || /^127(\.\d{1,3}){3}$/.test(n) || n.endsWith('.localhost') || n === 'localhost.'
  }

  /** True when a Host header names this machine (at any port: it may be forwarded). */
  host(header: string): boolean {
    const m = HOST.exec(header)
    return m !== null && this.#name(m[1]!)
  }

  /** True when an Origin header is a page of this server: http, a name of this machine, its port (or the one the request was sent to). */
  origin(origin: string, hostHeader: string): boolean {
    const m = /^http:\/\/(.+)$/.exec(origin)
    const o = m ? HOST.exec(m[1]!) : null
    if (!o || !this.#name(o[1]!)) return false
    const port = Number(o[2] ?? 80)
    return port === this.port || port === Number(HOST.exec(hostHeader)?.[2] ?? 80)
  }
}

/** What answers one method at one path (the route table in WebServer). */
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>

/** A refusal the client sees as this HTTP status and message. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export class WebServer {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  readonly #streams = new Set<EventStream<JournalEntry>>()
  readonly #page = loadPage()
  #timer: NodeJS.Timeout | undefined
  #soon: NodeJS.Timeout | undefined
  readonly #unsubscribe: () => void
  /** Nothing until listening. */
  #allowed = new AllowedHosts([], -1)
  #url = ''
  /** The node view last made (JSON), and what it was made from: made again only when one of those changed. */
  #view: { json: string; node: object; version: number; rules: readonly object[]; processes: readonly ViewedProcess[] } | undefined

  constructor(
    private readonly harness: Harness,
    private readonly log: Logger,
  ) {
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((err: unknown) => this.#fail(res, err))
    })
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    this.#server.on('clientError', (_err, socket) => socket.destroy())
    this.#unsubscribe = harness.journal.onRecord((e) => this.#guarded(() => this.#recorded(e)))
  }

  /** The page's address, http://HOST:PORT/ ("" until listening). */
  get url(): string {
    return this.#url
  }

  /** Listens on "HOST:PORT" (port 0: a free one). */
  async listen(address: string): Promise<void> {
    const at = parseWebAddress(address)
    const { bound, base } = await listenAt(this.#server, at)
    this.#allowed = AllowedHosts.forMachine(at.host, bound.port)
    this.#url = `${base}/`
  }

  /** Ends every event stream and connection, and stops listening. */
  async close(): Promise<void> {
    this.#unsubscribe()
    this.#stopTicking()
    for (const s of this.#streams) s.close()
    this.#streams.clear()
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  /** The routes: path → method → handler. One table answers a request and tells 405 from 404. */
  readonly #routes: Readonly<Record<string, Partial<Record<string, Handler>>>> = {
    '/': {
      GET: (_req, res) => {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': this.#page.csp,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        })
        res.end(this.#page.html)
      },
    },
    '/api/node': { GET: (_req, res) => json(res, 200, nodeView(this.harness)) },
    '/api/pods': { GET: (_req, res) => json(res, 200, pods(this.harness)) },
    '/api/containers': { GET: (_req, res) => json(res, 200, containers(this.harness)) },
    '/api/images': { GET: (_req, res) => json(res, 200, images(this.harness)) },
    '/api/faults': {
      GET: (_req, res) => json(res, 200, faults(this.harness)),
      POST: async (req, res) => {
        const body = await readJson(req, this.#allowed)
        const preset = typeof body.preset === 'string' ? body.preset : ''
        const args = body.args && typeof body.args === 'object' && !Array.isArray(body.args) ? (body.args as Record<string, unknown>) : {}
        const rules = refused(() => presetRules(preset, args))
        const list = refused(() => this.harness.addFaults(...rules))
        this.log.info(`web view: fault preset ${preset} added: ${JSON.stringify(rules)}`)
        this.#tick()
        json(res, 200, list)
      },
      DELETE: (req, res) => {
        sameOrigin(req, this.#allowed)
        this.harness.resetFaults()
        this.log.info('web view: run-time fault rules cleared')
        this.#tick()
        json(res, 200, faults(this.harness))
      },
    },
    '/api/journal': {
      GET: (_req, res, url) => {
        const since = url.searchParams.get('since') ?? '0'
        if (!/^\d+$/.test(since)) throw new HttpError(400, `since must be a journal sequence number (a whole number), got "${since}"`)
        const entries = this.harness.calls(undefined, { since: Number(since) }).map(journalView)
        // `last` is below every call still open (its seq is given when it starts, its entry kept when
        // it ends): asking again with since=last never misses a slow call; an entry may come twice.
        json(res, 200, { entries, last: this.harness.journal.settled })
      },
    },
    '/api/presets': {
      GET: (_req, res) =>
        json(res, 200, { presets: PRESET_PARAMS, methods: [...new Set(servedServices().flatMap((s) => s.methods))].sort() }),
    },
    '/api/events': { GET: (req, res) => this.#openStream(req, res) },
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A page on another site may send requests here from a browser: the server answers only
    // requests addressed to one of its own names (no DNS rebinding), and acts only on requests
    // from a page at one of them.
    const host = req.headers.host ?? ''
    if (!this.#allowed.host(host))
      throw new HttpError(
        403,
        `this web view answers only requests addressed to this machine (a loopback name or one of its addresses), not to "${host}"; open it at ${this.#url}`,
      )
    const url = new URL(req.url ?? '/', 'http://web.invalid')
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const methods = Object.hasOwn(this.#routes, path) ? this.#routes[path]! : undefined
    if (!methods) throw new HttpError(404, `there is nothing at ${url.pathname}; the web view is at /`)
    const handler = Object.hasOwn(methods, req.method ?? '') ? methods[req.method!] : undefined
    if (!handler) {
      res.setHeader('allow', Object.keys(methods).join(', '))
      throw new HttpError(405, `${req.method} is not allowed on ${path}; use ${Object.keys(methods).join(' or ')}`)
    }
    await handler(req, res, url)
  }

  #openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    })
    // Every update is one write: no Nagle delay between them.
    req.socket.setNoDelay(true)
    const stream = new EventStream<JournalEntry>(res, JOURNAL_BATCH, (s) => this.#guarded(() => s.flush(this.#nodeViewJson(), journalJson)))
    // The page starts with the journal's latest calls.
    for (const e of this.harness.calls().slice(-JOURNAL_BATCH)) stream.add(e)
    this.#streams.add(stream)
    res.once('close', () => {
      this.#streams.delete(stream)
      if (this.#streams.size === 0) this.#stopTicking()
    })
    res.write('retry: 1000\n\n')
    stream.flush(this.#nodeViewJson(), journalJson)
    this.#timer ??= setInterval(() => this.#guarded(() => this.#tick()), TICK_MS).unref()
  }

  /** A call was recorded: every stream gets it, written within SOON_MS (a burst of calls goes as one write). */
  #recorded(entry: JournalEntry): void {
    if (this.#streams.size === 0) return
    for (const s of this.#streams) s.add(entry)
    this.#soon ??= setTimeout(() => this.#guarded(() => this.#tick()), SOON_MS).unref()
  }

  /** Brings every stream that can take a write up to date; the view is made once for all of them. */
  #tick(): void {
    clearTimeout(this.#soon)
    this.#soon = undefined
    let view: string | undefined
    for (const s of this.#streams) {
      if (!s.ready) continue
      view ??= this.#nodeViewJson()
      s.flush(view, journalJson)
    }
  }

  /**
   * The node view as JSON, made again only when what it shows may have changed: the node's state
   * (Node.changes counts every change; a restart or reset brings another node), the fault
   * rules, or the processes (one started or gone, or its arguments replaced, as exec does). While
   * nothing changes, an open page costs a tick a few comparisons, not a view of every object.
   */
  #nodeViewJson(): string {
    const node = this.harness.node
    const version = node.changes
    const rules = this.harness.faults.list()
    const processes = node.pids.list(HOST_NS).map((p) => ({ node: p.node, args: p.node.args }))
    const v = this.#view
    if (
      v &&
      v.node === node &&
      v.version === version &&
      sameItems(v.rules, rules) &&
      sameItems(v.processes, processes, (a, b) => a.node === b.node && a.args === b.args)
    )
      return v.json
    const json = JSON.stringify(nodeView(this.harness))
    this.#view = { json, node, version, rules, processes }
    return json
  }

  /** Runs a timer's or a listener's work: what it throws is logged, never the end of the server. */
  #guarded(work: () => void): void {
    try {
      work()
    } catch (err) {
      this.log.error(`web view: updating the open pages failed: ${(err as Error).stack ?? String(err)}`)
    }
  }

  /** How many browsers' event streams are open (while none is, the view is not made). */
  get openStreams(): number {
    return this.#streams.size
  }

  #stopTicking(): void {
    clearInterval(this.#timer)
    clearTimeout(this.#soon)
    this.#timer = this.#soon = undefined
  }

  #fail(res: ServerResponse, err: unknown): void {
    const status = err instanceof HttpError ? err.status : 500
    if (status === 500) this.log.error(`web view: ${(err as Error).stack ?? String(err)}`)
    if (res.headersSent) return void res.destroy()
    json(res, status, { error: (err as Error).message })
  }
}

/** A process as the view was made from it: the table's entry and the arguments it had then. */
interface ViewedProcess {
  node: object
  args: readonly string[]
}

const sameItems = <T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean = (x, y) => x === y): boolean =>
  a.length === b.length && a.every((x, i) => same(x, b[i]!))
const journalJson = (entries: JournalEntry[], skipped: number): string => JSON.stringify({ entries: entries.map(journalView), skipped })

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  res.end(JSON.stringify(body))
}

/** What a harness operation refuses (a preset's arguments, a rule) is the client's mistake: 400. */
function refused<T>(change: () => T): T {
  try {
    return change()
  } catch (err) {
    throw new HttpError(400, (err as Error).message)
  }
}

/** A browser sends Origin with every request that changes something; it must be this server's own. */
function sameOrigin(req: IncomingMessage, allowed: AllowedHosts): void {
  const origin = req.headers.origin
  if (origin !== undefined && !allowed.origin(origin, req.headers.host ?? ''))
    throw new HttpError(
      403,
      `this web view acts only on requests from its own page (at port ${allowed.port} of this machine), not from ${origin}`,
    )
}

/**
 * An action's JSON body. It must say it is JSON: a page on another site cannot send that without
 * the browser asking first (CORS), which this server never allows.
 */
async function readJson(req: IncomingMessage, allowed: AllowedHosts): Promise<Record<string, unknown>> {
  sameOrigin(req, allowed)
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
    throw new HttpError(415, 'send the action as JSON (Content-Type: application/json)')
  let size = 0
  const parts: Buffer[] = []
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length
    if (size > MAX_BODY) throw new HttpError(413, `an action's body may hold at most ${MAX_BODY} bytes`)
    parts.push(part)
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(parts).toString('utf8'))
  } catch (err) {
    throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`)
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'the body must be a JSON object such as {"preset":"flaky","args":{"method":"ListPodSandbox"}}')
  return body as Record<string, unknown>
}
