// Fault rules are plain values, as msw's handlers are: what to match, how often, and what to do.
// Call faults act on an RPC (fail it, delay it, hang it, drop the connection, slow or cut a
// stream); node faults act in the model (a container crashes, a pull fails, the network is down).
import { simpleGlob, type Glob } from '../patterns/glob.js'

/** gRPC status names a rule may give as its error (or a number). */
export const STATUS_CODES: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
}

/** What a rule matches on, besides service and method. */
export interface Match {
  /** An object id in the request (container_id, pod_sandbox_id, id, …); a glob. */
  id?: string
  /** A name in the request (metadata.name of a pod or container, an image or namespace name); a glob. */
  name?: string
  /** An image reference in the request (or of the container a node fault is about); a glob. */
  image?: string
  /** Labels the request's object carries; every one must match. */
  labels?: Record<string, string>
  /** Request fields by dotted path (e.g. "config.metadata.namespace"); values are globs. */
  request?: Record<string, string | number | boolean>
}

/** How often and when a rule applies. */
export interface Schedule {
  /** Fire at most this many times. */
  times?: number
  /** Let this many matching calls through before firing. */
  after?: number
  /** Fire with this probability (0..1), drawn from the engine's seeded generator. */
  probability?: number
  /** Only from / until these times: ms since the engine started, or a Date/ISO string. */
  from?: number | string | Date
  until?: number | string | Date
  /** Fire once; restore() arms it again (msw's `once`). */
  once?: boolean
}

export type Delay = number | { min: number; max: number }

export interface CallFault extends Schedule {
  kind?: 'call'
  /** Service glob: a full name (runtime.v1.RuntimeService) or its last part (RuntimeService). */
  service?: string
  /** Method glob, e.g. "RunPodSandbox" or "List*". */
  method?: string
  /** containerd namespace of the call (containerd API) — a glob. */
  namespace?: string
  match?: Match
  /** Fail with this gRPC status (name or number)… */
  error?: string | number
  /** …and this message. */
  message?: string
  /** Trailing metadata sent with the error. */
  trailers?: Record<string, string>
  /** Wait this long (ms, or a random span) before answering (or before failing). */
  delay?: Delay
  /** Never answer: the call waits for the client's deadline or cancellation. */
  hang?: boolean
  /** Drop the client's connection (reset its HTTP/2 session). */
  drop?: boolean
  /** For server streams: wait this long before each message. */
  streamDelay?: Delay
  /** For server streams: end the stream cleanly after this many messages. */
  truncateAfter?: number
}

/** The kinds of node fault (validate.ts refuses any other). */
export const NODE_KINDS = ['crash', 'oom', 'pullFailure', 'sandboxNetwork', 'runtimeNotReady', 'networkNotReady', 'imageFsFull'] as const
export type NodeFaultKind = (typeof NODE_KINDS)[number]

export interface NodeFault extends Schedule {
  kind: NodeFaultKind
  /** Which containers, pods or image references it applies to (id, name, image, labels; globs). */
  match?: Match
  /** crash: the exit code (default 1). */
  exitCode?: number
  /** crash / oom: after how long the process dies (ms; default 0 / 100). */
  afterMs?: number
  /** pullFailure: how the registry fails. */
  pull?: 'notFound' | 'unauthorized' | 'unavailable' | 'slow'
  /** pullFailure "slow": how long the pull takes (ms). */
  durationMs?: number
  /** sandboxNetwork / runtimeNotReady / networkNotReady: the message to report. */
  message?: string
}

export type FaultRule = CallFault | NodeFault

export const isNodeFault = (r: FaultRule): r is NodeFault => r.kind !== undefined && r.kind !== 'call'

const compiled = new Map<string, Glob>()

/** A glob (`*`, `?`) as a matcher, linear in the text (compiled once per glob). */
export function compileGlob(glob: string): Glob {
  let g = compiled.get(glob)
  if (!g) {
    g = simpleGlob(glob)
    if (compiled.size < 10_000) compiled.set(glob, g)
  }
  return g
}

export const globMatch = (glob: string | undefined, value: string | undefined): boolean =>
  glob === undefined || glob === value || (value !== undefined && /[*?]/.test(glob) && compileGlob(glob).test(value))

export function statusCode(error: string | number): number {
  return typeof error === 'number' ? error : (STATUS_CODES[error.toUpperCase()] as number)
}

/** Which RPCs a rule or a journal query names: a method glob, a service glob (full name or its last part). */
export interface RpcNames {
  service?: string | undefined
  method?: string | undefined
}

/**
 * Whether a call of `service`/`method` is one `names` names: what a call fault and a journal query
 * both match on, so that a query finds the calls a rule with the same names would fault.
 */
export const namesRpc = (names: RpcNames, service: string, method: string): boolean =>
  // The method is the most selective test: check it first (this runs on every call).
  globMatch(names.method, method) &&
  (names.service === undefined || globMatch(names.service, service) || globMatch(names.service, service.split('.').pop()))
