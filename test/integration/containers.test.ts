import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, onTestFinished, test } from 'vitest'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
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
let pod: string
let config: PodSandboxConfig
beforeEach(async () => {
  h = await harness()
  config = podConfig('pod', { log_directory: join(h.logDir, 'default_pod_uid') })
  pod = await runPod(h, config)
  await h.image.PullImage({ image: { image: 'busybox' } })
})
afterEach(() => h.close())

const status = async (id: string) => (await h.runtime.ContainerStatus({ container_id: id, verbose: false })).status!
const info = async (id: string) => JSON.parse((await h.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!)

describe('lifecycle', () => {
  test('create → CREATED, start → RUNNING, stop → EXITED, remove → gone; with timestamps', async () => {
    const id = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }), false)
    let s = await status(id)
    expect(s).toMatchObject({ id, state: 'CONTAINER_CREATED', started_at: '0', finished_at: '0', metadata: { name: 'app', attempt: 0 } })
    expect(BigInt(s.created_at)).toBeGreaterThan(0n)
    await h.runtime.StartContainer({ container_id: id })
    s = await status(id)
    expect(s.state).toBe('CONTAINER_RUNNING')
    expect(BigInt(s.started_at)).toBeGreaterThanOrEqual(BigInt(s.created_at))
    await h.runtime.StopContainer({ container_id: id, timeout: 10 })
    s = await status(id)
    // In a pod-shared PID namespace sleep is not PID 1, so SIGTERM's default action kills it.
    expect(s).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 143, reason: 'Error' })
    expect(BigInt(s.finished_at)).toBeGreaterThanOrEqual(BigInt(s.started_at))
    await h.runtime.RemoveContainer({ container_id: id })
    expect((await grpcError(h.runtime.ContainerStatus({ container_id: id, verbose: false }))).details).toBe(
      `an error occurred when try to find container "${id}": not found`,
    )
  })

  test('status has image tag, repo digest image_ref, image id and the process user', async () => {
    const id = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '60'] }))
    const s = await status(id)
    expect(s.image!.image).toBe('docker.io/library/busybox:latest')
    expect(s.image_ref).toMatch(/^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/)
    expect(s.image_id).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(s.user!.linux).toMatchObject({ uid: '0', gid: '0' })
    const listed = (await h.runtime.ListContainers({ filter: null })).containers[0]!
    expect(listed).toMatchObject({
      id,
      pod_sandbox_id: pod,
      image: { image: 'busybox' },
      image_ref: s.image_id,
      state: 'CONTAINER_RUNNING',
    })
  })

  test('a quick command runs to completion: Completed with exit 0, or Error with its code', async () => {
    const ok = await runContainer(h, pod, config, containerConfig('ok', { command: ['echo', 'hi'] }))
    expect(await waitForState(h, ok, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 0, reason: 'Completed' })
    const bad = await runContainer(h, pod, config, containerConfig('bad', { command: ['sh', '-c', 'exit 3'] }))
    expect(await waitForState(h, bad, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 3, reason: 'Error' })
  })

  test("StartContainer only from CREATED, with containerd's text", async () => {
    const id = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '60'] }))
    const err = await grpcError(h.runtime.StartContainer({ container_id: id }))
    expect(err.details).toBe(`failed to set starting state for container "${id}": container is in CONTAINER_RUNNING state`)
    await h.runtime.StopContainer({ container_id: id, timeout: 0 })
    expect((await grpcError(h.runtime.StartContainer({ container_id: id }))).details).toContain('container is in CONTAINER_EXITED state')
  })

  test('RemoveContainer force-stops a running container; stop and remove of unknown ids succeed', async () => {
    const id = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '60'] }))
    await h.runtime.RemoveContainer({ container_id: id })
    expect((await h.runtime.ListContainers({ filter: null })).containers).toEqual([])
    await h.runtime.StopContainer({ container_id: 'feedbeef', timeout: 1 })
    await h.runtime.RemoveContainer({ container_id: 'feedbeef' })
  })

  test("container names are reserved per sandbox with containerd's text", async () => {
    const first = await runContainer(h, pod, config, containerConfig('app'), false)
    const err = await grpcError(h.runtime.CreateContainer({ pod_sandbox_id: pod, config: containerConfig('app'), sandbox_config: config }))
    expect(err.code).toBe(2) // Unknown, as containerd 1.6 to 2.2
    expect(err.details).toBe(
      `failed to reserve container name "app_pod_default_uid-pod_0": name "app_pod_default_uid-pod_0" is reserved for "${first}"`,
    )
    await runContainer(h, pod, config, containerConfig('app', { metadata: { name: 'app', attempt: 1 } }), false)
  })

  test('CreateContainer needs the image locally and a known sandbox', async () => {
    const noImage = await grpcError(
      h.runtime.CreateContainer({
        pod_sandbox_id: pod,
        config: containerConfig('x', { image: { image: 'nginx:1.99' } }),
        sandbox_config: config,
      }),
    )
    expect(noImage.code).toBe(5)
    expect(noImage.details).toBe('failed to resolve image "nginx:1.99": not found')
    const noPod = await grpcError(
      h.runtime.CreateContainer({ pod_sandbox_id: 'deadbeef', config: containerConfig('x'), sandbox_config: config }),
    )
    expect(noPod.code).toBe(5)
    expect(noPod.details).toBe('failed to find sandbox id "deadbeef": not found')
  })

  test('RunAsGroup without RunAsUser is refused', async () => {
    const err = await grpcError(
      h.runtime.CreateContainer({
        pod_sandbox_id: pod,
        config: containerConfig('grp', { linux: { security_context: { run_as_group: { value: 1000 } } } }),
        sandbox_config: config,
      }),
    )
    expect(err.code).toBe(3)
    expect(err.details).toBe('failed to generate user string: user group "1000" is specified without user')
  })
})

describe('mounts', () => {
  test("a symlinked host_path is the link's target in the runtime spec's source, as containerd 2.1 writes it; the CRI status keeps it as given", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-mountlink-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'real'))
    symlinkSync(join(dir, 'real'), join(dir, 'link'))
    const missing = join(dir, 'nowhere')
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('linked', {
        command: ['sleep', '3600'],
        mounts: [
          { container_path: '/data', host_path: join(dir, 'link') },
          { container_path: '/other', host_path: missing },
        ],
      }),
      false,
    )
    const mounts = (await info(id)).runtimeSpec.mounts as { destination: string; source: string }[]
    expect(mounts.find((m) => m.destination === '/data')?.source).toBe(realpathSync(join(dir, 'real')))
    expect(mounts.find((m) => m.destination === '/other')?.source).toBe(existsSync(missing) ? realpathSync(missing) : missing)
    expect((await status(id)).mounts.map((m) => m.host_path)).toEqual([join(dir, 'link'), missing])
  })
})

describe('image config merged with container config', () => {
  test('entrypoint/cmd, env, working dir and user follow the Kubernetes rules', async () => {
    await h.image.PullImage({ image: { image: 'nginx' } })
    const plain = await runContainer(h, pod, config, containerConfig('plain', { image: { image: 'nginx' } }), false)
    const spec = (await info(plain)).runtimeSpec
    expect(spec.process.args).toEqual(['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'])
    expect(spec.process.env).toEqual(expect.arrayContaining([expect.stringMatching(/^NGINX_VERSION=/), expect.stringMatching(/^PATH=/)]))
    const args = await runContainer(h, pod, config, containerConfig('args', { image: { image: 'nginx' }, args: ['nginx-debug'] }), false)
    expect((await info(args)).runtimeSpec.process.args).toEqual(['/docker-entrypoint.sh', 'nginx-debug'])
    const command = await runContainer(
      h,
      pod,
      config,
      containerConfig('cmd', {
        image: { image: 'nginx' },
        command: ['/bin/sh'],
        args: ['-c', 'true'],
        working_dir: '/srv',
        envs: [
          { key: 'NGINX_VERSION', value: Buffer.from('custom') },
          { key: 'EXTRA', value: Buffer.from('1') },
        ],
        linux: { security_context: { run_as_user: { value: 101 }, run_as_group: { value: 102 } } },
      }),
      false,
    )
    const s = (await info(command)).runtimeSpec
    expect(s.process.args).toEqual(['/bin/sh', '-c', 'true'])
    expect(s.process.cwd).toBe('/srv')
    expect(s.process.env).toEqual(expect.arrayContaining(['NGINX_VERSION=custom', 'EXTRA=1']))
    expect(s.process.env.filter((e: string) => e.startsWith('NGINX_VERSION='))).toHaveLength(1)
    expect(s.process.user).toMatchObject({ uid: 101, gid: 102 })
    expect((await status(command)).user!.linux).toMatchObject({ uid: '101', gid: '102' })
  })

  test('the image stop signal is used, unless the container config sets one', async () => {
    await h.image.PullImage({ image: { image: 'nginx' } })
    const id = await runContainer(h, pod, config, containerConfig('web', { image: { image: 'nginx' } }), false)
    expect((await status(id)).stop_signal).toBe('SIGQUIT')
    const other = await runContainer(h, pod, config, containerConfig('web2', { image: { image: 'nginx' }, stop_signal: 'SIGUSR1' }), false)
    expect((await status(other)).stop_signal).toBe('SIGUSR1')
    const plain = await runContainer(h, pod, config, containerConfig('plain'), false)
    expect((await status(plain)).stop_signal).toBe('SIGTERM')
  })
})

describe('stopping', () => {
  test('a PID-1 process without a TERM handler ignores SIGTERM and is killed after the timeout (137)', async () => {
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('pid1', { command: ['sleep', '3600'], linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } } }),
    )
    await h.runtime.StopContainer({ container_id: id, timeout: 1 })
    expect(await status(id)).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 137 })
  })

  test('a long-running service exits cleanly on its stop signal', async () => {
    await h.image.PullImage({ image: { image: 'nginx' } })
    const id = await runContainer(h, pod, config, containerConfig('web', { image: { image: 'nginx' } }))
    await h.runtime.StopContainer({ container_id: id, timeout: 5 })
    expect(await status(id)).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 0, reason: 'Completed' })
  })

  test('timeout 0 kills at once', async () => {
    const id = await runContainer(h, pod, config, containerConfig('now', { command: ['sleep', '3600'] }))
    await h.runtime.StopContainer({ container_id: id, timeout: 0 })
    expect(await status(id)).toMatchObject({ exit_code: 137 })
  })
})

describe('CRI log lines', () => {
  test("as containerd's logger writes them: 16 KiB of bytes per entry, \\r\\n dropped, an unterminated end partial", async () => {
    // 6,000 three-byte characters: 18,000 bytes, past one entry's 16,384.
    const script = 'printf "%s\\n" "$LONG"; printf "dos\\r\\n"; printf "no newline"'
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('lines', {
        command: ['sh', '-c', script],
        envs: [{ key: 'LONG', value: Buffer.from('€'.repeat(6000)) }],
        log_path: 'lines/0.log',
      }),
    )
    await waitForState(h, id, 'CONTAINER_EXITED')
    const entries = readFileSync((await status(id)).log_path)
      .toString('latin1')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ /, ''))
    const long = Buffer.from('€'.repeat(6000))
    expect(entries.map((e) => e.slice(0, 9))).toEqual(['stdout P ', 'stdout F ', 'stdout F ', 'stdout P '])
    expect(Buffer.from(entries[0]!.slice(9), 'latin1')).toEqual(long.subarray(0, 16 * 1024))
    expect(Buffer.from(entries[1]!.slice(9), 'latin1')).toEqual(long.subarray(16 * 1024))
    expect(entries.slice(2)).toEqual(['stdout F dos', 'stdout P no newline'])
  })
})

describe('memory limits', () => {
  const stress = (name: string, limit: string, args: string[]) =>
    containerConfig(name, {
      image: { image: 'polinux/stress' },
      command: ['stress'],
      args,
      log_path: `${name}/0.log`,
      linux: { resources: { memory_limit_in_bytes: limit } },
    })

  test('a process allocating past the limit is OOM-killed: 137, OOMKilled, and containerd says /tasks/oom', async () => {
    const topics: string[] = []
    h.fake.node.events.envelopes.subscribe((e) => topics.push(e.topic))
    // The Kubernetes docs' example: 100 MiB limit, stress allocating 250 MiB.
    const id = await runContainer(
      h,
      pod,
      config,
      stress('hog', String(100 * 1024 * 1024), ['--vm', '1', '--vm-bytes', '250M', '--vm-hang', '1']),
    )
    expect(await waitForState(h, id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 137, reason: 'OOMKilled' })
    expect(logLines((await status(id)).log_path)).toEqual([
      expect.stringMatching(/^stdout F stress: info: \[\d+\] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd$/),
    ])
    expect(topics).toContain('/tasks/oom')
  })

  test("dd's block buffer is memory it touches: bs=20M under 15 MiB is OOM-killed (critest 1.36), bs=1M copies and exits", async () => {
    const dd = (name: string, script: string) =>
      containerConfig(name, {
        image: { image: 'busybox' },
        command: ['sh', '-c', script],
        log_path: `${name}/0.log`,
        linux: { resources: { memory_limit_in_bytes: String(15 * 1024 * 1024), memory_swap_limit_in_bytes: String(15 * 1024 * 1024) } },
      })
    const hog = await runContainer(h, pod, config, dd('dd-hog', 'dd if=/dev/zero of=/dev/null bs=20M'))
    expect(await waitForState(h, hog, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 137, reason: 'OOMKilled' })
    const fits = await runContainer(h, pod, config, dd('dd-fits', 'dd if=/dev/zero of=/dev/null bs=1M count=4'))
    expect(await waitForState(h, fits, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 0, reason: 'Completed' })
    expect(logLines((await status(fits)).log_path)).toEqual([
      'stderr F 4+0 records in',
      'stderr F 4+0 records out',
      expect.stringMatching(/^stderr F 4194304 bytes \(4\.2MB\) copied/),
    ])
    // Each dd's buffer goes with it: a shell running many stays within the limit.
    const loop = 'for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=/dev/null bs=4M count=1 2>/dev/null; done; echo looped'
    const many = await runContainer(h, pod, config, dd('dd-loop', loop))
    expect(await waitForState(h, many, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 0, reason: 'Completed' })
    expect(logLines((await status(many)).log_path)).toEqual(['stdout F looped'])
    // Without a count, dd copies /dev/zero to /dev/null until it is stopped.
    const endless = await runContainer(h, pod, config, dd('dd-endless', 'dd if=/dev/zero of=/dev/null bs=1M'))
    expect((await status(endless)).state).toBe('CONTAINER_RUNNING')
    await h.runtime.StopContainer({ container_id: endless, timeout: 0 })
    expect(await status(endless)).toMatchObject({ exit_code: 137 })
  })

  test('within the limit it runs, and the stats show what it holds', async () => {
    const id = await runContainer(h, pod, config, stress('fits', String(300 * 1024 * 1024), ['--vm', '1', '--vm-bytes', '150M']))
    const working = await eventually(async () => {
      const { stats } = await h.runtime.ContainerStats({ container_id: id })
      const bytes = Number(stats?.memory?.working_set_bytes?.value ?? 0)
      return bytes > 150 * 1024 * 1024 ? bytes : undefined
    }, 'the allocation in the stats')
    expect(working).toBeLessThan(160 * 1024 * 1024)
    expect((await status(id)).state).toBe('CONTAINER_RUNNING')
    const bad = await h.runtime.ExecSync({ container_id: id, cmd: ['stress', '--bogus'], timeout: 5 })
    expect(bad.exit_code).toBe(1)
    expect(bad.stderr.toString()).toMatch(/^stress: FAIL: \[\d+\] \(\d+\) unrecognized option: --bogus\n$/)
    // --timeout ends a successful run.
    h.fake.clock.freeze(true)
    const timed = await runContainer(h, pod, config, stress('timed', '0', ['--cpu', '1', '--timeout', '10s']))
    h.fake.clock.advance(10_000)
    expect(await waitForState(h, timed, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 0, reason: 'Completed' })
    expect(logLines((await status(timed)).log_path)[1]).toMatch(/^stdout F stress: info: \[\d+\] successful run completed in 10s$/)
  })

  test('busybox has no stress', async () => {
    const r = await h.runtime.ExecSync({
      container_id: await runContainer(h, pod, config, containerConfig('plain', { command: ['sleep', '60'] })),
      cmd: ['sh', '-c', 'stress --vm 1'],
      timeout: 5,
    })
    expect([r.exit_code, r.stderr.toString()]).toEqual([127, 'sh: stress: not found\n'])
  })
})

describe('scripted behaviour from annotations', () => {
  const scripted = (name: string, annotations: Record<string, string>, command = ['sleep', '3600']) =>
    containerConfig(name, { command, annotations, log_path: `${name}/0.log` })

  test('exit-code and exit-after end the process with that code', async () => {
    const id = await runContainer(
      h,
      pod,
      config,
      scripted('crash', { 'fake-containerd.io/exit-code': '42', 'fake-containerd.io/exit-after': '50ms' }),
    )
    expect(await waitForState(h, id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 42, reason: 'Error' })
  })

  test('oom-after ends it with 137 and reason OOMKilled', async () => {
    const id = await runContainer(h, pod, config, scripted('oom', { 'fake-containerd.io/oom-after': '20ms' }))
    expect(await waitForState(h, id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 137, reason: 'OOMKilled' })
  })

  test('stdout and stderr lines are written to the log at start', async () => {
    const id = await runContainer(
      h,
      pod,
      config,
      scripted('talk', { 'fake-containerd.io/stdout': 'one\ntwo', 'fake-containerd.io/stderr': 'warn' }),
    )
    const path = (await status(id)).log_path
    await eventually(() => (logLines(path).length === 3 ? true : undefined), 'three log lines')
    expect(logLines(path)).toEqual(['stdout F one', 'stdout F two', 'stderr F warn'])
  })

  test('ignore-sigterm makes StopContainer wait for the timeout and kill', async () => {
    const id = await runContainer(h, pod, config, scripted('stubborn', { 'fake-containerd.io/ignore-sigterm': 'true' }))
    await h.runtime.StopContainer({ container_id: id, timeout: 1 })
    expect(await status(id)).toMatchObject({ exit_code: 137 })
  })

  test('a malformed annotation is refused at create time', async () => {
    const err = await grpcError(
      h.runtime.CreateContainer({
        pod_sandbox_id: pod,
        config: scripted('x', { 'fake-containerd.io/exit-after': 'soon' }),
        sandbox_config: config,
      }),
    )
    expect(err.code).toBe(3)
    expect(err.details).toContain('fake-containerd.io/exit-after must be a duration')
  })
})

describe('logs', () => {
  test('every line goes to log_directory/log_path in CRI format, directories created, absolute path in status', async () => {
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('log', { command: ['sh', '-c', 'echo hello; echo oops >&2; echo done'], log_path: 'log/0.log' }),
    )
    await waitForState(h, id, 'CONTAINER_EXITED')
    const path = (await status(id)).log_path
    expect(path).toBe(join(h.logDir, 'default_pod_uid', 'log', '0.log'))
    const raw = readFileSync(path, 'utf8')
    expect(raw).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z stdout F hello\n/)
    expect(logLines(path)).toEqual(['stdout F hello', 'stderr F oops', 'stdout F done'])
  })

  test('no log path, no file', async () => {
    const id = await runContainer(h, pod, config, containerConfig('nolog', { command: ['echo', 'x'] }))
    await waitForState(h, id, 'CONTAINER_EXITED')
    expect((await status(id)).log_path).toBe('')
  })

  test('ReopenContainerLog starts a new file at the same path for a running container', async () => {
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('rot', { command: ['sleep', '3600'], log_path: 'rot/0.log', annotations: { 'fake-containerd.io/stdout': 'before' } }),
    )
    const path = (await status(id)).log_path
    await eventually(() => (existsSync(path) && logLines(path).length === 1 ? true : undefined), 'first line')
    renameSync(path, `${path}.1`)
    await h.runtime.ReopenContainerLog({ container_id: id })
    expect(existsSync(path)).toBe(true)
    expect(logLines(`${path}.1`)).toEqual(['stdout F before'])
    await h.runtime.StopContainer({ container_id: id, timeout: 0 })
    expect((await grpcError(h.runtime.ReopenContainerLog({ container_id: id }))).details).toBe('container is not running')
  })
})

describe('UpdateContainerResources', () => {
  test('stores the resources and shows them in status', async () => {
    const id = await runContainer(h, pod, config, containerConfig('res', { command: ['sleep', '60'] }))
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 256, memory_limit_in_bytes: 64 * 1024 * 1024 } })
    expect((await status(id)).resources!.linux).toMatchObject({ cpu_shares: '256', memory_limit_in_bytes: String(64 * 1024 * 1024) })
  })
})

describe('ListContainers filters', () => {
  test('by id prefix, state, pod sandbox id and labels', async () => {
    const other = podConfig('other')
    const otherPod = await runPod(h, other)
    const a = await runContainer(h, pod, config, containerConfig('a', { command: ['sleep', '60'], labels: { role: 'x' } }))
    const b = await runContainer(h, pod, config, containerConfig('b', { labels: { role: 'y' } }), false)
    const c = await runContainer(h, otherPod, other, containerConfig('c', { command: ['sleep', '60'], labels: { role: 'x' } }))
    const list = async (filter: object | null) => (await h.runtime.ListContainers({ filter })).containers.map((x) => x.id).sort()
    expect(await list(null)).toEqual([a, b, c].sort())
    expect(await list({ id: a.slice(0, 12) })).toEqual([a])
    expect(await list({ state: { state: 'CONTAINER_CREATED' } })).toEqual([b])
    expect(await list({ pod_sandbox_id: pod.slice(0, 12) })).toEqual([a, b].sort())
    expect(await list({ label_selector: { role: 'x' } })).toEqual([a, c].sort())
    expect(await list({ pod_sandbox_id: pod, label_selector: { role: 'x' } })).toEqual([a])
  })
})

describe('CheckpointContainer', () => {
  test('writes a tar archive of the container state to the location', async () => {
    const id = await runContainer(h, pod, config, containerConfig('ck', { command: ['sleep', '60'] }))
    const location = join(h.logDir, 'ck.tar')
    await h.runtime.CheckpointContainer({ container_id: id, location, timeout: 0 })
    const archive = readFileSync(location)
    expect(archive.subarray(257, 262).toString()).toBe('ustar')
    expect(archive.toString('latin1')).toContain('spec.dump')
    expect(archive.toString('latin1')).toContain(id)
    await h.runtime.StopContainer({ container_id: id, timeout: 0 })
    expect((await grpcError(h.runtime.CheckpointContainer({ container_id: id, location, timeout: 0 }))).details).toContain('is not running')
  })
})
