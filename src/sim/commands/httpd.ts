// busybox httpd: serves the files under its home directory (-h, default the working directory) on
// [IP:]PORT (-p, default 80) of the container's network namespace: GET and HEAD, index.html for a
// directory, a 302 to "dir/" for a directory asked for without its slash, busybox's error pages
// and headers, one request per connection. -f stays in the foreground; without it httpd forks into
// the background (src/sim/daemon.ts). -v logs responses to stderr. -d and -e decode and encode.
import type { Command, CommandContext } from '../context.js'
import { daemonize } from '../daemon.js'
import { resolvePath } from '../fs/types.js'
import { findStatic, httpDate, mimeType, readRequest, responseBytes, serve, socketOwner, untilAborted } from '../http.js'
import { NetError, StreamReader, type Connection } from '../net.js'
import { has, last, nowMs, parseOptions } from './fs-common.js'
import { resolveHost } from './resolve.js'

const USAGE =
  '[-ifv[v]] [-c CONFFILE] [-p [IP:]PORT] [-u USER[:GRP]] [-r REALM] [-h HOME]\nor httpd -d/-e/-m STRING\n\nListen for incoming HTTP requests\n\n\t-i\t\tInetd mode\n\t-f\t\tRun in foreground\n\t-v[v]\t\tVerbose\n\t-p [IP:]PORT\tBind to IP:PORT (default *:80)\n\t-u USER[:GRP]\tSet uid/gid after binding to port\n\t-r REALM\tAuthentication Realm for Basic Authentication\n\t-h HOME\t\tHome directory (default .)\n\t-c FILE\t\tConfiguration file (default {/etc,HOME}/httpd.conf)\n\t-m STRING\tMD5 crypt STRING\n\t-e STRING\tHTML encode STRING\n\t-d STRING\tURL decode STRING'

const MIME: Readonly<Record<string, string>> = {
  txt: 'text/plain',
  h: 'text/plain',
  c: 'text/plain',
  cc: 'text/plain',
  cpp: 'text/plain',
  htm: 'text/html',
  html: 'text/html',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  png: 'image/png',
  svg: 'image/svg+xml',
  css: 'text/css',
  js: 'application/javascript',
  wav: 'audio/wav',
  avi: 'video/x-msvideo',
  qt: 'video/quicktime',
  mov: 'video/quicktime',
  mpe: 'video/mpeg',
  mpeg: 'video/mpeg',
  mid: 'audio/midi',
  midi: 'audio/midi',
  mp3: 'audio/mpeg',
}

const STATUS: Readonly<Record<number, [string, string | undefined]>> = {
  200: ['OK', undefined],
  302: ['Found', undefined],
  400: ['Bad Request', 'Unsupported method'],
  403: ['Forbidden', ''],
  404: ['Not Found', 'The requested URL was not found'],
  408: ['Request Timeout', 'No request appeared within 60 seconds'],
  501: ['Not Implemented', 'The requested method is not recognized'],
}

interface Served {
  home: string
  verbose: number
}

function errorResponse(ctx: CommandContext, status: number, location?: string): Buffer {
  const [reasonText, info] = STATUS[status] ?? ['Internal Server Error', 'Internal Server Error']
  const headers: [string, string][] = [
    ['Date', httpDate(nowMs(ctx))],
    ['Connection', 'close'],
    ['Content-type', 'text/html'],
  ]
  if (location !== undefined) headers.push(['Location', location])
  const body =
    info === undefined
      ? ''
      : `<HTML><HEAD><TITLE>${status} ${reasonText}</TITLE></HEAD>\n<BODY><H1>${status} ${reasonText}</H1>\n${info}\n</BODY></HTML>\n`
  return responseBytes({ status, reason: reasonText, headers, body: Buffer.from(body) }, false)
}

async function handle(ctx: CommandContext, conn: Connection, s: Served): Promise<void> {
  const reader = new StreamReader(conn)
  const send = (status: number, bytes: Buffer): void => {
    if (s.verbose) ctx.write('stderr', `${conn.remote.address}:${conn.remote.port}: response:${status}\n`)
    conn.write(bytes)
  }
  const timeout = new AbortController()
  const req = await Promise.race([
    readRequest(reader),
    ctx.clock.sleep(60_000, AbortSignal.any([timeout.signal, ctx.signal])).then(
      () => 'timeout' as const,
      () => new Promise<never>(() => {}),
    ),
  ])
  timeout.abort()
  if (req === undefined) return
  if (req === 'timeout') return send(408, errorResponse(ctx, 408))
  if (req === 'bad' || !req.target.startsWith('/')) return send(400, errorResponse(ctx, 400))
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') return send(501, errorResponse(ctx, 501))
  // ".." may not climb above the home directory.
  const depth = req.path.split('/').reduce((d, part) => (d < 0 ? d : part === '..' ? d - 1 : part === '' || part === '.' ? d : d + 1), 0)
  if (depth < 0) return send(400, errorResponse(ctx, 400))
  if (s.verbose > 1) ctx.write('stderr', `${conn.remote.address}:${conn.remote.port}: url:${resolvePath('/', req.path)}\n`)
  // Without CGI, POST has nothing to run.
  if (req.method === 'POST' || req.path.startsWith('/cgi-bin/')) return send(404, errorResponse(ctx, 404))
  const found = findStatic(ctx.fs, s.home, req.path, ['index.html'])
  if (found.kind === 'redirect') return send(302, errorResponse(ctx, 302, found.location))
  if (found.kind !== 'file') return send(404, errorResponse(ctx, 404))
  const mtime = Math.floor(found.mtimeMs / 1000)
  const type = found.path.lastIndexOf('.') > found.path.lastIndexOf('/') ? mimeType(found.path, MIME, '') : ''
  const headers: [string, string][] = [
    ['Date', httpDate(nowMs(ctx))],
    ['Connection', 'close'],
    ...(type ? [['Content-type', type] as [string, string]] : []),
    ['Accept-Ranges', 'bytes'],
    ['Last-Modified', httpDate(mtime * 1000)],
    ['ETag', `"${mtime.toString(16)}-${found.data.length.toString(16)}"`],
    ['Content-Length', String(found.data.length)],
  ]
  send(200, responseBytes({ status: 200, reason: 'OK', headers, body: found.data }, req.method === 'HEAD'))
}

export const httpd: Command = async (args, ctx) => {
  const o = parseOptions('httpd', args.slice(1), { flags: 'ifv', valued: 'cdhepurm', usage: USAGE }, ctx)
  if (typeof o === 'number') return o
  const decode = last(o, 'd')
  if (decode !== undefined) {
    ctx.write('stdout', decodeURIComponent(decode.replace(/\+/g, ' ')))
    return 0
  }
  const encode = last(o, 'e')
  if (encode !== undefined) {
    ctx.write(
      'stdout',
      [...Buffer.from(encode)].map((b) => (/[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `&#${b};`)).join(''),
    )
    return 0
  }
  const home = resolvePath(ctx.cwd, last(o, 'h') ?? '.')
  if (ctx.fs.stat(home)?.type !== 'dir') {
    ctx.write(
      'stderr',
      `httpd: can't change directory to '${last(o, 'h') ?? '.'}': ${ctx.fs.stat(home) ? 'Not a directory' : 'No such file or directory'}\n`,
    )
    return 1
  }
  // -p PORT, or IP:PORT, or an address alone (port 80).
  const bind = last(o, 'p') ?? '80'
  let address = '0.0.0.0'
  let port = 80
  if (/^\d+$/.test(bind) && Number(bind) > 0 && Number(bind) <= 65535) port = Number(bind)
  else {
    const colon = bind.lastIndexOf(':')
    const host = colon === -1 ? bind : bind.slice(0, colon)
    const ip = resolveHost(ctx, host)
    if (ip === undefined) {
      ctx.write('stderr', `httpd: bad address '${host}'\n`)
      return 1
    }
    address = ip
    if (colon !== -1) {
      const p = bind.slice(colon + 1)
      if (!/^\d+$/.test(p) || Number(p) > 65535) {
        ctx.write('stderr', `httpd: bad port '${p}'\n`)
        return 1
      }
      port = Number(p)
    }
  }
  const served: Served = { home, verbose: o.flags.filter((f) => f === 'v').length }
  const run = async (proc: CommandContext): Promise<number> => {
    let listener
    try {
      if (!proc.net) throw new NetError('EADDRNOTAVAIL')
      listener = proc.net.listen({ address, port, owner: socketOwner(proc, 'httpd'), signal: proc.signal })
    } catch (err) {
      if (!(err instanceof NetError)) throw err
      proc.write('stderr', `httpd: bind: ${err.message}\n`)
      return 1
    }
    // No signal handlers: a signal's default action ends it (PID 1 of a container ignores SIGTERM).
    const l = listener
    void untilAborted(proc.signal).then(() => l.close())
    await serve(l, (conn) => handle(proc, conn, served))
    return 0
  }
  // Without -f (or -i) busybox httpd forks into the background and returns at once.
  if (!has(o, 'f') && daemonize(ctx, args, run)) return 0
  return run(ctx)
}
