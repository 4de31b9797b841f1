// Real ctr (Debian's containerd package, 1.6) against the fake. CI installs it; the suite is
// skipped where no ctr is on PATH (or CTR names none).
import { execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tarball, type TarMember } from '../containerd.js'
import { ctrCli } from '../ctr-cli.js'
import { ociLayout } from '../oci-layout.mjs'
import { containerConfig, eventually, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

const CTR = process.env.CTR ?? findTool('ctr')
const run = promisify(execFile)

/** An OCI image archive, as `ctr images import` reads it: one layer (by default with a file), config, manifest. */
function ociArchive(
  name: string,
  members: TarMember[] = [
    { name: 'etc/', type: '5' },
    { name: 'etc/greeting', data: 'hello from a layer\n' },
  ],
): Buffer {
  const config = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sleep', '3600'] }
  return tarball(ociLayout(name, tarball(members), config))
}

function findTool(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

describe.skipIf(!CTR)('ctr e2e', () => {
  let h: Harness
  const { ctr, ctrFails } = ctrCli(CTR!, () => h.fake.socketPath)

  beforeAll(async () => {
    h = await harness()
  })
  afterAll(() => h?.close())

  test('version and plugins ls', async () => {
    const version = await ctr('version')
    expect(version).toMatch(/Server:\s+Version:\s+v2\.\S*fake-containerd/)
    expect(version).toMatch(/UUID: [0-9a-f-]{36}/)
    const plugins = await ctr('plugins', 'ls')
    expect(plugins).toMatch(/io\.containerd\.grpc\.v1\s+cri\s+linux\/amd64\s+ok/)
    expect(plugins).toMatch(/io\.containerd\.snapshotter\.v1\s+overlayfs\s+linux\/amd64\s+ok/)
  })

  test('namespaces ls, create, label, rm, and refusing a non-empty one', async () => {
    await ctr('namespaces', 'create', 'e2e', 'team=a')
    expect(await ctr('namespaces', 'ls')).toMatch(/^e2e\s+team=a\s*$/m)
    await ctr('namespaces', 'rm', 'e2e')
    expect(await ctr('namespaces', 'ls', '-q')).not.toMatch(/^e2e$/m)
    await runPod(h, podConfig('keeps-k8s-busy'))
    expect(await ctrFails('namespaces', 'rm', 'k8s.io')).toContain(
      'namespace "k8s.io" must be empty, but it still has images, blobs, containers, snapshots on "overlayfs" snapshotter: failed precondition',
    )
  })

  test('CRI objects in k8s.io: containers ls/info, tasks ls/ps/exec/metrics/pause/resume/kill', async () => {
    const config = podConfig('cross')
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
    const containers = await ctr('-n', 'k8s.io', 'containers', 'ls')
    expect(containers).toMatch(new RegExp(`${pod}\\s+registry\\.k8s\\.io/pause:3\\.10\\s+io\\.containerd\\.runc\\.v2`))
    expect(containers).toMatch(new RegExp(`${c}\\s+docker\\.io/library/busybox:latest\\s+io\\.containerd\\.runc\\.v2`))
    const info = JSON.parse(await ctr('-n', 'k8s.io', 'containers', 'info', c))
    expect(info.Labels['io.cri-containerd.kind']).toBe('container')
    expect(info.Spec.process.args).toEqual(['sleep', '3600'])
    expect(await ctr('-n', 'k8s.io', 'tasks', 'ls')).toMatch(new RegExp(`${c}\\s+\\d+\\s+RUNNING`))
    expect(await ctr('-n', 'k8s.io', 'tasks', 'ps', c)).toMatch(/^\d+\s+-/m)
    expect(await ctr('-n', 'k8s.io', 'tasks', 'exec', '--exec-id', 'e2e-exec', c, 'sh', '-c', 'echo hello from exec')).toBe(
      'hello from exec\n',
    )
    expect(await ctr('-n', 'k8s.io', 'tasks', 'metrics', c)).toMatch(/cpu\.usage_usec\s+\d+/)
    await ctr('-n', 'k8s.io', 'tasks', 'pause', c)
    expect(await ctr('-n', 'k8s.io', 'tasks', 'ls')).toMatch(new RegExp(`${c}\\s+\\d+\\s+PAUSED`))
    await ctr('-n', 'k8s.io', 'tasks', 'resume', c)
    await ctr('-n', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', c)
    const status = await eventually(async () => {
      const s = (await h.runtime.ContainerStatus({ container_id: c })).status!
      return s.state === 'CONTAINER_EXITED' ? s : undefined
    }, 'CRI to see the kill')
    expect(status.exit_code).toBe(137)
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
    expect(await ctr('-n', 'k8s.io', 'containers', 'ls', '-q')).not.toContain(pod)
  })

  test('images import, ls, containers create/ls/info/rm, run --rm, run -d, tasks ls/ps/kill/rm, images rm', async () => {
    const image = 'docker.io/library/e2e:1.0'
    const archive = join(h.logDir, 'image.tar')
    writeFileSync(archive, ociArchive(image))
    await ctr('images', 'import', archive)
    expect(await ctr('images', 'ls')).toMatch(
      new RegExp(
        `^${image.replace(/[.:/]/g, '\\$&')}\\s+application/vnd\\.oci\\.image\\.manifest\\.v1\\+json\\s+sha256:[0-9a-f]{64}\\s+\\S+ \\S+\\s+linux/amd64`,
        'm',
      ),
    )
    expect(await ctr('snapshots', 'ls')).toMatch(/^sha256:[0-9a-f]{64}\s+Committed/m)

    await ctr('containers', 'create', image, 'made')
    expect(await ctr('containers', 'ls', '-q')).toBe('made\n')
    expect(JSON.parse(await ctr('containers', 'info', 'made')).Spec.process.args).toEqual(['sleep', '3600'])
    await ctr('containers', 'rm', 'made')
    expect(await ctr('containers', 'ls', '-q')).toBe('')

    expect(await ctr('run', '--rm', image, 'once', 'echo', 'hello')).toBe('hello\n')
    expect(await ctr('containers', 'ls', '-q')).toBe('')

    await ctr('run', '-d', image, 'daemon')
    expect(await ctr('tasks', 'ls')).toMatch(/^daemon\s+\d+\s+RUNNING/m)
    expect(await ctr('tasks', 'ps', 'daemon')).toMatch(/^\d+\s+-/m)
    expect(await ctrFails('tasks', 'rm', 'daemon')).toContain('task must be stopped before deletion: running')
    await ctr('tasks', 'kill', '-s', 'SIGTERM', 'daemon')
    // sleep is PID 1 of its own PID namespace and has no TERM handler: it keeps running.
    expect(await ctr('tasks', 'ls')).toMatch(/^daemon\s+\d+\s+RUNNING/m)
    await ctr('tasks', 'kill', '-s', 'SIGKILL', 'daemon')
    await eventually(async () => ((await ctr('tasks', 'ls')).match(/^daemon\s+\d+\s+STOPPED/m) ? true : undefined), 'the task to stop')
    await ctr('tasks', 'rm', 'daemon')
    await ctr('containers', 'rm', 'daemon')
    await ctr('images', 'rm', image)
    expect(await ctr('images', 'ls', '-q')).toBe('')
  })

  test('images import keeps the layer files: run cat, ls -l and readlink read them; a busybox binary runs its applets', async () => {
    const image = 'docker.io/library/e2e-files:1.0'
    const archive = join(h.logDir, 'files.tar')
    const busybox = existsSync('/bin/busybox') ? readFileSync('/bin/busybox') : undefined
    writeFileSync(
      archive,
      ociArchive(image, [
        { name: 'etc/', type: '5', mtime: 1_700_000_000 },
        { name: 'etc/msg', data: 'hello from the archive\n', mode: 0o640, uid: 1000, gid: 1000, mtime: 1_700_000_000 },
        { name: 'etc/msg-link', type: '2', linkname: 'msg', mtime: 1_700_000_000 },
        ...(busybox
          ? [
              { name: 'bin/', type: '5' as const },
              { name: 'bin/busybox', data: busybox, mode: 0o755 },
              { name: 'bin/sh', type: '2' as const, linkname: 'busybox' },
            ]
          : []),
      ]),
    )
    await ctr('images', 'import', archive)
    expect(await ctr('run', '--rm', image, 'cat1', 'cat', '/etc/msg-link')).toBe('hello from the archive\n')
    expect(await ctr('run', '--rm', image, 'ls1', 'ls', '-ln', '/etc/msg')).toBe(
      '-rw-r-----    1 1000     1000            23 Nov 14  2023 /etc/msg\n',
    )
    expect(await ctr('run', '--rm', image, 'rl1', 'readlink', '/etc/msg-link')).toBe('msg\n')
    if (busybox) {
      expect(await ctr('run', '--rm', image, 'sh1', 'sh', '-c', 'echo hi; cat /etc/msg')).toBe('hi\nhello from the archive\n')
      expect(await ctr('run', '--rm', image, 'bb1', 'busybox', 'echo', 'x')).toBe('x\n')
    }
    await ctr('images', 'rm', image)
  })

  test('run gives the process the stdin it is given: piped lines, or a terminal with run -t', async () => {
    await h.image.PullImage({ image: { image: 'busybox' } })
    const image = 'docker.io/library/busybox:latest'
    const piped = await new Promise<{ out: string; code: number | null }>((resolve) => {
      const child = spawn(CTR!, ['-a', h.fake.socketPath, '-n', 'k8s.io', 'run', '--rm', image, 'stdin-pipe', 'sh'])
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.on('close', (code) => resolve({ out, code }))
      child.stdin.end('echo hello\nif true; then\n  echo inside\nfi\nexit 3\n')
    })
    expect(piped).toEqual({ out: 'hello\ninside\n', code: 3 })
    // A terminal (through `script`, which gives ctr a pty): the shell prompts, input is echoed.
    const SCRIPT = findTool('script')
    if (!SCRIPT) return
    const tty = await new Promise<{ out: string; code: number | null }>((resolve) => {
      const cmd = `${CTR} -a ${h.fake.socketPath} -n k8s.io run --rm -t ${image} stdin-tty sh`
      const child = spawn(SCRIPT, ['-qec', cmd, '/dev/null'])
      let out = ''
      // Each line is typed once the shell has prompted for it.
      const lines = ['echo hi\r', 'exit 5\r']
      child.stdout.on('data', (d) => {
        out += d
        if (out.split('/ # ').length - 1 > 2 - lines.length) child.stdin.write(lines.shift()!)
      })
      child.on('close', (code) => resolve({ out, code }))
    })
    expect(tty.code).toBe(5)
    expect(tty.out.replace(/\r/g, '')).toContain('/ # echo hi\nhi\n/ # exit 5\n')
  })

  test('run follows the spec ctr writes: capabilities (--privileged, --cap-add), no_new_privs, masked paths', async () => {
    await h.image.PullImage({ image: { image: 'busybox' } })
    const ctrRun = (...args: string[]) =>
      run(CTR!, ['-a', h.fake.socketPath, '-n', 'k8s.io', 'run', '--rm', ...args], { timeout: 30_000 }).then(
        (r) => ({ out: r.stdout, err: r.stderr, code: 0 }),
        (e: { stdout: string; stderr: string; code: number }) => ({ out: e.stdout, err: e.stderr, code: e.code }),
      )
    const image = 'docker.io/library/busybox:latest'
    expect(await ctrRun(image, 'plain', 'hostname', 'renamed')).toMatchObject({
      err: 'hostname: sethostname: Operation not permitted\n',
      code: 1,
    })
    expect(await ctrRun('--privileged', image, 'priv', 'sh', '-c', 'hostname renamed && hostname')).toMatchObject({
      out: 'renamed\n',
      code: 0,
    })
    expect(await ctrRun('--cap-add', 'CAP_SYS_ADMIN', image, 'capadd', 'hostname', 'renamed')).toMatchObject({ code: 0 })
    expect((await ctrRun(image, 'status', 'grep', '-E', '^(NoNewPrivs|CapEff)', '/proc/self/status')).out).toBe(
      'CapEff:\t00000000a80425fb\nNoNewPrivs:\t1\n',
    )
    expect((await ctrRun(image, 'masked', 'cat', '/proc/kcore')).out).toBe('')
  })

  /**
   * ctr under a pseudo-terminal (`script`) of the size given, in k8s.io: its output (CRs dropped:
   * the pty adds one to each line end), lines typed as the test says, its exit code. Its stdin
   * stays open until it ends (script turns end of input into a byte for ctr).
   */
  const SCRIPT = findTool('script')
  function terminal(args: string[], size = { cols: 80, rows: 24 }) {
    const cmd = `stty cols ${size.cols} rows ${size.rows}; exec ${CTR} -a ${h.fake.socketPath} -n k8s.io ${args.join(' ')}`
    const child = spawn(SCRIPT!, ['-qec', cmd, '/dev/null'])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const output = () => out.replace(/\r/g, '')
    return {
      output,
      /** Waits until the output has `text` `times` times. */
      until: (text: string, times = 1) =>
        eventually(() => (output().split(text).length > times ? true : undefined), `${JSON.stringify(text)} from ctr ${args[0]}`, 10_000),
      type: (text: string) => void child.stdin.write(text),
      exit: () => closed,
      /** Ends the client as a closed terminal window would: the task goes on. */
      kill: () => {
        child.kill('SIGKILL')
        return closed
      },
    }
  }
  const taskStatus = async (id: string) =>
    /^(\S+)\s+\d+\s+(\S+)/m.exec((await ctr('-n', 'k8s.io', 'tasks', 'ls')).split('\n').find((l) => l.startsWith(`${id} `)) ?? '')?.[2]

  test.skipIf(!SCRIPT)(
    'a terminal: run -t, task exec -t and task attach type into the shell, see its output and size, detach, exit',
    async () => {
      await h.image.PullImage({ image: { image: 'busybox' } })
      const image = 'docker.io/library/busybox:latest'
      // ctr resizes the task's terminal (ResizePty) once it has started it or attached: the shell
      // waits for the size before it prints it, as typed input may overtake the resize.
      const sized = (size: string) => `until [ "$(stty size)" = "${size}" ]; do sleep 0.1; done; stty size`
      // run -t in the foreground: the size of ctr's terminal is the shell's; ^C stops a command,
      // not the shell; the exit code is ctr's.
      const fg = terminal(['run', '--rm', '-t', image, 'tty-fg', 'sh'], { cols: 101, rows: 33 })
      await fg.until('/ # ')
      fg.type(`${sized('33 101')}\r`)
      await fg.until('\n33 101\n')
      fg.type('sleep 100\r')
      await fg.until('sleep 100\n')
      fg.type('\x03')
      await fg.until('/ # ', 3)
      fg.type('exit 4\r')
      expect(await fg.exit()).toBe(4)
      expect(fg.output()).toBe(`/ # ${sized('33 101')}\n33 101\n/ # sleep 100\n^C\n/ # exit 4\n`)

      // A detached task with a terminal, then a second process in it with its own terminal.
      const detached = terminal(['run', '-d', '-t', image, 'tty-bg', 'sh'])
      expect(await detached.exit()).toBe(0)
      expect(await taskStatus('tty-bg')).toBe('RUNNING')
      const exec = terminal(['task', 'exec', '-t', '--exec-id', 'e1', 'tty-bg', 'sh'], { cols: 90, rows: 20 })
      await exec.until('/ # ')
      exec.type(`${sized('20 90')}\r`)
      await exec.until('\n20 90\n')
      exec.type('exit 6\r')
      expect(await exec.exit()).toBe(6)

      // attach: the task's own terminal (its shell is PID 1), resized to the client's. Ending the
      // client leaves the task running.
      const first = terminal(['task', 'attach', 'tty-bg'], { cols: 77, rows: 22 })
      first.type(`${sized('22 77')}; echo $$\r`)
      await first.until('\n22 77\n1\n')
      await first.kill()
      expect(await taskStatus('tty-bg')).toBe('RUNNING')
      // Attached again: the same shell; its exit ends ctr with its code, and ctr deletes the task.
      const again = terminal(['task', 'attach', 'tty-bg'])
      again.type('echo $$ again\r')
      await again.until('\n1 again\n')
      again.type('exit 9\r')
      expect(await again.exit()).toBe(9)
      expect(await taskStatus('tty-bg')).toBeUndefined()
      await ctr('-n', 'k8s.io', 'containers', 'rm', 'tty-bg')
    },
  )

  test('events sees a task start and exit', async () => {
    const child = spawn(CTR!, ['-a', h.fake.socketPath, 'events'])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    try {
      // ctr gives no sign that it has subscribed: make pods until it reports one's start and exit
      // (it may subscribe between the two of a pod).
      let pod = ''
      const exited = (): boolean =>
        out.includes(`/tasks/start {"container_id":"${pod}"`) && out.includes(`/tasks/exit {"container_id":"${pod}"`)
      for (let i = 0; i < 20 && !(pod && exited()); i++) {
        const config = podConfig(`events-${i}`)
        pod = await runPod(h, config)
        await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
        for (let j = 0; j < 10 && !exited(); j++) await new Promise((r) => setTimeout(r, 50))
      }
      expect(out).toMatch(new RegExp(`k8s\\.io /tasks/start \\{"container_id":"${pod}"`))
      expect(out).toMatch(new RegExp(`k8s\\.io /tasks/exit \\{"container_id":"${pod}"`))
    } finally {
      child.kill()
    }
  })
})
