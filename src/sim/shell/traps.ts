// Traps and signals of a shell: `trap` actions, how a signal sent to the shell's process is
// delivered (its action runs at the next safe point, or its default action ends the shell), and
// waiting for one (`wait`, `read` are interrupted by a trapped signal). Apart from the interpreter:
// what it needs of the shell is the narrow TrapHost.
import { SIGKILL } from '../signals.js'
import type { Io } from './io.js'
import { IGNORED_BY_DEFAULT, type ShellProcess } from './types.js'

/** What traps need of their shell. */
export interface TrapHost {
  /** The shell's process now (an interactive shell gives each line its own signal). */
  readonly proc: ShellProcess
  /** Set by `exec CMD`: the shell's traps no longer apply. */
  readonly execd: boolean
  /** $?, which a trap action leaves as it found it. */
  status: number
  readonly io: Io
  /** Runs text as shell commands in the shell. */
  evalString(text: string, io: Io): Promise<number>
}

export class Traps {
  /** Signal number → action ('' ignores); 0 is EXIT. */
  readonly actions = new Map<number, string>()
  /** Subshells in the same process cannot receive signals: their trap only records. */
  canTrap = true
  #installed = new Set<number>()
  #pending: number[] = []
  #signalWaiters = new Set<(signo: number) => void>()
  #inTrap = false

  constructor(readonly host: TrapHost) {}

  /** Sets a trap action ('' ignores, undefined restores the default); 0 is EXIT. */
  set(signo: number, action: string | undefined): void {
    if (action === undefined) this.actions.delete(signo)
    else this.actions.set(signo, action)
    if (signo !== 0 && signo !== SIGKILL && this.canTrap && !this.#installed.has(signo)) {
      this.#installed.add(signo)
      this.host.proc.trap(signo, () => this.deliver(signo))
    }
  }

  /** A signal arrived for this shell's process (through the handler a trap installed). */
  deliver(signo: number): void {
    const proc = this.host.proc
    const action = this.host.execd ? undefined : this.actions.get(signo)
    if (action === undefined) {
      if (signo === SIGKILL) return proc.terminate({ code: 128 + signo, signal: signo })
      if (IGNORED_BY_DEFAULT.has(signo) || proc.isInit) return
      return proc.terminate({ code: 128 + signo, signal: signo })
    }
    if (action === '') return
    // Run at the next safe point: after the foreground command, or at once in `wait`.
    this.#pending.push(signo)
    for (const w of this.#signalWaiters) w(signo)
    this.#signalWaiters.clear()
  }

  /** Sends a signal to this shell's own process, as the kernel would. */
  signalSelf(signo: number): void {
    const proc = this.host.proc
    if (this.#installed.has(signo) || signo === SIGKILL) this.deliver(signo)
    else if (!IGNORED_BY_DEFAULT.has(signo) && !proc.isInit) proc.terminate({ code: 128 + signo, signal: signo })
  }

  /** The first trapped signal not yet acted on. */
  get pending(): number | undefined {
    return this.#pending[0]
  }

  /** Runs the actions of the signals that arrived, $? kept. */
  async runPending(): Promise<void> {
    if (this.#inTrap) return
    while (this.#pending.length > 0) {
      const signo = this.#pending.shift() as number
      const action = this.actions.get(signo)
      if (!action) continue
      const saved = this.host.status
      this.#inTrap = true
      try {
        await this.host.evalString(action, this.host.io)
      } finally {
        this.#inTrap = false
      }
      this.host.status = saved
    }
  }

  /**
   * The EXIT trap, run once as the shell ends with `status` (not after `exec`, nor when its process
   * was ended): the status it ends with; `exitStatus` turns what the action throws into one.
   */
  async runExit(status: number, exitStatus: (err: unknown) => number): Promise<number> {
    const host = this.host
    const action = this.actions.get(0)
    if (action === undefined || action === '' || host.execd || host.proc.signal.aborted) return status
    this.actions.delete(0)
    host.status = status
    try {
      await host.evalString(action, host.io)
    } catch (err) {
      return exitStatus(err)
    }
    return status
  }

  /** Resolves with the next trapped signal that arrives (or one already pending); cancel when done. */
  nextSignal(): { promise: Promise<number>; cancel(): void } {
    let waiter: ((signo: number) => void) | undefined
    const pending = this.#pending[0]
    const promise =
      pending !== undefined
        ? Promise.resolve(pending)
        : new Promise<number>((resolve) => {
            waiter = resolve
            this.#signalWaiters.add(resolve)
          })
    return { promise, cancel: () => void (waiter && this.#signalWaiters.delete(waiter)) }
  }
}
