// One browser's Server-Sent Events stream, with backpressure: it never queues more than the one
// chunk the socket would not take at once. While the socket is backed up nothing more is written:
// the node view is not kept (the latest is sent once it drains, replacing every one missed), and
// of the journal entries only the newest `keep` wait, the older counted as skipped. A slow or
// stalled browser so costs a bounded amount of memory, however busy the server is.
import type { Writable } from 'node:stream'

/** One event of the stream (its data is one line of JSON: JSON.stringify never writes a newline). */
export const sseEvent = (event: string, json: string): string => `event: ${event}\ndata: ${json}\n\n`

export class EventStream<Entry> {
  #blocked = false
  #closed = false
  /** The node view (JSON) last written, so that an unchanged one is not sent again. */
  #sentView = ''
  /** Journal entries not written yet, oldest first, at most `keep`. */
  #pending: Entry[] = []
  #skipped = 0

  constructor(
    private readonly out: Writable,
    /** The most journal entries kept while the stream cannot be written. */
    private readonly keep: number,
    /** Asked to write the latest again once a backed-up socket drains. */
    private readonly drained: (stream: EventStream<Entry>) => void,
  ) {
    out.once('close', () => (this.#closed = true))
  }

  /** True when a write would go out now: the stream is open and its socket not backed up. */
  get ready(): boolean {
    return !this.#blocked && !this.#closed && !this.out.destroyed
  }

  /** Queues a journal entry; past `keep` waiting, the oldest is dropped and counted. */
  add(entry: Entry): void {
    if (this.#closed) return
    this.#pending.push(entry)
    if (this.#pending.length > this.keep) {
      this.#pending.shift()
      this.#skipped++
    }
  }

  /**
   * Writes what the browser has not seen, if the stream is ready: the node view (JSON) when it
   * changed, and the journal entries waiting. A chunk the socket cannot take yet blocks the stream
   * until it drains.
   */
  flush(view: string, journalJson: (entries: Entry[], skipped: number) => string): void {
    if (!this.ready) return
    let chunk = view === this.#sentView ? '' : sseEvent('node', view)
    if (this.#pending.length > 0 || this.#skipped > 0) chunk += sseEvent('journal', journalJson(this.#pending, this.#skipped))
    if (chunk === '') return
    this.#sentView = view
    this.#pending = []
    this.#skipped = 0
    if (!this.out.write(chunk)) {
      this.#blocked = true
      this.out.once('drain', () => {
        this.#blocked = false
        if (!this.#closed) this.drained(this)
      })
    }
  }

  close(): void {
    this.#closed = true
    this.#pending = []
    this.out.end()
  }
}
