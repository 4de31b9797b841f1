// The journal: every call the server answered — when, which service and method, the namespace,
// the request, the response or status, how long it took, and which fault fired. A ring buffer:
// the newest `size` calls are kept, and no more of them than fit in `budget` bytes (what the entries
// hold: a small message as the bytes the call carried, a larger one as its summary). Requests and
// responses read as summaries (summarize below): a long string, a large byte field or a long list is
// cut, with a marker, so that one call of megabytes costs the journal a few KB; a credential is
// redacted, and a google.protobuf.Any's value (it may carry one) is kept as its length only.
import { namesRpc } from '../faults/rule.js'
import { validateRpcNames } from '../faults/validate.js'

/** The most characters of a string a summary keeps. */
export const SUMMARY_STRING = 1024
/** The most bytes of a byte field a summary keeps. */
export const SUMMARY_BYTES = 1024
/** The most items of a list (or keys of a map) a summary keeps. */
export const SUMMARY_ITEMS = 100
/** How deep a summary goes into nested messages. */
const SUMMARY_DEPTH = 12

/**
 * Fields that carry registry credentials (CRI's AuthConfig; Transfer's AuthResponse): their text is
 * never kept, since the control API and the web view serve the journal to whoever can reach them.
 */
export const SECRET_FIELDS = new Set(['password', 'auth', 'identity_token', 'registry_token', 'secret'])
/** What a summary holds in place of a credential that was given. */
export const REDACTED = '[redacted]'

/** A copy of bytes in memory of its own (Buffer.from would share Node's pool for small ones). */
function ownBytes(bytes: Uint8Array): Buffer {
  const copy = new Uint8Array(bytes)
  return Buffer.from(copy.buffer, 0, copy.length)
}

/** A cut byte field, in a summary: how long it was and its first bytes. */
interface CutBytes {
  cutBytes: number
  head: Buffer
}

/**
 * A bounded copy of a request or response, with an estimate of the bytes it holds: strings past
 * SUMMARY_STRING characters end in "…[N characters cut]", byte fields past SUMMARY_BYTES become
 * { cutBytes, head }, lists past SUMMARY_ITEMS end in "…[N more]", a credential (SECRET_FIELDS) that is
 * not empty is REDACTED, an Any's value becomes { cutBytes, head } with no head. Small messages without credentials come out equal.
 */
export function summarize(value: unknown): { value: unknown; bytes: number } {
  let bytes = 0
  const walk = (v: unknown, depth: number): unknown => {
    bytes += 8
    if (typeof v === 'string') {
      if (v.length <= SUMMARY_STRING) return ((bytes += v.length), v)
      bytes += SUMMARY_STRING + 32
      return `${v.slice(0, SUMMARY_STRING)}…[${v.length - SUMMARY_STRING} characters cut]`
    }
    if (v === null || typeof v !== 'object') return v
    if (v instanceof Uint8Array) {
      // Copies with their own memory: a decoded byte field is a view into the whole message's bytes.
      if (v.length <= SUMMARY_BYTES) return ((bytes += v.length), ownBytes(v))
      bytes += SUMMARY_BYTES + 16
      return { cutBytes: v.length, head: ownBytes(v.subarray(0, SUMMARY_BYTES)) } satisfies CutBytes
    }
    if (depth >= SUMMARY_DEPTH) return '…[nested too deep]'
    if (Array.isArray(v)) {
      const kept = v.slice(0, SUMMARY_ITEMS).map((item) => walk(item, depth + 1))
      const length = v.length + (leftOut.get(v) ?? 0)
      return length > SUMMARY_ITEMS ? [...kept, `…[${length - SUMMARY_ITEMS} more]`] : kept
    }
    const out: Record<string, unknown> = {}
    let n = 0
    for (const [k, item] of Object.entries(v)) {
      if (++n > SUMMARY_ITEMS) {
        out['…'] = `[${Object.keys(v).length - SUMMARY_ITEMS} more keys]`
        break
      }
      bytes += Math.min(k.length, SUMMARY_STRING)
      if (SECRET_FIELDS.has(k) && typeof item === 'string') {
        out[k] = item === '' ? '' : REDACTED
        continue
      }
      // A google.protobuf.Any's value may hold any message, credentials too (Transfer's OCIRegistry
      // carries the resolver's headers, Authorization among them): only its length is kept.
      if (k === 'value' && item instanceof Uint8Array && typeof (v as { type_url?: unknown }).type_url === 'string') {
        out[k] = { cutBytes: item.length, head: Buffer.alloc(0) } satisfies CutBytes
        continue
      }
      out[k.length > SUMMARY_STRING ? `${k.slice(0, SUMMARY_STRING)}…[${k.length - SUMMARY_STRING} characters cut]` : k] = walk(
        item,
        depth + 1,
      )
    }
    return out
  }
  const summary = walk(value, 0)
  return { value: summary, bytes }
}

/**
 * The largest message (its encoded bytes) an entry keeps as it was sent, decoded and summarized
 * anew on each read; a larger one is summarized when recorded. Small, so that reading every entry
 * at once (GetJournal) decodes little per entry, and what a decode makes is never kept.
 */
export const WIRE_KEPT = 8 * 1024

/**
 * The largest message with lists an entry keeps as bytes, its lists cut first to the items a
 * summary shows (cutLists), and decodes and summarizes on each read as a small one. A list answer
 * passes WIRE_KEPT soon (a hundred containers are 33 KB) and decoding it for its summary cost more
 * than the rest of the call; a copy of its bytes costs little, and they count against the budget as
 * a small message's do. A message without lists (a long string or byte field) is still summarized
 * when recorded: its summary is far smaller than its bytes.
 */
export const LIST_KEPT = 64 * 1024

/**
 * A message type's top-level repeated fields (not maps), by field number: the lists a large message
 * of that type may be cut to their first SUMMARY_ITEMS items before it is decoded (listFields).
 */
export type ListFields = ReadonlyMap<number, string>

/**
 * A message as it went over the wire: its bytes, how to decode them (the method's own deserializer),
 * its lists; once cut (cutLists), how many items each cut list had beyond those its bytes hold.
 */
export class Wire {
  constructor(
    readonly bytes: Uint8Array,
    readonly decode: (bytes: Uint8Array) => unknown,
    readonly lists: ListFields = new Map(),
    readonly more: ReadonlyMap<string, number> = new Map(),
  ) {}
}

/** How many items a decoded list stood for beyond those it holds (cutLists left them out): summarize counts them. */
const leftOut = new WeakMap<unknown[], number>()

/**
 * The top-level lists of a proto type (proto-loader's descriptor of it, as a method definition's
 * requestType or responseType holds): repeated fields of messages, strings or bytes, each item a
 * field of its own on the wire. Maps are repeated entries too, but summarize cuts them by key.
 */
export function listFields(type: unknown): ListFields {
  const t = type as {
    field?: { name: string; number: number; label: string; type: string; typeName: string }[]
    nestedType?: { name: string; options?: { mapEntry?: boolean } | null }[]
  }
  const maps = new Set((t.nestedType ?? []).filter((n) => n.options?.mapEntry).map((n) => n.name))
  const out = new Map<number, string>()
  for (const f of t.field ?? []) {
    if (f.label !== 'LABEL_REPEATED' || maps.has(f.typeName)) continue
    if (f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_STRING' || f.type === 'TYPE_BYTES') out.set(f.number, f.name)
  }
  return out
}

/**
 * A message's bytes with each top-level list of more than SUMMARY_ITEMS items cut to its first
 * SUMMARY_ITEMS (the summary keeps no more), and how many each lost; undefined when none is that
 * long or the bytes do not parse. Decoding what is left costs what a short list does, not a
 * ListContainers of twenty thousand: the rest of the message decodes as it would have.
 */
function cutLists(bytes: Uint8Array, lists: ListFields): { bytes: Uint8Array; more: Map<string, number> } | undefined {
  if (lists.size === 0) return undefined
  const varint = (at: number): [number, number] => {
    let value = 0
    let scale = 1
    for (let i = at; i < bytes.length && i < at + 10; i++) {
      const b = bytes[i]!
      value += (b & 0x7f) * scale
      scale *= 128
      if (b < 0x80) return [value, i + 1]
    }
    throw new Error('truncated varint')
  }
  const seen = new Map<number, number>()
  /** Byte ranges of the items past the first SUMMARY_ITEMS of a list, in order. */
  const drop: [number, number][] = []
  try {
    for (let at = 0; at < bytes.length;) {
      const start = at
      const [tag, next] = varint(at)
      const field = Math.floor(tag / 8)
      const wireType = tag % 8
      at = next
      if (wireType === 0) at = varint(at)[1]
      else if (wireType === 1) at += 8
      else if (wireType === 5) at += 4
      else if (wireType === 2) {
        const [length, body] = varint(at)
        at = body + length
      } else return undefined
      if (at > bytes.length) return undefined
      if (wireType !== 2 || !lists.has(field)) continue
      const n = (seen.get(field) ?? 0) + 1
      seen.set(field, n)
      if (n <= SUMMARY_ITEMS) continue
      const last = drop.at(-1)
      if (last && last[1] === start) last[1] = at
      else drop.push([start, at])
    }
  } catch {
    return undefined
  }
  if (drop.length === 0) return undefined
  const more = new Map<string, number>()
  for (const [field, n] of seen) if (n > SUMMARY_ITEMS) more.set(lists.get(field)!, n - SUMMARY_ITEMS)
  const out = new Uint8Array(bytes.length - drop.reduce((sum, [a, b]) => sum + b - a, 0))
  let from = 0
  let to = 0
  for (const [a, b] of drop) {
    out.set(bytes.subarray(from, a), to)
    to += a - from
    from = b
  }
  out.set(bytes.subarray(from), to)
  return { bytes: out, more }
}

/** A Wire decoded, the items its cut lists lost counted for summarize. */
function decoded(message: Wire): unknown {
  const out = message.decode(message.bytes)
  for (const [name, n] of message.more) {
    const list = (out as Record<string, unknown>)[name]
    if (Array.isArray(list)) leftOut.set(list, n)
  }
  return out
}

/**
 * A request or response as an entry holds it, and the bytes that costs: a small Wire as it is (its
 * bytes are all it holds: the summary made on each read is not kept, so that a message that decodes
 * to far more than it was sent cannot grow the journal past its budget), a list message up to
 * LIST_KEPT once cut as its own copy of those bytes, anything else as its summary. A large Wire is
 * decoded here, its lists cut first, so that it reads as a small one does (with its defaults).
 */
function kept(message: unknown): { held: unknown; bytes: number } {
  if (message instanceof Wire) {
    if (message.bytes.length <= WIRE_KEPT) return { held: message, bytes: 64 + message.bytes.length }
    const cut = cutLists(message.bytes, message.lists)
    const wire = cut ? new Wire(cut.bytes, message.decode, message.lists, cut.more) : message
    if (message.lists.size > 0 && wire.bytes.length <= LIST_KEPT) {
      const own = cut ? wire : new Wire(new Uint8Array(message.bytes), message.decode, message.lists)
      return { held: own, bytes: 64 + own.bytes.length }
    }
    message = decoded(wire)
  }
  const { value, bytes } = summarize(message)
  return { held: value, bytes }
}

/** What an entry holds read back: a Wire decoded and summarized (each time), a summary as it is. */
const readBack = (held: unknown): unknown => (held instanceof Wire ? summarize(decoded(held)).value : held)

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

/**
 * Which calls to list. Service and method name RPCs as a call fault rule does (faults/rule.ts):
 * globs, the service by its full name or its last part; a name no served RPC has is refused.
 */
export interface JournalFilter {
  /** runtime.v1.RuntimeService, RuntimeService or a glob such as *ImageService. */
  service?: string
  /** RunPodSandbox, or a glob such as List*. */
  method?: string
  namespace?: string
  /** Only calls that ended with this status code. */
  code?: number
  /** Only calls after this sequence number. */
  since?: number
}

/**
 * A server's journal budget when its options set none: the calls kept and the bytes they may hold.
 * A cluster (cluster/cluster.ts) splits it between its nodes, so that N nodes hold what one server does.
 */
export const JOURNAL_BUDGET = { size: 10_000, bytes: 64 * 1024 * 1024 } as const

/**
 * One journal entry. A class with its getters on the prototype and its state in private fields, so
 * that ten thousand entries are ten thousand small objects of one shape, with no closures each;
 * time is formatted, and a request or response kept as bytes decoded, only when read. JSON (toJSON)
 * and plainEntry() give a plain object with every field.
 */
class JournalRecord implements JournalEntry {
  readonly messages: number | undefined
  readonly status: { code: number; details: string }
  readonly fault: unknown
  readonly nodeFaults: unknown[] | undefined
  readonly #at: number
  readonly #request: unknown
  readonly #response: unknown

  constructor(
    readonly seq: number,
    at: number,
    readonly service: string,
    readonly method: string,
    readonly namespace: string,
    request: unknown,
    response: unknown,
    outcome: Pick<JournalEntry, 'messages' | 'status' | 'fault' | 'nodeFaults'>,
    readonly durationMs: number,
  ) {
    this.#at = at
    this.#request = request
    this.#response = response
    this.messages = outcome.messages
    this.status = outcome.status
    this.fault = outcome.fault
    this.nodeFaults = outcome.nodeFaults
  }

  /** When the call arrived (ISO 8601). */
  get time(): string {
    return new Date(this.#at).toISOString()
  }

  get request(): unknown {
    return readBack(this.#request)
  }

  get response(): unknown {
    return this.#response === undefined ? undefined : readBack(this.#response)
  }

  /** The entry as a plain object, in JournalEntry's order, without the fields a call did not have. */
  toJSON(): JournalEntry {
    const out: JournalEntry = {
      seq: this.seq,
      time: this.time,
      service: this.service,
      method: this.method,
      namespace: this.namespace,
      request: this.request,
      status: this.status,
      durationMs: this.durationMs,
    }
    if (this.#response !== undefined) out.response = this.response
    if (this.messages !== undefined) out.messages = this.messages
    if (this.fault !== undefined) out.fault = this.fault
    if (this.nodeFaults !== undefined) out.nodeFaults = this.nodeFaults
    return out
  }
}

/** An entry as a plain object with every field it has (a spread of a journal entry would miss its getters). */
export function plainEntry(entry: JournalEntry): JournalEntry {
  return entry instanceof JournalRecord ? entry.toJSON() : entry
}

export class Journal {
  #entries: (JournalEntry | undefined)[]
  /** The estimated bytes of each kept entry, by its slot. */
  #sizes: number[]
  #next = 0
  /** How many slots hold an entry: they are the #count slots before #next (the ring stays contiguous). */
  #count = 0
  #seq = 0
  /** The estimated bytes of all kept entries. */
  #bytes = 0
  #listeners = new Set<(entry: JournalEntry) => void>()
  /** The sequence numbers of the calls begun and not completed yet, oldest first (a Set keeps insertion order). */
  #open = new Set<number>()

  /** Keeps the newest `size` calls, fewer when they would hold more than `budget` bytes. */
  constructor(
    readonly size = 10_000,
    readonly budget = 64 * 1024 * 1024,
  ) {
    this.#entries = new Array(Math.max(1, size))
    this.#sizes = new Array<number>(this.#entries.length).fill(0)
  }

  /** The estimated bytes the kept entries hold (at most the budget, but for one entry larger than it). */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * Starts an entry; the returned function completes it. A request or response given as a Wire
   * message (the bytes the call carried, the adapter's) is kept as those bytes and summarized only
   * when the entry is read: recording costs no copy, and a later change to an object the message
   * shared with the model cannot change what the journal says was sent. Larger ones than WIRE_KEPT,
   * and messages given as objects, are summarized at once, so that one call of megabytes still costs
   * the journal a few KB and a credential is redacted before the call is answered.
   */
  begin(
    service: string,
    method: string,
    namespace: string,
    request: unknown,
  ): (outcome: Omit<JournalEntry, 'seq' | 'time' | 'service' | 'method' | 'namespace' | 'request' | 'durationMs'>) => void {
    const started = performance.now()
    const at = Date.now()
    const seq = ++this.#seq
    const req = kept(request)
    this.#open.add(seq)
    return (outcome) => {
      this.#open.delete(seq)
      const res = outcome.response === undefined ? undefined : kept(outcome.response)
      const entry = new JournalRecord(seq, at, service, method, namespace, req.held, res?.held, outcome, performance.now() - started)
      const size = 256 + req.bytes + (res?.bytes ?? 0) + outcome.status.details.length
      this.#bytes += size - this.#sizes[this.#next]!
      if (this.#entries[this.#next] === undefined) this.#count++
      this.#entries[this.#next] = entry
      this.#sizes[this.#next] = size
      this.#next = (this.#next + 1) % this.#entries.length
      this.#trim()
      for (const listener of this.#listeners) listener(entry)
    }
  }

  /**
   * Calls `listener` with each entry as its call completes (calls complete out of order: a later
   * call may finish first, so `last` is no mark of what has been recorded). Returns the unsubscribe.
   */
  onRecord(listener: (entry: JournalEntry) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Drops the oldest entries while the kept ones hold more than the budget (the newest always stays).
   * Starts at the oldest kept entry, so that the slots emptied before are not walked again.
   */
  #trim(): void {
    const n = this.#entries.length
    while (this.#bytes > this.budget && this.#count > 1) {
      const oldest = (this.#next - this.#count + n) % n
      this.#bytes -= this.#sizes[oldest]!
      this.#sizes[oldest] = 0
      this.#entries[oldest] = undefined
      this.#count--
    }
  }

  /**
   * The calls kept, oldest first, optionally filtered. A service or method that names no RPC the
   * server serves throws an Error with the closest names (a misspelled query would find nothing).
   */
  entries(filter: JournalFilter = {}): JournalEntry[] {
    if (filter.service !== undefined || filter.method !== undefined) validateRpcNames(filter, 'journal query')
    const all = [...this.#entries.slice(this.#next), ...this.#entries.slice(0, this.#next)].filter(
      (e): e is JournalEntry => e !== undefined,
    )
    return all
      .filter(
        (e) =>
          namesRpc(filter, e.service, e.method) &&
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

  /**
   * The sequence number of the latest call begun, to look at what comes after it. A call gets its
   * number when it starts and its entry when it ends: one still open when `last` is read may be
   * recorded later with a smaller number (use `settled` to poll).
   */
  get last(): number {
    return this.#seq
  }

  /**
   * A mark below every call still open: every call numbered up to it has completed. Asking for the
   * entries since it again later misses none, not even a slow call that began before it was read
   * (entries already seen may come again; tell them by seq). A call that never ends holds it back.
   */
  get settled(): number {
    for (const seq of this.#open) return seq - 1
    return this.#seq
  }

  clear(): void {
    this.#entries = new Array(this.#entries.length)
    this.#sizes.fill(0)
    this.#bytes = 0
    this.#next = 0
    this.#count = 0
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
