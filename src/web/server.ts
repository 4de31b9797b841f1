// The live web view (--web HOST:PORT): one static page (web/index.html in the package) and the JSON
// it is drawn from — each panel at /api/<panel>, all of them live at /api/events (Server-Sent
// Events) — and two actions, a preset fault added and the run-time faults cleared, which are the
// harness's own operations (harness.ts). A face: it reads the harness and its node and owns no
// state of the node's.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { servedServices } from '../faults/served.js'
import type { Harness } from '../harness.js'
import type { JournalEntry } from '../journal/journal.js'
import type { Logger } from '../log.js'
import { packagePath } from '../paths.js'
import { listenAt, parseStreamAddress } from '../streaming/server.js'
import { faults, containers, images, journalView, nodeView, pods } from './panels.js'
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

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i
const isLoopback = (address: string): boolean => address === '::1' || address.startsWith('127.')

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
  #loopback = true
  #url = ''

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
    this.#unsubscribe = harness.journal.onRecord((e) => this.#recorded(e))
  }

  /** The page's address, http://HOST:PORT/ ("" until listening). */
  get url(): string {
    return this.#url
  }

  /** Listens on "HOST:PORT" (port 0: a free one). */
  async listen(address: string): Promise<void> {
    const { bound, base } = await listenAt(this.#server, parseStreamAddress(address, 'web address'))
    this.#loopback = isLoopback(bound.address)
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

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A page on another site may send requests here from a browser: a loopback server answers only
    // requests addressed to a loopback name (no DNS rebinding), and acts only on same-origin ones.
    if (this.#loopback && !LOOPBACK_HOST.test(req.headers.host ?? ''))
      throw new HttpError(403, `this web view answers only requests for a loopback host, not "${req.headers.host ?? ''}"`)
    const url = new URL(req.url ?? '/', 'http://web.invalid')
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '') || '/'}`
    switch (route) {
      case 'GET /':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': this.#page.csp,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        })
        return void res.end(this.#page.html)
      case 'GET /api/node':
        return json(res, 200, nodeView(this.harness))
      case 'GET /api/pods':
        return json(res, 200, pods(this.harness))
      case 'GET /api/containers':
        return json(res, 200, containers(this.harness))
      case 'GET /api/images':
        return json(res, 200, images(this.harness))
      case 'GET /api/faults':
        return json(res, 200, faults(this.harness))
      case 'GET /api/journal': {
        const since = url.searchParams.get('since') ?? '0'
        if (!/^\d+$/.test(since)) throw new HttpError(400, `since must be a journal sequence number (a whole number), got "${since}"`)
        const entries = this.harness.calls(undefined, { since: Number(since) }).map(journalView)
        return json(res, 200, { entries, last: this.harness.journal.last })
      }
      case 'GET /api/presets':
        return json(res, 200, { presets: PRESET_PARAMS, methods: [...new Set(servedServices().flatMap((s) => s.methods))].sort() })
      case 'POST /api/faults': {
        const body = await readJson(req)
        const preset = typeof body.preset === 'string' ? body.preset : ''
        const args = body.args && typeof body.args === 'object' && !Array.isArray(body.args) ? (body.args as Record<string, unknown>) : {}
        const rules = refused(() => presetRules(preset, args))
        const list = refused(() => this.harness.addFaults(...rules))
        this.log.info(`web view: fault preset ${preset} added: ${JSON.stringify(rules)}`)
        this.#tick()
        return json(res, 200, list)
      }
      case 'DELETE /api/faults':
        sameOrigin(req)
        this.harness.resetFaults()
        this.log.info('web view: run-time fault rules cleared')
        this.#tick()
        return json(res, 200, faults(this.harness))
      case 'GET /api/events':
        return this.#openStream(req, res)
    }
    const known = [
      '/',
      '/api/node',
      '/api/pods',
      '/api/containers',
      '/api/images',
      '/api/faults',
      '/api/journal',
      '/api/presets',
      '/api/events',
    ]
    if (known.includes(url.pathname)) throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`)
    throw new HttpError(404, `there is nothing at ${url.pathname}; the web view is at /`)
  }

  #openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    })
    // Every update is one write: no Nagle delay between them.
    req.socket.setNoDelay(true)
    const stream = new EventStream<JournalEntry>(res, JOURNAL_BATCH, (s) => s.flush(nodeViewJson(this.harness), journalJson))
    // The page starts with the journal's latest calls.
    for (const e of this.harness.calls().slice(-JOURNAL_BATCH)) stream.add(e)
    this.#streams.add(stream)
    res.once('close', () => {
      this.#streams.delete(stream)
      if (this.#streams.size === 0) this.#stopTicking()
    })
    res.write('retry: 1000\n\n')
    stream.flush(nodeViewJson(this.harness), journalJson)
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS).unref()
  }

  /** A call was recorded: every stream gets it, written within SOON_MS (a burst of calls goes as one write). */
  #recorded(entry: JournalEntry): void {
    if (this.#streams.size === 0) return
    for (const s of this.#streams) s.add(entry)
    this.#soon ??= setTimeout(() => this.#tick(), SOON_MS).unref()
  }

  /** Brings every stream that can take a write up to date; the view is made once for all of them. */
  #tick(): void {
    clearTimeout(this.#soon)
    this.#soon = undefined
    let view: string | undefined
    for (const s of this.#streams) {
      if (!s.ready) continue
      view ??= nodeViewJson(this.harness)
      s.flush(view, journalJson)
    }
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

const nodeViewJson = (harness: Harness): string => JSON.stringify(nodeView(harness))
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
function sameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`)
    throw new HttpError(403, `this web view acts only on requests from its own page, not from ${origin}`)
}

/**
 * An action's JSON body. It must say it is JSON: a page on another site cannot send that without
 * the browser asking first (CORS), which this server never allows.
 */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  sameOrigin(req)
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
