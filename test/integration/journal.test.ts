// The journal over the socket: what it says a call carried is what went over the wire at the time,
// whatever the node does after, and a large message is still cut to a summary.
import { afterEach, expect, test } from 'vitest'
import { SUMMARY_BYTES } from '../../src/journal/journal.js'
import * as grpc from '@grpc/grpc-js'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
afterEach(async () => {
  await h.close()
})

test('a recorded response is the one the client got, and stays so after the node changes', async () => {
  h = await harness()
  const config = podConfig('journal-pod', { labels: { tier: 'web' } })
  const podId = await runPod(h, config)
  const got = await h.runtime.PodSandboxStatus({ pod_sandbox_id: podId, verbose: false })
  const request = { pod_sandbox_id: podId, verbose: false }
  await h.runtime.StopPodSandbox({ pod_sandbox_id: podId })
  await h.runtime.RemovePodSandbox({ pod_sandbox_id: podId })
  const [entry] = h.fake.calls('PodSandboxStatus')
  expect(entry!.request).toEqual(request)
  expect(entry!.response).toEqual(got)
  expect((entry!.response as typeof got).status!.state).toBe('SANDBOX_READY')
  // An entry reads the same however often it is read, and as JSON.
  expect(JSON.parse(JSON.stringify(h.fake.calls('PodSandboxStatus')[0]))).toMatchObject({
    method: 'PodSandboxStatus',
    response: { status: { id: podId } },
  })
  expect(h.fake.calls('RunPodSandbox')[0]!.request).toMatchObject({
    config: { metadata: { name: 'journal-pod' }, labels: { tier: 'web' } },
  })
})

test('a response too large to keep as it was sent is summarized: its byte field cut, with its length', async () => {
  h = await harness()
  const config = podConfig('journal-big')
  const podId = await runPod(h, config)
  const id = await runContainer(h, podId, config, containerConfig('big', { command: ['sleep', '3600'] }))
  const res = await h.runtime.ExecSync({ container_id: id, cmd: ['sh', '-c', 'yes | head -n 50000'], timeout: '10' })
  expect(res.stdout.length).toBe(100_000)
  const response = h.fake.calls('ExecSync')[0]!.response as { stdout: { cutBytes: number; head: Buffer } }
  expect(response.stdout.cutBytes).toBe(100_000)
  expect(response.stdout.head.length).toBe(SUMMARY_BYTES)
})

test("a reply over the 16 MiB send limit fails with grpc-go's text, and the journal says what the client got", async () => {
  h = await harness()
  const config = podConfig('journal-cap')
  const podId = await runPod(h, config)
  const id = await runContainer(h, podId, config, containerConfig('cap', { command: ['sleep', '3600'] }))
  const err = await grpcError(
    h.runtime.ExecSync({ container_id: id, cmd: ['dd', 'if=/dev/zero', 'bs=1048576', 'count=17'], timeout: '30' }),
  )
  expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
  expect(err.details).toMatch(/^grpc: trying to send message larger than max \(1677\d{4} vs\. 16777216\)$/)
  const [entry] = h.fake.calls('ExecSync')
  expect(entry!.status).toEqual({ code: err.code, details: err.details })
  expect(entry!.response).toBeUndefined()
})

test('what a read returns is not kept: changing it does not change the next read', async () => {
  h = await harness({ journalBytes: 256 * 1024 })
  await runPod(h, podConfig('journal-read'))
  const first = h.fake.calls('RunPodSandbox')[0]!.request as { config: { metadata: { name: string } } }
  first.config.metadata.name = 'changed'
  expect(h.fake.calls('RunPodSandbox')[0]!.request).toMatchObject({ config: { metadata: { name: 'journal-read' } } })
})

test('a request that decodes to far more than it was sent costs the journal its bytes, however often it is read', async () => {
  // 2,000 empty mounts: 4 KB on the wire, each read back with all its defaults.
  h = await harness({ journalBytes: 256 * 1024, journalSize: 1000 })
  const crafted = { pod_sandbox_id: 'nope', config: { metadata: { name: 'c' }, mounts: Array.from({ length: 2000 }, () => ({})) } }
  for (let i = 0; i < 200; i++) await grpcError(h.runtime.CreateContainer(crafted as never))
  const before = h.fake.journal.bytes
  const entries = h.fake.calls('CreateContainer')
  // Read every entry, twice, as GetJournal and a test would.
  for (let round = 0; round < 2; round++)
    for (const e of h.fake.calls('CreateContainer'))
      expect((e.request as { config: { mounts: unknown[] } }).config.mounts).toHaveLength(101)
  expect(h.fake.journal.bytes).toBe(before)
  expect(before).toBeLessThanOrEqual(256 * 1024)
  // Each entry is counted as at least its bytes on the wire: the budget holds about as many as fit.
  expect(entries.length).toBeLessThan((256 * 1024) / 4000)
  expect(h.fake.calls('CreateContainer')).toHaveLength(entries.length)
})

test('a journal listener that throws does not fail the call, nor record it twice, with or without a fault', async () => {
  h = await harness()
  h.fake.journal.onRecord(() => {
    throw new Error('listener bug')
  })
  await h.runtime.Version({ version: '' })
  h.fake.faults.use({ method: 'Version', delay: 1 })
  await h.runtime.Version({ version: '' })
  expect(h.fake.calls('Version').map((e) => e.status.code)).toEqual([0, 0])
})
