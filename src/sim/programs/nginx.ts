// nginx, as the nginx images run it: it reads /etc/nginx/nginx.conf (and what it includes) from
// the container's filesystem, binds its servers' `listen` ports, writes its pid file, retitles
// itself "nginx: master process …", starts worker processes (when the process table can spawn
// them), serves static files under `root` with nginx's headers and error pages, logs requests in
// the `main` format to its access_log and notices to its error_log (which the images link to
// /dev/stdout and /dev/stderr), and stops on SIGQUIT (gracefully) or SIGTERM/SIGINT (fast), exit 0.
// Without "daemon off;" it forks into the background. -v, -V, -t, -T, -s SIGNAL, -c, -g, -p, -q.
import { availableParallelism } from 'node:os'
import type { Command, CommandContext } from '../context.js'
import { daemonize } from '../daemon.js'
import { KERNEL_RELEASE } from '../fs/procfs.js'
import { resolvePath } from '../fs/types.js'
import { findStatic, httpDate, logTime, mimeType, responseBytes, type HttpRequest } from '../http.js'
import type { Connection, SocketAddress } from '../net.js'
import { nowMs } from '../commands/fs-common.js'
import { parseSignal } from '../signals.js'
import type { ImageProgram, PackageFile } from './types.js'
import { bindAll, logTo, serveSite, untilSignal, type Answer } from './web.js'

// ---- configuration

interface Directive {
  name: string
  args: string[]
  block?: Directive[]
}

class ConfigError extends Error {}

/** Parses nginx's configuration syntax; `include` is expanded (globs in the last component). */
function parseConfig(ctx: CommandContext, text: string, file: string, depth = 0): Directive[] {
  const tokens: string[] = []
  const re = /\s+|#[^\n]*|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};'"#]+)/gy
  for (let m = re.exec(text); m && re.lastIndex <= text.length; m = re.exec(text)) {
    if (m[1] !== undefined || m[2] !== undefined) tokens.push(`\0${(m[1] ?? m[2]) as string}`)
    else if (m[3] !== undefined || m[4] !== undefined) tokens.push((m[3] ?? m[4]) as string)
    if (re.lastIndex === text.length) break
  }
  let i = 0
  const block = (): Directive[] => {
    const out: Directive[] = []
    while (i < tokens.length) {
      const t = tokens[i++] as string
      if (t === '}') return out
      const words = [t]
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{' && tokens[i] !== '}') words.push(tokens[i++] as string)
      const [name = '', ...args] = words.map((w) => w.replace(/^\0/, ''))
      const end = tokens[i++]
      if (end === '{') out.push({ name, args, block: block() })
      else if (end === ';') {
        if (name === 'include') out.push(...include(ctx, args[0] ?? '', file, depth))
        else out.push({ name, args })
      } else throw new ConfigError(`unexpected end of file, expecting ";" or "}" in ${file}`)
    }
    return out
  }
  return block()
}

function include(ctx: CommandContext, pattern: string, from: string, depth: number): Directive[] {
  if (depth > 10) throw new ConfigError(`include depth exceeded in ${from}`)
  const path = resolvePath('/etc/nginx', pattern)
  const slash = path.lastIndexOf('/')
  const dir = path.slice(0, slash) || '/'
  const base = path.slice(slash + 1)
  let files: string[]
  if (base.includes('*')) {
    const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
    try {
      files = ctx.fs
        .readdir(dir)
        .filter((n) => re.test(n))
        .map((n) => `${dir === '/' ? '' : dir}/${n}`)
    } catch {
      files = []
    }
  } else files = [path]
  return files.flatMap((f) => parseConfig(ctx, readConfig(ctx, f), f, depth + 1))
}

function readConfig(ctx: CommandContext, path: string): string {
  try {
    return ctx.fs.readFile(path).toString('utf8')
  } catch {
    throw new ConfigError(`open() "${path}" failed (2: No such file or directory)`)
  }
}

interface Location {
  exact: boolean
  prefix: string
  root?: string
  index?: string[]
  ret?: { status: number; text: string }
}

interface Server {
  listen: SocketAddress[]
  root: string
  index: string[]
  locations: Location[]
  accessLog: string | undefined
}

interface Config {
  daemon: boolean
  workers: number
  pid: string
  errorLog: string
  errorLevel: number
  accessLog: string | undefined
  format: string
  keepAliveMs: number
  tokens: boolean
  defaultType: string
  types: Record<string, string>
  servers: Server[]
}

const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg']
const MAIN_FORMAT = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'

function loadConfig(ctx: CommandContext, path: string, extra: string): Config {
  const top = [...parseConfig(ctx, readConfig(ctx, path), path), ...parseConfig(ctx, extra, 'command line')]
  const one = (list: Directive[], name: string): string[] | undefined => list.filter((d) => d.name === name).at(-1)?.args
  const workers = one(top, 'worker_processes')?.[0] ?? '1'
  const errorLog = one(top, 'error_log') ?? ['/var/log/nginx/error.log', 'error']
  const http = top.find((d) => d.name === 'http')?.block ?? []
  const formats = new Map(http.filter((d) => d.name === 'log_format').map((d) => [d.args[0] ?? '', d.args.slice(1).join('')]))
  const accessLog = (list: Directive[], inherited: string | undefined): string | undefined => {
    const a = one(list, 'access_log')
    return a === undefined ? inherited : a[0] === 'off' ? undefined : a[0]
  }
  const httpAccess = accessLog(http, '/var/log/nginx/access.log')
  const types: Record<string, string> = {}
  for (const d of http.filter((x) => x.name === 'types')) for (const t of d.block ?? []) for (const ext of t.args) types[ext] = t.name
  const servers = http
    .filter((d) => d.name === 'server')
    .map((d): Server => {
      const block = d.block ?? []
      const listen = block
        .filter((x) => x.name === 'listen' && !(x.args[0] ?? '').startsWith('['))
        .map((x) => {
          const spec = x.args[0] ?? '80'
          const colon = spec.lastIndexOf(':')
          return colon === -1
            ? /^\d+$/.test(spec)
              ? { address: '0.0.0.0', port: Number(spec) }
              : { address: spec, port: 80 }
            : { address: spec.slice(0, colon) === '*' ? '0.0.0.0' : spec.slice(0, colon), port: Number(spec.slice(colon + 1)) }
        })
      const locations = block
        .filter((x) => x.name === 'location')
        .map((x): Location => {
          const exact = x.args[0] === '='
          const loc: Location = { exact, prefix: (exact ? x.args[1] : x.args[0]) ?? '/' }
          const lb = x.block ?? []
          const root = one(lb, 'root')?.[0]
          if (root !== undefined) loc.root = root
          const index = one(lb, 'index')
          if (index !== undefined) loc.index = index
          const ret = one(lb, 'return')
          if (ret !== undefined) loc.ret = { status: Number(ret[0]), text: ret[1] ?? '' }
          return loc
        })
      return {
        listen: listen.length > 0 ? listen : [{ address: '0.0.0.0', port: 80 }],
        root: one(block, 'root')?.[0] ?? one(http, 'root')?.[0] ?? 'html',
        index: one(block, 'index') ?? one(http, 'index') ?? ['index.html'],
        locations,
        accessLog: accessLog(block, httpAccess),
      }
    })
  return {
    daemon: one(top, 'daemon')?.[0] !== 'off',
    workers: workers === 'auto' ? availableParallelism() : Math.max(1, Number(workers) || 1),
    pid: one(top, 'pid')?.[0] ?? '/var/run/nginx.pid',
    errorLog: errorLog[0] ?? '/var/log/nginx/error.log',
    errorLevel: Math.max(0, LEVELS.indexOf(errorLog[1] ?? 'error')),
    accessLog: httpAccess,
    format: formats.get('main') ?? MAIN_FORMAT,
    keepAliveMs: Number.parseFloat(one(http, 'keepalive_timeout')?.[0] ?? '75') * 1000,
    tokens: one(http, 'server_tokens')?.[0] !== 'off',
    defaultType: one(http, 'default_type')?.[0] ?? 'text/plain',
    types,
    servers,
  }
}

// ---- serving

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Not Allowed',
  500: 'Internal Server Error',
}

class Nginx {
  readonly version: string
  constructor(
    readonly ctx: CommandContext,
    readonly conf: Config,
  ) {
    this.version = `nginx/${ctx.env.NGINX_VERSION ?? '1.27.1'}`
  }

  /** An error_log line (when its level is logged). */
  log(level: string, text: string, pid = this.ctx.pid ?? 1): void {
    if (LEVELS.indexOf(level) < this.conf.errorLevel) return
    const d = new Date(nowMs(this.ctx))
    const p = (n: number): string => String(n).padStart(2, '0')
    const stamp = `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
    logTo(this.ctx, this.conf.errorLog, `${stamp} [${level}] ${pid}#${pid}: ${text}\n`)
  }

  #server(conn: Connection): Server {
    const match = (s: Server): boolean =>
      s.listen.some((l) => l.port === conn.local.port && (l.address === '0.0.0.0' || l.address === conn.local.address))
    return this.conf.servers.find(match) ?? (this.conf.servers[0] as Server)
  }

  #page(status: number): Buffer {
    const title = `${status} ${STATUS_TEXT[status] ?? ''}`
    const tail = this.conf.tokens ? this.version : 'nginx'
    return Buffer.from(
      `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>${tail}</center>\r\n</body>\r\n</html>\r\n`,
    )
  }

  answer(req: HttpRequest | 'bad', conn: Connection): Answer {
    const server = this.#server(conn)
    const now = nowMs(this.ctx)
    const head = req !== 'bad' && req.method === 'HEAD'
    const keep = req !== 'bad' && (req.headers.get('connection') ?? '').toLowerCase() !== 'close' && req.version === 'HTTP/1.1'
    const respond = (
      status: number,
      body: Buffer,
      type: string,
      extra: [string, string][] = [],
      keepOpen = keep && status < 400,
    ): Answer => {
      const headers: [string, string][] = [
        ['Server', this.conf.tokens ? this.version : 'nginx'],
        ['Date', httpDate(now)],
        ['Content-Type', type],
        ['Content-Length', String(body.length)],
        ...extra.filter(([k]) => k === 'Last-Modified'),
        ['Connection', keepOpen ? 'keep-alive' : 'close'],
        ...extra.filter(([k]) => k !== 'Last-Modified'),
      ]
      this.#access(server, req, conn, status, head ? 0 : body.length)
      return { bytes: responseBytes({ status, reason: STATUS_TEXT[status] ?? '', headers, body }, head), keepOpen }
    }
    if (req === 'bad') return respond(400, this.#page(400), 'text/html')
    const location = this.#location(server, req.path)
    if (location?.ret) {
      const { status, text } = location.ret
      if (status >= 300 && status < 400) return respond(status, this.#page(status), 'text/html', [['Location', text]])
      return respond(status, text ? Buffer.from(text) : this.#page(status), text ? this.conf.defaultType : 'text/html')
    }
    const root = resolvePath('/etc/nginx', location?.root ?? server.root)
    const found = findStatic(this.ctx.fs, root, req.path, location?.index ?? server.index)
    if (found.kind === 'redirect') {
      const host = (req.headers.get('host') ?? conn.local.address).replace(/:\d+$/, '')
      const port = conn.local.port === 80 ? '' : `:${conn.local.port}`
      return respond(301, this.#page(301), 'text/html', [['Location', `http://${host}${port}${found.location}`]])
    }
    if (found.kind === 'missing') {
      this.log(
        'error',
        `open() "${resolvePath(root, `.${req.path}`)}" failed (2: No such file or directory), client: ${conn.remote.address}, server: localhost, request: "${req.line}", host: "${req.headers.get('host') ?? ''}"`,
      )
      return respond(404, this.#page(404), 'text/html')
    }
    if (found.kind !== 'file') return respond(403, this.#page(403), 'text/html')
    if (req.method !== 'GET' && req.method !== 'HEAD') return respond(405, this.#page(405), 'text/html')
    const mtime = Math.floor(found.mtimeMs / 1000)
    return respond(200, found.data, mimeType(found.path, this.conf.types, this.conf.defaultType), [
      ['Last-Modified', httpDate(mtime * 1000)],
      ['ETag', `"${mtime.toString(16)}-${found.data.length.toString(16)}"`],
      ['Accept-Ranges', 'bytes'],
    ])
  }

  #location(server: Server, path: string): Location | undefined {
    const exact = server.locations.find((l) => l.exact && l.prefix === path)
    if (exact) return exact
    return server.locations.filter((l) => !l.exact && path.startsWith(l.prefix)).sort((a, b) => b.prefix.length - a.prefix.length)[0]
  }

  #access(server: Server, req: HttpRequest | 'bad', conn: Connection, status: number, bytes: number): void {
    if (server.accessLog === undefined) return
    const header = (name: string): string => (req === 'bad' ? undefined : req.headers.get(name)) || '-'
    const vars: Record<string, string> = {
      remote_addr: conn.remote.address,
      remote_user: '-',
      time_local: logTime(nowMs(this.ctx)),
      request: req === 'bad' ? '' : req.line,
      status: String(status),
      body_bytes_sent: String(bytes),
      request_method: req === 'bad' ? '' : req.method,
      request_uri: req === 'bad' ? '' : req.target,
    }
    const line = this.conf.format.replace(
      /\$([a-z_]+)/g,
      (_m, name: string) => vars[name] ?? (name.startsWith('http_') ? header(name.slice(5).replace(/_/g, '-')) : '-'),
    )
    logTo(this.ctx, server.accessLog, `${line}\n`)
  }
}

const SIGNAMES: Readonly<Record<number, string>> = { 2: 'SIGINT', 3: 'SIGQUIT', 15: 'SIGTERM' }

/** Runs the master process: workers, listeners, serving, and the shutdown a signal asks for. */
async function master(ctx: CommandContext, conf: Config, argv: readonly string[]): Promise<number> {
  const nginx = new Nginx(ctx, conf)
  const addresses = conf.servers
    .flatMap((s) => s.listen)
    .filter((a, i, all) => all.findIndex((b) => b.address === a.address && b.port === a.port) === i)
  let listeners = bindAll(ctx, 'nginx', addresses)
  // nginx tries five times, half a second apart, before it gives up on a taken port.
  for (let attempt = 0; !Array.isArray(listeners) && attempt < 5; attempt++) {
    const { failed, error } = listeners
    const text = `bind() to ${failed.address}:${failed.port} failed (98: ${error.code === 'EADDRINUSE' ? 'Address already in use' : error.message})`
    nginx.log('emerg', text)
    ctx.write('stderr', `nginx: [emerg] ${text}\n`)
    await ctx.clock.sleep(500, ctx.signal)
    listeners = bindAll(ctx, 'nginx', addresses)
  }
  if (!Array.isArray(listeners)) {
    nginx.log('emerg', 'still could not bind()')
    ctx.write('stderr', 'nginx: [emerg] still could not bind()\n')
    return 1
  }
  const pid = ctx.pid ?? 1
  try {
    ctx.fs.writeFile(conf.pid, `${pid}\n`)
  } catch {
    nginx.log('emerg', `open() "${conf.pid}" failed (2: No such file or directory)`)
    for (const l of listeners) l.close()
    return 1
  }
  ctx.processes.setArgs?.(pid, [`nginx: master process ${argv.join(' ')}`])
  nginx.log('notice', 'using the "epoll" event method')
  nginx.log('notice', nginx.version)
  nginx.log('notice', 'built by gcc 12.2.0 (Debian 12.2.0-14) ')
  nginx.log('notice', `OS: Linux ${KERNEL_RELEASE}`)
  nginx.log('notice', 'getrlimit(RLIMIT_NOFILE): 1048576:1048576')
  nginx.log('notice', 'start worker processes')
  const workers = Array.from({ length: conf.workers }, () =>
    ctx.processes.spawn?.call(ctx.processes, { ppid: pid, args: ['nginx: worker process'], signal: () => true }),
  ).filter((w) => w !== undefined)
  for (const w of workers) nginx.log('notice', `start worker process ${w.pid}`)
  let reason = 0
  const stopping = untilSignal(ctx, [2, 3, 15], (signo) => {
    const what =
      signo === 1
        ? 'SIGHUP) received, reconfiguring'
        : signo === 10
          ? 'SIGUSR1) received, reopening'
          : signo === 12
            ? 'SIGUSR2) received'
            : 'SIGWINCH) received'
    nginx.log('notice', `signal ${signo} (${what}`)
  }).then((signo) => {
    reason = signo
    if (SIGNAMES[signo]) nginx.log('notice', `signal ${signo} (${SIGNAMES[signo]}) received, ${signo === 3 ? 'shutting down' : 'exiting'}`)
  })
  await serveSite(ctx, listeners, { answer: (req, conn) => nginx.answer(req, conn), keepAliveMs: conf.keepAliveMs }, stopping)
  if (ctx.signal.aborted) return 0
  for (const w of workers) {
    if (reason === 3) nginx.log('notice', 'gracefully shutting down', w.pid)
    nginx.log('notice', 'exiting', w.pid)
    nginx.log('notice', 'exit', w.pid)
  }
  for (const w of workers) {
    nginx.log('notice', `signal 17 (SIGCHLD) received from ${w.pid}`)
    nginx.log('notice', `worker process ${w.pid} exited with code 0`)
    w.exit()
  }
  nginx.log('notice', 'exit')
  try {
    ctx.fs.rm(conf.pid)
  } catch {
    // already gone
  }
  return 0
}

const SIGNAL_NAMES: Readonly<Record<string, string>> = { stop: 'TERM', quit: 'QUIT', reopen: 'USR1', reload: 'HUP' }

export const nginx: Command = async (args, ctx) => {
  let confPath = '/etc/nginx/nginx.conf'
  let directives = ''
  let test: 'no' | 'test' | 'dump' = 'no'
  let quiet = false
  let signal: string | undefined
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    const value = (): string | undefined => args[++i]
    if (a === '-v' || a === '-V') {
      let text = `nginx version: nginx/${ctx.env.NGINX_VERSION ?? '1.27.1'}\n`
      if (a === '-V')
        text +=
          'built by gcc 12.2.0 (Debian 12.2.0-14) \nbuilt with OpenSSL 3.0.13 30 Jan 2024\nTLS SNI support enabled\nconfigure arguments: --prefix=/etc/nginx --sbin-path=/usr/sbin/nginx\n'
      ctx.write('stderr', text)
      return 0
    } else if (a === '-t' || a === '-T') test = a === '-t' ? 'test' : 'dump'
    else if (a === '-q') quiet = true
    else if (a === '-c') confPath = resolvePath('/etc/nginx', value() ?? '')
    else if (a === '-g') directives += `${value() ?? ''}\n`
    else if (a === '-s') signal = value()
    else if (a === '-p' || a === '-e') value()
    else if (a === '-h' || a === '-?') {
      ctx.write(
        'stderr',
        `nginx version: nginx/${ctx.env.NGINX_VERSION ?? '1.27.1'}\nUsage: nginx [-?hvVtTq] [-s signal] [-p prefix]\n             [-e filename] [-c filename] [-g directives]\n`,
      )
      return 0
    } else {
      ctx.write('stderr', `nginx: invalid option: "${a.replace(/^-/, '')}"\n`)
      return 1
    }
  }
  let conf: Config
  try {
    conf = loadConfig(ctx, confPath, directives)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    ctx.write('stderr', `nginx: [emerg] ${err.message}\n`)
    if (test !== 'no') ctx.write('stderr', `nginx: configuration file ${confPath} test failed\n`)
    return 1
  }
  if (test !== 'no') {
    if (!quiet)
      ctx.write(
        'stderr',
        `nginx: the configuration file ${confPath} syntax is ok\nnginx: configuration file ${confPath} test is successful\n`,
      )
    if (test === 'dump') ctx.write('stdout', `# configuration file ${confPath}:\n${readConfig(ctx, confPath)}`)
    return 0
  }
  if (signal !== undefined) {
    const name = SIGNAL_NAMES[signal]
    if (name === undefined) {
      ctx.write('stderr', `nginx: [emerg] invalid option: "-s ${signal}"\n`)
      return 1
    }
    let pidText: string
    try {
      pidText = ctx.fs.readFile(conf.pid).toString('utf8').trim()
    } catch {
      ctx.write('stderr', `nginx: [error] open() "${conf.pid}" failed (2: No such file or directory)\n`)
      return 1
    }
    new Nginx(ctx, conf).log('notice', 'signal process started')
    if (!ctx.processes.kill(Number(pidText), parseSignal(name) ?? 15)) {
      ctx.write('stderr', `nginx: [error] kill(${pidText}, ${parseSignal(name)}) failed (3: No such process)\n`)
      return 1
    }
    return 0
  }
  if (conf.daemon && daemonize(ctx, args, (d) => master(d, conf, args))) return 0
  return master(ctx, conf, args)
}

// ---- the package

/** The pages nginx ships: a title, a style sheet and a body. */
const page = (title: string, style: string, body: string): string =>
  `<!DOCTYPE html>\n<html>\n<head>\n<title>${title}</title>\n<style>\n${style}</style>\n</head>\n<body>\n${body}</body>\n</html>\n`

const STYLE =
  'html { color-scheme: light dark; }\nbody { width: 35em; margin: 0 auto;\nfont-family: Tahoma, Verdana, Arial, sans-serif; }\n'
/** The style of nginx before 1.21 (the e2e test image's 1.14). */
const LEGACY_STYLE =
  '    body {\n        width: 35em;\n        margin: 0 auto;\n        font-family: Tahoma, Verdana, Arial, sans-serif;\n    }\n'

const WELCOME = `<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
`

const ERROR = `<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
`

const MIME_TYPES = `
types {
    text/html                                        html htm shtml;
    text/css                                         css;
    text/xml                                         xml;
    image/gif                                        gif;
    image/jpeg                                       jpeg jpg;
    application/javascript                           js;
    text/plain                                       txt;
    image/png                                        png;
    image/svg+xml                                    svg svgz;
    image/x-icon                                     ico;
    application/json                                 json;
    application/pdf                                  pdf;
    application/zip                                  zip;
    application/octet-stream                         bin exe dll;
}
`

function nginxConf(legacy: boolean): string {
  return `
user  nginx;
worker_processes  ${legacy ? '1' : 'auto'};

error_log  /var/log/nginx/error.log ${legacy ? 'warn' : 'notice'};
pid        /var/run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
`
}

function defaultConf(port: number): string {
  return `server {
    listen       ${port};
    server_name  localhost;

    #access_log  /var/log/nginx/host.access.log  main;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    #error_page  404              /404.html;

    # redirect server error pages to the static page /50x.html
    #
    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
`
}

export const nginxProgram: ImageProgram = {
  name: 'nginx',
  command: nginx,
  runBy: ['nginx'],
  files(image: string): Record<string, PackageFile> {
    // The e2e test image is nginx 1.14; cri-tools' hostnet-nginx image serves on 12003
    // (its images/hostnet-nginx/default.conf).
    const legacy = /e2e-test-images\/nginx|nginx:1\.1[0-9](\D|$)/.test(image)
    const port = /hostnet-nginx/.test(image) ? 12003 : 80
    return {
      '/usr/sbin/nginx': { text: '', mode: 0o755 },
      '/etc/nginx/nginx.conf': nginxConf(legacy),
      '/etc/nginx/conf.d/default.conf': defaultConf(port),
      '/etc/nginx/mime.types': MIME_TYPES,
      '/usr/share/nginx/html/index.html': page('Welcome to nginx!', legacy ? LEGACY_STYLE : STYLE, WELCOME),
      '/usr/share/nginx/html/50x.html': page('Error', legacy ? LEGACY_STYLE : STYLE, ERROR),
      '/var/log/nginx/access.log': { link: '/dev/stdout' },
      '/var/log/nginx/error.log': { link: '/dev/stderr' },
      '/var/cache/nginx': { dir: 0o755 },
      '/var/run': { dir: 0o755 },
    }
  },
}
