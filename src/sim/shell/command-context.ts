// The CommandContext a shell gives each command it runs: its descriptors (after redirections),
// variables, directory and process table. Apart from the interpreter; what it needs of the shell is
// the narrow ContextHost. A loop's commands share the functions the contexts close over.
import type { CommandContext, Input, ProcessTable } from '../context.js'
import { nullSink, type Io, type Reader } from './io.js'
import type { ShellProcess, ShellSystem } from './types.js'

/** On the stdin a shell gives a command: the shell's buffered reader behind it. */
export const READER = Symbol('reader')

/** A foreground command's trap: signals sent to the shell do not reach it. */
const ignoreTrap = (): void => {}

/** What a command's context is made of in its shell. */
export interface ContextHost {
  /** The shell's process now. */
  readonly proc: ShellProcess
  readonly sys: ShellSystem
  readonly cwd: string
  /** The process table commands see (the shell's children among them). */
  readonly jobs: { readonly table: ProcessTable }
  /** Writes to a descriptor; a broken pipe delivers SIGPIPE to the shell. */
  write(io: Io, fd: number, text: string): void
  abortable<T>(p: Promise<T>): Promise<T>
}

/** The functions of a command context that depend on the descriptors (CommandContexts#streams). */
interface CommandStreams {
  io: Io
  reader: Reader
  write: CommandContext['write']
  terminate: CommandContext['terminate']
  stdin: Input
  drain: () => Promise<void>
}

export class CommandContexts {
  /** What the last command context's functions closed over (#streams). */
  #last: CommandStreams | undefined

  constructor(readonly host: ContextHost) {}

  /** The context a command runs with: the shell's descriptors, variables and directory. */
  make(argv: string[], io: Io, env: Record<string, string>, o: { exec?: boolean; applet?: string } = {}): CommandContext {
    const { proc, sys } = this.host
    const streams = this.#streams(io)
    return {
      args: argv,
      env,
      clock: sys.clock,
      signal: proc.signal,
      write: streams.write,
      // A foreground command is another process: signals sent to the shell do not reach it.
      trap: o.exec ? proc.trap : ignoreTrap,
      terminate: streams.terminate,
      cwd: this.host.cwd,
      fs: sys.fs,
      stdin: streams.stdin,
      identity: sys.identity,
      hostname: sys.hostname,
      processes: this.host.jobs.table,
      ...(sys.net ? { net: sys.net } : {}),
      ...(sys.kernel ? { kernel: sys.kernel } : {}),
      ...(sys.memory ? { memory: sys.memory } : {}),
      ...(sys.winsize ? { winsize: sys.winsize } : {}),
      exec: sys.exec,
      pid: proc.pid,
      isInit: o.exec ? proc.isInit : false,
      drain: streams.drain,
      ...(o.applet !== undefined ? { applet: o.applet } : {}),
    }
  }

  /**
   * What a command context's functions close over is only the shell and its descriptors: a loop's
   * commands (the same Io, the same stdin) share one set instead of making seven closures each.
   */
  #streams(io: Io): CommandStreams {
    const stdin = io.input(0)
    const last = this.#last
    if (last?.io === io && last.reader === stdin) return last
    return (this.#last = this.#newStreams(io, stdin))
  }

  #newStreams(io: Io, stdin: Reader): CommandStreams {
    const host = this.host
    const abortable = <T>(p: Promise<T>): Promise<T> => host.abortable(p)
    return {
      io,
      reader: stdin,
      write: (stream, text) => host.write(io, stream === 'stdout' ? 1 : 2, text),
      terminate: (exit) => host.proc.terminate(exit),
      stdin: { read: () => abortable(stdin.read()), readAll: () => abortable(stdin.readAll()), [READER]: stdin } as Input,
      drain: () => abortable((io.out(1) ?? nullSink).drain()),
    }
  }
}

/** The promise, or its rejection with the signal's reason when that aborts first. */
export function abortable<T>(signal: AbortSignal, p: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}
