// Starting from a saved node state or one of the shipped scenarios.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { startFakeContainerd } from '../../src/server.js'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

const open: Harness[] = []
async function start(options: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = await harness(options)
  open.push(h)
  return h
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()))
})

describe('scenarios', () => {
  test('three-running-pods: three ready pods with running containers', async () => {
    const h = await start({ seedState: 'three-running-pods' })
    const pods = (await h.runtime.ListPodSandbox({ filter: null })).items
    expect(pods.map((p) => p.metadata!.name).sort()).toEqual(['api', 'web', 'worker'])
    expect(pods.every((p) => p.state === 'SANDBOX_READY')).toBe(true)
    const running = (await h.runtime.ListContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers
    expect(running).toHaveLength(3)
    // The images came back with them, blobs included, so ctr and CRI agree on them.
    expect((await h.image.ListImages({ filter: null })).images.map((i) => i.repo_tags[0]).sort()).toEqual([
      'docker.io/library/busybox:latest',
      'registry.k8s.io/pause:3.10',
    ])
    const { containerdClients } = await import('../../src/client.js')
    const k8s = containerdClients(h.fake.address, 'k8s.io')
    try {
      const info = await k8s.content.Info({
        digest: (await k8s.images.Get({ name: 'docker.io/library/busybox:latest' })).image!.target!.digest,
      })
      expect(Number(info.info!.size)).toBeGreaterThan(0)
    } finally {
      k8s.close()
    }
  })

  test('crash-looping-pod: the container has exited with 1, and a restart crashes again', async () => {
    const h = await start({ seedState: 'crash-looping-pod' })
    const [app] = (await h.runtime.ListContainers({ filter: null })).containers
    expect((await waitForState(h, app!.id, 'CONTAINER_EXITED')).exit_code).toBe(1)
    const [pod] = (await h.runtime.ListPodSandbox({ filter: null })).items
    const config = { metadata: pod!.metadata!, labels: pod!.labels }
    const retry = await runContainer(
      h,
      pod!.id,
      config,
      containerConfig('app', { metadata: { name: 'app', attempt: 1 }, command: ['sleep', '3600'], labels: { app: 'crashy' } }),
    )
    expect((await waitForState(h, retry, 'CONTAINER_EXITED')).exit_code).toBe(1)
  })

  test('network-not-ready: Status says so and new pods fail network setup', async () => {
    const h = await start({ seedState: 'network-not-ready' })
    const network = (await h.runtime.Status({ verbose: false })).status!.conditions.find((c) => c.type === 'NetworkReady')
    expect(network).toMatchObject({ status: false, reason: 'NetworkPluginNotReady' })
    expect((await grpcError(runPod(h, podConfig('blocked')))).details).toContain('cni plugin not initialized')
  })

  test('empty-node: nothing runs, the sandbox image is there', async () => {
    const h = await start({ seedState: 'empty-node' })
    expect((await h.runtime.ListPodSandbox({ filter: null })).items).toEqual([])
    expect((await h.image.ListImages({ filter: null })).images.map((i) => i.repo_tags)).toEqual([['registry.k8s.io/pause:3.10']])
  })

  test('a saved snapshot is a seed state', async () => {
    const first = await start({})
    const config = podConfig('saved')
    const pod = await runPod(first, config)
    await runContainer(first, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
    const file = join(mkdtempSync(join(tmpdir(), 'fc-seed-')), 'node.json')
    writeFileSync(file, JSON.stringify(first.fake.snapshot()))
    const second = await start({ seedState: file })
    expect((await second.runtime.ListContainers({ filter: null })).containers.map((c) => c.state)).toEqual(['CONTAINER_RUNNING'])
  })

  test('an unknown scenario or a bad file is refused with what there is', async () => {
    await expect(startFakeContainerd({ seedState: 'no-such-scenario' })).rejects.toThrow(
      /cannot read seed state no-such-scenario: .* \(shipped scenarios: crash-looping-pod, empty-node, network-not-ready, three-running-pods\)/,
    )
    const file = join(mkdtempSync(join(tmpdir(), 'fc-seed-')), 'bad.json')
    writeFileSync(file, JSON.stringify({ version: 7 }))
    await expect(startFakeContainerd({ seedState: file })).rejects.toThrow(/schema version 7/)
  })
})
