// A registry failure with containerd's wording and the kind it surfaces as: NotFound for a missing
// manifest or blob (errdefs.ErrNotFound), Unauthorized for refused credentials (ErrInvalidAuthorization,
// still code Unknown over CRI), FailedPrecondition for bytes that do not match their digest,
// Unimplemented for what containerd 2.x no longer reads (a Docker schema 1 manifest).
export type RegistryErrorKind = 'NotFound' | 'Unauthorized' | 'FailedPrecondition' | 'Unimplemented' | 'Cancelled' | 'Unknown'

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    /** The HTTP status that caused it, when one did. */
    readonly status?: number,
  ) {
    super(message)
    this.name = 'RegistryError'
  }
}
