// What a command sees when it runs inside a simulated process: the process context (arguments,
// clock, signals, output) plus a working directory, the container's filesystem, its input, and
// the identity and process table of its container. The shell creates one per command it runs.
import type { Fs } from './fs/types.js'
import type { ProgramContext, Stream } from './process.js'

/** Text a command reads (a pipe, a file, or the process's stdin). */
export interface Input {
  /** The next chunk, or undefined at end of input. */
  read(): Promise<string | undefined>
  /** Everything up to end of input. */
  readAll(): Promise<string>
}

export const emptyInput: Input = { read: async () => undefined, readAll: async () => '' }

export function textInput(text: string): Input {
  let done = false
  return {
    read: async () => (done ? undefined : ((done = true), text)),
    readAll: async () => (done ? '' : ((done = true), text)),
  }
}

/** Who the process runs as. */
export interface Identity {
  uid: number
  gid: number
  groups: number[]
  /** Names from the container's /etc/passwd and /etc/group, when known. */
  user?: string
  group?: string
}

/** A process as ps shows it. */
export interface ProcessInfo {
  pid: number
  ppid: number
  user: string
  args: string[]
}

/** The processes a command can see and signal (its PID namespace). */
export interface ProcessTable {
  list(): ProcessInfo[]
  /** Sends a signal; false when no such process. */
  kill(pid: number, signo: number): boolean
}

export interface CommandContext extends ProgramContext {
  /** The process's environment; the shell's exports are added to a copy per command. */
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly fs: Fs
  readonly stdin: Input
  readonly identity: Identity
  readonly hostname: string
  readonly processes: ProcessTable
  /** Writes to this command's stdout or stderr (after the shell's redirections). */
  write(stream: Stream, text: string): void
}

export type Command = (args: readonly string[], ctx: CommandContext) => Promise<number>
