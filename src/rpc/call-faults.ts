// Call faults as the adapter applies them around a handler: wait, hang, drop the connection,
// fail with a status, or pace a stream.
import type { CallFault, Delay } from '../faults/rule.js'
import { statusCode } from '../faults/rule.js'
import { InjectedFault } from './status.js'

export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })

export const pick = (d: Delay, random: () => number = Math.random): number =>
  typeof d === 'number' ? d : d.min + (d.max - d.min) * random()

/** The HTTP/2 session under a grpc-js server call (grpc-js keeps it in internals). */
function sessionOf(call: object): { destroy(): void } | undefined {
  let node: unknown = call
  for (let depth = 0; depth < 4 && node && typeof node === 'object'; depth++) {
    const stream = (node as { stream?: { session?: { destroy(): void } } }).stream
    if (stream?.session) return stream.session
    node = (node as { call?: unknown; nextCall?: unknown }).call ?? (node as { nextCall?: unknown }).nextCall
  }
  return undefined
}

/**
 * Applies a call fault before the implementation runs: wait, hang, drop the connection, or fail.
 * Resolves when the call should go on; rejects with the status to answer; "dropped" when there
 * is nothing left to answer. Given the call's abort signal rather than its context, so that this
 * module needs nothing of the adapter's (which imports it).
 */
export async function preamble(fault: CallFault | undefined, signal: AbortSignal, call: object): Promise<'go' | 'dropped'> {
  if (!fault) return 'go'
  if (fault.delay !== undefined) await sleep(pick(fault.delay), signal)
  if (fault.hang) {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    return 'dropped'
  }
  if (fault.drop) {
    sessionOf(call)?.destroy()
    return 'dropped'
  }
  if (fault.error !== undefined)
    throw new InjectedFault(statusCode(fault.error), fault.message ?? `fault injected by fake-containerd`, fault.trailers ?? {})
  return 'go'
}
