// Streaming service (containerd 2.x): the bidirectional streams of Any that carry Transfer's bytes,
// progress and credential requests. A client opens a stream with StreamInit{id}, the server registers
// the id in the call's namespace and acks with an Empty; Transfer then names streams by id. The
// registry is per node (streamsOf), shared by this face and the Transfer face; nothing of it is state.
import type { StreamingHandlers } from '../generated/containerd/services/streaming/v1/Streaming.js'
import { RuntimeError, invalidArgument } from '../model/errors.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import { decodeMessage } from '../proto/load.js'
import { namespaceOf } from './context.js'

/** A google.protobuf.Any as grpc-js hands it over. */
export interface AnyMessage {
  type_url: string
  value: Buffer
}

/** The bare full name of an Any's type: containerd sends bare names; a type.googleapis.com/ prefix is accepted. */
export const anyType = (a: AnyMessage): string => a.type_url.slice(a.type_url.lastIndexOf('/') + 1)

const STREAM_INIT = 'containerd.services.streaming.v1.StreamInit'
const EMPTY: AnyMessage = { type_url: 'google.protobuf.Empty', value: Buffer.alloc(0) }

/** One open stream: what the client sent (in order, then its end) and a way to answer or end it. */
export class Stream {
  readonly #queue: AnyMessage[] = []
  #waiting: ((m: AnyMessage | undefined) => void) | undefined
  #ended = false
  readonly #closers: (() => void)[] = []
  closed = false

  constructor(
    readonly id: string,
    readonly send: (m: AnyMessage) => void,
  ) {}

  /** The client's next message; undefined once it has closed its side (or the stream is gone). */
  recv(): Promise<AnyMessage | undefined> {
    const next = this.#queue.shift()
    if (next) return Promise.resolve(next)
    if (this.#ended || this.closed) return Promise.resolve(undefined)
    return new Promise((resolve) => (this.#waiting = resolve))
  }

  /** Ends the stream from the server's side: the Stream RPC returns OK. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.#wake(undefined)
    for (const c of this.#closers.splice(0)) c()
  }

  onClose(fn: () => void): void {
    if (this.closed) fn()
    else this.#closers.push(fn)
  }

  /** @internal the Stream RPC's reader. */
  deliver(m: AnyMessage | undefined): void {
    if (m === undefined) this.#ended = true
    if (this.#waiting) this.#wake(m)
    else if (m) this.#queue.push(m)
  }

  #wake(m: AnyMessage | undefined): void {
    const w = this.#waiting
    this.#waiting = undefined
    w?.(m)
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
      if (anyType(init) !== STREAM_INIT) {
        throw invalidArgument(
          `the first message of a stream must be a ${STREAM_INIT}, not ${init.type_url || 'an Any without a type'}: invalid argument`,
        )
      }
      const stream = new Stream(readStreamId(init.value), (m) => send(m))
      streams.register(namespace, stream)
      send(EMPTY)
      const abort = (): void => stream.close()
      ctx.signal.addEventListener('abort', abort, { once: true })
      const done = new Promise<void>((resolve) => stream.onClose(resolve))
      void (async () => {
        try {
          for (;;) {
            const next = await Promise.race([it.next(), done.then(() => ({ done: true, value: undefined }) as const)])
            if (next.done) break
            stream.deliver(next.value as AnyMessage)
          }
        } catch {
          // The client went away: the stream ends below.
        }
        stream.deliver(undefined)
      })()
      await done
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
  if (typeof id !== 'string' || id === '') throw invalidArgument('StreamInit names no stream id: invalid argument')
  return id
}
