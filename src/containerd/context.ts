// What every containerd API call carries in its metadata: the namespace (containerd-namespace,
// required) and optionally a lease (containerd-lease) that holds what the call creates.
import { RuntimeError } from '../model/errors.js'
import { validateIdentifier } from '../model/metadata/namespaces.js'
import { firstMetadataValue, type CallContext } from '../rpc/adapter.js'

export function namespaceOf(ctx: CallContext): string {
  const ns = firstMetadataValue(ctx.metadata, 'containerd-namespace')
  if (ns === '') throw new RuntimeError('FailedPrecondition', 'namespace is required: failed precondition')
  try {
    validateIdentifier(ns)
  } catch (err) {
    throw new RuntimeError('InvalidArgument', `namespace validation: ${(err as Error).message}`)
  }
  return ns
}

export function leaseOf(ctx: CallContext): string | undefined {
  return firstMetadataValue(ctx.metadata, 'containerd-lease') || undefined
}
