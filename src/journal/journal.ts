// The journal: every call the server answered — when, which service and method, the namespace,
// the request, the response or status, how long it took, and which fault fired. A ring buffer:
// the newest `size` calls are kept.

export interface JournalEntry {
  seq: number
  /** When the call arrived (ISO 8601). */
  time: string
  service: string
  method: string
  /** The containerd namespace of the call ("" for CRI calls). */
  namespace: string
  request: unknown
  /** The response of a unary call; streams record how many messages they sent. */
  response?: unknown
  messages?: number
  status: { code: number; details: string }
  durationMs: number
  /** The call fault rule that fired on this call, if one did. */
  fault?: unknown
  /** Node faults (a crash, a pull failure, …) that fired while the call was served. */
  nodeFaults?: unknown[]
}

export interface JournalFilter {
  service?: string
  method?: string
  namespace?: string
  /** Only calls that ended with this status code. */
  code?: number
  /** Only calls after this sequence number. */
  since?: number
}

export class Journal {
  #entries: (JournalEntry | undefined)[]
  #next = 0
  #seq = 0

  constructor(readonly size = 10_000) {
    this.#entries = new Array(Math.max(1, size))
  }

  /** Starts an entry; the returned function completes it. */
  begin(
    service: string,
    method: string,
    namespace: string,
    request: unknown,
  ): (outcome: Omit<JournalEntry, 'seq' | 'time' | 'service' | 'method' | 'namespace' | 'request' | 'durationMs'>) => void {
    const started = performance.now()
    const time = new Date().toISOString()
    const seq = ++this.#seq
    return (outcome) => {
      this.#entries[this.#next] = { seq, time, service, method, namespace, request, ...outcome, durationMs: performance.now() - started }
      this.#next = (this.#next + 1) % this.#entries.length
    }
  }

  /** The calls kept, oldest first, optionally filtered. */
  entries(filter: JournalFilter = {}): JournalEntry[] {
    const all = [...this.#entries.slice(this.#next), ...this.#entries.slice(0, this.#next)].filter(
      (e): e is JournalEntry => e !== undefined,
    )
    return all
      .filter(
        (e) =>
          (filter.service === undefined || e.service === filter.service || e.service.endsWith(`.${filter.service}`)) &&
          (filter.method === undefined || e.method === filter.method) &&
          (filter.namespace === undefined || e.namespace === filter.namespace) &&
          (filter.code === undefined || e.status.code === filter.code) &&
          (filter.since === undefined || e.seq > filter.since),
      )
      .sort((a, b) => a.seq - b.seq)
  }

  /** The method names called, in order (for asserting call sequences). */
  methods(filter: JournalFilter = {}): string[] {
    return this.entries(filter).map((e) => e.method)
  }

  /** The sequence number of the latest call, to look at what comes after it. */
  get last(): number {
    return this.#seq
  }

  clear(): void {
    this.#entries = new Array(this.#entries.length)
    this.#next = 0
  }
}

/** A JSON-safe copy of a journal value (Buffers as base64 strings), for the control API. */
export function toJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => {
      if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
        return Buffer.from((v as { data: number[] }).data).toString('base64')
      }
      return typeof v === 'bigint' ? v.toString() : v
    }),
  )
}
