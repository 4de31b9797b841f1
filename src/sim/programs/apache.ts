// Apache httpd, as the httpd images run it (httpd-foreground: `exec httpd -DFOREGROUND`): it reads
// /usr/local/apache2/conf/httpd.conf (Listen, DocumentRoot, DirectoryIndex, ServerName, PidFile,
// ErrorLog, CustomLog), writes the startup lines the image's log shows (AH00558 without a
// ServerName, AH00489, "AH00094: Command line: 'httpd -D FOREGROUND'"), starts its child processes
// (when the process table can spawn them), serves DocumentRoot ("It works!") logging requests in
// the common format, and stops on SIGTERM or SIGWINCH (gracefully), exit 0. Without -DFOREGROUND it
// forks into the background. -v, -t, -D NAME, -f FILE.
import type { Command, CommandContext } from '../context.js'
import { daemonize } from '../daemon.js'
import { resolvePath } from '../fs/types.js'
import { ctimeDate, findStatic, httpDate, logTime, mimeType, responseBytes, type HttpRequest } from '../http.js'
import type { Connection, SocketAddress } from '../net.js'
import { nowMs } from '../commands/fs-common.js'
import { hostsLookup } from '../commands/resolve.js'
import type { ImageProgram, PackageFile } from './types.js'
import { bindAll, logTo, serveSite, untilSignal, type Answer } from './web.js'

const ROOT = '/usr/local/apache2'

interface Config {
  listen: SocketAddress[]
  documentRoot: string
  index: string[]
  serverName: string | undefined
  pidFile: string
  errorLog: string
  accessLog: string | undefined
  keepAliveMs: number
}

function loadConfig(ctx: CommandContext, path: string): Config | string {
  let text: string
  try {
    text = ctx.fs.readFile(path).toString('utf8')
  } catch {
    return `httpd: Could not open configuration file ${path}: No such file or directory`
  }
  const conf: Config = {
    listen: [],
    documentRoot: `${ROOT}/htdocs`,
    index: ['index.html'],
    serverName: undefined,
    pidFile: `${ROOT}/logs/httpd.pid`,
    errorLog: `${ROOT}/logs/error_log`,
    accessLog: undefined,
    keepAliveMs: 5000,
  }
  const server = (p: string): string => resolvePath(ROOT, p)
  let depth = 0
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (/^<\/(Directory|Files|Location|VirtualHost)/i.test(line)) depth--
    else if (/^<(Directory|Files|Location|VirtualHost)/i.test(line)) depth++
    const words = (line.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, '$1'))
    const [name = '', ...args] = words
    if (depth > 0 && !/^DirectoryIndex$/i.test(name)) continue
    switch (name.toLowerCase()) {
      case 'listen': {
        const spec = args[0] ?? '80'
        const colon = spec.lastIndexOf(':')
        conf.listen.push(
          colon === -1
            ? { address: '0.0.0.0', port: Number(spec) }
            : { address: spec.slice(0, colon), port: Number(spec.slice(colon + 1)) },
        )
        break
      }
      case 'documentroot':
        conf.documentRoot = server(args[0] ?? 'htdocs')
        break
      case 'directoryindex':
        conf.index = args
        break
      case 'servername':
        conf.serverName = args[0]
        break
      case 'pidfile':
        conf.pidFile = server(args[0] ?? 'logs/httpd.pid')
        break
      case 'errorlog':
        conf.errorLog = server(args[0] ?? 'logs/error_log')
        break
      case 'customlog':
        conf.accessLog = server(args[0] ?? 'logs/access_log')
        break
      case 'keepalivetimeout':
        conf.keepAliveMs = Number(args[0] ?? 5) * 1000
        break
    }
  }
  if (conf.listen.length === 0) return 'AH00526: Syntax error: no listening sockets available, shutting down'
  return conf
}

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  301: 'Moved Permanently',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
}
const MESSAGES: Readonly<Record<number, string>> = {
  301: 'The document has moved <a href="LOCATION">here</a>.',
  400: 'Your browser sent a request that this server could not understand.<br />',
  403: "You don't have permission to access this resource.",
  404: 'The requested URL was not found on this server.',
  405: 'The requested method is not allowed for this URL.',
}
const MIME: Readonly<Record<string, string>> = {
  html: 'text/html',
  htm: 'text/html',
  txt: 'text/plain',
  css: 'text/css',
  js: 'application/javascript',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
}

class Apache {
  readonly version: string
  constructor(
    readonly ctx: CommandContext,
    readonly conf: Config,
  ) {
    this.version = `Apache/${ctx.env.HTTPD_VERSION ?? '2.4.62'} (Unix)`
  }

  log(module: string, text: string): void {
    logTo(
      this.ctx,
      this.conf.errorLog,
      `[${ctimeDate(nowMs(this.ctx), true)}] [${module}] [pid ${this.ctx.pid ?? 1}:tid 140245946590080] ${text}\n`,
    )
  }

  answer(req: HttpRequest | 'bad', conn: Connection): Answer {
    const now = nowMs(this.ctx)
    const head = req !== 'bad' && req.method === 'HEAD'
    const keep = req !== 'bad' && req.version === 'HTTP/1.1' && (req.headers.get('connection') ?? '').toLowerCase() !== 'close'
    const respond = (status: number, body: Buffer, type: string, extra: [string, string][] = []): Answer => {
      const keepOpen = keep && status < 400
      const headers: [string, string][] = [
        ['Date', httpDate(now)],
        ['Server', this.version],
        ...extra,
        ['Content-Length', String(body.length)],
        ...(keepOpen ? ([['Keep-Alive', `timeout=${this.conf.keepAliveMs / 1000}, max=100`]] as [string, string][]) : []),
        ['Connection', keepOpen ? 'Keep-Alive' : 'close'],
        ['Content-Type', type],
      ]
      if (this.conf.accessLog !== undefined) {
        const line = req === 'bad' ? '-' : req.line
        logTo(
          this.ctx,
          this.conf.accessLog,
          `${conn.remote.address} - - [${logTime(now)}] "${line}" ${status} ${head || body.length === 0 ? '-' : body.length}\n`,
        )
      }
      return { bytes: responseBytes({ status, reason: REASONS[status] ?? '', headers, body }, head), keepOpen }
    }
    const page = (status: number, location = ''): Buffer =>
      Buffer.from(
        `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${status} ${REASONS[status]}</title>\n</head><body>\n<h1>${REASONS[status]}</h1>\n<p>${(MESSAGES[status] ?? '').replace('LOCATION', location)}</p>\n</body></html>\n`,
      )
    const html = 'text/html; charset=iso-8859-1'
    if (req === 'bad') return respond(400, page(400), html)
    const found = findStatic(this.ctx.fs, this.conf.documentRoot, req.path, this.conf.index)
    if (found.kind === 'redirect') {
      const host = req.headers.get('host') ?? `${conn.local.address}:${conn.local.port}`
      const location = `http://${host}${found.location}`
      return respond(301, page(301, location), html, [['Location', location]])
    }
    if (found.kind === 'missing') return respond(404, page(404), html)
    if (found.kind !== 'file') return respond(403, page(403), html)
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST')
      return respond(405, page(405), html, [['Allow', 'POST,OPTIONS,HEAD,GET']])
    const etag = `"${found.data.length.toString(16)}-${(Math.floor(found.mtimeMs) * 1000).toString(16)}"`
    return respond(200, found.data, mimeType(found.path, MIME, 'text/plain'), [
      ['Last-Modified', httpDate(found.mtimeMs)],
      ['ETag', etag],
      ['Accept-Ranges', 'bytes'],
    ])
  }
}

/** Runs the parent process: children, listeners, serving, and the stop a signal asks for. */
async function parent(ctx: CommandContext, conf: Config, commandLine: string): Promise<number> {
  const apache = new Apache(ctx, conf)
  // Without a ServerName, Apache names itself by what the hostname resolves to (twice: once for the
  // configuration check, once for the start).
  if (conf.serverName === undefined) {
    const address = hostsLookup(ctx, ctx.hostname)
    const text = `AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using ${address ?? '127.0.0.1'}. Set the 'ServerName' directive globally to suppress this message\n`
    const missing = `AH00557: httpd: apr_sockaddr_info_get() failed for ${ctx.hostname}\n`
    for (let i = 0; i < 2; i++) ctx.write('stderr', address === undefined ? missing + text : text)
  }
  const listeners = bindAll(ctx, 'httpd', conf.listen)
  if (!Array.isArray(listeners)) {
    const { failed, error } = listeners
    const why = error.code === 'EADDRINUSE' ? '(98)Address already in use' : `(99)${error.message}`
    ctx.write(
      'stderr',
      `${why}: AH00072: make_sock: could not bind to address ${failed.address}:${failed.port}\nno listening sockets available, shutting down\nAH00015: Unable to open logs\n`,
    )
    return 1
  }
  const pid = ctx.pid ?? 1
  try {
    ctx.fs.writeFile(conf.pidFile, `${pid}\n`)
  } catch {
    ctx.write(
      'stderr',
      `(2)No such file or directory: AH00099: could not create ${conf.pidFile}\nAH00100: httpd: could not log pid to file ${conf.pidFile}\n`,
    )
    for (const l of listeners) l.close()
    return 1
  }
  // mpm_event's StartServers 3: children running the same command line.
  const children = [0, 1, 2]
    .map(() => ctx.processes.spawn?.call(ctx.processes, { ppid: pid, args: [...ctx.args], signal: () => true }))
    .filter((c) => c !== undefined)
  apache.log('mpm_event:notice', `AH00489: ${apache.version} configured -- resuming normal operations`)
  apache.log('core:notice', `AH00094: Command line: '${commandLine}'`)
  let signo = 0
  const stopping = untilSignal(ctx, [2, 15, 28], (other) => {
    if (other === 1) apache.log('mpm_event:notice', 'AH00494: SIGHUP received.  Attempting to restart')
    else if (other === 10) apache.log('mpm_event:notice', 'AH00493: SIGUSR1 received.  Doing graceful restart')
  }).then((s) => {
    signo = s
  })
  await serveSite(ctx, listeners, { answer: (req, conn) => apache.answer(req, conn), keepAliveMs: conf.keepAliveMs }, stopping)
  if (signo === 28) apache.log('mpm_event:notice', 'AH00492: caught SIGWINCH, shutting down gracefully')
  else if (signo !== 9) apache.log('mpm_event:notice', 'AH00491: caught SIGTERM, shutting down')
  for (const c of children) c.exit()
  try {
    ctx.fs.rm(conf.pidFile)
  } catch {
    // already gone
  }
  return 0
}

export const apacheHttpd: Command = async (args, ctx) => {
  const defines: string[] = []
  let confPath = `${ROOT}/conf/httpd.conf`
  let test = false
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (a === '-D') defines.push(args[++i] ?? '')
    else if (a.startsWith('-D')) defines.push(a.slice(2))
    else if (a === '-f') confPath = resolvePath(ROOT, args[++i] ?? '')
    else if (a === '-t') test = true
    else if (a === '-v' || a === '-V') {
      ctx.write('stdout', `Server version: Apache/${ctx.env.HTTPD_VERSION ?? '2.4.62'} (Unix)\nServer built:   Jul 23 2024 00:00:00\n`)
      return 0
    } else if (a === '-k' || a === '-C' || a === '-c' || a === '-d' || a === '-e' || a === '-E') i++
  }
  const conf = loadConfig(ctx, confPath)
  if (typeof conf === 'string') {
    ctx.write('stderr', `${conf}\n`)
    return 1
  }
  if (test) {
    ctx.write('stderr', 'Syntax OK\n')
    return 0
  }
  // The command line as Apache reconstructs it: each define as "-D NAME".
  const commandLine = ['httpd', ...defines.flatMap((d) => ['-D', d])].join(' ')
  if (!defines.includes('FOREGROUND') && daemonize(ctx, args, (d) => parent(d, conf, commandLine))) return 0
  return parent(ctx, conf, commandLine)
}

const HTTPD_FOREGROUND = `#!/bin/sh
set -e

# Apache gets grumpy about PID files pre-existing
rm -f /usr/local/apache2/logs/httpd.pid

exec httpd -DFOREGROUND "$@"
`

const HTTPD_CONF = `#
# This is the main Apache HTTP server configuration file.
#
ServerRoot "/usr/local/apache2"

Listen 80

User daemon
Group daemon

ServerAdmin you@example.com

#ServerName www.example.com:80

DocumentRoot "/usr/local/apache2/htdocs"
<Directory "/usr/local/apache2/htdocs">
    Options Indexes FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>

<IfModule dir_module>
    DirectoryIndex index.html
</IfModule>

ErrorLog /proc/self/fd/2

LogLevel warn

<IfModule log_config_module>
    LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
    LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
    CustomLog /proc/self/fd/1 common
</IfModule>
`

export const apacheProgram: ImageProgram = {
  name: 'httpd',
  command: apacheHttpd,
  runBy: ['httpd', 'httpd-foreground'],
  files(): Record<string, PackageFile> {
    return {
      [`${ROOT}/bin/httpd`]: { text: '', mode: 0o755 },
      '/usr/local/bin/httpd-foreground': { text: HTTPD_FOREGROUND, mode: 0o755 },
      [`${ROOT}/conf/httpd.conf`]: HTTPD_CONF,
      [`${ROOT}/htdocs/index.html`]: '<html><body><h1>It works!</h1></body></html>\n',
      [`${ROOT}/logs`]: { dir: 0o755 },
    }
  },
}
