// The clock simulated processes sleep on. It runs at real speed by default; the control API can
// freeze it (no simulated time passes) or advance it (timers due in the skipped span fire at
// once), so a test can make `sleep 3600` finish now. Call faults and timestamps use real time.

export interface Clock {
  /** Resolves after `ms` of simulated time, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/**
 * A pending sleep. A class, not an object literal: V8 pretenures a literal's allocation site once
 * what it makes mostly outlives a scavenge, as a sleep's timer does, and each timer would then be
 * made in the old generation and left there as garbage when it fires.
 */
class Timer {
  constructor(
    readonly due: number,
    readonly resolve: () => void,
    readonly reject: (reason: unknown) => void,
    readonly signal: AbortSignal | undefined,
  ) {}
}

export class SimClock implements Clock {
  /** Simulated ms ahead of (or, while frozen, behind) real time. */
  #offset = 0
  #frozenAt: number | undefined
  /** Pending timers, in the order they were set. */
  #timers = new Set<Timer>()
  #real: NodeJS.Timeout | undefined
  /** When #real fires (simulated ms); Infinity when none is set. */
  #realDue = Infinity
  /**
   * The pending timers of each signal: one abort listener per signal ends them all. A listener
   * added and removed per sleep made Node's EventTarget build its list head and a Listener each
   * time; they lived as long as the sleep, so V8 pretenured them and every `sleep 1` of a looping
   * shell left old-generation garbage (1,000 loops: ~0.6 MB a simulated second).
   */
  #bySignal = new WeakMap<AbortSignal, Set<Timer>>()

  /** Simulated now, in ms. */
  now(): number {
    return (this.#frozenAt ?? Date.now()) + this.#offset
  }

  get frozen(): boolean {
    return this.#frozenAt !== undefined
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const timer = new Timer(this.now() + Math.max(0, ms), resolve, reject, signal)
      this.#timers.add(timer)
      if (signal) this.#watch(signal).add(timer)
      if (timer.due < this.#realDue) this.#schedule()
    })
  }

  #watch(signal: AbortSignal): Set<Timer> {
    let timers = this.#bySignal.get(signal)
    if (!timers) {
      const mine = (timers = new Set())
      this.#bySignal.set(signal, mine)
      signal.addEventListener(
        'abort',
        () => {
          for (const t of mine) {
            this.#timers.delete(t)
            t.reject(signal.reason)
          }
          mine.clear()
          this.#schedule()
        },
        { once: true },
      )
    }
    return timers
  }

  /** Moves simulated time forward; every timer due by then fires. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`the clock moves only forward; got ${ms} ms`)
    this.#offset += ms
    this.#fire()
  }

  /** Stops (true) or restarts (false) the passing of simulated time. */
  freeze(frozen: boolean): void {
    if (frozen && this.#frozenAt === undefined) this.#frozenAt = Date.now()
    else if (!frozen && this.#frozenAt !== undefined) {
      this.#offset -= Date.now() - this.#frozenAt
      this.#frozenAt = undefined
    }
    this.#schedule()
  }

  /** Drops every pending timer without firing it (the server is closing). */
  stop(): void {
    this.#timers.clear()
    this.#bySignal = new WeakMap()
    if (this.#real) clearTimeout(this.#real)
    this.#real = undefined
    this.#realDue = Infinity
  }

  #fire(): void {
    const now = this.now()
    const due = [...this.#timers].filter((t) => t.due <= now).sort((a, b) => a.due - b.due)
    for (const t of due) {
      this.#timers.delete(t)
      if (t.signal) this.#bySignal.get(t.signal)?.delete(t)
    }
    for (const t of due) t.resolve()
    this.#schedule()
  }

  #schedule(): void {
    if (this.#real) clearTimeout(this.#real)
    this.#real = undefined
    this.#realDue = Infinity
    if (this.frozen || this.#timers.size === 0) return
    let next = Infinity
    for (const t of this.#timers) if (t.due < next) next = t.due
    this.#realDue = next
    this.#real = setTimeout(() => this.#fire(), Math.max(0, next - this.now()))
  }
}

/** A clock at real speed, for code that runs processes outside a server (unit tests). */
export const realClock: Clock = new SimClock()
