// Finding what a command name runs: a command of the table (found whether or not the filesystem
// has it, as a busybox built with FEATURE_SH_STANDALONE finds its applets), else an executable file
// on PATH: a shell script, an image program (src/sim/programs/: a file named as a program the
// simulator knows, such as an image's /usr/sbin/nginx), or any other file (see registerFallback in
// src/sim/commands/table.ts).
import { lookupCommand } from '../commands/table.js'
import { imageProgram } from '../programs/index.js'
import type { Command, Identity } from '../context.js'
import { resolvePath, type FileStat, type Fs } from '../fs/types.js'

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const BIN_DIRS = new Set(DEFAULT_PATH.split(':'))
const SHELLS = new Set(['sh', 'ash', 'bash', 'dash'])

export type Executable =
  | { kind: 'command'; name: string; command: Command; path?: string }
  | { kind: 'script'; path: string }
  | { kind: 'binary'; path: string }
  /** A file that is there but may not be executed (126, "Permission denied"). */
  | { kind: 'denied'; path: string }

export interface LookupEnv {
  fs: Fs
  cwd: string
  /** $PATH; the default when undefined. */
  path: string | undefined
  identity: Identity
}

export const basename = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? ''

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

/** The first executable file called `name` in a PATH directory; 'denied' when only unexecutable ones are. */
export function findInPath(name: string, env: LookupEnv): string | 'denied' | undefined {
  let denied = false
  for (const dir of (env.path ?? DEFAULT_PATH).split(':')) {
    const p = resolvePath(env.cwd, `${dir === '' ? '.' : dir}/${name}`)
    const st = stat(env.fs, p)
    if (st?.type !== 'file') continue
    if (canExecute(st, env.identity)) return p
    denied = true
  }
  return denied ? 'denied' : undefined
}

/** A shell script (a `#!` line naming a shell, or text without one), or some other program. */
function classify(fs: Fs, path: string): Executable {
  let head: string
  try {
    head = fs.readFile(path).subarray(0, 256).toString('latin1')
  } catch {
    return binary(fs, path)
  }
  if (head.startsWith('#!')) {
    const words = (head.slice(2).split('\n')[0] ?? '').trim().split(/\s+/)
    let prog = basename(words[0] ?? '')
    if (prog === 'env') prog = basename(words[1] ?? '')
    return SHELLS.has(prog) ? { kind: 'script', path } : binary(fs, path)
  }
  if (head === '' || head.includes('\0') || head.startsWith('\x7fELF')) return binary(fs, path)
  return { kind: 'script', path }
}

/** A program file: an image program when the file (symlinks resolved) is named as one. */
function binary(fs: Fs, path: string): Executable {
  let real = path
  try {
    real = fs.realpath(path)
  } catch {
    // as it was given
  }
  const program = imageProgram(basename(real))
  return program ? { kind: 'command', name: program.name, command: program.command, path } : { kind: 'binary', path }
}

export function resolveExecutable(name: string, env: LookupEnv): Executable | undefined {
  if (name === '') return undefined
  if (!name.includes('/')) {
    // An image's own program on PATH comes before an applet of the same name (Apache's httpd).
    if (imageProgram(name)) {
      const found = findInPath(name, env)
      const program = found === undefined || found === 'denied' ? undefined : classify(env.fs, found)
      if (program?.kind === 'command') return program
    }
    const command = lookupCommand(name)
    if (command) return { kind: 'command', name, command }
    const found = findInPath(name, env)
    if (found === 'denied') return { kind: 'denied', path: name }
    return found === undefined ? undefined : classify(env.fs, found)
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
  if (!canExecute(st, env.identity)) return { kind: 'denied', path: abs }
  const command = lookupCommand(base)
  if (command) return { kind: 'command', name: base, command, path: abs }
  // A script's $0 is the path as it was given.
  return { ...classify(env.fs, abs), path: name }
}
