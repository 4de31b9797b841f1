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

export function toServiceError(err: unknown, log: Logger): ServiceStatus {
  if (err instanceof RuntimeError) return { code: CODES[err.kind], details: err.message }
  if (err instanceof InjectedFault) {
    const metadata = new Metadata()
    for (const [k, v] of Object.entries(err.trailers)) metadata.set(k, v)
    return { code: err.code as Status, details: err.details, metadata }
  }
  // A bug in the fake, not the client's fault: say so rather than hide it.
  const message = err instanceof Error ? err.message : String(err)
  log.error(`internal error: ${err instanceof Error ? err.stack : message}`)
  return { code: Status.INTERNAL, details: `fake-containerd internal error: ${message}` }
}
