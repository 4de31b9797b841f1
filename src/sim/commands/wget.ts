// busybox wget: HTTP/1.1 GET (or POST) over the container's network namespace to the simulated
// servers, with busybox's messages on stderr ("Connecting to …", the progress line as it is
// written when stderr is not a terminal, "saved"), its options (-q -S -O -P -T -U --spider
// --header --post-data --post-file) and its errors, each of which ends wget with status 1.
import { StringDecoder } from 'node:string_decoder'
import type { Command, CommandContext } from '../context.js'
import { socketOwner } from '../http.js'
import { NetError, StreamReader, type Connection } from '../net.js'
import { abs, has, last, parseOptions, reason, usage } from './fs-common.js'
import { lookupPort, resolveHost } from './resolve.js'

const USAGE =
  '[-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[--no-check-certificate] [-P DIR] [-U AGENT] [-T SEC] URL...'

/** Long options: the short letter they stand for, or their own key. */
const LONG: Readonly<Record<string, { letter?: string; key?: string; value: boolean }>> = {
  continue: { letter: 'c', value: false },
  quiet: { letter: 'q', value: false },
  'server-response': { letter: 'S', value: false },
  'output-document': { letter: 'O', value: true },
  'output-file': { letter: 'o', value: true },
  'directory-prefix': { letter: 'P', value: true },
  proxy: { letter: 'Y', value: true },
  'user-agent': { letter: 'U', value: true },
  timeout: { letter: 'T', value: true },
  tries: { letter: 't', value: true },
  header: { key: 'header', value: true },
  'post-data': { key: 'post-data', value: true },
  'post-file': { key: 'post-file', value: true },
  spider: { key: 'spider', value: false },
  'no-check-certificate': { key: 'ignored', value: false },
  'no-cache': { key: 'ignored', value: false },
  'no-verbose': { key: 'ignored', value: false },
  'no-clobber': { key: 'ignored', value: false },
  'no-host-directories': { key: 'ignored', value: false },
  'no-parent': { key: 'ignored', value: false },
}

/** Ends wget: "wget: MESSAGE" and status 1. */
class Die extends Error {}

interface Url {
  protocol: 'http' | 'https' | 'ftp'
  /** host[:port] as written. */
  host: string
  path: string
}

function parseUrl(text: string): Url {
  let protocol: Url['protocol'] = 'http'
  let rest = text
  const sep = text.indexOf('://')
  if (sep !== -1) {
    const scheme = text.slice(0, sep)
    if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ftp') throw new Die(`not an http or ftp url: ${text}`)
    protocol = scheme
    rest = text.slice(sep + 3)
  }
  const cut = rest.search(/[/?#]/)
  let host = cut === -1 ? rest : rest.slice(0, cut)
  const path = cut === -1 ? '' : rest[cut] === '/' ? rest.slice(cut + 1) : rest.slice(cut + 1)
  host = host.slice(host.lastIndexOf('@') + 1)
  return { protocol, host, path }
}

const DEFAULT_PORTS = { http: 80, https: 443, ftp: 21 }

/** busybox's smart_ulltoa5: five characters ("  615", "1234k", "92.1M"). */
function size5(n: number): string {
  if (n <= 99999) return String(n).padStart(5)
  const scale = ' kMGTPEZY'
  let v = n * 10
  let idx = 0
  do {
    v = Math.floor(v / 1024)
    idx++
  } while (v >= 100000)
  const u = Math.floor(v / 10)
  if (u >= 100) return `${String(u).padStart(4)}${scale[idx]}`
  return `${String(u).padStart(2)}.${v % 10}${scale[idx]}`
}

/** The progress line busybox prints once when stderr is not a terminal. */
function progressLine(file: string, transferred: number, total: number): string {
  const name = file.slice(0, 20).padEnd(20)
  let line = `${name} `
  if (total > 0)
    line += `${String(Math.floor((100 * transferred) / total)).padStart(3)}% |${'*'.repeat(Math.floor((32 * transferred) / total)).padEnd(32)}| `
  line += size5(transferred)
  line += total > 0 && transferred > 0 ? '  0:00:00 ETA' : ' --:--:-- ETA'
  return `${line}\n`
}

interface Settings {
  quiet: boolean
  serverResponse: boolean
  spider: boolean
  timeoutMs: number
  userAgent: string
  headers: string[]
  postData: string | undefined
  output: string | undefined
  prefix: string | undefined
}

class Download {
  #reader!: StreamReader
  #conn!: Connection

  constructor(
    private readonly ctx: CommandContext,
    private readonly s: Settings,
  ) {}

  #err(text: string): void {
    this.ctx.write('stderr', text)
  }

  /** Races a wait against -T SEC (a stalled server: "download timed out"). */
  async #timed<T>(p: Promise<T>): Promise<T> {
    const controller = new AbortController()
    const timeout = this.ctx.clock.sleep(this.s.timeoutMs, AbortSignal.any([controller.signal, this.ctx.signal])).then(
      () => {
        throw new Die('download timed out')
      },
      () => new Promise<never>(() => {}),
    )
    try {
      return await Promise.race([p, timeout])
    } finally {
      controller.abort()
    }
  }

  async #line(show: boolean): Promise<string> {
    const line = await this.#timed(this.#reader.line())
    if (line === undefined) throw new Die('error getting response')
    // Control characters end the line (busybox's sanitize_string); tabs become spaces.
    const clean = line.replace(/\t/g, ' ').replace(/[\x00-\x1f].*$/s, '')
    if (show && this.s.serverResponse) this.#err(`  ${clean}\n`)
    return clean
  }

  #connect(url: Url, announce = true): void {
    const colon = url.host.lastIndexOf(':')
    const name = colon === -1 ? url.host : url.host.slice(0, colon)
    let port = DEFAULT_PORTS[url.protocol]
    if (colon !== -1) {
      const p = lookupPort(this.ctx, url.host.slice(colon + 1), 'tcp')
      if (p === undefined) throw new Die(`bad port '${url.host.slice(colon + 1)}'`)
      port = p
    }
    const ip = resolveHost(this.ctx, name)
    if (ip === undefined) throw new Die(`bad address '${url.host}'`)
    if (!this.s.quiet && announce) this.#err(`Connecting to ${url.host} (${ip}:${port})\n`)
    try {
      if (!this.ctx.net) throw new NetError('ENETUNREACH')
      this.#conn = this.ctx.net.connect({ address: ip, port, owner: socketOwner(this.ctx, 'wget'), signal: this.ctx.signal })
    } catch (err) {
      if (err instanceof NetError) throw new Die(`can't connect to remote host (${ip}): ${err.message}`)
      throw err
    }
    this.#reader = new StreamReader(this.#conn)
  }

  async run(text: string): Promise<void> {
    let url = parseUrl(text)
    let file = this.s.output
    if (file === undefined) {
      const lastPart = url.path.split('/').pop() ?? ''
      file = lastPart === '' ? 'index.html' : lastPart
      if (this.s.prefix !== undefined) file = `${this.s.prefix.replace(/\/+$/, '')}/${file}`
    }
    let redirects = 16
    this.#connect(url)
    for (;;) {
      if (url.protocol !== 'http') throw new Die('error getting response: Connection reset by peer')
      this.#request(url)
      let status = 0
      let statusLine = ''
      do {
        statusLine = await this.#line(true)
        status = Number(/^\S*\s+(\d+)/.exec(statusLine)?.[1] ?? 0)
        if (status === 0 || status === 100) while ((await this.#line(true)) !== '');
      } while (status === 0 || status === 100)
      if (!((status >= 200 && status <= 204) || [300, 301, 302, 303, 307, 308].includes(status))) {
        throw new Die(`server returned error: ${statusLine}`)
      }
      let length: number | undefined
      let chunked = false
      let location: string | undefined
      for (;;) {
        const h = await this.#line(true)
        if (h === '') break
        const m = /^([A-Za-z0-9._-]+):\s*(.*?)\s*$/.exec(h)
        if (!m) throw new Die(`bad header line: ${h}`)
        const key = (m[1] as string).toLowerCase()
        const value = m[2] as string
        if (key === 'content-length') {
          if (!/^\d+$/.test(value)) throw new Die(`content-length ${value} is garbage`)
          length = Number(value)
        } else if (key === 'transfer-encoding') {
          if (value.toLowerCase() !== 'chunked') throw new Die(`transfer encoding '${value}' is not supported`)
          chunked = true
        } else if (key === 'location' && status >= 300) {
          location = value
          break
        }
      }
      if (location === undefined) return this.#finish(file, length, chunked)
      if (--redirects === 0) throw new Die('too many redirections')
      this.#conn.close()
      if (location.startsWith('/')) {
        // Same server: busybox reconnects to the address it has without saying so.
        url = { ...url, path: location.slice(1) }
        this.#connect(url, false)
      } else {
        url = parseUrl(location)
        this.#connect(url)
      }
    }
  }

  #request(url: Url): void {
    const post = this.s.postData !== undefined
    const custom = (name: string): boolean => this.s.headers.some((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    let req = `${post ? 'POST' : 'GET'} /${url.path} HTTP/1.1\r\n`
    if (!custom('Host')) req += `Host: ${url.host}\r\n`
    if (!custom('User-Agent')) req += `User-Agent: ${this.s.userAgent}\r\n`
    req += 'Connection: close\r\n'
    for (const h of this.s.headers) req += `${h}\r\n`
    if (post) {
      if (!custom('Content-Type')) req += 'Content-Type: application/x-www-form-urlencoded\r\n'
      req += `Content-Length: ${Buffer.byteLength(this.s.postData ?? '')}\r\n\r\n${this.s.postData}`
    } else req += '\r\n'
    this.#conn.write(req)
  }

  async #body(length: number | undefined, chunked: boolean): Promise<Buffer[]> {
    const parts: Buffer[] = []
    const readExact = async (n: number): Promise<void> => {
      let left = n
      while (left > 0) {
        const b = await this.#timed(this.#reader.bytes(Math.min(left, 65536)))
        if (b.length === 0) throw new Die('connection closed prematurely')
        parts.push(b)
        left -= b.length
      }
    }
    if (chunked) {
      for (;;) {
        const sizeLine = await this.#line(false)
        const size = parseInt(sizeLine, 16)
        if (!(size >= 0)) throw new Die(`bad chunk length '${sizeLine}'`)
        if (size === 0) break
        await readExact(size)
        await this.#line(false)
      }
    } else if (length !== undefined) {
      await readExact(length)
    } else {
      for (let chunk = await this.#timed(this.#reader.chunk()); chunk; chunk = await this.#timed(this.#reader.chunk())) parts.push(chunk)
    }
    return parts
  }

  async #finish(file: string, length: number | undefined, chunked: boolean): Promise<void> {
    if (this.s.spider) {
      if (!this.s.quiet) this.#err('remote file exists\n')
      this.#conn.close()
      return
    }
    const toStdout = file === '-'
    const path = abs(this.ctx, file)
    // Without -O an existing file is not overwritten (O_EXCL).
    if (!toStdout && this.s.output === undefined && this.ctx.fs.lstat(path) !== undefined)
      throw new Die(`can't open '${file}': File exists`)
    if (!this.s.quiet) this.#err(toStdout ? 'writing to stdout\n' : `saving to '${file}'\n`)
    const parts = await this.#body(length, chunked)
    this.#conn.close()
    const data = Buffer.concat(parts)
    if (toStdout) {
      const decoder = new StringDecoder('utf8')
      this.ctx.write('stdout', decoder.write(data) + decoder.end())
    } else {
      try {
        this.ctx.fs.writeFile(path, data)
      } catch (err) {
        throw new Die(`can't open '${file}': ${reason(err)}`)
      }
    }
    if (!this.s.quiet) {
      this.#err(progressLine(file.slice(file.lastIndexOf('/') + 1), data.length, data.length))
      this.#err(toStdout ? 'written to stdout\n' : `'${file}' saved\n`)
    }
  }
}

export const wget: Command = async (args, ctx) => {
  const short: string[] = []
  const headers: string[] = []
  let postData: string | undefined
  let postFile: string | undefined
  let spider = false
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (!a.startsWith('--') || a === '--') {
      short.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = a.slice(2, eq === -1 ? undefined : eq)
    const opt = LONG[name]
    if (!opt) {
      ctx.write('stderr', `wget: unrecognized option '${a}'\n`)
      return 1
    }
    let value: string | undefined
    if (opt.value) {
      value = eq === -1 ? args[++i] : a.slice(eq + 1)
      if (value === undefined) {
        ctx.write('stderr', `wget: option '--${name}' requires an argument\n`)
        return 1
      }
    }
    if (opt.letter) short.push(`-${opt.letter}`, ...(value !== undefined ? [value] : []))
    else if (opt.key === 'header') headers.push(value as string)
    else if (opt.key === 'post-data') postData = value
    else if (opt.key === 'post-file') postFile = value
    else if (opt.key === 'spider') spider = true
  }
  const o = parseOptions('wget', short, { flags: 'cqS', valued: 'OoPYUTtn', usage: USAGE }, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length === 0) return usage(ctx, 'wget', { usage: USAGE })
  const timeout = last(o, 'T') ?? '900'
  if (!/^\d+$/.test(timeout)) {
    ctx.write('stderr', `wget: invalid number '${timeout}'\n`)
    return 1
  }
  if (postFile !== undefined) {
    try {
      postData = postFile === '-' ? await ctx.stdin.readAll() : ctx.fs.readFile(abs(ctx, postFile)).toString('utf8')
    } catch (err) {
      ctx.write('stderr', `wget: can't open '${postFile}': ${reason(err)}\n`)
      return 1
    }
  }
  const output = last(o, 'O')
  const log = last(o, 'o')
  if (log !== undefined && log !== '-') {
    // -o LOGFILE: the messages go to the file (created anew), the document where it would.
    try {
      ctx.fs.writeFile(abs(ctx, log), '')
    } catch (err) {
      ctx.write('stderr', `wget: can't open '${log}': ${reason(err)}\n`)
      return 1
    }
    const write = ctx.write
    ctx = {
      ...ctx,
      write: (stream, text) => (stream === 'stderr' ? ctx.fs.writeFile(abs(ctx, log), text, { append: true }) : write(stream, text)),
    }
  }
  const settings: Settings = {
    quiet: has(o, 'q'),
    serverResponse: has(o, 'S'),
    spider,
    timeoutMs: Number(timeout) === 0 ? 2 ** 31 : Number(timeout) * 1000,
    userAgent: last(o, 'U') ?? 'Wget',
    headers,
    postData,
    output,
    prefix: last(o, 'P'),
  }
  try {
    for (const url of o.operands) await new Download(ctx, settings).run(url)
  } catch (err) {
    if (!(err instanceof Die)) throw err
    ctx.write('stderr', `wget: ${err.message}\n`)
    return 1
  }
  return 0
}
