// SupplementalGroupsPolicy (critest 1.36 "Security Context SupplementalGroupsPolicy"): Merge, the
// default, adds the groups the image's /etc/group gives the user; Strict keeps exactly the primary
// group and the SupplementalGroups. The first process, an exec'd one and ContainerStatus.user agree.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import type { SupplementalGroupsPolicy } from '../../src/generated/runtime/v1/SupplementalGroupsPolicy.js'
import { eventually, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
let pod: string
let config: PodSandboxConfig
beforeEach(async () => {
  h = await harness()
  config = podConfig('groups-policy', { log_directory: join(h.logDir, 'pods') })
  pod = await runPod(h, config)
})
afterEach(() => h.close())

/** The image critest uses: user default-user (1000) is a member of group-defined-in-image (50000). */
const IMAGE = 'gcr.io/k8s-staging-cri-tools/test-image-predefined-group'

/** Runs `id -G` then sleeps, as uid 1000 with SupplementalGroups [1234] and the policy given. */
async function start(name: string, policy?: SupplementalGroupsPolicy) {
  const id = await runContainer(h, pod, config, {
    metadata: { name, attempt: 0 },
    image: { image: IMAGE },
    command: ['sh', '-c', 'id -G; sleep 3600'],
    linux: {
      security_context: {
        run_as_user: { value: 1000 },
        supplemental_groups: [1234],
        ...(policy !== undefined ? { supplemental_groups_policy: policy } : {}),
      },
    },
    log_path: `${name}.log`,
  })
  const firstLine = await eventually(() => {
    try {
      return (
        readFileSync(join(h.logDir, 'pods', `${name}.log`), 'utf8')
          .split('\n')[0]
          ?.replace(/^\S+ /, '') || undefined
      )
    } catch {
      return undefined
    }
  }, 'the first line of the log')
  const exec = async (cmd: string[]) => (await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })).stdout.toString()
  const { status } = await h.runtime.ContainerStatus({ container_id: id })
  return { id, firstLine, exec, user: status?.user }
}

test('the runtime says it supports the policy', async () => {
  expect((await h.runtime.Status({ verbose: false })).features?.supplemental_groups_policy).toBe(true)
})

test("Strict: the image's /etc/group adds nothing, for the first process, an exec'd one and ContainerStatus.user", async () => {
  const c = await start('strict', 'Strict')
  expect(c.firstLine).toBe('stdout F 1000 1234')
  expect(await c.exec(['id', '-G'])).toBe('1000 1234\n')
  expect(await c.exec(['id'])).toBe('uid=1000(default-user) gid=1000(default-user) groups=1000(default-user),1234(1234)\n')
  expect(await c.exec(['grep', 'Groups:', '/proc/self/status'])).toBe('Groups:\t1000 1234 \n')
  expect(c.user).toEqual({ linux: { uid: '1000', gid: '1000', supplemental_groups: ['1000', '1234'] } })
  const spec = JSON.parse((await h.runtime.ContainerStatus({ container_id: c.id, verbose: true })).info.info!).runtimeSpec
  expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 1234] })
})

test('Merge, named or by default, adds the group the image gives the user', async () => {
  for (const [name, policy] of [
    ['merge', 'Merge'],
    ['default', undefined],
  ] as const) {
    const c = await start(name, policy)
    expect(c.firstLine).toBe('stdout F 1000 1234 50000')
    expect(await c.exec(['id', '-G'])).toBe('1000 1234 50000\n')
    expect(c.user).toEqual({ linux: { uid: '1000', gid: '1000', supplemental_groups: ['1000', '1234', '50000'] } })
  }
})
