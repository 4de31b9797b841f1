// The one place where domain errors become gRPC statuses (as containerd's errgrpc does).
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js'
import type { Logger } from '../log.js'
import { RuntimeError, type ErrorKind } from '../model/errors.js'

const CODES: Record<ErrorKind, Status> = {
  NotFound: Status.NOT_FOUND,
  AlreadyExists: Status.ALREADY_EXISTS,
  InvalidArgument: Status.INVALID_ARGUMENT,
  FailedPrecondition: Status.FAILED_PRECONDITION,
  Unavailable: Status.UNAVAILABLE,
  Unimplemented: Status.UNIMPLEMENTED,
  ResourceExhausted: Status.RESOURCE_EXHAUSTED,
  OutOfRange: Status.OUT_OF_RANGE,
  DeadlineExceeded: Status.DEADLINE_EXCEEDED,
  Unauthenticated: Status.UNAUTHENTICATED,
  PermissionDenied: Status.PERMISSION_DENIED,
  Canceled: Status.CANCELLED,
  Unknown: Status.UNKNOWN,
}

/** A status a fault rule told the server to answer with. */
export class InjectedFault extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly trailers: Record<string, string>,
  ) {
    super(details)
  }
}

export type ServiceStatus = Partial<ServiceError> & { code: Status; details: string }

/**
 * The most characters of an error text sent as it is. The text travels in the grpc-message trailer,
 * percent-encoded, and a trailer past a client's header limit (grpc-js: tens of KB) never reaches it:
 * the call hangs, and the connection with it. containerd's texts stay far below this; only one that
 * echoes a huge client string (a 200,000-character runtime handler) is cut.
 */
export const MAX_DETAILS = 4096
/** What is kept of a longer text: its start and its end (containerd's texts end in a cause, e.g. ": not found"). */
const KEEP_HEAD = 2048
const KEEP_TAIL = 512

/** An error text cut to fit a trailer, with a marker saying how much was left out. */
export function fitDetails(details: string): string {
  if (details.length <= MAX_DETAILS) return details
  let head = details.slice(0, KEEP_HEAD)
  let tail = details.slice(-KEEP_TAIL)
  // Not half a surrogate pair at either cut.
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1)
  if (/^[\uDC00-\uDFFF]/.test(tail)) tail = tail.slice(1)
  return `${head}…[${details.length - head.length - tail.length} characters cut]…${tail}`
}

/**
 * A status grpc-js gave the call itself before the handler was done: the request stream closed
 * under the handler because a message did not decode (grpc-js answers INTERNAL "Error deserializing
 * request", as grpc-go answers INTERNAL "grpc: error unmarshalling request") or because the client
 * cancelled. Journaled as such, and not logged as a bug of the fake.
 */
export class TransportStatus extends Error {
  constructor(
    readonly code: Status,
    readonly details: string,
  ) {
    super(details)
  }
}

export function toServiceError(err: unknown, log: Logger): ServiceStatus {
  const status = statusOf(err, log)
  return { ...status, details: fitDetails(status.details) }
}

function statusOf(err: unknown, log: Logger): ServiceStatus {
  if (err instanceof RuntimeError) return { code: CODES[err.kind], details: err.message }
  if (err instanceof TransportStatus) return { code: err.code, details: err.details }
  if (err instanceof InjectedFault) {
    const metadata = new Metadata()
    for (const [k, v] of Object.entries(err.trailers)) metadata.set(k, v)
    return { code: err.code as Status, details: err.details, metadata }
  }
  // A bug in the fake, not the client's fault: say so rather than hide it.
  const message = err instanceof Error ? err.message : String(err)
  log.error(`internal error: ${err instanceof Error ? err.stack?.slice(0, 64 * 1024) : message.slice(0, 64 * 1024)}`)
  return { code: Status.INTERNAL, details: `fake-containerd internal error: ${message}` }
}
