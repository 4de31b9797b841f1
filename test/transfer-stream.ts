// Containerd 2.x's Streaming service as the 2.x Go client speaks it, for tests of Transfer: a stream
// opened with its handshake, and bytes sent on an import stream within the server's window credit.
import type { ClientDuplexStream } from '@grpc/grpc-js'
import { expect } from 'vitest'
import type { ContainerdClients } from '../src/client.js'
import { decodeMessage, encodeMessage } from '../src/proto/load.js'

export type AnyMessage = { type_url: string; value: Buffer }
export const T = 'containerd.types.transfer.'
export const any = (type: string, value: Record<string, unknown>): AnyMessage => ({ type_url: type, value: encodeMessage(type, value) })

export type OpenStream = { call: ClientDuplexStream<AnyMessage, AnyMessage>; next(): Promise<AnyMessage | undefined> }

/** Opens a stream and waits for the server's ack, as the Go client's stream creator does. */
export async function openStream(ctr: ContainerdClients, id: string, namespace = 'default'): Promise<OpenStream> {
  const call = ctr.streaming.Stream({ metadata: { 'containerd-namespace': namespace } }) as unknown as ClientDuplexStream<
    AnyMessage,
    AnyMessage
  >
  const queue: (AnyMessage | undefined)[] = []
  const waiters: ((m: AnyMessage | undefined) => void)[] = []
  const push = (m: AnyMessage | undefined): void => {
    const w = waiters.shift()
    if (w) w(m)
    else queue.push(m)
  }
  call.on('data', (m: AnyMessage) => push(m))
  call.on('end', () => push(undefined))
  call.on('error', () => push(undefined))
  const next = (): Promise<AnyMessage | undefined> => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)))
  call.write(any('containerd.services.streaming.v1.StreamInit', { id }))
  const ack = await next()
  expect(ack?.type_url).toBe('google.protobuf.Empty')
  return { call, next }
}

/** Sends bytes on an import stream: the server grants credit first; pieces no larger than it allows; then the end. */
export async function sendBytes(input: OpenStream, bytes: Buffer): Promise<void> {
  let credit = 0
  let sent = 0
  while (sent < bytes.length) {
    while (credit <= 0) {
      const m = await input.next()
      expect(m?.type_url).toBe(`${T}WindowUpdate`)
      credit += Number(decodeMessage(`${T}WindowUpdate`, m!.value).update)
    }
    const n = Math.min(32 * 1024, credit, bytes.length - sent)
    input.call.write(any(`${T}Data`, { data: bytes.subarray(sent, sent + n) }))
    sent += n
    credit -= n
  }
  input.call.end()
}
