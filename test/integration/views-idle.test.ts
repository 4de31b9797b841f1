// Sleeping containers keep no filesystem view (model/runtime/views.ts): none is built until something
// reads the container's own files (what only the image holds is read through a view the containers
// of the image share), a view nothing changed is let go once newer ones were built, and built again,
// the same, when next needed. What a container sees and wrote is what it would be had its view been
// kept all along.
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import type { ContainerConfig } from '../../src/generated/runtime/v1/ContainerConfig.js'
import { IDLE_VIEWS } from '../../src/model/runtime/views.js'
import { containerConfig, eventually, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

const exec = async (id: string, cmd: string[]) => {
  const r = await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code }
}

/** A pod with one container running `command`; its container's id. */
async function podWith(name: string, command: string[], extra: Partial<ContainerConfig> = {}): Promise<string> {
  const config: PodSandboxConfig = podConfig(name, { hostname: `${name}-host`, log_directory: join(h.logDir, name) })
  const pod = await runPod(h, config)
  return runContainer(h, pod, config, containerConfig('c', { command, ...extra }))
}

/** More sleeping pods than the views kept: every view built before them that nothing changed is let go. */
async function crowd(tag: string): Promise<void> {
  for (let i = 0; i < IDLE_VIEWS + 4; i++) await podWith(`${tag}-${i}`, ['sleep', '3600'])
}

describe('views of sleeping containers', () => {
  test('are never built for pods and containers nothing reads: the image is read through a view they share', async () => {
    await crowd('none')
    // RunPodSandbox, CreateContainer (its user's groups) and StartContainer (the executable) read
    // the image's files only, and did so on one shared view.
    expect(h.fake.node.views.built).toBe(0)
  })

  test('are not kept: the views held stay bounded whatever the number of sleeping containers read', async () => {
    for (let i = 0; i < IDLE_VIEWS + 4; i++) {
      const id = await podWith(`idle-${i}`, ['sleep', '3600'])
      expect((await exec(id, ['cat', '/etc/hostname'])).out).toBe(`idle-${i}-host\n`)
    }
    const views = h.fake.node.views
    // Each exec read its container's own files (its pod's /etc/hostname); only the last few views are still held.
    expect(views.built).toBeGreaterThan(IDLE_VIEWS)
    expect(views.live).toBeLessThanOrEqual(IDLE_VIEWS)
  })

  test('a view built again is the same: file times, the pod files, hostname, mounts', async () => {
    h.fake.clock.freeze(true)
    const id = await podWith('same', ['sleep', '3600'], { linux: { security_context: { readonly_rootfs: true } } })
    const look = ['sh', '-c', 'stat -c %Y /etc/passwd /dev/null /sys; cat /etc/hostname; hostname; cat /proc/mounts | wc -l']
    const before = await exec(id, look)
    h.fake.clock.advance(10_000)
    await crowd('same')
    expect(await exec(id, look)).toEqual(before)
    expect((await exec(id, ['touch', '/x'])).code).not.toBe(0)
  })

  test('what a container wrote stays, whether an exec or its sleeping process wrote it after its view was let go', async () => {
    h.fake.clock.freeze(true)
    const late = await podWith('late', ['sh', '-c', 'sleep 100; echo late > /late; sleep 3600'])
    const wrote = await podWith('wrote', ['sleep', '3600'])
    expect((await exec(wrote, ['sh', '-c', 'echo kept > /kept'])).code).toBe(0)
    await crowd('write')
    h.fake.clock.advance(100_000)
    expect(await eventually(async () => (await exec(late, ['cat', '/late'])).out || undefined, 'the sleeping process to write /late')).toBe(
      'late\n',
    )
    expect((await exec(wrote, ['cat', '/kept'])).out).toBe('kept\n')
  })
})
