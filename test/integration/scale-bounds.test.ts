// What must not grow with the number of containers, and the indexes that keep lookups from scanning
// every record: a bounded number of open log files (the logs still land in the right file), the
// names CRI reserves freed and taken again through remove, reset and restore, ids by prefix.
import { existsSync, readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { OPEN_LOGS } from '../../src/model/runtime/logs.js'
import {
  containerConfig,
  eventually,
  grpcError,
  harness,
  logLines,
  podConfig,
  runContainer,
  runPod,
  waitForState,
  type Harness,
} from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
  await h.image.PullImage({ image: { image: 'busybox' } })
})
afterEach(() => h.close())

const openFds = () => readdirSync('/proc/self/fd').length

describe('open files', () => {
  test('many running containers with log files keep a bounded number of descriptors, and each log gets its lines', async () => {
    h.fake.clock.freeze(true)
    const config = podConfig('many', { log_directory: join(h.logDir, 'many') })
    const pod = await runPod(h, config)
    const before = openFds()
    const talker = (name: string) =>
      runContainer(
        h,
        pod,
        config,
        containerConfig(name, { command: ['sh', '-c', 'echo first; sleep 10; echo second'], log_path: `${name}.log` }),
      )
    const rotated = await talker('rotated')
    const kept = await talker('kept')
    const count = OPEN_LOGS + 120
    for (let i = 0; i < count; i++) {
      await runContainer(h, pod, config, containerConfig(`sleeper-${i}`, { command: ['sleep', '3600'], log_path: `sleeper-${i}.log` }))
    }
    // Every container has its file, but far fewer descriptors are open than there are files.
    expect(readdirSync(join(h.logDir, 'many')).length).toBe(count + 2)
    expect(openFds() - before).toBeLessThan(OPEN_LOGS + 40)

    // A log rotator renames the first talker's file (its descriptor long given up) and has not asked
    // for ReopenContainerLog yet: the next line goes to the renamed file, as containerd's open one would.
    const rotatedPath = join(h.logDir, 'many', 'rotated.log')
    await eventually(() => (existsSync(rotatedPath) && logLines(rotatedPath).length === 1 ? true : undefined), 'first line')
    renameSync(rotatedPath, `${rotatedPath}.1`)
    h.fake.clock.advance(10_000)
    await waitForState(h, rotated, 'CONTAINER_EXITED')
    await waitForState(h, kept, 'CONTAINER_EXITED')
    expect(logLines(`${rotatedPath}.1`)).toEqual(['stdout F first', 'stdout F second'])
    expect(existsSync(rotatedPath)).toBe(false)
    expect(logLines(join(h.logDir, 'many', 'kept.log'))).toEqual(['stdout F first', 'stdout F second'])
    expect(openFds() - before).toBeLessThan(OPEN_LOGS + 40)
  }, 120_000)

  test('ReopenContainerLog after the descriptor was given up starts the new file, and later lines go there', async () => {
    h.fake.clock.freeze(true)
    const config = podConfig('reopen', { log_directory: join(h.logDir, 'reopen') })
    const pod = await runPod(h, config)
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('r', { command: ['sh', '-c', 'echo one; sleep 10; echo two'], log_path: 'r.log' }),
    )
    for (let i = 0; i < OPEN_LOGS + 10; i++) {
      await runContainer(h, pod, config, containerConfig(`s-${i}`, { command: ['sleep', '3600'], log_path: `s-${i}.log` }))
    }
    const path = join(h.logDir, 'reopen', 'r.log')
    await eventually(() => (existsSync(path) && logLines(path).length === 1 ? true : undefined), 'first line')
    renameSync(path, `${path}.1`)
    await h.runtime.ReopenContainerLog({ container_id: id })
    h.fake.clock.advance(10_000)
    await waitForState(h, id, 'CONTAINER_EXITED')
    expect(logLines(`${path}.1`)).toEqual(['stdout F one'])
    expect(logLines(path)).toEqual(['stdout F two'])
  }, 120_000)
})

describe('indexes', () => {
  const reserved = async (p: Promise<unknown>) => (await grpcError(p)).details

  test('a name is reserved while its holder exists and free once it is removed', async () => {
    const config = podConfig('named')
    const pod = await runPod(h, config)
    expect(await reserved(h.runtime.RunPodSandbox({ config }))).toMatch(
      /^failed to reserve sandbox name ".*": name ".*" is reserved for ".*"$/,
    )
    const first = await runContainer(h, pod, config, containerConfig('c', { command: ['sleep', '60'] }), false)
    expect(
      await reserved(h.runtime.CreateContainer({ pod_sandbox_id: pod, config: containerConfig('c'), sandbox_config: config })),
    ).toContain(first)
    await h.runtime.RemoveContainer({ container_id: first })
    const second = await runContainer(h, pod, config, containerConfig('c', { command: ['sleep', '60'] }), false)
    expect(second).not.toBe(first)
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
    // The pod's containers went with it: both names are free again.
    const again = await runPod(h, config)
    await runContainer(h, again, config, containerConfig('c', { command: ['sleep', '60'] }), false)
    expect((await h.runtime.ListContainers({ filter: { pod_sandbox_id: again } })).containers).toHaveLength(1)
    expect((await h.runtime.ListContainers({ filter: { pod_sandbox_id: pod } })).containers).toHaveLength(0)
  })

  test('reset and restore: the names, ids and IPs of the state that is back are the ones in use', async () => {
    const config = podConfig('kept')
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('c', { command: ['sleep', '60'] }))
    const ip = (await h.runtime.PodSandboxStatus({ pod_sandbox_id: pod })).status!.network!.ip
    const saved = h.fake.snapshot()
    h.fake.reset()
    expect(await reserved(h.runtime.ContainerStatus({ container_id: c }))).toBe(
      `an error occurred when try to find container "${c}": not found`,
    )
    // After a reset nothing holds the name or the address.
    const fresh = await runPod(h, config)
    expect((await h.runtime.PodSandboxStatus({ pod_sandbox_id: fresh })).status!.network!.ip).toBe(ip)
    // Reset again: the allocator starts from the first address, the one the pod being restored holds.
    h.fake.reset()
    h.fake.restore(saved)
    expect((await h.runtime.ContainerStatus({ container_id: c.slice(0, 12) })).status!.id).toBe(c)
    expect((await h.runtime.ListContainers({ filter: { pod_sandbox_id: pod.slice(0, 8) } })).containers.map((x) => x.id)).toEqual([c])
    expect(await reserved(h.runtime.RunPodSandbox({ config }))).toContain(pod)
    // The restored pod holds its address: the next pod gets another.
    const other = await runPod(h, podConfig('other'))
    expect((await h.runtime.PodSandboxStatus({ pod_sandbox_id: other })).status!.network!.ip).not.toBe(ip)
  })

  test('a state where two pods hold one IP and one name: removing one frees neither while the other holds it', async () => {
    const config = podConfig('twin')
    const pod = await runPod(h, config)
    const ip = (await h.runtime.PodSandboxStatus({ pod_sandbox_id: pod })).status!.network!.ip
    const state = h.fake.snapshot()
    const twin = structuredClone(state.containers[pod]!)
    twin.id = 'f'.repeat(64)
    state.containers[twin.id] = twin
    h.fake.reset()
    h.fake.restore(state)
    // The first holder goes; the twin keeps the address and the name.
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
    expect((await h.runtime.PodSandboxStatus({ pod_sandbox_id: twin.id })).status!.network!.ip).toBe(ip)
    expect(await reserved(h.runtime.RunPodSandbox({ config }))).toContain(twin.id)
    const other = await runPod(h, podConfig('other'))
    expect((await h.runtime.PodSandboxStatus({ pod_sandbox_id: other })).status!.network!.ip).not.toBe(ip)
  })

  test('ids by prefix: unique prefixes resolve, ambiguous ones are refused in containerd words, removed ids are gone', async () => {
    const config = podConfig('prefixes')
    const pod = await runPod(h, config)
    const ids: string[] = []
    for (let i = 0; i < 40; i++) ids.push(await runContainer(h, pod, config, containerConfig(`p${i}`, { command: ['sleep', '60'] }), false))
    for (const id of ids) expect((await h.runtime.ContainerStatus({ container_id: id.slice(0, 10) })).status!.id).toBe(id)
    // 40 random hex ids share a first character somewhere: that prefix names more than one.
    const shared = [...new Set(ids.map((id) => id[0]))].find((ch) => ids.filter((id) => id[0] === ch).length > 1)!
    expect(await reserved(h.runtime.ContainerStatus({ container_id: shared }))).toBe(
      `an error occurred when try to find container "${shared}": Multiple IDs found with provided prefix: ${shared}`,
    )
    // A prefix with a space names nothing (containerd's truncindex refuses spaces only in the ids it adds).
    expect(await reserved(h.runtime.ContainerStatus({ container_id: `${shared} ` }))).toBe(
      `an error occurred when try to find container "${shared} ": not found`,
    )
    // A filter with an ambiguous id matches nothing, as containerd's.
    expect((await h.runtime.ListContainers({ filter: { id: shared } })).containers).toHaveLength(0)
    await h.runtime.RemoveContainer({ container_id: ids[0]! })
    expect(await reserved(h.runtime.ContainerStatus({ container_id: ids[0]!.slice(0, 10) }))).toBe(
      `an error occurred when try to find container "${ids[0]!.slice(0, 10)}": not found`,
    )
    expect((await h.runtime.ListContainers({ filter: { id: ids[1]!.slice(0, 10) } })).containers.map((c) => c.id)).toEqual([ids[1]])
  })
})
