// The clock simulated processes sleep on. It runs at real speed by default; the control API can
// freeze it (no simulated time passes) or advance it (timers due in the skipped span fire at
// once), so a test can make `sleep 3600` finish now. Call faults and timestamps use real time.

export interface Clock {
  /** Resolves after `ms` of simulated time, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /**
   * Calls `fire` after `ms` of simulated time unless cancelled first: a wait that holds no promise and
   * no frame (a process whose whole remaining life is a sleep: sim/process.ts).
   */
  after(ms: number, fire: () => void): Alarm
}

/** A pending `after`. */
export interface Alarm {
  /** It will not fire (nothing happens when it already has). */
  cancel(): void
}

/** The longest delay setTimeout takes (2^31 - 1 ms); a later timer is waited for in steps of it. */
const MAX_DELAY = 2 ** 31 - 1

/**
 * A pending sleep. A class, not an object literal: V8 pretenures a literal's allocation site once
 * what it makes mostly outlives a scavenge, as a sleep's timer does, and each timer would then be
 * made in the old generation and left there as garbage when it fires.
 */
class Timer implements Alarm {
  /** Fired or aborted: the heap drops it when it reaches the top. */
  done = false
  constructor(
    readonly due: number,
    /** Set order, so timers due at the same ms fire in the order they were set. */
    readonly seq: number,
    readonly resolve: () => void,
    readonly reject: ((reason: unknown) => void) | undefined,
    readonly signal: AbortSignal | undefined,
    /** The clock of an `after` alarm (cancel tells it); undefined for a sleep. */
    readonly clock: SimClock | undefined,
  ) {}

  cancel(): void {
    this.clock?.cancel(this)
  }
}

/** The alarm of a wait that never ends. */
const NEVER: Alarm = { cancel: () => {} }

export class SimClock implements Clock {
  /** Simulated ms ahead of (or, while frozen, behind) real time. */
  #offset = 0
  #frozenAt: number | undefined
  /**
   * Pending timers as a binary min-heap by (due, seq), aborted ones left in place until they reach
   * the top: with 20,000 containers asleep, setting, firing or aborting one costs log n, not a scan.
   */
  #heap: Timer[] = []
  /** Aborted timers still in the heap: past half of it, the heap is rebuilt without them (they hold their promises). */
  #aborted = 0
  #seq = 0
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

  /** Sleeps and alarms still to fire (not fired, not aborted or cancelled). */
  get pending(): number {
    return this.#heap.length - this.#aborted
  }

  get frozen(): boolean {
    return this.#frozenAt !== undefined
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const timer = new Timer(this.now() + Math.max(0, ms), this.#seq++, resolve, reject, signal, undefined)
      this.#push(timer)
      if (signal) this.#watch(signal).add(timer)
      if (timer.due < this.#realDue) this.#schedule()
    })
  }

  after(ms: number, fire: () => void): Alarm {
    const timer = new Timer(this.now() + Math.max(0, ms), this.#seq++, fire, undefined, undefined, this)
    // Never due (`sleep infinity`): nothing to keep.
    if (timer.due === Infinity) return NEVER
    this.#push(timer)
    if (timer.due < this.#realDue) this.#schedule()
    return timer
  }

  /** An alarm's cancel: left in the heap as an aborted timer until it reaches the top. */
  cancel(alarm: Alarm): void {
    const timer = alarm as Timer
    if (timer.done || timer.clock !== this) return
    timer.done = true
    this.#aborted++
    this.#tidy()
  }

  /** After timers were aborted: the heap compacted when mostly aborted, the real timeout moved when the earliest went. */
  #tidy(): void {
    if (this.#aborted > 64 && this.#aborted * 2 > this.#heap.length) this.#compact()
    this.#dropDone()
    if ((this.#heap[0]?.due ?? Infinity) !== this.#realDue) this.#schedule()
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
            t.done = true
            this.#aborted++
            t.reject?.(signal.reason)
          }
          mine.clear()
          this.#tidy()
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
    this.#heap = []
    this.#aborted = 0
    this.#bySignal = new WeakMap()
    if (this.#real) clearTimeout(this.#real)
    this.#real = undefined
    this.#realDue = Infinity
  }

  #fire(): void {
    const now = this.now()
    const due: Timer[] = []
    for (let top = this.#heap[0]; top !== undefined && top.due <= now; top = this.#heap[0]) {
      this.#pop()
      if (top.done) {
        this.#aborted--
        continue
      }
      top.done = true
      if (top.signal) this.#bySignal.get(top.signal)?.delete(top)
      due.push(top)
    }
    for (const t of due) t.resolve()
    this.#schedule()
  }

  #schedule(): void {
    if (this.#real) clearTimeout(this.#real)
    this.#real = undefined
    this.#realDue = Infinity
    this.#dropDone()
    if (this.frozen || this.#heap.length === 0) return
    const next = this.#heap[0]!.due
    this.#realDue = next
    // A timer further away than setTimeout reaches (`sleep infinity` parked): woken at the limit, which fires nothing and sets the next.
    this.#real = setTimeout(() => this.#fire(), Math.min(MAX_DELAY, Math.max(0, next - this.now())))
  }

  #dropDone(): void {
    while (this.#heap[0]?.done) {
      this.#pop()
      this.#aborted--
    }
  }

  #compact(): void {
    const live = this.#heap.filter((t) => !t.done)
    this.#heap = []
    this.#aborted = 0
    for (const t of live) this.#push(t)
  }

  static #before(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq)
  }

  #push(t: Timer): void {
    const h = this.#heap
    let i = h.push(t) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!SimClock.#before(t, h[parent]!)) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = t
  }

  #pop(): void {
    const h = this.#heap
    const last = h.pop()!
    if (h.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const c = l + 1 < h.length && SimClock.#before(h[l + 1]!, h[l]!) ? l + 1 : l
      if (!SimClock.#before(h[c]!, last)) break
      h[i] = h[c]!
      i = c
    }
    h[i] = last
  }
}

/** A clock at real speed, for code that runs processes outside a server (unit tests). */
export const realClock: Clock = new SimClock()
