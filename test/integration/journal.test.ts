// The journal over the socket: what it says a call carried is what went over the wire at the time,
// whatever the node does after, and a large message is still cut to a summary.
import { afterEach, expect, test } from 'vitest'
import { SUMMARY_BYTES } from '../../src/journal/journal.js'
import { containerConfig, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

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
