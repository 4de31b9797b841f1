// The clock simulated processes sleep on. It runs at real speed by default; the control API can
// freeze it (no simulated time passes) or advance it (timers due in the skipped span fire at
// once), so a test can make `sleep 3600` finish now. Call faults and timestamps use real time.

export interface Clock {
  /** Resolves after `ms` of simulated time, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

interface Timer {
  due: number
  resolve: () => void
}

export class SimClock implements Clock {
  /** Simulated ms ahead of (or, while frozen, behind) real time. */
  #offset = 0
  #frozenAt: number | undefined
  #timers: Timer[] = []
  #real: NodeJS.Timeout | undefined

  /** Simulated now, in ms. */
  now(): number {
    return (this.#frozenAt ?? Date.now()) + this.#offset
  }

  get frozen(): boolean {
    return this.#frozenAt !== undefined
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason)
      const timer: Timer = {
        due: this.now() + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      const onAbort = (): void => {
        this.#timers = this.#timers.filter((t) => t !== timer)
        this.#schedule()
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#timers.push(timer)
      this.#schedule()
    })
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
    this.#timers = []
    if (this.#real) clearTimeout(this.#real)
    this.#real = undefined
  }

  #fire(): void {
    const now = this.now()
    const due = this.#timers.filter((t) => t.due <= now).sort((a, b) => a.due - b.due)
    this.#timers = this.#timers.filter((t) => t.due > now)
    for (const t of due) t.resolve()
    this.#schedule()
  }

  #schedule(): void {
    if (this.#real) clearTimeout(this.#real)
    this.#real = undefined
    if (this.frozen || this.#timers.length === 0) return
    const next = Math.min(...this.#timers.map((t) => t.due))
    this.#real = setTimeout(() => this.#fire(), Math.max(0, next - this.now()))
  }
}

/** A clock at real speed, for code that runs processes outside a server (unit tests). */
export const realClock: Clock = new SimClock()
