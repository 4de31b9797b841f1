// One simulated process. Nothing runs on the host: a process is a Program (an async function) plus
// the Linux rules for how it ends: its exit code, or 128+signal when a signal's default action
// kills it. A process that is PID 1 of its PID namespace ignores every signal it has no handler
// for, except SIGKILL (as the kernel does for init).
import { getEventListeners } from 'node:events'
import type { Alarm, Clock } from './clock.js'
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
  /**
   * Present while what the program returns is how the process ends and nothing else of it runs (its
   * argv, run straight: `sleep 3600`). The program may hand its last wait over and return at once: the
   * process then waits `ms` of simulated time as an alarm on the clock, holding none of the program's
   * frames and contexts, and exits with the code the program returned. Signals act on it as on any
   * process (its handlers, the default actions, PID 1's immunity).
   */
  readonly sleepThenExit?: (ms: number) => void
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
  exit: ExitInfo | undefined
  /** `exited`, made when first asked for. */
  #exited: Promise<ExitInfo> | undefined
  #resolve: ((exit: ExitInfo) => void) | undefined
  /** What onExit was given, until the process ends. */
  #exitListeners: ((exit: ExitInfo) => void)[] | undefined
  /** What start() needs; let go once the program runs (a sleeping process holds no more than it must). */
  #opts: ProcessOptions | undefined
  readonly #clock: Clock
  readonly #isInit: boolean
  readonly #ignored: ReadonlySet<number> | undefined
  readonly #onOutput: ((stream: Stream, text: string) => void) | undefined
  /** Made when the program first reads its signal (the pause process never does). */
  #controller: AbortController | undefined
  /** Made when a program first traps a signal (a sleep never does). */
  #handlers: Map<number, () => void> | undefined
  #started = false
  #detached = false
  /** The wait the program handed over (ctx.sleepThenExit): its ms until the program returns, then its alarm. */
  #last: number | Alarm | undefined

  constructor(opts: ProcessOptions) {
    this.pid = opts.pid
    this.#opts = opts
    this.#clock = opts.clock
    this.#isInit = opts.isInit
    this.#ignored = opts.ignored
    this.#onOutput = opts.onOutput
  }

  /** Resolves once with how the process ended (never for a detached one that had not ended). */
  get exited(): Promise<ExitInfo> {
    if (!this.#exited) {
      const exit = this.exit
      this.#exited = exit ? Promise.resolve(exit) : new Promise((resolve) => (this.#resolve = resolve))
    }
    return this.#exited
  }

  /**
   * Calls `listener` in a microtask once the process has ended (at once if it has), before what
   * awaits `exited` resumes: the runtime's own bookkeeping of an exit, without a promise per process.
   */
  onExit(listener: (exit: ExitInfo) => void): void {
    const exit = this.exit
    if (exit) queueMicrotask(() => listener(exit))
    else if (!this.#detached) (this.#exitListeners ??= []).push(listener)
  }

  get running(): boolean {
    return this.#started && this.exit === undefined
  }

  start(): void {
    const opts = this.#opts
    if (this.#started || !opts) return
    this.#started = true
    this.#opts = undefined
    const ctx = SimProcess.#contextOf(this, opts)
    // Run on the next tick so a caller can attach listeners before any output or exit.
    queueMicrotask(() => this.#run(opts.program, ctx))
  }

  /**
   * What the program sees. Its closures are made here, over the process alone: made in start(), they
   * would share its scope, and a program that waits (a pause process's handlers) would keep the
   * context and the start options with them.
   */
  static #contextOf(proc: SimProcess, opts: ProcessOptions): ProgramContext {
    return {
      pid: proc.pid,
      args: opts.args,
      env: opts.env,
      clock: opts.clock,
      stdin: opts.stdin ?? emptyInput,
      terminal: opts.terminal ?? false,
      winsize: opts.terminal ? () => proc.winsize : undefined,
      drain: opts.drain,
      get signal() {
        return proc.#signal()
      },
      write: (stream, text) => {
        if (proc.exit === undefined) proc.#onOutput?.(stream, text)
      },
      trap: (signo, handler) => void (proc.#handlers ??= new Map()).set(signo, handler),
      terminate: (exit) => proc.#finish(exit),
      sleepThenExit: (ms) => void (proc.#last = ms),
    }
  }

  /** Runs the program; what it returns or throws ends the process (its reactions hold only the process). */
  #run(program: Program, ctx: ProgramContext): void {
    program(ctx).then(
      (code) => this.#returned(code),
      (err: unknown) => {
        if (this.exit !== undefined || this.#detached) return
        this.#onOutput?.('stderr', `${(err as Error).message ?? String(err)}\n`)
        this.#finish({ code: 1 })
      },
    )
  }

  /** The process's signal, made on first use (aborted at once when the process has already ended). */
  #signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.exit !== undefined || this.#detached) this.#controller.abort(this.#detached ? DETACHED : ENDED)
    }
    return this.#controller.signal
  }

  /** The program returned `code`: the process ends with it, after the wait it handed over if it did. */
  #returned(code: number): void {
    const ms = this.#last
    if (typeof ms !== 'number' || this.exit !== undefined || this.#detached) return this.#finish({ code })
    this.#last = this.#clock.after(ms, () => this.#finish({ code }))
    // The program's frames are gone, and with them whatever it meant to hand its signal to: a signal
    // nothing listens to has nothing to tell when the process ends.
    const signal = this.#controller?.signal
    if (signal && !signal.aborted && getEventListeners(signal, 'abort').length === 0) this.#controller = undefined
  }

  /** Delivers a signal. Returns false when the process has already exited. */
  kill(signo: number): boolean {
    if (this.exit !== undefined) return false
    if (signo === SIGKILL) {
      this.#finish({ code: 128 + SIGKILL, signal: SIGKILL })
      return true
    }
    if (this.#ignored?.has(signo)) return true
    const handler = this.#handlers?.get(signo)
    if (handler) {
      handler()
      return true
    }
    // Linux: signals whose default action is to ignore (SIGCHLD, SIGURG, SIGWINCH, SIGCONT).
    if ([17, 18, 23, 28].includes(signo)) return true
    if (this.#isInit) return true
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
    this.#exitListeners = undefined
    this.#endWait()
    this.#controller?.abort(DETACHED)
  }

  #finish(exit: ExitInfo): void {
    if (this.exit !== undefined || this.#detached) return
    this.exit = exit
    this.#endWait()
    this.#controller?.abort(ENDED)
    const listeners = this.#exitListeners
    this.#exitListeners = undefined
    for (const listener of listeners ?? []) queueMicrotask(() => listener(exit))
    this.#resolve?.(exit)
  }

  /** The handed-over wait will not end the process: it has ended otherwise. */
  #endWait(): void {
    if (typeof this.#last === 'object') this.#last.cancel()
    this.#last = undefined
  }
}
