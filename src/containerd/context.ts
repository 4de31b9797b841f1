// What every containerd API call carries in its metadata: the namespace (containerd-namespace,
// required) and optionally a lease (containerd-lease) that holds what the call creates.
import { RuntimeError } from '../model/errors.js'
import { validateIdentifier } from '../model/namespaces.js'
import type { CallContext } from '../rpc/adapter.js'

export function namespaceOf(ctx: CallContext): string {
  const value = ctx.metadata.get('containerd-namespace')[0]
  const ns = value === undefined ? '' : String(value)
  if (ns === '') throw new RuntimeError('FailedPrecondition', 'namespace is required: failed precondition')
  try {
    validateIdentifier(ns)
  } catch (err) {
    throw new RuntimeError('InvalidArgument', `namespace validation: ${(err as Error).message}`)
  }
  return ns
}

export function leaseOf(ctx: CallContext): string | undefined {
  const value = ctx.metadata.get('containerd-lease')[0]
  return value === undefined || value === '' ? undefined : String(value)
}
