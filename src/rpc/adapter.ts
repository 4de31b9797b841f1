// Turns a service's implementation table into grpc-js handlers. Implementations are plain async
// functions (request, context) → response; server-streaming ones get a `send` function. The table
// is the only list of RPCs: every method of the proto service must have an entry (the types say
// so), and the proto's streaming flags decide how each is wired.
import * as grpc from '@grpc/grpc-js'
import type { ServiceDefinition } from '@grpc/grpc-js'
import type { Logger } from '../log.js'
import { InjectedFault, TransportStatus, toServiceError, type ServiceStatus } from './status.js'
import type { FaultEngine, FiredNodeFaults } from '../faults/engine.js'
import type { CallFault } from '../faults/rule.js'
import { pick, preamble, sleep } from './call-faults.js'
import { WIRE_KEPT, Wire, listFields, type Journal } from '../journal/journal.js'
import { methodsCarryingSecrets } from '../journal/secrets.js'
import { MESSAGE_LIMITS } from '../service-descriptors.cjs'

/** The largest response the server sends (grpc-js refuses a larger one; containerd's limit). */
const MAX_SEND = MESSAGE_LIMITS['grpc.max_send_message_length']

/**
 * The first value of a text header, as grpc-go's metadata gives containerd: a client that sets a
 * header twice (the Go client's namespaces.WithNamespace over a context that had one) sends two
 * values, which Node's http2 joins with ", ".
 */
export function firstMetadataValue(metadata: grpc.Metadata, key: string): string {
  const value = metadata.get(key)[0]
  return value === undefined ? '' : String(value).split(',')[0]!.trim()
}

export interface CallContext {
  readonly service: string
  readonly method: string
  readonly metadata: grpc.Metadata
  /** Aborts when the client cancels or the server closes. */
  readonly signal: AbortSignal
  /** Sends the response headers now, so a streaming client knows its subscription is live. */
  sendHeaders(): void
  /** The node faults that fired while serving this call (the face passes it to the model), for its journal entry. */
  readonly nodeFaults: FiredNodeFaults
}

/**
 * A response a handler has encoded itself (a list built from messages encoded once and kept: see
 * cri/wire.ts): sent and journaled as these bytes, never encoded again. T is the message they encode.
 */
export class Encoded<T> {
  /** Only for the compiler: the message type the bytes encode, so a handler cannot answer another's. */
  declare readonly message?: T
  constructor(readonly bytes: Buffer) {}
}

/** What a handler answers: the message, or its encoding. */
export type Answer<Res> = Res | Encoded<Res>

export type Unary<Req, Res> = (request: Req, ctx: CallContext) => Promise<Answer<Res>> | Answer<Res>
export type ServerStream<Req, Res> = (request: Req, ctx: CallContext, send: (message: Answer<Res>) => void) => Promise<void>
export type BidiStream<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext, send: (message: Answer<Res>) => void) => Promise<void>

/** The implementation type for a generated grpc-js handlers interface. */
export type Implementation<H> = {
  [K in keyof H as string extends K ? never : K]: H[K] extends grpc.handleUnaryCall<infer Req, infer Res>
    ? Unary<Req, Res>
    : H[K] extends grpc.handleServerStreamingCall<infer Req, infer Res>
      ? ServerStream<Req, Res>
      : H[K] extends grpc.handleBidiStreamingCall<infer Req, infer Res>
        ? BidiStream<Req, Res>
        : never
}

/**
 * The requests of a bidirectional call as an async iterable. A Readable's default iterator
 * destroys the stream when iteration ends, and with it the answers still to be sent; iterate
 * without that, so a handler can keep replying after the client has finished sending.
 */
function requestsOf(call: grpc.ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  return { [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) }
}

/** What every kind of server call has in common. */
type AnyCall = {
  metadata: grpc.Metadata
  readonly cancelled: boolean
  sendMetadata(m: grpc.Metadata): void
  on(event: 'cancelled', listener: () => void): unknown
}

/**
 * One call's context. Its abort signal is made when a handler first asks for it: most calls never
 * do, and an AbortController and a 'cancelled' listener per call were a tenth of a status call's cost.
 */
class Call implements CallContext {
  readonly nodeFaults: FiredNodeFaults = []
  #controller: AbortController | undefined
  /** Why the call was aborted before anyone asked for its signal. */
  #aborted: Error | undefined

  constructor(
    readonly service: string,
    readonly method: string,
    readonly metadata: grpc.Metadata,
    readonly call: AnyCall,
  ) {}

  get signal(): AbortSignal {
    if (!this.#controller) {
      const c = (this.#controller = new AbortController())
      const cancelled = () => c.abort(new Error('cancelled by the client'))
      if (this.#aborted) c.abort(this.#aborted)
      else if (this.call.cancelled) cancelled()
      else this.call.on('cancelled', cancelled)
    }
    return this.#controller.signal
  }

  abort(why: Error): void {
    if (this.#controller) this.#controller.abort(why)
    else this.#aborted ??= why
  }

  sendHeaders(): void {
    this.call.sendMetadata(new grpc.Metadata())
  }
}

/** Calls still open, so closing the server can end long-lived streams instead of waiting on them. */
export class OpenCalls {
  #calls = new Set<Call>()

  track(call: Call): void {
    this.#calls.add(call)
  }

  done(call: Call): void {
    this.#calls.delete(call)
  }

  abortAll(): void {
    for (const c of this.#calls) c.abort(new Error('server is closing'))
  }
}

/** The bytes each request arrived as (wireDefinition's deserializers note them), for the journal. */
const requestBytes = new WeakMap<object, Uint8Array>()
const wired = new WeakMap<ServiceDefinition, ServiceDefinition>()

/**
 * A service's definition as the server is given it: each request's bytes are noted (requestBytes),
 * and a response the adapter has already encoded (for the journal) goes out as it is, not encoded twice.
 */
export function wireDefinition(definition: ServiceDefinition): ServiceDefinition {
  let out = wired.get(definition)
  if (out) return out
  const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
  for (const [name, def] of Object.entries(definition)) {
    const { requestDeserialize, responseSerialize } = def
    methods[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        const message = requestDeserialize(bytes) as unknown
        // Not copied here: the adapter copies them only when its journal keeps them.
        if (message && typeof message === 'object') requestBytes.set(message, bytes)
        return message
      },
      responseSerialize: (message: unknown) =>
        message instanceof Uint8Array ? Buffer.from(message.buffer, message.byteOffset, message.byteLength) : responseSerialize(message),
    }
  }
  out = methods as ServiceDefinition
  wired.set(definition, out)
  return out
}

/**
 * The state store as the adapter sees it with --state-sync: an answer (a unary reply, each message
 * of a stream, a stream's end) goes out only once the file holds every change made before it, so
 * that no answer tells of a change a crash could still lose. Answers waiting together share one write.
 */
export interface Durability {
  /** True when the file holds every change made so far. */
  readonly clean: boolean
  /** Resolves when it does; rejects when the write failed. */
  durable(): Promise<void>
}

/**
 * Calls whose answer tells nothing of the node's state (the runtime's name and version, health):
 * they never wait for the file, so that a kubelet's Version probe is answered at once however many
 * changes are being written (bench/run.mjs version-under-sync).
 */
const READS_NO_STATE = new Set([
  'runtime.v1.RuntimeService/Version',
  'containerd.services.version.v1.Version/Version',
  'grpc.health.v1.Health/Check',
])

export interface AdapterDeps {
  open: OpenCalls
  log: Logger
  faults?: FaultEngine
  journal?: Journal
  durability?: Durability
}

export function adapt(
  serviceName: string,
  definition: ServiceDefinition,
  impl: unknown,
  deps: AdapterDeps,
): grpc.UntypedServiceImplementation {
  const { open, log, faults, journal } = deps
  const debug = log.level === 'debug'
  const handlers: grpc.UntypedServiceImplementation = {}
  for (const [method, def] of Object.entries(definition)) {
    const durability = READS_NO_STATE.has(`${serviceName}/${method}`) ? undefined : deps.durability
    /** Waits, when there is anything to wait for, until the changes made so far are on disk. */
    const settle = async (): Promise<void> => {
      if (durability && !durability.clean) await durability.durable()
    }
    const fn = (impl as Record<string, unknown>)[method]
    if (typeof fn !== 'function') throw new Error(`${serviceName}/${method} has no implementation`)
    if (def.requestStream && !def.responseStream) throw new Error(`${serviceName}/${method}: client-only streaming is not wired yet`)
    const decodeRequest = (bytes: Uint8Array) => def.requestDeserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    const decodeResponse = (bytes: Uint8Array) => def.responseDeserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    // The lists a large message may be cut to before the journal decodes it for its summary.
    const requestLists = listFields((def as { requestType?: { type?: unknown } }).requestType?.type)
    const responseLists = listFields((def as { responseType?: { type?: unknown } }).responseType?.type)
    /**
     * The request for the journal: a copy of its bytes (in memory of their own, not a view into what
     * grpc-js read) when grpc-js decoded it through wireDefinition and the journal keeps them; else
     * the request itself, which the journal summarizes at once. A request whose type may carry a
     * credential (secrets.ts) is always summarized at once, so that its text is redacted before the
     * call is answered rather than kept in clear until someone reads the journal.
     */
    const journaled = (request: unknown): unknown => {
      const bytes = request && typeof request === 'object' ? requestBytes.get(request) : undefined
      if (!bytes || bytes.length > WIRE_KEPT || methodsCarryingSecrets(serviceName, definition).has(method)) return request
      return new Wire(new Uint8Array(bytes), decodeRequest, requestLists)
    }
    const begin = (call: AnyCall, request: unknown) => {
      const ctx = new Call(serviceName, method, call.metadata, call)
      open.track(ctx)
      const namespace = firstMetadataValue(call.metadata, 'containerd-namespace')
      const fired = faults?.decideCall({ service: serviceName, method, namespace, request })
      if (fired) log.debug(`fault fired on ${serviceName}/${method} (${fired.count}): ${JSON.stringify(fired.rule)}`)
      const record = journal?.begin(serviceName, method, namespace, journaled(request))
      const nodeFaults = ctx.nodeFaults
      const started = debug ? performance.now() : 0
      const finish = (err?: unknown, outcome: { response?: unknown; messages?: number } = {}): ServiceStatus | undefined => {
        open.done(ctx)
        const status = err === undefined ? undefined : toServiceError(err, log)
        if (debug) {
          const ms = (performance.now() - started).toFixed(2)
          if (status) log.debug(`${serviceName}/${method} failed in ${ms}ms: code ${status.code}: ${status.details}`)
          else log.debug(`${serviceName}/${method} ok in ${ms}ms`)
        }
        // A journal listener that throws (its own bug) must not fail a call already answered, nor
        // answer one twice: the fault path's catch would answer again.
        try {
          record?.({
            ...outcome,
            status: status ? { code: status.code, details: status.details } : { code: 0, details: '' },
            ...(fired ? { fault: fired.rule } : {}),
            ...(nodeFaults.length ? { nodeFaults } : {}),
          })
        } catch (listenerErr) {
          log.error(`a journal listener failed on ${serviceName}/${method}: ${(listenerErr as Error)?.stack ?? String(listenerErr)}`)
        }
        return status
      }
      return { ctx, finish, fault: fired?.rule as CallFault | undefined, abort: (why: string) => ctx.abort(new Error(why)) }
    }
    if (!def.responseStream) {
      const unary = fn as Unary<unknown, unknown>
      handlers[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const { ctx, finish, fault } = begin(call, call.request)
        const fail = (err: unknown) => callback(finish(err) ?? null)
        /**
         * With a journal the response is encoded once, here: the same bytes go to grpc-js
         * (wireDefinition passes them through) and to the journal. One that does not encode, or is
         * larger than the client may be sent, fails the call as grpc-go fails containerd's, and the
         * journal says so (without a journal grpc-js answers for such a response itself).
         */
        const reply = (response: unknown) => {
          if (!journal) {
            finish()
            // wireDefinition sends bytes as they are.
            return callback(null, response instanceof Encoded ? response.bytes : response)
          }
          let bytes: Buffer
          try {
            bytes = response instanceof Encoded ? response.bytes : def.responseSerialize(response)
          } catch (err) {
            return fail(new TransportStatus(grpc.status.INTERNAL, `grpc: error while marshaling: ${(err as Error).message}`))
          }
          if (bytes.length > MAX_SEND)
            return fail(
              new TransportStatus(
                grpc.status.RESOURCE_EXHAUSTED,
                `grpc: trying to send message larger than max (${bytes.length} vs. ${MAX_SEND})`,
              ),
            )
          // The journal's copy in memory of its own: a small encoding is a view into Node's shared pool.
          finish(undefined, {
            response: new Wire(bytes.length <= WIRE_KEPT ? new Uint8Array(bytes) : bytes, decodeResponse, responseLists),
          })
          callback(null, bytes)
        }
        const answer = (response: unknown): void =>
          durability && !durability.clean ? void settle().then(() => reply(response), fail) : reply(response)
        if (fault) {
          preamble(fault, ctx.signal, call)
            .then(async (next) => {
              if (next !== 'go') return void finish(new InjectedFault(1, 'the call was hung or dropped by a fault', {}))
              answer(await unary(call.request, ctx))
            }, fail)
            .catch(fail)
          return
        }
        // Without a fault the handler runs at once, and a handler that answers synchronously is
        // answered synchronously: no promise hops between grpc-js and the model.
        let result: unknown
        try {
          result = unary(call.request, ctx)
        } catch (err) {
          return fail(err)
        }
        if (result instanceof Promise) result.then(answer, fail)
        else answer(result)
      }
    } else {
      // Server streaming and bidirectional calls differ only in what the handler reads.
      const streaming = fn as (input: unknown, ctx: CallContext, send: (message: unknown) => void) => Promise<void>
      handlers[method] = (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
        const request = def.requestStream ? undefined : (call as grpc.ServerWritableStream<unknown, unknown>).request
        const { ctx, finish, fault, abort } = begin(call, request)
        let sent = 0
        let queue = Promise.resolve()
        let queued = 0
        const write = (message: unknown): void => {
          if (call.cancelled || call.writableEnded) return
          if (fault?.truncateAfter !== undefined && sent >= fault.truncateAfter) return
          call.write(message instanceof Encoded ? message.bytes : message)
          sent++
          // A truncated stream ends cleanly after its last message, as if the server were done.
          if (fault?.truncateAfter !== undefined && sent >= fault.truncateAfter) abort('stream truncated by a fault')
        }
        const send = (message: unknown): void => {
          const delay = fault?.streamDelay
          const unsaved = durability !== undefined && !durability.clean
          // Messages go out in order: one that need not wait still waits behind those queued.
          if (delay === undefined && !unsaved && queued === 0) return write(message)
          queued++
          queue = queue
            .then(() => (delay === undefined ? undefined : sleep(pick(delay), ctx.signal)))
            .then(() => (unsaved ? settle() : undefined))
            .then(() => write(message))
            .finally(() => queued--)
        }
        const input = def.requestStream ? requestsOf(call as grpc.ServerDuplexStream<unknown, unknown>) : request
        preamble(fault, ctx.signal, call)
          .then(async (next) => {
            if (next !== 'go') return false
            await streaming(input, ctx, send)
            await queue
            await settle()
            return true
          })
          .then(
            (answered) => {
              if (!answered) return void finish(new InjectedFault(1, 'the call was hung or dropped by a fault', {}), { messages: sent })
              finish(undefined, { messages: sent })
              if (!call.writableEnded) call.end()
            },
            (err: unknown) => {
              if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
                // grpc-js closed the request stream and answered the call itself (see TransportStatus);
                // it marks both causes cancelled, so the journal cannot tell them apart.
                const why =
                  'the request stream closed early: the client cancelled, or a message did not decode (answered INTERNAL "Error deserializing request")'
                return void finish(new TransportStatus(grpc.status.CANCELLED, why), { messages: sent })
              }
              const status = finish(err, { messages: sent })
              if (!call.writableEnded) call.emit('error', status)
            },
          )
      }
    }
  }
  return handlers
}
