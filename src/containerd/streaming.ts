// Streaming service (containerd 2.x): the bidirectional streams of Any that carry Transfer's bytes,
// progress and credential requests. A client opens a stream with StreamInit{id}, the server registers
// the id in the call's namespace and acks with an Empty; Transfer then names streams by id. The
// registry is per node (streamsOf), shared by this face and the Transfer face; nothing of it is state.
import type { StreamingHandlers } from '../generated/containerd/services/streaming/v1/Streaming.js'
import { RuntimeError, invalidArgument } from '../model/errors.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import { decodeMessage, knownMessage, typeNameOf } from '../proto/load.js'
import { namespaceOf } from './context.js'

/** A google.protobuf.Any as grpc-js hands it over. */
export interface AnyMessage {
  type_url: string
  value: Buffer
}

/** The bare full name of an Any's type: containerd sends bare names; a type.googleapis.com/ prefix is accepted. */
export const anyType = (a: AnyMessage): string => typeNameOf(a.type_url)

const STREAM_INIT = 'containerd.services.streaming.v1.StreamInit'
/** How long an ended input waits for a cancel report before it counts as the client's half-close. */
const HALF_CLOSE_GRACE_MS = 25
const EMPTY: AnyMessage = { type_url: 'google.protobuf.Empty', value: Buffer.alloc(0) }

/**
 * One open stream. The client's messages are read from the Stream call only when recv() asks for one, so
 * a sender nobody reads is held back by HTTP/2 flow control rather than queued here. Only the client's
 * half-close ends the input (recv gives undefined); a cancelled call makes recv reject with Canceled.
 */
export class Stream {
  #ended = false
  #reading = false
  #user = false
  #failure: RuntimeError | undefined
  readonly #stopped: Promise<undefined>
  #stop!: (err?: RuntimeError) => void
  readonly #closers: (() => void)[] = []
  closed = false

  constructor(
    readonly id: string,
    readonly send: (m: AnyMessage) => void,
    private readonly pull: () => Promise<IteratorResult<AnyMessage>> = () => Promise.resolve({ done: true, value: undefined }),
  ) {
    this.#stopped = new Promise<undefined>((resolve, reject) => {
      this.#stop = (err) => (err ? reject(err) : resolve(undefined))
    })
    this.#stopped.catch(() => {})
  }

  /** Takes the stream for one transfer; a second transfer naming it is refused rather than left waiting. */
  claim(): void {
    if (this.#user) {
      throw new RuntimeError(
        'FailedPrecondition',
        `stream ${JSON.stringify(this.id)} is already used by another transfer: failed precondition`,
      )
    }
    this.#user = true
  }

  /** The client's next message; undefined once it has closed its side (or the server has ended the stream). */
  async recv(): Promise<AnyMessage | undefined> {
    if (this.#failure) throw this.#failure
    if (this.#ended || this.closed) return undefined
    if (this.#reading)
      throw new RuntimeError('FailedPrecondition', `stream ${JSON.stringify(this.id)} is already being read: failed precondition`)
    this.#reading = true
    try {
      const next = await Promise.race([this.pull(), this.#stopped])
      if (next === undefined) return undefined
      if (next.done) {
        // grpc-js ends a cancelled call's input (http2 'end') a few ticks before it reports the cancel
        // (http2 'close'): wait briefly so a cut upload is not taken for a complete one.
        await new Promise((r) => setTimeout(r, HALF_CLOSE_GRACE_MS))
        if (this.#failure) throw this.#failure
        this.#ended = true
        return undefined
      }
      return next.value
    } catch (err) {
      throw this.#failure ?? err
    } finally {
      this.#reading = false
    }
  }

  /** Ends the stream from the server's side: the Stream RPC returns OK. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.#stop()
    for (const c of this.#closers.splice(0)) c()
  }

  /** The client cancelled the Stream call: what it sent is incomplete; a reader gets Canceled. */
  abort(): void {
    if (this.closed) return
    this.#failure = new RuntimeError('Canceled', `stream ${JSON.stringify(this.id)} was cancelled by the client before it ended: canceled`)
    this.#stop(this.#failure)
    this.close()
  }

  onClose(fn: () => void): void {
    if (this.closed) fn()
    else this.#closers.push(fn)
  }
}

/** The open streams by namespace and id, as containerd's stream manager keeps them. */
export class StreamManager {
  readonly #streams = new Map<string, Stream>()

  register(namespace: string, stream: Stream): void {
    const key = `${namespace}\0${stream.id}`
    if (this.#streams.has(key)) throw new RuntimeError('AlreadyExists', 'already exists')
    this.#streams.set(key, stream)
    stream.onClose(() => {
      if (this.#streams.get(key) === stream) this.#streams.delete(key)
    })
  }

  get(namespace: string, id: string): Stream {
    const stream = this.#streams.get(`${namespace}\0${id}`)
    if (!stream)
      throw new RuntimeError('NotFound', `stream ${JSON.stringify(id)} is not open in namespace ${JSON.stringify(namespace)}: not found`)
    return stream
  }
}

const managers = new WeakMap<Node, StreamManager>()

/** The node's stream registry (one per node, made on first use). */
export function streamsOf(node: Node): StreamManager {
  let m = managers.get(node)
  if (!m) managers.set(node, (m = new StreamManager()))
  return m
}

export function streamingService(node: Node): Implementation<StreamingHandlers> {
  const streams = streamsOf(node)
  return {
    Stream: async (requests, ctx, send) => {
      const namespace = namespaceOf(ctx)
      const it = requests[Symbol.asyncIterator]()
      const first = await it.next()
      if (first.done) return
      const init = first.value as AnyMessage
      // typeurl.UnmarshalTo's errors: an unregistered type is not found, another registered one is refused.
      if (anyType(init) !== STREAM_INIT) {
        if (!knownMessage(anyType(init))) throw new RuntimeError('NotFound', `type with url ${init.type_url}: not found`)
        throw new RuntimeError('Unknown', `can't unmarshal type ${JSON.stringify(init.type_url)} to output ${JSON.stringify(STREAM_INIT)}`)
      }
      const stream = new Stream(
        readStreamId(init.value),
        (m) => send(m),
        () => it.next() as Promise<IteratorResult<AnyMessage>>,
      )
      streams.register(namespace, stream)
      send(EMPTY)
      const abort = (): void => stream.abort()
      ctx.signal.addEventListener('abort', abort, { once: true })
      if (ctx.signal.aborted) stream.abort()
      await new Promise<void>((resolve) => stream.onClose(resolve))
      ctx.signal.removeEventListener('abort', abort)
    },
  }
}

/** The stream id a StreamInit carries. */
function readStreamId(bytes: Buffer): string {
  let id: unknown
  try {
    id = decodeMessage(STREAM_INIT, bytes).id
  } catch (err) {
    throw invalidArgument(`StreamInit does not decode: ${(err as Error).message}: invalid argument`)
  }
  // containerd registers whatever id it is given, the empty one included.
  return typeof id === 'string' ? id : ''
}
