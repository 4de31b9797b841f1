// Real Docker Engine (Debian's docker.io, 20.10) on the fake: a private dockerd (its own data
// root, exec root, pid file and socket in a temp dir) with `--containerd` the fake's socket, an
// image imported from a rootfs with a static busybox, and the docker commands a user runs. It
// needs root (dockerd does) and dockerd, /usr/bin/docker and /bin/busybox (busybox-static); it is
// skipped without them, except under CI, where it fails and says what to install.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startFakeContainerd, type FakeContainerd } from '../../src/server.js'
import { eventually } from '../helpers.js'

const DOCKERD = process.env.DOCKERD ?? ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p))
// Debian's client (20.10); /usr/local/bin/docker may be an unrelated newer CLI.
const DOCKER = process.env.DOCKER ?? (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : undefined)
const BUSYBOX = '/bin/busybox'
const CTR = ['/usr/bin/ctr', '/usr/local/bin/ctr'].find((p) => existsSync(p))
const missing = [
  ...(DOCKERD && DOCKER ? [] : ['dockerd and /usr/bin/docker (apt-get install docker.io)']),
  ...(existsSync(BUSYBOX) ? [] : ['a static /bin/busybox (apt-get install busybox-static)']),
  ...(process.getuid?.() === 0 ? [] : ['root (dockerd runs as root)']),
]
const REPO = join(import.meta.dirname, '../..')
const IMAGE = 'fake-containerd/busybox:e2e'

if (process.env.CI && missing.length > 0) {
  test('Docker Engine e2e prerequisites', () => {
    throw new Error(`the Docker e2e suite needs ${missing.join(', ')}`)
  })
}

interface Result {
  stdout: string
  stderr: string
  code: number
}

describe.skipIf(missing.length > 0)('Docker Engine on the fake', () => {
  let dir: string
  let fake: FakeContainerd
  let dockerd: ChildProcess
  let dockerdLog = ''
  const host = () => `unix://${join(dir, 'docker.sock')}`

  const run = (file: string, args: string[], timeout = 30_000): Promise<Result> =>
    new Promise((resolve) => {
      execFile(file, args, { timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0
        resolve({ stdout, stderr, code })
      })
    })
  const docker = (...args: string[]): Promise<Result> => run(DOCKER!, ['-H', host(), ...args])
  /** A docker command that must succeed: its stdout. */
  const ok = async (...args: string[]): Promise<string> => {
    const r = await docker(...args)
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }
  const state = async (name: string, format: string): Promise<string> => (await ok('inspect', '-f', format, name)).trim()

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fc-docker-'))
    fake = await startFakeContainerd({ socket: join(dir, 'containerd.sock') })
    for (const d of ['data', 'exec']) mkdirSync(join(dir, d))
    writeFileSync(join(dir, 'daemon.json'), '{}')
    dockerd = spawn(
      DOCKERD!,
      [
        '--config-file',
        join(dir, 'daemon.json'),
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '--pidfile',
        join(dir, 'docker.pid'),
        '-H',
        host(),
        '--containerd',
        fake.socketPath,
        '--containerd-namespace',
        'moby',
        '--containerd-plugins-namespace',
        'moby-plugins',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
        '--bridge=none',
        '--userland-proxy=false',
        '--storage-driver',
        'vfs',
      ],
      {
        // docker top runs `ps`: the package's, which asks the fake for its simulated processes.
        env: {
          ...process.env,
          PATH: `${join(REPO, 'docker')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          FAKE_CONTAINERD_SOCKET: fake.socketPath,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    dockerd.stdout!.on('data', (b: Buffer) => (dockerdLog += b.toString()))
    dockerd.stderr!.on('data', (b: Buffer) => (dockerdLog += b.toString()))
    await eventually(async () => ((await docker('version')).code === 0 ? true : undefined), `dockerd to answer:\n${dockerdLog}`, 30_000)

    // The image: a rootfs with the static busybox and its applets as links, imported.
    const rootfs = join(dir, 'rootfs')
    for (const d of ['bin', 'etc', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true })
    copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'))
    for (const applet of ['sh', 'echo', 'cat', 'sleep', 'ls', 'ps', 'true']) symlinkSync('busybox', join(rootfs, 'bin', applet))
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
    writeFileSync(join(rootfs, 'etc/motd'), 'from the imported rootfs\n')
    execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.'])
    await ok('import', join(dir, 'rootfs.tar'), IMAGE)
  }, 60_000)

  afterAll(async () => {
    if (dockerd && dockerd.exitCode === null) {
      const pidFile = join(dir, 'docker.pid')
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : dockerd.pid
      const exited = new Promise((resolve) => dockerd.once('exit', resolve))
      if (pid) process.kill(pid, 'SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
      if (dockerd.exitCode === null) dockerd.kill('SIGKILL')
    }
    // What dockerd mounted under its roots (its exec root's netns files, …), then the files.
    if (dir) {
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((p): p is string => p !== undefined && p.startsWith(`${dir}/`))
        .sort((a, b) => b.length - a.length)
      for (const m of mounts) await run('umount', ['-l', m])
    }
    await fake?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 30_000)

  test('run --rm prints the output, passes the exit code, runs busybox as busybox', async () => {
    expect(await ok('run', '--rm', '--network', 'none', IMAGE, 'echo', 'hello')).toBe('hello\n')
    expect((await docker('run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'exit 3')).code).toBe(3)
    expect(await ok('run', '--rm', '--network', 'none', IMAGE, 'busybox', 'echo', 'x')).toBe('x\n')
    expect(await ok('run', '--rm', '--network', 'none', IMAGE, 'cat', '/etc/motd')).toBe('from the imported rootfs\n')
  })

  test('run -d, ps, inspect, logs, exec, top, stats, pause/unpause, update, kill, restart, rm -f; ctr sees the same containers', async () => {
    const id = (
      await ok('run', '-d', '--name', 'web', '--network', 'none', IMAGE, 'sh', '-c', 'echo started; sleep 1000 & sleep 2000')
    ).trim()
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    expect(await ok('ps', '--format', '{{.Names}} {{.Status}}')).toMatch(/^web Up /m)
    expect(await state('web', '{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.State.ExitCode}}')).toBe('running true false 0')
    const pid = Number(await state('web', '{{.State.Pid}}'))
    expect(pid).toBeGreaterThan(0)
    await eventually(async () => ((await ok('logs', 'web')) === 'started\n' ? true : undefined), 'the log line')

    const exec = await docker('exec', 'web', 'sh', '-c', 'echo in exec; exit 4')
    expect([exec.stdout, exec.code]).toEqual(['in exec\n', 4])

    // docker top: dockerd runs `ps -ef -q <pids>`; the package's ps lists the simulated processes.
    const top = (await ok('top', 'web')).split('\n')
    expect(top[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/)
    expect(top).toContainEqual(expect.stringMatching(new RegExp(`^root\\s+${pid}\\s+0\\s+.*sleep 2000$`)))
    expect(top).toContainEqual(expect.stringMatching(new RegExp(`^root\\s+\\d+\\s+${pid}\\s+.*sleep 1000$`)))
    expect(await ok('top', 'web', '-o', 'pid,comm')).toMatch(new RegExp(`^PID\\s+COMMAND\\n${pid}\\s+sleep\\n\\d+\\s+sleep\\n$`))

    const stats = (await ok('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'web')).trim()
    expect(stats).toMatch(/^web \d+(\.\d+)?[KM]iB \/ \d+(\.\d+)?GiB 2$/)

    await ok('pause', 'web')
    expect(await state('web', '{{.State.Status}} {{.State.Paused}}')).toBe('paused true')
    expect(await ok('top', 'web', '-o', 'pid,stat')).toMatch(new RegExp(`\\n${pid}\\s+T\\n`))
    await ok('unpause', 'web')
    expect(await state('web', '{{.State.Status}} {{.State.Paused}}')).toBe('running false')

    await ok('update', '--memory', '64m', '--memory-swap', '128m', 'web')
    expect(await ok('exec', 'web', 'cat', '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.swap.max')).toBe('67108864\n67108864\n')
    expect(await ok('stats', '--no-stream', '--format', '{{.MemUsage}}', 'web')).toMatch(/ \/ 64MiB$/m)

    const containers = CTR ? (await run(CTR, ['-a', fake.socketPath, '-n', 'moby', 'containers', 'ls', '-q'])).stdout : `${id}\n`
    expect(containers).toBe(`${id}\n`)

    await ok('kill', 'web')
    expect(await state('web', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 137')
    await ok('restart', 'web')
    expect(await state('web', '{{.State.Status}} {{.State.Running}}')).toBe('running true')
    expect(Number(await state('web', '{{.State.Pid}}'))).not.toBe(pid)
    await ok('rm', '-f', 'web')
    expect(await ok('ps', '-a', '-q')).toBe('')
    if (CTR) expect((await run(CTR, ['-a', fake.socketPath, '-n', 'moby', 'containers', 'ls', '-q'])).stdout).toBe('')
  })

  test('stop: 137 when SIGTERM is ignored (after the timeout), 143 when it ends the process (--pid host, --init); rm; events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1
    await ok('run', '-d', '--name', 'stubborn', '--network', 'none', IMAGE, 'sh', '-c', 'trap "" TERM; sleep 1000')
    // Not PID 1 of a PID namespace of its own (--pid host), sleep dies of SIGTERM's default action.
    await ok('run', '-d', '--name', 'polite', '--pid', 'host', '--network', 'none', IMAGE, 'sleep', '1000')
    await ok('stop', '-t', '1', 'stubborn')
    expect(await state('stubborn', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 137')
    await ok('stop', 'polite')
    expect(await state('polite', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 143')
    // --init: docker-init (tini, bind-mounted from the host) runs sleep as its child and forwards SIGTERM.
    await ok('run', '-d', '--name', 'inited', '--init', '--network', 'none', IMAGE, 'sleep', '1000')
    const top = await ok('top', 'inited', '-o', 'pid,ppid,args')
    expect(top).toMatch(/^\s*(\d+)\s+0\s+\/sbin\/docker-init -- sleep 1000\n\s*\d+\s+\1\s+sleep 1000\n/m)
    await ok('stop', 'inited')
    expect(await state('inited', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 143')
    await ok('rm', 'stubborn', 'polite', 'inited')
    const until = Math.floor(Date.now() / 1000) + 1
    const events = await ok(
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--filter',
      'type=container',
      '--format',
      '{{.Actor.Attributes.name}} {{.Action}}',
    )
    const polite = events.split('\n').filter((l) => l.startsWith('polite '))
    expect(polite).toEqual(['polite create', 'polite start', 'polite kill', 'polite die', 'polite stop', 'polite destroy'])
    expect(events).toMatch(/^stubborn kill$[\s\S]*^stubborn kill$[\s\S]*^stubborn die$/m)
  })
})
