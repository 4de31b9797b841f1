// The fault engine: an ordered list of rules, newest first (msw-style). use() prepends rules,
// reset() drops those added at run time, restore() re-arms spent `once` rules. Probabilities come
// from a seeded generator, so the same seed and the same calls fire the same faults.
import { type CallFault, type FaultRule, type Match, type NodeFault, type NodeFaultKind, globMatch, isNodeFault, namesRpc } from './rule.js'
import { validateRules } from './validate.js'
import { describeRequest, type RequestFacts } from './subject.js'
import { seededRandom } from '../seeded-random.js'

interface Armed {
  rule: FaultRule
  /** Matching calls seen (counts toward `after`). */
  seen: number
  /** Times it fired (counts toward `times`). */
  fired: number
}

/** A fault that fired, for the journal and the log. */
export interface FiredFault {
  rule: FaultRule
  /** 1 for the first time the rule fired. */
  count: number
}

export interface CallSubject {
  service: string
  method: string
  namespace: string
  request: unknown
}

/** The object a node fault is checked against. */
export type NodeSubject = RequestFacts

/**
 * Where the node faults that fire while a call is served are noted, so the journal can show them
 * with the call: the adapter gives each call one (CallContext.nodeFaults) and the face passes it
 * down to the model code that decides node faults. Passed, not an AsyncLocalStorage: a store
 * turns on async_hooks for every promise of the process, the simulated ones too (a tenth of the
 * simulator's allocations), and a simulated process started by a call would keep that call's
 * scope for its whole life.
 */
export type FiredNodeFaults = FaultRule[]

const toTime = (v: number | string | Date | undefined, origin: number): number | undefined =>
  v === undefined ? undefined : typeof v === 'number' ? origin + v : new Date(v).getTime()

export function matches(m: Match | undefined, facts: RequestFacts): boolean {
  if (!m) return true
  if (m.id !== undefined && !facts.ids.some((id) => globMatch(m.id, id))) return false
  if (!globMatch(m.name, facts.name)) return false
  if (!globMatch(m.image, facts.image)) return false
  for (const [k, v] of Object.entries(m.labels ?? {})) if (!globMatch(v, facts.labels[k])) return false
  for (const [path, want] of Object.entries(m.request ?? {})) {
    const got = path
      .split('.')
      .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), facts.request)
    if (got === undefined || got === null || !globMatch(String(want), String(got))) return false
  }
  return true
}

export class FaultEngine {
  #initial: Armed[] = []
  #runtime: Armed[] = []
  #random: () => number
  #origin = Date.now()
  #listeners = new Set<(fired: FiredFault) => void>()

  constructor(initial: readonly FaultRule[] = [], seed = 1) {
    this.#random = seededRandom(seed)
    this.reset(...initial)
  }

  /**
   * Adds rules at run time; they take precedence over every rule already there. All are checked
   * before any is added (validate.ts), so a call with one bad rule adds none.
   */
  use(...rules: FaultRule[]): void {
    validateRules(rules)
    this.#runtime = [...rules.map((rule) => ({ rule, seen: 0, fired: 0 })), ...this.#runtime]
  }

  /** Drops the rules added at run time; with rules, they replace the initial ones too. */
  reset(...next: FaultRule[]): void {
    validateRules(next)
    this.#runtime = []
    if (next.length > 0 || this.#initial.length === 0) this.#initial = next.map((rule) => ({ rule, seen: 0, fired: 0 }))
    else for (const a of this.#initial) Object.assign(a, { seen: 0, fired: 0 })
  }

  /** Re-arms spent `once` rules (msw's restoreHandlers). */
  restore(): void {
    for (const a of this.#all()) if (a.rule.once) Object.assign(a, { seen: 0, fired: 0 })
  }

  /** The rules in the order they are tried, newest first. */
  list(): FaultRule[] {
    return this.#all().map((a) => a.rule)
  }

  /** Starts the random sequence again from a seed (the same seed → the same run). */
  seed(value: number): void {
    this.#random = seededRandom(value)
  }

  /** Calls `listener` each time a fault fires. */
  onFire(listener: (fired: FiredFault) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** The call fault to apply to an RPC, if one fires. */
  decideCall(call: CallSubject): (FiredFault & { rule: CallFault }) | undefined {
    if (this.#runtime.length === 0 && this.#initial.length === 0) return undefined
    let facts: RequestFacts | undefined
    for (const list of [this.#runtime, this.#initial]) {
      for (const a of list) {
        const r = a.rule
        if (isNodeFault(r)) continue
        if (!namesRpc(r, call.service, call.method)) continue
        if (!globMatch(r.namespace, call.namespace)) continue
        if (r.match && !matches(r.match, (facts ??= describeRequest(call.request)))) continue
        const fired = this.#fire(a)
        if (fired) return fired as FiredFault & { rule: CallFault }
      }
    }
    return undefined
  }

  /** The node fault of a kind that applies to a subject (a container, pod or image), if one fires; noted in `noted`. */
  nodeFault(kind: NodeFaultKind, subject: NodeSubject, noted?: FiredNodeFaults): (FiredFault & { rule: NodeFault }) | undefined {
    for (const a of this.#all()) {
      const r = a.rule
      if (!isNodeFault(r) || r.kind !== kind || !matches(r.match, subject)) continue
      const fired = this.#fire(a)
      if (!fired) continue
      noted?.push(r)
      return fired as FiredFault & { rule: NodeFault }
    }
    return undefined
  }

  /** Whether a standing node condition (runtime/network not ready, image fs full) is on, without using it up. */
  condition(kind: NodeFaultKind): NodeFault | undefined {
    const now = Date.now()
    for (const a of this.#all()) {
      const r = a.rule
      if (!isNodeFault(r) || r.kind !== kind || !this.#inWindow(r, now)) continue
      if (r.times !== undefined && a.fired >= r.times) continue
      return r
    }
    return undefined
  }

  #all(): Armed[] {
    return [...this.#runtime, ...this.#initial]
  }

  #inWindow(r: FaultRule, now: number): boolean {
    const from = toTime(r.from, this.#origin)
    const until = toTime(r.until, this.#origin)
    return (from === undefined || now >= from) && (until === undefined || now < until)
  }

  #fire(a: Armed): FiredFault | undefined {
    const r = a.rule
    if (!this.#inWindow(r, Date.now())) return undefined
    const limit = r.once ? 1 : r.times
    if (limit !== undefined && a.fired >= limit) return undefined
    a.seen++
    if (r.after !== undefined && a.seen <= r.after) return undefined
    if (r.probability !== undefined && this.#random() >= r.probability) return undefined
    a.fired++
    const fired = { rule: r, count: a.fired }
    for (const l of this.#listeners) l(fired)
    return fired
  }
}
