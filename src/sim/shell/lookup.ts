// Finding what a command name runs. A name without '/' is searched on $PATH in the container's
// filesystem, as a busybox without FEATURE_SH_STANDALONE does; only when no PATH directory has
// anything by that name does a command of the table still run (an image imported through
// containerd's API may not list its applets). What a file runs: a shell script (a `#!` line naming
// a shell, or text without one), a program an image registers (src/sim/binary.ts), a command of
// the table named as the file is (a busybox applet link), a file named as an image program
// (src/sim/programs/: an image's nginx or httpd), or any other executable (see registerFallback in
// src/sim/commands/table.ts).
import { programOf } from '../binary.js'
import { BUSYBOX_BANNER } from '../commands/fs-common.js'
import { lookupCommand } from '../commands/table.js'
import { imageProgram } from '../programs/index.js'
import type { Command, Identity } from '../context.js'
import { resolvePath, type FileStat, type Fs } from '../fs/types.js'

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const BIN_DIRS = new Set(DEFAULT_PATH.split(':'))
const SHELLS = new Set(['sh', 'ash', 'bash', 'dash'])

export type Executable =
  | { kind: 'command'; name: string; command: Command; path?: string; file?: FileStat }
  | { kind: 'script'; path: string; file?: FileStat }
  /** Any other file; `program` when its bytes name a registered program. */
  | { kind: 'binary'; path: string; program?: string; file?: FileStat }
  /**
   * Something is there but may not be executed: "Permission denied". 126 when a regular file is
   * not executable; 127 when the shell found no regular file at all, only a directory or a device
   * (ash's find_command fails then, and its status is 127 whatever the message).
   */
  | { kind: 'denied'; path: string; status: 126 | 127 }

export interface LookupEnv {
  fs: Fs
  cwd: string
  /** $PATH; the default when undefined. */
  path: string | undefined
  identity: Identity
}

export const basename = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? ''

function realpathOr(fs: Fs, path: string): string {
  try {
    return fs.realpath(path)
  } catch {
    return path
  }
}

function stat(fs: Fs, path: string): FileStat | undefined {
  try {
    return fs.stat(path)
  } catch {
    return undefined
  }
}

export function canExecute(st: FileStat, id: Identity): boolean {
  if (st.type !== 'file') return false
  if (id.uid === 0) return (st.mode & 0o111) !== 0
  if (st.uid === id.uid) return (st.mode & 0o100) !== 0
  if (st.gid === id.gid || id.groups.includes(st.gid)) return (st.mode & 0o010) !== 0
  return (st.mode & 0o001) !== 0
}

/** What $PATH holds for a name: the first executable file, else why nothing runs; undefined when no entry exists. */
export type PathHit = { kind: 'found'; path: string; file: FileStat } | { kind: 'denied'; status: 126 | 127 }

export function searchPath(name: string, env: LookupEnv): PathHit | undefined {
  let denied: 126 | 127 | undefined
  for (const dir of (env.path ?? DEFAULT_PATH).split(':')) {
    const p = resolvePath(env.cwd, `${dir === '' ? '.' : dir}/${name}`)
    const st = stat(env.fs, p)
    if (st === undefined) continue
    if (st.type !== 'file') denied ??= 127
    else if (canExecute(st, env.identity)) return { kind: 'found', path: p, file: st }
    else denied = 126
  }
  return denied === undefined ? undefined : { kind: 'denied', status: denied }
}

/** The first executable file called `name` in a PATH directory; 'denied' when only unexecutable files are. */
export function findInPath(name: string, env: LookupEnv): string | 'denied' | undefined {
  const hit = searchPath(name, env)
  if (hit?.kind === 'found') return hit.path
  return hit?.status === 126 ? 'denied' : undefined
}

/**
 * A real busybox binary (a rootfs's /bin/busybox): an ELF file with busybox's banner ("BusyBox
 * v1.36.1 (…) multi-call binary"). It runs the applet argv[0] names, as busybox does.
 */
const isBusybox = (bytes: Buffer): boolean =>
  bytes.length > 4 && bytes.readUInt32BE(0) === 0x7f454c46 && bytes.includes('BusyBox v') && bytes.includes('multi-call binary')

/**
 * A busybox binary: "busybox APPLET args" runs APPLET, any other name runs the applet of that
 * name (a link to it); no applet prints the banner, an unknown one "applet not found" (127).
 */
export const busyboxCommand: Command = async (args, ctx) => {
  const called = basename(args[0] ?? '')
  const argv = called === 'busybox' ? args.slice(1) : args
  if (argv.length === 0) {
    ctx.write('stdout', `${BUSYBOX_BANNER}\n\nUsage: busybox [function [arguments]...]\n   or: function [arguments]...\n`)
    return 0
  }
  const name = basename(argv[0] ?? '')
  const command = lookupCommand(name)
  if (!command) {
    ctx.write('stderr', `${name}: applet not found\n`)
    return 127
  }
  return command(argv, { ...ctx, args: argv })
}

/**
 * What an executable file runs. `argv0` is the name it was run by (an applet link runs the applet of
 * that name); a script runs as `script` (its $0).
 */
function fileExecutable(fs: Fs, path: string, st: FileStat, argv0: string, script: string): Executable {
  let bytes: Buffer = Buffer.alloc(0)
  if (st.size > 0) {
    try {
      bytes = fs.readFile(path)
    } catch {
      bytes = Buffer.alloc(0)
    }
  }
  const head = bytes.subarray(0, 256).toString('latin1')
  if (head.startsWith('#!')) {
    const words = (head.slice(2).split('\n')[0] ?? '').trim().split(/\s+/)
    let prog = basename(words[0] ?? '')
    if (prog === 'env') prog = basename(words[1] ?? '')
    if (SHELLS.has(prog)) return { kind: 'script', path: script, file: st }
  } else if (head !== '' && !head.includes('\0') && !head.startsWith('\x7fELF')) {
    // A text file without `#!`: the shell runs it.
    return { kind: 'script', path: script, file: st }
  }
  const program = programOf(head)
  if (program !== undefined) return { kind: 'binary', path, program, file: st }
  const name = basename(argv0)
  if (isBusybox(bytes)) {
    const applet = name === 'busybox' ? undefined : lookupCommand(name)
    return { kind: 'command', name: applet ? name : 'busybox', command: applet ?? busyboxCommand, path, file: st }
  }
  // A file named as an image program (an image's /usr/sbin/nginx, symlinks resolved).
  const image = imageProgram(basename(realpathOr(fs, path)))
  if (image) return { kind: 'command', name: image.name, command: image.command, path, file: st }
  const command = lookupCommand(name)
  if (command) return { kind: 'command', name, command, path, file: st }
  return { kind: 'binary', path, file: st }
}

export interface ResolveOptions {
  /**
   * Search PATH as a shell (ash) or execvp does: a directory or device by the name counts as
   * "Permission denied". Otherwise as runc's exec.LookPath: only executable files count.
   */
  shell?: boolean
}

export function resolveExecutable(name: string, env: LookupEnv, o: ResolveOptions = {}): Executable | undefined {
  if (name === '') return undefined
  const id = env.identity
  const compute = (): Executable | undefined => resolve(name, env, o)
  // A shell loop runs the same commands over and over: the filesystem remembers the answer until it changes.
  return env.fs.memo
    ? env.fs.memo(`exe\0${o.shell === true}\0${id.uid}:${id.gid}:${id.groups.join(',')}\0${env.path}\0${env.cwd}\0${name}`, compute)
    : compute()
}

function resolve(name: string, env: LookupEnv, o: ResolveOptions): Executable | undefined {
  if (!name.includes('/')) {
    const hit = searchPath(name, env)
    if (hit === undefined) {
      // Nothing by that name on PATH: a command of the table still runs (lenient for file lists without applets).
      const command = lookupCommand(name)
      return command ? { kind: 'command', name, command } : undefined
    }
    if (hit.kind === 'found') return fileExecutable(env.fs, hit.path, hit.file, name, hit.path)
    return o.shell || hit.status === 126 ? { kind: 'denied', path: name, status: hit.status } : undefined
  }
  const abs = resolvePath(env.cwd, name)
  const base = basename(abs)
  const st = stat(env.fs, abs)
  if (st === undefined) {
    // A known command in a standard bin directory runs even when the filesystem does not list it.
    const command = lookupCommand(base)
    const dir = abs.slice(0, abs.length - base.length - 1) || '/'
    return command && BIN_DIRS.has(dir) ? { kind: 'command', name: base, command, path: abs } : undefined
  }
  if (!canExecute(st, env.identity)) return { kind: 'denied', path: abs, status: 126 }
  // A script's $0 is the path as it was given.
  return fileExecutable(env.fs, abs, st, name, name)
}
