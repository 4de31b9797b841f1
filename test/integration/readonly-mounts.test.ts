// Read-only CRI mounts as containerd 2 makes them (critest 1.36 "Container Mount Readonly"): a bind
// is recursive, so the host's mounts under host_path come along; `readonly` makes only the bind
// read-only (a host tmpfs under it stays writable), `recursive_read_only` makes them all read-only,
// and the combinations containerd refuses fail CreateContainer in its words.
import { status as Code } from '@grpc/grpc-js'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { Mount } from '../../src/generated/runtime/v1/Mount.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
let pod: string
let config: PodSandboxConfig
let hostPath: string
/** hostPath/tmpfs when the host let the test mount a tmpfs there (root, CAP_SYS_ADMIN), else undefined. */
let tmpfs: string | undefined

/** Mounts a tmpfs on the host as critest does; false where the test may not mount. */
function mountTmpfs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', 'none', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
const canMount = ((): boolean => {
  const dir = mkdtempSync(join(tmpdir(), 'fc-canmount-'))
  const ok = mountTmpfs(dir)
  if (ok) execFileSync('umount', [dir])
  rmSync(dir, { recursive: true, force: true })
  return ok
})()

beforeEach(async () => {
  h = await harness()
  config = podConfig('ro-mounts')
  pod = await runPod(h, config)
  hostPath = mkdtempSync(join(tmpdir(), 'fc-ro-'))
  writeFileSync(join(hostPath, 'top.txt'), 'top\n')
  tmpfs = undefined
  if (canMount) {
    mkdirSync(join(hostPath, 'tmpfs'))
    if (mountTmpfs(join(hostPath, 'tmpfs'))) tmpfs = join(hostPath, 'tmpfs')
  }
})
afterEach(async () => {
  await h.close()
  if (tmpfs) execFileSync('umount', ['-l', tmpfs])
  rmSync(hostPath, { recursive: true, force: true })
})

const mount = (extra: Partial<Mount>): Mount => ({ host_path: hostPath, container_path: '/mnt', ...extra })
const start = (name: string, mounts: Mount[]) => runContainer(h, pod, config, containerConfig(name, { command: ['sleep', '3600'], mounts }))
const create = async (name: string, mounts: Mount[]) => {
  await h.image.PullImage({ image: { image: 'busybox' } })
  return h.runtime.CreateContainer({
    pod_sandbox_id: pod,
    config: containerConfig(name, { command: ['sleep', '60'], mounts }),
    sandbox_config: config,
  })
}
const sh = async (id: string, script: string) => {
  const r = await h.runtime.ExecSync({ container_id: id, cmd: ['sh', '-c', script], timeout: 10 })
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code }
}
const specMounts = async (id: string) =>
  JSON.parse((await h.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).runtimeSpec.mounts as {
    destination: string
    options: string[]
  }[]
/** The /proc/mounts lines of the mounts at and under /mnt: "<target> <fstype> <rw|ro>". */
const mountsUnderMnt = async (id: string) =>
  (await sh(id, 'cat /proc/mounts')).out
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[1] === '/mnt' || f[1]?.startsWith('/mnt/'))
    .map((f) => `${f[1]} ${f[2]} ${f[3]?.split(',')[0]}`)

describe('Status', () => {
  test('every runtime handler, the default one named "" too, supports recursive read-only mounts (not user namespaces)', async () => {
    const { runtime_handlers } = await h.runtime.Status({ verbose: false })
    expect(runtime_handlers.map((r) => [r.name, r.features])).toEqual([
      ['', { recursive_read_only_mounts: true, user_namespaces: false }],
      ['runc', { recursive_read_only_mounts: true, user_namespaces: false }],
    ])
  })
})

describe('readonly', () => {
  test('the bind itself is read-only; the spec says rbind, rprivate, ro', async () => {
    const id = await start('ro', [mount({ readonly: true })])
    expect(await sh(id, 'cat /mnt/top.txt; touch /mnt/new')).toEqual({
      out: 'top\n',
      err: 'touch: /mnt/new: Read-only file system\n',
      code: 1,
    })
    expect(await specMounts(id)).toEqual([{ destination: '/mnt', type: 'bind', source: hostPath, options: ['rbind', 'rprivate', 'ro'] }])
  })

  test.skipIf(!canMount)('a host mount under the bind stays writable: what the container writes there is on the host', async () => {
    const id = await start('ro-sub', [mount({ readonly: true })])
    expect(await mountsUnderMnt(id)).toEqual(['/mnt ext4 ro', '/mnt/tmpfs tmpfs rw'])
    expect(await sh(id, 'echo hi > /mnt/tmpfs/file && cat /mnt/tmpfs/file')).toEqual({ out: 'hi\n', err: '', code: 0 })
    expect(readFileSync(join(hostPath, 'tmpfs', 'file'), 'utf8')).toBe('hi\n')
  })

  test('a writable bind says rw', async () => {
    const id = await start('rw', [mount({})])
    expect(await sh(id, 'echo x > /mnt/new && cat /mnt/new')).toEqual({ out: 'x\n', err: '', code: 0 })
    expect((await specMounts(id))[0]?.options).toEqual(['rbind', 'rprivate', 'rw'])
  })
})

describe('recursive_read_only', () => {
  test.skipIf(!canMount)('the host mounts under the bind are read-only too; the spec says rro', async () => {
    const id = await start('rro', [mount({ readonly: true, recursive_read_only: true })])
    expect(await mountsUnderMnt(id)).toEqual(['/mnt ext4 ro', '/mnt/tmpfs tmpfs ro'])
    expect(await sh(id, 'touch /mnt/tmpfs/foo')).toEqual({ out: '', err: 'touch: /mnt/tmpfs/foo: Read-only file system\n', code: 1 })
    expect((await specMounts(id))[0]?.options).toEqual(['rbind', 'rprivate', 'rro'])
  })

  test('without readonly it conflicts with a writable mount', async () => {
    const err = await grpcError(create('rro-rw', [mount({ readonly: false, recursive_read_only: true })]))
    expect(err.code).toBe(Code.UNKNOWN)
    expect(err.details).toMatch(
      new RegExp(
        `^failed to generate container "[0-9a-f]{64}" spec: failed to apply OCI options: ` +
          `recursive read-only mount conflicts with RW mount \\(hostPath="${hostPath}"\\)$`,
      ),
    )
  })

  test.each(['PROPAGATION_HOST_TO_CONTAINER', 'PROPAGATION_BIDIRECTIONAL'] as const)(
    '%s is refused: it needs private propagation',
    async (p) => {
      const err = await grpcError(create(`rro-${p}`, [mount({ readonly: true, recursive_read_only: true, propagation: p })]))
      expect(err.code).toBe(Code.UNKNOWN)
      expect(err.details).toMatch(
        new RegExp(
          `^failed to generate container "[0-9a-f]{64}" spec: failed to apply OCI options: ` +
            `recursive read-only mount needs private propagation, got "${p}" \\(hostPath="${hostPath}"\\)$`,
        ),
      )
      // Nothing was made: the name is free again.
      const { containers } = await h.runtime.ListContainers({})
      expect(containers).toEqual([])
    },
  )
})
