// Redirections (`<`, `>`, `>>`, `>|`, `<>`, `&>`, `>&`, `<&`, here-documents): a command's
// descriptors after them. Apart from the interpreter, which only asks for the Io a list of
// redirections gives; the targets are expanded as words (src/sim/shell/expand.ts).
import { FS_MESSAGES, FsError, resolvePath } from '../fs/types.js'
import type { Redir } from './ast.js'
import { RedirError } from './errors.js'
import { expandHeredoc, expandString, type ExpansionHost } from './expand.js'
import { FileSink, emptyReader, nullSink, textReader, type Fd, type Io, type Sink } from './io.js'

/** What redirection needs of the shell: expansion of its targets, and set -C (noclobber). */
export interface RedirectHost extends ExpansionHost {
  readonly opts: ExpansionHost['opts'] & { readonly noclobber: boolean }
}

/** The descriptors after `redirs`; RedirError when one cannot be opened. */
export async function redirect(sh: RedirectHost, redirs: Redir[], io: Io): Promise<Io> {
  if (redirs.length === 0) return io
  let r = io
  for (const red of redirs) {
    const fd = red.fd ?? (red.op.startsWith('<') ? 0 : 1)
    switch (red.op) {
      case '<<':
      case '<<-': {
        const doc = red.heredoc as NonNullable<Redir['heredoc']>
        const text = doc.quoted ? doc.body.map((p) => (p.t === 'q' ? p.v : '')).join('') : await expandHeredoc(sh, doc.body, io)
        r = r.with(fd, { kind: 'in', reader: textReader(text) })
        break
      }
      case '<':
      case '<>':
        r = r.with(fd, openRead(sh, await expandString(sh, red.target, io), r))
        break
      case '>':
      case '>|':
      case '>>':
        r = r.with(fd, openWrite(sh, await expandString(sh, red.target, io), red.op === '>>', r))
        break
      case '&>': {
        const out = openWrite(sh, await expandString(sh, red.target, io), false, r)
        r = r.with(1, out).with(2, out)
        break
      }
      case '>&':
      case '<&': {
        const target = await expandString(sh, red.target, io)
        if (target === '-') r = r.with(fd, undefined)
        else if (/^\d+$/.test(target)) {
          const src = r.get(Number(target))
          if (src === undefined) throw new RedirError(`${target}: Bad file descriptor`)
          r = r.with(fd, src)
        } else if (red.op === '>&' && red.fd === undefined) {
          const out = openWrite(sh, target, false, r)
          r = r.with(1, out).with(2, out)
        } else throw new RedirError(`${target}: Bad file descriptor`)
        break
      }
    }
  }
  return r
}

function device(path: string, io: Io): Fd | undefined | null {
  if (path === '/dev/null') return null
  const m = /^\/dev\/(?:std(in|out|err)|fd\/(\d))$/.exec(path)
  if (!m) return undefined
  const fd = m[1] === 'in' ? 0 : m[1] === 'out' ? 1 : m[1] === 'err' ? 2 : Number(m[2])
  return io.get(fd) ?? null
}

function openWrite(sh: RedirectHost, path: string, append: boolean, io: Io): Fd {
  const dev = device(path, io)
  if (dev === null) return { kind: 'out', sink: nullSink }
  if (dev !== undefined) return dev
  const abs = resolvePath(sh.cwd, path)
  try {
    if (sh.opts.noclobber && !append && sh.sys.fs.stat(abs)?.type === 'file') throw new FsError('EEXIST', abs)
    sh.sys.fs.writeFile(abs, '', append ? { append: true } : undefined)
  } catch (err) {
    if (!(err instanceof FsError)) throw err
    throw new RedirError(
      `can't create ${path}: ${err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'nonexistent directory' : FS_MESSAGES[err.code]}`,
    )
  }
  const sink: Sink = new FileSink(sh.sys.fs, abs)
  return { kind: 'out', sink }
}

function openRead(sh: RedirectHost, path: string, io: Io): Fd {
  const dev = device(path, io)
  if (dev === null) return { kind: 'in', reader: emptyReader() }
  if (dev !== undefined) return dev
  try {
    const text = sh.sys.fs.readFile(resolvePath(sh.cwd, path)).toString('utf8')
    return { kind: 'in', reader: textReader(text) }
  } catch (err) {
    if (!(err instanceof FsError)) throw err
    throw new RedirError(`can't open ${path}: ${err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'no such file' : FS_MESSAGES[err.code]}`)
  }
}
