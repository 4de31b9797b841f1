// Containers alike share the equal parts of their runtime specs in memory (model/cri/spec.ts): what
// one container's change does must show on that container alone, and a client sees each spec whole
// and its own — in verbose status, through containerd's API, in the state file after a restart.
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { containerConfig, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
  await h.image.PullImage({ image: { image: 'busybox' } })
})
afterEach(() => h.close())

const spec = async (id: string) =>
  JSON.parse((await h.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).runtimeSpec as {
    process: { args: string[]; env: string[]; capabilities: Record<string, string[]>; user: { additionalGids: number[] } }
    linux: { resources: Record<string, unknown>; namespaces: { type: string; path?: string }[] }
  }

test("UpdateContainerResources changes that container's spec only; its twin keeps its own", async () => {
  const config = podConfig('twins')
  const pod = await runPod(h, config)
  const sleeper = containerConfig('a', { command: ['sleep', '3600'] })
  const a = await runContainer(h, pod, config, sleeper)
  const b = await runContainer(h, pod, config, { ...sleeper, metadata: { name: 'b', attempt: 0 } })
  const before = await spec(b)
  expect((await spec(a)).process.capabilities).toEqual(before.process.capabilities)
  expect(before.linux.resources).toEqual({})

  await h.runtime.UpdateContainerResources({ container_id: a, linux: { cpu_shares: 512, memory_limit_in_bytes: 64 << 20 } })
  expect((await spec(a)).linux.resources).toMatchObject({ cpu_shares: '512' })
  expect(await spec(b)).toEqual(before)
  // A third container of the same config starts from the defaults, not from a's change.
  const c = await runContainer(h, pod, config, { ...sleeper, metadata: { name: 'c', attempt: 0 } })
  expect((await spec(c)).linux.resources).toEqual({})
})

test('containers with other security contexts and commands get their own parts', async () => {
  const config = podConfig('apart')
  const pod = await runPod(h, config)
  const plain = await runContainer(h, pod, config, containerConfig('plain', { command: ['sleep', '3600'] }))
  const capped = await runContainer(
    h,
    pod,
    config,
    containerConfig('capped', {
      command: ['sleep', '60'],
      envs: [{ key: 'MODE', value: Buffer.from('x') }],
      linux: { security_context: { capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['CHOWN'] } } },
    }),
  )
  const [p, c] = [await spec(plain), await spec(capped)]
  expect(p.process.args).toEqual(['sleep', '3600'])
  expect(c.process.args).toEqual(['sleep', '60'])
  expect(c.process.env).toContain('MODE=x')
  expect(p.process.env).not.toContain('MODE=x')
  expect(c.process.capabilities.bounding).toContain('CAP_NET_ADMIN')
  expect(c.process.capabilities.bounding).not.toContain('CAP_CHOWN')
  expect(p.process.capabilities.bounding).toContain('CAP_CHOWN')
  expect(p.process.capabilities.bounding).not.toContain('CAP_NET_ADMIN')
})

test('the specs are written whole to the state and come back the same after a restart', async () => {
  const dir = h.logDir
  await h.close()
  h = await harness({ state: join(dir, 'state.json') })
  await h.image.PullImage({ image: { image: 'busybox' } })
  const config = podConfig('kept')
  const pod = await runPod(h, config)
  const ids = [
    await runContainer(h, pod, config, containerConfig('x', { command: ['sleep', '3600'] })),
    await runContainer(h, pod, config, containerConfig('y', { command: ['sleep', '3600'] })),
  ]
  const before = await Promise.all(ids.map(spec))
  await h.fake.restart()
  expect(await Promise.all(ids.map(spec))).toEqual(before)
})
