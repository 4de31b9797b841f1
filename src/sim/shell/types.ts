// The shapes the shell's modules share (the interpreter, expansion, redirection, traps, jobs): what
// a shell runs as, what it sees of its container, its options. Kept apart from the interpreter so
// the modules split out of it can name them without importing the interpreter back.
import type { Clock } from '../clock.js'
import type { CommandContext, Exec, Identity, ProcessTable } from '../context.js'
import type { Fs } from '../fs/types.js'
import type { Kernel } from '../kernel.js'
import type { Net } from '../net.js'
import type { ExitInfo } from '../process.js'
import type { Io } from './io.js'

/** The process a shell runs as. */
export interface ShellProcess {
  readonly pid: number
  readonly isInit: boolean
  readonly signal: AbortSignal
  trap(signo: number, handler: () => void): void
  terminate(exit: ExitInfo): void
}

/** What a shell's commands see of their container. */
export interface ShellSystem {
  readonly clock: Clock
  readonly fs: Fs
  readonly identity: Identity
  readonly hostname: string
  readonly processes: ProcessTable
  readonly net?: Net
  readonly kernel?: Kernel | undefined
  /** The container's memory cgroup, which what the shell's commands allocate is charged to. */
  readonly memory?: CommandContext['memory']
  /** The size of the process's terminal, when it has one (stty size). */
  readonly winsize?: CommandContext['winsize']
  /** How the shell finds and starts programs (CommandContext.exec). */
  readonly exec: Exec
}

export interface ShellOpts {
  errexit: boolean
  nounset: boolean
  xtrace: boolean
  noglob: boolean
  noclobber: boolean
  allexport: boolean
  pipefail: boolean
}

const OPTION_LETTERS: Record<string, keyof ShellOpts> = {
  e: 'errexit',
  u: 'nounset',
  x: 'xtrace',
  f: 'noglob',
  C: 'noclobber',
  a: 'allexport',
}

/** The letters of the options that are on, as $- shows them. */
export function optionFlags(opts: ShellOpts): string {
  return Object.entries(OPTION_LETTERS)
    .filter(([, o]) => opts[o])
    .map(([l]) => l)
    .join('')
}

/** Sets the option of a letter (set -e, sh -x); false when there is none. */
export function setOption(opts: ShellOpts, letter: string, on: boolean): boolean {
  const o = OPTION_LETTERS[letter]
  if (o === undefined) return false
  opts[o] = on
  return true
}

/** A shell variable. */
export interface Var {
  value: string | undefined
  exported: boolean
  readonly: boolean
}

/** Signals whose default action is to do nothing. */
export const IGNORED_BY_DEFAULT = new Set([17, 18, 23, 28])

/** A builtin of shell S gets its argv, its descriptors (after redirections) and the ones before them. */
export type BuiltinOf<S> = (sh: S, argv: string[], io: Io, outer: Io) => Promise<number>

/**
 * The builtins a shell runs (src/sim/shell/builtins.ts), given to it by whoever starts it
 * (src/sim/shell/start.ts) so that the interpreter and the builtins, which act on a Shell, do not
 * import each other.
 */
export interface BuiltinTablesOf<S> {
  readonly special: Readonly<Record<string, BuiltinOf<S>>>
  readonly regular: Readonly<Record<string, BuiltinOf<S>>>
}

export interface ShellOptions<S> {
  proc: ShellProcess
  sys: ShellSystem
  builtins: BuiltinTablesOf<S>
  io: Io
  env: Readonly<Record<string, string>>
  cwd: string
  /** $0, and what error messages begin with. */
  name: string
  /** The script file being run (error messages then name it and the line). */
  script?: string
  params?: string[]
}
