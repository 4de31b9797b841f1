// Domain errors. The model throws these with containerd's own wording; the rpc adapter maps each
// kind to its gRPC status code in one place (src/rpc/status.ts), as containerd's errgrpc does.

export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'Unavailable'
  | 'Unimplemented'
  | 'ResourceExhausted'
  | 'OutOfRange'
  | 'DeadlineExceeded'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'Canceled'
  | 'Unknown'

export class RuntimeError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message)
    this.name = 'RuntimeError'
  }
}

export const notFound = (message: string): RuntimeError => new RuntimeError('NotFound', message)
export const invalidArgument = (message: string): RuntimeError => new RuntimeError('InvalidArgument', message)
export const failedPrecondition = (message: string): RuntimeError => new RuntimeError('FailedPrecondition', message)
export const alreadyExists = (message: string): RuntimeError => new RuntimeError('AlreadyExists', message)
/** containerd returns plain Go errors for many state conflicts; errgrpc turns those into Unknown. */
export const unknown = (message: string): RuntimeError => new RuntimeError('Unknown', message)

/**
 * A CRI name already taken: containerd's registrar returns a plain error, so the client sees code
 * Unknown (kubelet reads the text to tell a conflict from a failure).
 */
export const nameReserved = (what: 'sandbox' | 'container', name: string, holder: string): RuntimeError =>
  unknown(`failed to reserve ${what} name ${JSON.stringify(name)}: name ${JSON.stringify(name)} is reserved for ${JSON.stringify(holder)}`)

/** Prefix a RuntimeError's message the way Go's fmt.Errorf("...: %w") would, keeping its kind. */
export function wrap(err: unknown, prefix: string): RuntimeError {
  if (err instanceof RuntimeError) return new RuntimeError(err.kind, `${prefix}: ${err.message}`)
  return new RuntimeError('Unknown', `${prefix}: ${err instanceof Error ? err.message : String(err)}`)
}

/**
 * The runc shim refuses a call its process's state does not allow with a plain error (its state
 * machine, pkg/process/init_state.go); containerd passes it on as code Unknown.
 */
export const shimError = (message: string): RuntimeError => unknown(`${message}: unknown`)
