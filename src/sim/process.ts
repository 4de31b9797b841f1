// One simulated process. Nothing runs on the host: a process is a Program (an async function) plus
// the Linux rules for how it ends: its exit code, or 128+signal when a signal's default action
// kills it. A process that is PID 1 of its PID namespace ignores every signal it has no handler
// for, except SIGKILL (as the kernel does for init).
import type { Clock } from './clock.js'
import { emptyInput, type Input } from './input.js'
import { SIGKILL } from './signals.js'

export type Stream = 'stdout' | 'stderr'

export interface ExitInfo {
  code: number
  /** A reason the runtime reports instead of deriving one from the code (e.g. OOMKilled). */
  reason?: string
  /** The signal that ended the process, if one did. */
  signal?: number
}

/** What a program sees while it runs. */
export interface ProgramContext {
  /** The PID the process was started with (a task's: its host PID); absent for a probe that runs nothing. */
  readonly pid?: number
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly clock: Clock
  /** Its stdin: end of input at once unless a client's FIFO, a terminal or an open CRI stdin feeds it. */
  readonly stdin?: Input
  /** True when its stdio is a terminal (a task or exec created with terminal: true). */
  readonly terminal?: boolean
  /** Resolves once its output's readers have taken enough of what it wrote (a slow client holds it back). */
  readonly drain?: () => Promise<void>
  /** Its terminal's size (TIOCGWINSZ), once a client has set one; present only when it has a terminal. */
  readonly winsize?: () => { width: number; height: number } | undefined
  /** Aborts when the process ends for any reason; pass it to every wait. */
  readonly signal: AbortSignal
  write(stream: Stream, text: string): void
  /** Installs a handler: the signal no longer takes its default action. */
  trap(signo: number, handler: () => void): void
  /** Ends the process now with this exit (e.g. an OOM kill). */
  terminate(exit: ExitInfo): void
}

/** A program returns its exit code. */
export type Program = (ctx: ProgramContext) => Promise<number>

export interface ProcessOptions {
  pid: number
  program: Program
  args: readonly string[]
  env: Readonly<Record<string, string>>
  clock: Clock
  /** PID 1 of its PID namespace: unhandled signals other than SIGKILL are ignored. */
  isInit: boolean
  /** Signals this process ignores whatever else is true (e.g. a scripted ignore-sigterm). */
  ignored?: ReadonlySet<number>
  onOutput?: (stream: Stream, text: string) => void
  stdin?: Input
  terminal?: boolean
  /** What drain() waits for besides a macrotask turn: its outputs' readers. */
  drain?: () => Promise<void>
}

/** Thrown inside a program when its process has ended, to unwind it. */
class ProcessEnded extends Error {}
/**
 * One of each, shared: an Error captures a stack trace when made, and a server closing with 20,000
 * sleeping processes would make 20,000 of them; the reason only unwinds the program, never shown.
 */
const DETACHED = new ProcessEnded('detached')
const ENDED = new ProcessEnded('process ended')

export class SimProcess {
  readonly pid: number
  /** Resolves once with how the process ended. */
  readonly exited: Promise<ExitInfo>
  exit: ExitInfo | undefined
  #opts: ProcessOptions
  #controller = new AbortController()
  /** Made when a program first traps a signal (a sleep never does). */
  #handlers: Map<number, () => void> | undefined
  #resolve!: (exit: ExitInfo) => void
  #started = false
  #detached = false

  constructor(opts: ProcessOptions) {
    this.pid = opts.pid
    this.#opts = opts
    this.exited = new Promise((resolve) => (this.#resolve = resolve))
  }

  get running(): boolean {
    return this.#started && this.exit === undefined
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    const ctx: ProgramContext = {
      pid: this.pid,
      args: this.#opts.args,
      env: this.#opts.env,
      clock: this.#opts.clock,
      stdin: this.#opts.stdin ?? emptyInput,
      terminal: this.#opts.terminal ?? false,
      ...(this.#opts.terminal ? { winsize: () => this.winsize } : {}),
      ...(this.#opts.drain ? { drain: this.#opts.drain } : {}),
      signal: this.#controller.signal,
      write: (stream, text) => {
        if (this.exit === undefined) this.#opts.onOutput?.(stream, text)
      },
      trap: (signo, handler) => void (this.#handlers ??= new Map()).set(signo, handler),
      terminate: (exit) => this.#finish(exit),
    }
    // Run on the next tick so a caller can attach listeners before any output or exit.
    queueMicrotask(() => {
      this.#opts.program(ctx).then(
        (code) => this.#finish({ code }),
        (err: unknown) => {
          if (this.#controller.signal.aborted) return
          this.#opts.onOutput?.('stderr', `${(err as Error).message ?? String(err)}\n`)
          this.#finish({ code: 1 })
        },
      )
    })
  }

  /** Delivers a signal. Returns false when the process has already exited. */
  kill(signo: number): boolean {
    if (this.exit !== undefined) return false
    if (signo === SIGKILL) {
      this.#finish({ code: 128 + SIGKILL, signal: SIGKILL })
      return true
    }
    if (this.#opts.ignored?.has(signo)) return true
    const handler = this.#handlers?.get(signo)
    if (handler) {
      handler()
      return true
    }
    // Linux: signals whose default action is to ignore (SIGCHLD, SIGURG, SIGWINCH, SIGCONT).
    if ([17, 18, 23, 28].includes(signo)) return true
    if (this.#opts.isInit) return true
    this.#finish({ code: 128 + signo, signal: signo })
    return true
  }

  /** Its terminal's size as the client last set it (TIOCSWINSZ), if it has one and was told. */
  winsize: { width: number; height: number } | undefined

  /** The client resized the terminal: the new size, and SIGWINCH. */
  resize(width: number, height: number): void {
    if (this.exit !== undefined) return
    this.winsize = { width, height }
    this.kill(28)
  }

  /** Ends the process from outside with this exit (the OOM killer: SIGKILL, reported as OOMKilled). */
  end(exit: ExitInfo): void {
    this.#finish(exit)
  }

  /** Stops the simulation without an exit: the server closes, the "process" lives on in the state. */
  detach(): void {
    this.#detached = true
    this.#controller.abort(DETACHED)
  }

  #finish(exit: ExitInfo): void {
    if (this.exit !== undefined || this.#detached) return
    this.exit = exit
    this.#controller.abort(ENDED)
    this.#resolve(exit)
  }
}
