// Finding what a command name runs. A name without '/' is searched on $PATH in the container's
// filesystem, as a busybox without FEATURE_SH_STANDALONE does; only when no PATH directory has
// anything by that name does a command of the table still run (an image imported through
// containerd's API may not list its applets). What a file runs: a shell script (a `#!` line naming
// a shell, or text without one), a program an image registers (src/sim/binary.ts), a command of
// the table named as the file is (a busybox applet link), a file named as an image program
// (src/sim/programs/: an image's nginx or httpd), or any other executable (FALLBACK_COMMAND in
// src/sim/commands/table.ts). A real busybox binary runs the applet argv[0] names, as busybox does;
// an ELF file the simulator cannot run (a loader the container lacks, another machine, a program
// it does not know) fails to exec as on a node: ENOENT, or ENOEXEC for another machine.
import { NODE_MACHINE, inspectBinary, programOf, type BinaryInfo } from '../binary.js'
import { BUSYBOX_BANNER } from '../commands/fs-common.js'
import { lookupCommand } from '../commands/table.js'
import { basename } from '../commands/util.js'
import { imageProgram } from '../programs/index.js'
import type { Command, Executable, LookupEnv, ResolveOptions } from '../context.js'
import { resolvePath, type FileStat, type Fs } from '../fs/types.js'
import { DEFAULT_PATH, canExecute, searchPath, statOrUndefined as stat } from './search.js'

export type { Executable, LookupEnv, ResolveOptions } from '../context.js'
export { FALLBACK_COMMAND, lookupCommand } from '../commands/table.js'
export { imageProgram } from '../programs/index.js'

const BIN_DIRS = new Set(DEFAULT_PATH.split(':'))
const SHELLS = new Set(['sh', 'ash', 'bash', 'dash'])

function realpathOr(fs: Fs, path: string): string {
  try {
    return fs.realpath(path)
  } catch {
    return path
  }
}

/** What a file's bytes say; a filesystem that can remembers it per file (Fs.inspect). */
function inspect(fs: Fs, path: string, st: FileStat): BinaryInfo | undefined {
  if (st.size === 0) return undefined
  try {
    return fs.inspect ? fs.inspect(path) : inspectBinary(fs.readFile(path))
  } catch {
    return undefined
  }
}

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
  const info = inspect(fs, path, st)
  const head = info?.head ?? ''
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
  const elf = info?.elf
  if (elf && elf.machine !== NODE_MACHINE) return { kind: 'unrunnable', path, errno: 'ENOEXEC', file: st }
  if (elf?.interpreter !== undefined && stat(fs, elf.interpreter) === undefined)
    return { kind: 'unrunnable', path, errno: 'ENOENT', file: st }
  const name = basename(argv0)
  if (info?.busybox) {
    const applet = name === 'busybox' ? undefined : lookupCommand(name)
    return { kind: 'command', name: applet ? name : 'busybox', command: applet ?? busyboxCommand, path, file: st }
  }
  // A file named as an image program (an image's /usr/sbin/nginx, symlinks resolved).
  const image = imageProgram(basename(realpathOr(fs, path)))
  if (image) return { kind: 'command', name: image.name, command: image.command, path, file: st }
  const command = lookupCommand(name)
  if (command) return { kind: 'command', name, command, path, file: st }
  // Some other program the simulator cannot run: as if its loader were missing.
  if (elf) return { kind: 'unrunnable', path, errno: 'ENOENT', file: st }
  return { kind: 'binary', path, file: st }
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
