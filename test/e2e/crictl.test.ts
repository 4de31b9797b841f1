// Real crictl against the fake: every crictl command except exec (streaming), attach and
// port-forward. Runs once for each crictl binary CRICTL names (comma-separated, v1.29 or newer:
// .ci/run installs 1.29 and 1.36); skipped when it names none, except in CI, where that fails.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { crictlPodFile, harness, type Harness } from '../helpers.js'

const CRICTLS = (process.env.CRICTL ?? '').split(',').filter(Boolean)
const run = promisify(execFile)

test.runIf(process.env.CI && CRICTLS.length === 0)('CI names the crictl binaries to test (CRICTL)', () => {
  throw new Error('CRICTL is not set: .ci/run installs crictl from ../shared/tools/cri-tools-*/install.sh and names them in CRICTL')
})

describe.each(CRICTLS)('crictl e2e (%s)', (CRICTL) => {
  let h: Harness
  let podFile: string
  let ctrFile: string
  const crictl = async (...args: string[]) => {
    const { stdout } = await run(CRICTL, ['-r', h.fake.address, '-i', h.fake.address, '--timeout', '10s', ...args], { timeout: 30_000 })
    return stdout.trim()
  }
  const crictlFails = async (...args: string[]) => {
    try {
      await crictl(...args)
    } catch (err) {
      return err as { code: number; stderr: string }
    }
    throw new Error(`crictl ${args.join(' ')} succeeded`)
  }

  beforeAll(async () => {
    h = await harness()
    podFile = crictlPodFile(h.logDir, 'e2e', { labels: { suite: 'e2e' } })
    ctrFile = join(h.logDir, 'ctr.json')
    writeFileSync(
      ctrFile,
      JSON.stringify({
        metadata: { name: 'box' },
        image: { image: 'busybox' },
        command: ['sh', '-c', 'echo hello from crictl; sleep 3600'],
        log_path: 'box/0.log',
        labels: { role: 'box' },
        linux: {},
      }),
    )
  })
  afterAll(() => h?.close())

  test('version, info, runtime-config, imagefsinfo', async () => {
    expect(await crictl('version')).toMatch(/RuntimeName:\s+containerd/)
    const info = JSON.parse(await crictl('info'))
    expect(info.status.conditions.map((c: { type: string }) => c.type)).toEqual(expect.arrayContaining(['RuntimeReady', 'NetworkReady']))
    expect(await crictl('runtime-config')).toMatch(/cgroup driver:\s+SYSTEMD/)
    expect(JSON.parse(await crictl('imagefsinfo')).status.imageFilesystems).toHaveLength(1)
  })

  test('pull, images, inspecti, rmi', async () => {
    expect(await crictl('pull', 'alpine:3.20')).toMatch(/Image is up to date for sha256:[0-9a-f]{64}/)
    expect(await crictl('images')).toMatch(/docker\.io\/library\/alpine\s+3\.20/)
    expect(JSON.parse(await crictl('inspecti', 'alpine:3.20')).status.repoTags).toEqual(['docker.io/library/alpine:3.20'])
    expect(await crictl('rmi', 'alpine:3.20')).toMatch(/Deleted: docker\.io\/library\/alpine:3\.20/)
    expect(await crictl('images', '-q')).not.toMatch(/alpine/)
  })

  test('a whole pod lifecycle: runp, pods, inspectp, create, start, ps, inspect, logs, exec -s, stats, statsp, metricsp, update, checkpoint, stop, rm, stopp, rmp', async () => {
    const pod = await crictl('runp', podFile)
    expect(pod).toMatch(/^[0-9a-f]{64}$/)
    expect(await crictl('pods', '--label', 'suite=e2e', '-q')).toBe(pod)
    const inspectp = JSON.parse(await crictl('inspectp', pod))
    expect(inspectp.status.state).toBe('SANDBOX_READY')
    expect(inspectp.status.network.ip).toMatch(/^10\.88\./)
    expect(inspectp.info.pid).toBeGreaterThan(0) // crictl unfolds containerd's verbose "info" JSON
    expect(inspectp.status.linux.namespaces.options).toMatchObject({ network: 'POD', pid: 'POD', ipc: 'POD' })
    // The pause image's layer is on the image filesystem now, as the snapshotter's usage.
    expect(Number(JSON.parse(await crictl('imagefsinfo')).status.imageFilesystems[0].usedBytes.value)).toBeGreaterThan(0)
    // A second pod of the same name: containerd's registrar error, code Unknown.
    const dup = await crictlFails('runp', podFile)
    expect(dup.stderr.replaceAll('\\"', '"')).toContain(
      `code = Unknown desc = failed to reserve sandbox name "e2e_default_e2e-uid_1": name "e2e_default_e2e-uid_1" is reserved for "${pod}"`,
    )

    await crictl('pull', 'busybox')
    const ctr = await crictl('create', pod, ctrFile, podFile)
    expect(ctr).toMatch(/^[0-9a-f]{64}$/)
    expect(await crictl('ps', '-a', '-q')).toContain(ctr)
    await crictl('start', ctr)
    expect(await crictl('ps', '--state', 'running', '-q')).toBe(ctr)
    const inspect = JSON.parse(await crictl('inspect', ctr))
    expect(inspect.status.state).toBe('CONTAINER_RUNNING')
    expect(existsSync(inspect.status.logPath)).toBe(true)
    expect(await crictl('logs', ctr)).toBe('hello from crictl')
    expect(await crictl('exec', '-s', ctr, 'echo', 'inside')).toBe('inside')
    const failed = await crictlFails('exec', '-s', ctr, 'sh', '-c', 'exit 3')
    expect(failed.stderr).toContain('exited with 3')
    expect(await crictl('stats', '-o', 'json')).toContain(ctr)
    expect(await crictl('statsp', '-o', 'json')).toContain(pod)
    expect(JSON.parse(await crictl('metricsp')).podMetrics[0].podSandboxId).toBe(pod)
    await crictl('update', '--memory', '67108864', ctr)
    expect(JSON.parse(await crictl('inspect', ctr)).status.resources.linux.memoryLimitInBytes).toBe('67108864')
    const archive = join(h.logDir, 'ck.tar')
    await crictl('checkpoint', `--export=${archive}`, ctr)
    expect(readFileSync(archive).subarray(257, 262).toString()).toBe('ustar')

    await crictl('stop', '--timeout', '1', ctr)
    const stopped = JSON.parse(await crictl('inspect', ctr)).status
    expect([stopped.state, stopped.exitCode]).toEqual(['CONTAINER_EXITED', 143])
    await crictl('rm', ctr)
    expect(await crictl('ps', '-a', '-q')).toBe('')
    expect(await crictl('stopp', pod)).toContain(`Stopped sandbox ${pod}`)
    expect(await crictl('rmp', pod)).toContain(`Removed sandbox ${pod}`)
    expect(await crictl('pods', '-q')).toBe('')
  })

  test('run creates pod and container in one go; rm -f and rmp -f clean up', async () => {
    const ctr = await crictl('run', ctrFile, podFile)
    expect(await crictl('ps', '-q')).toBe(ctr)
    await crictl('rm', '-f', ctr)
    await crictl('rmp', '-fa')
    expect(await crictl('pods', '-q')).toBe('')
  })

  test('logs -f follows a container that keeps writing', async () => {
    const loopFile = join(h.logDir, 'loop.json')
    writeFileSync(
      loopFile,
      JSON.stringify({
        metadata: { name: 'loop' },
        image: { image: 'busybox' },
        command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'],
        log_path: 'loop/0.log',
        linux: {},
      }),
    )
    const ctr = await crictl('run', loopFile, podFile)
    const child = execFile(CRICTL, ['-r', h.fake.address, 'logs', '-f', ctr])
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    // Follow until a line written after crictl attached shows up.
    for (let i = 0; i < 100 && !/tick (1[0-9]|[2-9][0-9])/.test(out); i++) await new Promise((r) => setTimeout(r, 50))
    child.kill()
    expect(out).toMatch(/^tick 1$/m)
    expect(out).toMatch(/tick (1[0-9]|[2-9][0-9])/)
    await crictl('rm', '-f', ctr)
    await crictl('rmp', '-fa')
  })

  test('events prints one JSON object per event', async () => {
    const child = execFile(CRICTL, ['-r', h.fake.address, 'events', '-o', 'json'])
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    // crictl gives no sign that it has subscribed: make pods until it reports one.
    let pod = ''
    for (
      let i = 0;
      i < 20 && !(pod && out.includes(pod) && out.includes('CONTAINER_CREATED_EVENT') && out.includes('CONTAINER_DELETED_EVENT'));
      i++
    ) {
      pod = await crictl('runp', podFile)
      await crictl('rmp', '-f', pod)
      for (let j = 0; j < 10 && !out.includes(pod); j++) await new Promise((r) => setTimeout(r, 50))
    }
    child.kill()
    expect(out).toContain('CONTAINER_CREATED_EVENT')
    expect(out).toContain('CONTAINER_DELETED_EVENT')
    expect(out).toContain(pod)
  })
})
