// Shared translations for the containerd face: timestamps, Any payloads, field masks.
import { invalidArgument } from '../model/errors.js'
import { protoTimestamp } from '../model/time.js'

/** Unix nanoseconds (decimal string) → google.protobuf.Timestamp. */
export const timestamp = protoTimestamp

/** google.protobuf.Timestamp → Unix nanoseconds (decimal string). */
export function fromTimestamp(t: { seconds: string | number; nanos: number } | null | undefined): string | undefined {
  if (!t) return undefined
  return (BigInt(t.seconds) * 1_000_000_000n + BigInt(t.nanos)).toString()
}

export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec'
export const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process'

/** Reads a JSON-valued Any (a runtime spec or process), refusing what is not JSON. */
export function jsonAny(any: { type_url: string; value: Buffer } | null | undefined, what: string): Record<string, unknown> | undefined {
  if (!any) return undefined
  try {
    const parsed: unknown = JSON.parse(any.value.toString('utf8'))
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object')
    return parsed as Record<string, unknown>
  } catch (err) {
    throw invalidArgument(`${what} (${any.type_url || 'no type url'}) is not a JSON object: ${(err as Error).message}: invalid argument`)
  }
}

export function toJsonAny(typeUrl: string, value: unknown): { type_url: string; value: Buffer } {
  return { type_url: typeUrl, value: Buffer.from(JSON.stringify(value)) }
}
