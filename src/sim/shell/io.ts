// The shell's file descriptors: where a command's output goes (a Sink: the process's own stream, a
// file, a pipe, /dev/null, a command substitution's buffer) and where its input comes from (a
// Reader: buffered, so `read` can take one line and leave the rest for the next command).
import { FsError, type Fs } from '../fs/types.js'
import type { Input } from '../context.js'
import { OutOfMemory } from './errors.js'

export interface Sink {
  /** False when nobody will read any more: a pipe whose reader has exited (EPIPE). */
  write(text: string): boolean
  /** Resolves when a reader has taken what was written; a command that writes without end awaits it. */
  drain(): Promise<void>
}

/** A macrotask turn: lets timers and I/O run between the writes of an endless writer. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export const nullSink: Sink = { write: () => true, drain: nextTurn }

/** How long one synchronous pass (grep's lines, sed's, a ${x//p/r}) may hold the event loop. */
export const SLICE_MS = 4

/**
 * For a long pass: call the returned function between items; once SLICE_MS have gone by since the
 * last turn it yields one to the event loop (other clients' calls), and throws when the process
 * has ended (a timeout, a signal), so that no input makes one command hold the server.
 */
export function slicer(owner: { readonly signal: AbortSignal }): () => Promise<void> | undefined {
  let due = performance.now() + SLICE_MS
  return () => {
    if (performance.now() < due) return undefined
    return nextTurn().then(() => {
      if (owner.signal.aborted) throw owner.signal.reason
      due = performance.now() + SLICE_MS
    })
  }
}

/**
 * The longest text the shell holds (a variable, what a command substitution captures). The
 * simulated shell's memory is the server's: past this the shell is out of memory, as ash would be
 * when malloc fails, instead of the server.
 */
export const MAX_SHELL_STRING = 32 * 1024 * 1024

export class CaptureSink implements Sink {
  text = ''
  write(text: string): boolean {
    if (this.text.length + text.length > MAX_SHELL_STRING) throw new OutOfMemory()
    this.text += text
    return true
  }
  drain = nextTurn
}

/** Appends to a file through the container's filesystem (opened, i.e. created or truncated, by the caller). */
export class FileSink implements Sink {
  constructor(
    readonly fs: Fs,
    readonly path: string,
  ) {}
  write(text: string): boolean {
    try {
      this.fs.writeFile(this.path, text, { append: true })
    } catch (err) {
      if (!(err instanceof FsError)) throw err
    }
    return true
  }
  drain = nextTurn
}

/**
 * Buffered input over an Input: whole chunks, everything, or one line at a time. A read that is
 * given up (`read -t`, a signal) loses nothing: what arrives later stays in the buffer.
 */
export class Reader implements Input {
  #buf = ''
  #eof = false
  #inflight: Promise<void> | undefined
  constructor(readonly src: Input) {}

  /** Reads one more chunk into the buffer (one read of the source at a time). */
  #fill(): Promise<void> {
    return (this.#inflight ??= this.src.read().then(
      (chunk) => {
        this.#inflight = undefined
        if (chunk === undefined) this.#eof = true
        else this.#buf += chunk
      },
      (err: unknown) => {
        this.#inflight = undefined
        throw err
      },
    ))
  }

  async read(): Promise<string | undefined> {
    while (this.#buf === '' && !this.#eof) await this.#fill()
    if (this.#buf === '') return undefined
    const b = this.#buf
    this.#buf = ''
    return b
  }

  async readAll(): Promise<string> {
    while (!this.#eof) await this.#fill()
    const b = this.#buf
    this.#buf = ''
    return b
  }

  /**
   * Text up to `delim` (not included) or end of input; `complete` is false when input ended first.
   * Gives up ('cancelled') when `cancel` settles first.
   */
  async readLine(
    delim = '\n',
    max = Infinity,
    cancel?: Promise<unknown>,
  ): Promise<{ line: string; complete: boolean } | undefined | 'cancelled'> {
    let cancelled = false
    const stop = cancel?.then(
      () => void (cancelled = true),
      () => void (cancelled = true),
    )
    for (;;) {
      const i = delim === '' ? -1 : this.#buf.indexOf(delim)
      if (i !== -1 && i < max) {
        const line = this.#buf.slice(0, i)
        this.#buf = this.#buf.slice(i + delim.length)
        return { line, complete: true }
      }
      if (this.#buf.length >= max) {
        const line = this.#buf.slice(0, max)
        this.#buf = this.#buf.slice(max)
        return { line, complete: true }
      }
      if (this.#eof) {
        if (this.#buf === '') return undefined
        const line = this.#buf
        this.#buf = ''
        return { line, complete: false }
      }
      await (stop ? Promise.race([this.#fill(), stop]) : this.#fill())
      if (cancelled) return 'cancelled'
    }
  }
}

export const emptyReader = (): Reader => new Reader({ read: async () => undefined, readAll: async () => '' })

export const textReader = (text: string): Reader => {
  let done = false
  return new Reader({
    read: async () => (done || text === '' ? undefined : ((done = true), text)),
    readAll: async () => (done ? '' : ((done = true), text)),
  })
}

/**
 * A pipe between two commands of a pipeline. Writes never block, but `drain` waits while more than
 * `capacity` characters are unread, so an endless writer runs only as fast as its reader. When the
 * reader has gone, `write` returns false: the writer gets SIGPIPE.
 */
export class Pipe {
  #chunks: string[] = []
  #size = 0
  #readWaiter: (() => void) | undefined
  #drainWaiters: (() => void)[] = []
  #writeClosed = false
  #readClosed = false

  constructor(readonly capacity = 65536) {}

  get readClosed(): boolean {
    return this.#readClosed
  }

  readonly sink: Sink = {
    write: (text) => {
      if (this.#readClosed) return false
      if (text !== '') {
        this.#chunks.push(text)
        this.#size += text.length
        this.#wakeReader()
      }
      return true
    },
    drain: async () => {
      await nextTurn()
      while (!this.#readClosed && this.#size >= this.capacity) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve))
    },
  }

  readonly reader = new Reader({
    read: async () => {
      for (;;) {
        if (this.#chunks.length > 0) {
          const text = this.#chunks.join('')
          this.#chunks = []
          this.#size = 0
          this.#wakeWriters()
          return text
        }
        if (this.#writeClosed || this.#readClosed) return undefined
        await new Promise<void>((resolve) => (this.#readWaiter = resolve))
      }
    },
    readAll: async () => {
      let out = ''
      for (let c = await this.reader.read(); c !== undefined; c = await this.reader.read()) out += c
      return out
    },
  })

  /** The writer has exited: the reader sees end of input once it has read what is left. */
  closeWrite(): void {
    this.#writeClosed = true
    this.#wakeReader()
  }

  /** The reader has exited: what is unread is dropped and later writes fail. */
  closeRead(): void {
    this.#readClosed = true
    this.#chunks = []
    this.#size = 0
    this.#wakeWriters()
    this.#wakeReader()
  }

  #wakeReader(): void {
    const w = this.#readWaiter
    this.#readWaiter = undefined
    w?.()
  }

  #wakeWriters(): void {
    const ws = this.#drainWaiters
    this.#drainWaiters = []
    for (const w of ws) w()
  }
}

export type Fd = { kind: 'in'; reader: Reader } | { kind: 'out'; sink: Sink }

/** A table of file descriptors 0-9; copied on write by redirections. */
export class Io {
  constructor(public fds: ReadonlyArray<Fd | undefined>) {}

  copy(): Io {
    return new Io([...this.fds])
  }

  /** Takes another table's descriptors (exec without a command makes its redirections permanent). */
  replace(other: Io): void {
    this.fds = [...other.fds]
  }

  static of(stdin: Reader, stdout: Sink, stderr: Sink): Io {
    return new Io([
      { kind: 'in', reader: stdin },
      { kind: 'out', sink: stdout },
      { kind: 'out', sink: stderr },
    ])
  }

  get(fd: number): Fd | undefined {
    return this.fds[fd]
  }

  /** The input at fd (an output fd or a closed one reads as empty). */
  input(fd = 0): Reader {
    const f = this.fds[fd]
    return f?.kind === 'in' ? f.reader : closedReader
  }

  /** The sink at fd, or undefined when it is closed or open for reading. */
  out(fd: number): Sink | undefined {
    const f = this.fds[fd]
    return f?.kind === 'out' ? f.sink : undefined
  }

  with(fd: number, entry: Fd | undefined): Io {
    const fds = [...this.fds]
    fds[fd] = entry
    return new Io(fds)
  }
}

const closedReader = emptyReader()
