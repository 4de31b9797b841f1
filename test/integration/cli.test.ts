// The built command line (dist/cli.js) as a user runs it: flags, environment variables, the
// "listening on" line, the socket file, signals, exit codes and stderr.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { ServiceError } from '@grpc/grpc-js'
import { criClients, type CriClients } from '../../src/client.js'
import { podConfig } from '../helpers.js'

const ROOT = join(import.meta.dirname, '..', '..')
const CLI = join(ROOT, 'dist', 'cli.js')
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** How long any one wait (start-up, exit, a log line) may take before the test fails. */
const WAIT_MS = 10_000
/** Deadline for each RPC, so a wedged server fails the test rather than hanging it. */
const RPC = { deadline: 5_000 }

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

interface Cli {
  child: ChildProcess
  /** Everything the process has written so far. */
  readonly stdout: string
  readonly stderr: string
  /** Settles when the process exits. */
  readonly exited: Promise<Exit>
}

interface Running extends Cli {
  /** The socket path from the "listening on unix://…" line. */
  socketPath: string
  address: string
}

const children = new Set<ChildProcess>()
const clients = new Set<CriClients>()
const tempDirs: string[] = []

/** An environment without any FAKE_CONTAINERD_* variable the test runner may have, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAKE_CONTAINERD_')) env[k] = v
  return { ...env, ...extra }
}

function spawnCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Cli {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" before these tests`)
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(options.env),
    cwd: options.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
  return {
    child,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    exited,
  }
}

function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Waits for the process to exit (bounded), describing its output if it does not. */
function waitExit(cli: Cli, what = 'the process to exit'): Promise<Exit> {
  return withTimeout(cli.exited, `${what} (stdout: ${JSON.stringify(cli.stdout)}, stderr: ${JSON.stringify(cli.stderr)})`)
}

/** Runs the CLI to completion. */
async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = spawnCli(args, options)
  const exit = await waitExit(cli, `fake-containerd ${args.join(' ')} to exit`)
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr }
}

/** Starts the CLI and resolves once it prints its "listening on" line; fails if it exits first or takes too long. */
async function startCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Running> {
  const cli = spawnCli(args, options)
  const listening = new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const match = /^listening on (unix:\/\/(.+))\n/m.exec(cli.stdout)
      if (match) resolve(match[1]!)
    }
    cli.child.stdout!.on('data', check)
    void cli.exited.then((exit) =>
      reject(new Error(`fake-containerd exited (${JSON.stringify(exit)}) before listening; stderr: ${cli.stderr}`)),
    )
  })
  const address = await withTimeout(listening, `the "listening on" line from fake-containerd ${args.join(' ')} (stderr: ${cli.stderr})`)
  return Object.assign(cli, { address, socketPath: address.slice('unix://'.length) })
}

/** What the CLI prints on stdout when it is ready on `socket` (a path that needs no shell quoting). */
const readyLines = (socket: string): string =>
  `listening on unix://${socket}\nexport CONTAINER_RUNTIME_ENDPOINT=unix://${socket}\nexport CONTAINERD_ADDRESS=${socket}\n`

/** The pids of the processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after its last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function connect(running: Running): CriClients {
  const c = criClients(running.address)
  clients.add(c)
  return c
}

/** Sends a signal and waits for the process to exit. */
async function stop(cli: Cli, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  cli.child.kill(signal)
  return waitExit(cli, `fake-containerd to exit after ${signal}`)
}

/** Polls `check` until it holds, bounded by WAIT_MS. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function tempDir(): string {
  // realpath: the CLI reports an absolute path; compare against the same spelling.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'fc-cli-')))
  tempDirs.push(dir)
  return dir
}

let tmp: string
beforeEach(() => {
  tmp = tempDir()
})

afterEach(async () => {
  for (const c of clients) c.close()
  clients.clear()
  const leftovers = [...children].filter((c) => c.exitCode === null && c.signalCode === null)
  await Promise.all(
    leftovers.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('close', () => resolve())
          c.kill('SIGKILL')
        }),
    ),
  )
  children.clear()
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const FLAGS = [
  '--socket',
  '--state',
  '--sandbox-image',
  '--pod-cidr',
  '--runtime-handler',
  '--pull-policy',
  '--runtime-name',
  '--runtime-version',
  '--log-level',
  '--version',
  '--help',
]

describe('fake-containerd CLI: informational flags and usage errors', () => {
  test('--version prints the package version and exits 0', async () => {
    const r = await runCli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`fake-containerd ${PACKAGE_VERSION}\n`)
  })

  test('--help lists every flag and exits 0', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: fake-containerd')
    for (const flag of FLAGS) expect(r.stdout, `--help should mention ${flag}`).toMatch(new RegExp(`(^|\\s)${flag}(\\s|$)`, 'm'))
  })

  test.each([
    [['--nope'], /--nope/],
    [['--pull-policy', 'maybe'], /--pull-policy.*"maybe"/],
    [['--log-level', 'loud'], /--log-level.*"loud"/],
    [['--log-format', 'xml'], /--log-format must be "text" or "json", got "xml"/],
    [['--pod-cidr', 'banana'], /--pod-cidr: invalid pod CIDR "banana": want an IPv4 network such as 10\.88\.0\.0\/16/],
    [
      ['--pod-cidr', '127.0.0.0/8'],
      /--pod-cidr: invalid pod CIDR "127\.0\.0\.0\/8": it overlaps 127\.0\.0\.0\/24, .* such as 127\.77\.0\.0\/16/,
    ],
    [['--seed-state', 'nosuch'], /--seed-state: cannot read seed state nosuch: .*shipped scenarios: .*three-running-pods/],
    [['--sandbox-image', 'Pause:3.10'], /--sandbox-image: .*"Pause:3\.10".*invalid reference format/],
    [['--seed', 'many'], /--seed must be a whole number, got "many"/],
    [['--runtime-handler', 'a b'], /--runtime-handler names may hold only/],
    [['--web', 'a:b:c'], /--web: invalid web address "a:b:c": want HOST:PORT, e\.g\. 127\.0\.0\.1:10010/],
    [
      ['--web', ''],
      /--web: the web address is empty: give HOST:PORT, e\.g\. 127\.0\.0\.1:8080 \(port 0 picks a free one\), or leave it out/,
    ],
  ])('%j is refused with a message on stderr and exit code 2', async (args, message) => {
    const r = await runCli([...args, '--socket', join(tmp, 'c.sock')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toContain("Run 'fake-containerd --help' for the flags.")
    expect(r.stdout).not.toContain('listening on')
    expect(existsSync(join(tmp, 'c.sock'))).toBe(false)
  })

  test('a bad value from the environment is refused like a bad flag', async () => {
    const r = await runCli(['--socket', join(tmp, 'c.sock')], { env: { FAKE_CONTAINERD_PULL_POLICY: 'maybe' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/pull-policy.*"maybe"/)
  })
})

describe('fake-containerd CLI: as a daemon', () => {
  test('on start it prints the ready line and the two exports crictl and ctr read, quoted for the shell', async () => {
    const socket = join(tmp, "it's a dir", 'c.sock')
    const fc = await startCli(['--socket', socket])
    await until(() => fc.stdout.includes('CONTAINERD_ADDRESS'), 'the export lines')
    const quoted = `'${socket.replace(/'/g, `'\\''`)}'`
    expect(fc.stdout).toBe(
      `listening on unix://${socket}\nexport CONTAINER_RUNTIME_ENDPOINT='unix://${quoted.slice(1)}\nexport CONTAINERD_ADDRESS=${quoted}\n`,
    )
    // What a shell makes of them.
    const sh = spawn('sh', ['-c', 'eval "$(grep ^export)"; printf "%s\\n%s\\n" "$CONTAINER_RUNTIME_ENDPOINT" "$CONTAINERD_ADDRESS"'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    sh.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    sh.stdin.end(fc.stdout)
    await withTimeout(new Promise((resolve) => sh.once('close', resolve)), 'sh')
    expect(out).toBe(`unix://${socket}\n${socket}\n`)
  })

  test('SIGTERM to npm exec (npx) stops the server it started through its shell', async () => {
    const socket = join(tmp, 'c.sock')
    // npx and npm exec run the bin as `sh -c …`; npm passes SIGTERM to that shell only.
    const npm = spawn('npm', ['exec', '--offline', '-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} --socket ${socket}`], {
      cwd: tmp,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(npm)
    let stdout = ''
    npm.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    const npmExited = new Promise((resolve) => npm.once('close', resolve))
    await until(() => stdout.includes('CONTAINERD_ADDRESS'), 'the server under npm exec to be ready')
    const shells = childrenOf(npm.pid!)
    const servers = shells.flatMap(childrenOf)
    expect(servers, 'npm exec → sh → node').toHaveLength(1)
    try {
      npm.kill('SIGTERM')
      await withTimeout(npmExited, 'npm exec to exit')
      await until(() => !alive(servers[0]!), 'the server to exit after npm did')
      expect(existsSync(socket), 'the server removes its socket as on SIGTERM').toBe(false)
    } finally {
      for (const pid of servers) if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  })

  test("--log-format json writes one JSON object a line, with containerd's fields", async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--log-format', 'json', '--log-level', 'debug'])
    await connect(fc).runtime.Version({ version: '' }, RPC)
    await until(() => fc.stderr.includes('Version'), 'a debug line about Version')
    const lines = fc.stderr.trim().split('\n')
    for (const line of lines) expect(Object.keys(JSON.parse(line) as object)).toEqual(['level', 'msg', 'time'])
    const version = lines.map((l) => JSON.parse(l) as { level: string; msg: string; time: string }).find((l) => l.msg.includes('Version'))
    expect(version).toMatchObject({ level: 'debug', msg: expect.stringMatching(/RuntimeService\/Version ok/) })
    expect(new Date(version!.time).toISOString()).toBe(version!.time)
  })
})

describe('fake-containerd CLI: synthesised images', () => {
  test('a tag the catalog lacks is pulled with one warning per image, and its verbose ImageStatus says it was synthesised', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--pull-policy', 'any'])
    const cri = connect(fc)
    for (const image of ['nginx:1.27', 'docker.io/library/nginx:1.27', 'nginx:1.27', 'example.com/team/app:2', 'busybox'])
      await cri.image.PullImage({ image: { image } }, RPC)
    await until(() => fc.stderr.includes('example.com/team/app:2'), 'the second warning')
    const warnings = fc.stderr.split('\n').filter((l) => l.includes('level=warning'))
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toContain(
      'msg="image docker.io/library/nginx:1.27 is synthesised: not in the image catalog (fixtures/images/), so made up from its name;',
    )
    expect(warnings[0]).toContain('serves nothing (--pull-policy catalog refuses such images)')
    expect(warnings[1]).toContain('msg="image example.com/team/app:2 is synthesised')

    const nginx = await cri.image.ImageStatus({ image: { image: 'nginx:1.27' }, verbose: true }, RPC)
    expect(nginx.info.synthesised).toMatch(/^synthesised: not in the image catalog/)
    expect(JSON.parse(nginx.info.info!)).toHaveProperty('imageSpec')
    const busybox = await cri.image.ImageStatus({ image: { image: 'busybox' }, verbose: true }, RPC)
    expect(busybox.info).not.toHaveProperty('synthesised')
    expect((await cri.image.ImageStatus({ image: { image: 'nginx:1.27' }, verbose: false }, RPC)).info).toEqual({})
  })
})

describe('fake-containerd CLI: serving on a socket', () => {
  test('--socket prints one "listening on" line, makes a 0660 socket, serves CRI, and SIGTERM exits 0 and removes the socket', async () => {
    const socket = join(tmp, 'c.sock')
    const fc = await startCli(['--socket', socket])
    expect(fc.address).toBe(`unix://${socket}`)
    expect(statSync(socket).isSocket()).toBe(true)
    expect(statSync(socket).mode & 0o777).toBe(0o660)

    const cri = connect(fc)
    const v = await cri.runtime.Version({ version: '' }, RPC)
    expect(v).toMatchObject({ version: '0.1.0', runtime_name: 'containerd', runtime_api_version: 'v1' })
    cri.close()

    const exit = await stop(fc, 'SIGTERM')
    expect(exit).toEqual({ code: 0, signal: null })
    expect(fc.stdout).toBe(readyLines(socket))
    expect(existsSync(socket)).toBe(false)
  })

  test("--web prints the web view's address after the ready line; the page answers there until SIGTERM", async () => {
    const socket = join(tmp, 'c.sock')
    const fc = await startCli(['--socket', socket, '--web', '127.0.0.1:0'])
    await until(() => fc.stdout.includes('CONTAINERD_ADDRESS'), 'the export lines')
    const url = /^web view at (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(fc.stdout)?.[1]
    expect(url, fc.stdout).toBeDefined()
    expect(fc.stdout.split('\n')[1]).toBe(`web view at ${url}`)
    const page = await fetch(url!)
    expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('<title>fake-containerd</title>')])
    expect(await stop(fc, 'SIGTERM')).toEqual({ code: 0, signal: null })
    await expect(fetch(url!)).rejects.toThrow()
  })

  test('SIGINT stops it the same way: exit 0 and the socket is removed', async () => {
    const socket = join(tmp, 'c.sock')
    const fc = await startCli(['--socket', socket])
    const cri = connect(fc)
    expect((await cri.runtime.Version({ version: '' }, RPC)).runtime_name).toBe('containerd')
    cri.close()
    const exit = await stop(fc, 'SIGINT')
    expect(exit).toEqual({ code: 0, signal: null })
    expect(fc.stdout).toBe(readyLines(socket))
    expect(existsSync(socket)).toBe(false)
  })

  test('a relative --socket is reported as an absolute path', async () => {
    const fc = await startCli(['--socket', 'rel.sock'], { cwd: tmp })
    expect(fc.address).toBe(`unix://${join(tmp, 'rel.sock')}`)
    expect(statSync(join(tmp, 'rel.sock')).isSocket()).toBe(true)
    expect((await connect(fc).runtime.Version({ version: '' }, RPC)).runtime_name).toBe('containerd')
  })

  // "listening on" tells a supervisor the server is ready, so it must also be ready to stop
  // cleanly: a signal sent the moment the line appears must still give exit 0 and no socket file.
  // The window for a wrong order is small, so this tries several times with each signal.
  test('a signal sent as soon as the "listening on" line appears still stops it cleanly', async () => {
    for (let i = 0; i < 20; i++) {
      const signal: NodeJS.Signals = i % 2 === 0 ? 'SIGTERM' : 'SIGINT'
      const socket = join(tmp, `quick-${i}.sock`)
      const fc = await startCli(['--socket', socket])
      const exit = await stop(fc, signal)
      expect({ attempt: i, signal, exit, socketLeft: existsSync(socket) }).toEqual({
        attempt: i,
        signal,
        exit: { code: 0, signal: null },
        socketLeft: false,
      })
    }
  }, 60_000)

  test('--runtime-handler can be repeated; every handler is reported and accepted', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--runtime-handler', 'runc', '--runtime-handler', 'kata'])
    const cri = connect(fc)
    const status = await cri.runtime.Status({ verbose: false }, RPC)
    expect(status.runtime_handlers.map((h) => h.name).sort()).toEqual(['', 'kata', 'runc'])
    for (const handler of ['runc', 'kata']) {
      const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig(`on-${handler}`), runtime_handler: handler }, RPC)
      const { status: pod } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
      expect(pod!.runtime_handler).toBe(handler)
    }
  })

  test('the first --runtime-handler is the default for pods that name none', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--runtime-handler', 'kata', '--runtime-handler', 'runc'])
    const cri = connect(fc)
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig('no-handler') }, RPC)
    const { status: pod } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
    expect(pod!.runtime_handler).toBe('kata')
  })

  test('--log-level debug logs each RPC to stderr', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--log-level', 'debug'])
    const cri = connect(fc)
    await cri.runtime.Version({ version: '' }, RPC)
    await until(() => /level=debug.*Version/.test(fc.stderr), `a debug line about Version on stderr (got ${JSON.stringify(fc.stderr)})`)
    expect(fc.stdout).not.toContain('Version')
  })

  test('at the default log level RPCs are not logged', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock')])
    const cri = connect(fc)
    await cri.runtime.Version({ version: '' }, RPC)
    cri.close()
    expect((await stop(fc)).code).toBe(0)
    expect(fc.stderr).not.toMatch(/level=debug/)
  })
})

describe('fake-containerd CLI: environment variables', () => {
  test('FAKE_CONTAINERD_SOCKET chooses the socket', async () => {
    const socket = join(tmp, 'env.sock')
    const fc = await startCli([], { env: { FAKE_CONTAINERD_SOCKET: socket } })
    expect(fc.address).toBe(`unix://${socket}`)
    const cri = connect(fc)
    expect((await cri.runtime.Version({ version: '' }, RPC)).runtime_api_version).toBe('v1')
  })

  test('--socket wins over FAKE_CONTAINERD_SOCKET', async () => {
    const socket = join(tmp, 'flag.sock')
    const fc = await startCli(['--socket', socket], { env: { FAKE_CONTAINERD_SOCKET: join(tmp, 'env.sock') } })
    expect(fc.address).toBe(`unix://${socket}`)
    expect(existsSync(join(tmp, 'env.sock'))).toBe(false)
  })

  test('FAKE_CONTAINERD_RUNTIME_NAME and _RUNTIME_VERSION are what Version reports', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock')], {
      env: { FAKE_CONTAINERD_RUNTIME_NAME: 'env-runtime', FAKE_CONTAINERD_RUNTIME_VERSION: '7.7.7-env' },
    })
    const v = await connect(fc).runtime.Version({ version: '' }, RPC)
    expect([v.runtime_name, v.runtime_version]).toEqual(['env-runtime', '7.7.7-env'])
  })

  test('--runtime-name and --runtime-version win over the environment', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--runtime-name', 'flag-runtime', '--runtime-version', '1.2.3-flag'], {
      env: { FAKE_CONTAINERD_RUNTIME_NAME: 'env-runtime', FAKE_CONTAINERD_RUNTIME_VERSION: '7.7.7-env' },
    })
    const v = await connect(fc).runtime.Version({ version: '' }, RPC)
    expect([v.runtime_name, v.runtime_version]).toEqual(['flag-runtime', '1.2.3-flag'])
  })

  test('FAKE_CONTAINERD_RUNTIME_HANDLERS=runc,kata: both are reported and accepted, others are not', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock')], { env: { FAKE_CONTAINERD_RUNTIME_HANDLERS: 'runc,kata' } })
    const cri = connect(fc)
    const status = await cri.runtime.Status({ verbose: false }, RPC)
    expect(status.runtime_handlers.map((h) => h.name).sort()).toEqual(['', 'kata', 'runc'])

    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig('kata-pod'), runtime_handler: 'kata' }, RPC)
    expect(pod_sandbox_id).toMatch(/^[0-9a-f]{64}$/)
    const { status: pod } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
    expect(pod!.runtime_handler).toBe('kata')

    const err = (await cri.runtime.RunPodSandbox({ config: podConfig('gvisor-pod'), runtime_handler: 'gvisor' }, RPC).then(
      () => undefined,
      (e: unknown) => e,
    )) as ServiceError | undefined
    expect(err, 'RunPodSandbox with runtime_handler gvisor should fail').toBeDefined()
    expect(err!.details).toContain('no runtime for "gvisor" is configured')
  })

  test('--runtime-handler wins over FAKE_CONTAINERD_RUNTIME_HANDLERS', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--runtime-handler', 'gvisor'], {
      env: { FAKE_CONTAINERD_RUNTIME_HANDLERS: 'runc,kata' },
    })
    const status = await connect(fc).runtime.Status({ verbose: false }, RPC)
    expect(status.runtime_handlers.map((h) => h.name)).toEqual(['', 'gvisor'])
  })

  test('FAKE_CONTAINERD_POD_CIDR is where pod IPs come from', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock')], { env: { FAKE_CONTAINERD_POD_CIDR: '10.244.7.0/24' } })
    const cri = connect(fc)
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig('cidr-pod') }, RPC)
    const { status } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
    expect(status!.network!.ip).toMatch(/^10\.244\.7\.\d{1,3}$/)
  })

  test('--pod-cidr wins over FAKE_CONTAINERD_POD_CIDR', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--pod-cidr', '172.30.5.0/24'], {
      env: { FAKE_CONTAINERD_POD_CIDR: '10.244.7.0/24' },
    })
    const cri = connect(fc)
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig('cidr-pod') }, RPC)
    const { status } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
    expect(status!.network!.ip).toMatch(/^172\.30\.5\.\d{1,3}$/)
  })

  test('FAKE_CONTAINERD_SANDBOX_IMAGE is the pause image a pod pins', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock')], { env: { FAKE_CONTAINERD_SANDBOX_IMAGE: 'registry.k8s.io/pause:3.9' } })
    const cri = connect(fc)
    await cri.runtime.RunPodSandbox({ config: podConfig('pause-pod') }, RPC)
    const { images } = await cri.image.ListImages({ filter: null }, RPC)
    const pause = images.filter((i) => i.repo_tags.some((t) => t.startsWith('registry.k8s.io/pause:')))
    expect(pause.map((i) => [i.repo_tags, i.pinned])).toEqual([[['registry.k8s.io/pause:3.9'], true]])
  })

  test('--sandbox-image wins over FAKE_CONTAINERD_SANDBOX_IMAGE', async () => {
    const fc = await startCli(['--socket', join(tmp, 'c.sock'), '--sandbox-image', 'registry.k8s.io/pause:3.8'], {
      env: { FAKE_CONTAINERD_SANDBOX_IMAGE: 'registry.k8s.io/pause:3.9' },
    })
    const cri = connect(fc)
    await cri.runtime.RunPodSandbox({ config: podConfig('pause-pod') }, RPC)
    const { images } = await cri.image.ListImages({ filter: null }, RPC)
    const pause = images.filter((i) => i.repo_tags.some((t) => t.startsWith('registry.k8s.io/pause:')))
    expect(pause.map((i) => [i.repo_tags, i.pinned])).toEqual([[['registry.k8s.io/pause:3.8'], true]])
  })

  test('FAKE_CONTAINERD_PULL_POLICY=catalog refuses images outside the catalog; --pull-policy any wins over it', async () => {
    const strict = await startCli(['--socket', join(tmp, 'strict.sock')], { env: { FAKE_CONTAINERD_PULL_POLICY: 'catalog' } })
    const strictCri = connect(strict)
    await expect(strictCri.image.PullImage({ image: { image: 'example.invalid/nowhere/app:1.0' } }, RPC)).rejects.toThrow()
    expect((await strictCri.image.PullImage({ image: { image: 'busybox' } }, RPC)).image_ref).toMatch(/^sha256:/)

    const loose = await startCli(['--socket', join(tmp, 'loose.sock'), '--pull-policy', 'any'], {
      env: { FAKE_CONTAINERD_PULL_POLICY: 'catalog' },
    })
    const { image_ref } = await connect(loose).image.PullImage({ image: { image: 'example.invalid/nowhere/app:1.0' } }, RPC)
    expect(image_ref).toMatch(/^sha256:/)
  })

  test('FAKE_CONTAINERD_LOG_LEVEL=debug logs RPCs; --log-level error wins over it', async () => {
    const chatty = await startCli(['--socket', join(tmp, 'chatty.sock')], { env: { FAKE_CONTAINERD_LOG_LEVEL: 'debug' } })
    await connect(chatty).runtime.Version({ version: '' }, RPC)
    await until(() => /level=debug.*Version/.test(chatty.stderr), `a debug line about Version (got ${JSON.stringify(chatty.stderr)})`)

    const quiet = await startCli(['--socket', join(tmp, 'quiet.sock'), '--log-level', 'error'], {
      env: { FAKE_CONTAINERD_LOG_LEVEL: 'debug' },
    })
    const quietCri = connect(quiet)
    await quietCri.runtime.Version({ version: '' }, RPC)
    quietCri.close()
    expect((await stop(quiet)).code).toBe(0)
    expect(quiet.stderr).not.toMatch(/level=debug/)
  })

  test('FAKE_CONTAINERD_STATE chooses the state file', async () => {
    const state = join(tmp, 'env-state.json')
    const fc = await startCli(['--socket', join(tmp, 'c.sock')], { env: { FAKE_CONTAINERD_STATE: state } })
    const cri = connect(fc)
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig('env-state-pod') }, RPC)
    cri.close()
    expect((await stop(fc)).code).toBe(0)
    expect(existsSync(state)).toBe(true)
    expect(readFileSync(state, 'utf8')).toContain(pod_sandbox_id)
  })
})

describe('fake-containerd CLI: an existing socket file', () => {
  test('a plain file at the socket path is refused with exit code 1 and left as it was', async () => {
    const socket = join(tmp, 'c.sock')
    writeFileSync(socket, 'not a socket')
    const cli = spawnCli(['--socket', socket])
    expect((await cli.exited).code).toBe(1)
    expect(cli.stderr).toContain(`${socket} is a regular file, not a socket; refusing to replace it`)
    expect(readFileSync(socket, 'utf8')).toBe('not a socket')
  })

  test('a socket left by a killed server is replaced and the server starts', async () => {
    const socket = join(tmp, 'c.sock')
    const first = await startCli(['--socket', socket])
    first.child.kill('SIGKILL')
    expect((await waitExit(first)).signal).toBe('SIGKILL')
    expect(statSync(socket).isSocket(), 'SIGKILL should leave the socket file behind').toBe(true)

    const second = await startCli(['--socket', socket])
    expect(second.address).toBe(`unix://${socket}`)
    expect((await connect(second).runtime.Version({ version: '' }, RPC)).runtime_name).toBe('containerd')
  })

  test('a socket with a live server behind it is refused; the first server keeps serving', async () => {
    const socket = join(tmp, 'c.sock')
    const first = await startCli(['--socket', socket, '--runtime-name', 'first'])

    const second = await runCli(['--socket', socket, '--runtime-name', 'second'])
    expect(second.code).not.toBe(0)
    expect(second.code).not.toBeNull()
    expect(second.stderr).toContain('already listening')
    expect(second.stdout).not.toContain('listening on')

    expect(statSync(socket).isSocket()).toBe(true)
    expect((await connect(first).runtime.Version({ version: '' }, RPC)).runtime_name).toBe('first')
  })
})

describe('fake-containerd CLI: --state', () => {
  test('a pod survives a restart with the same state file, with the same id and IP', async () => {
    const socket = join(tmp, 'c.sock')
    const state = join(tmp, 'state.json')

    const first = await startCli(['--socket', socket, '--state', state])
    const cri1 = connect(first)
    const { pod_sandbox_id } = await cri1.runtime.RunPodSandbox({ config: podConfig('persisted') }, RPC)
    const { status: before } = await cri1.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
    const ip = before!.network!.ip
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    cri1.close()
    expect((await stop(first)).code).toBe(0)
    expect(existsSync(state)).toBe(true)
    expect(existsSync(socket)).toBe(false)

    const second = await startCli(['--socket', socket, '--state', state])
    const cri2 = connect(second)
    const { items } = await cri2.runtime.ListPodSandbox({ filter: null }, RPC)
    expect(items.map((p) => [p.id, p.metadata?.name])).toEqual([[pod_sandbox_id, 'persisted']])
    const { status: after } = await cri2.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
    expect(after!.network!.ip).toBe(ip)
  })

  test('without --state a restart starts from an empty node', async () => {
    const socket = join(tmp, 'c.sock')
    const first = await startCli(['--socket', socket])
    const cri1 = connect(first)
    await cri1.runtime.RunPodSandbox({ config: podConfig('ephemeral') }, RPC)
    cri1.close()
    expect((await stop(first)).code).toBe(0)

    const second = await startCli(['--socket', socket])
    const { items } = await connect(second).runtime.ListPodSandbox({ filter: null }, RPC)
    expect(items).toEqual([])
  })
})

describe('fake-containerd CLI: --config FILE', () => {
  const write = (name: string, text: string): string => {
    const file = join(tmp, name)
    writeFileSync(file, text)
    return file
  }
  /** The options --print-config shows, as a map of the top-level YAML keys to their lines. */
  const printed = async (args: string[], env: Record<string, string> = {}) => {
    const r = await runCli([...args, '--print-config'], { env })
    expect([r.code, r.stderr]).toEqual([0, ''])
    return r.stdout
  }

  test('every kind of option from the file: texts, numbers, lists, fault rules inline and as specs, a seed state by name', async () => {
    const socket = join(tmp, 'c.sock')
    const config = write(
      'fake.yaml',
      [
        `socket: ${socket}`,
        'runtimeHandlers: [runc, kata]',
        'runtimeName: from-the-file',
        'seed: 7',
        'seedState: three-running-pods',
        'faults:',
        '  - method: ListImages',
        '    error: UNAVAILABLE',
        '    message: from the config file',
        "  - 'Version:error=NOT_FOUND,times=1'",
      ].join('\n'),
    )
    const fc = await startCli(['--config', config])
    expect(fc.socketPath).toBe(socket)
    const cri = connect(fc)
    await expect(cri.runtime.Version({ version: '' }, RPC)).rejects.toMatchObject({ code: 5 })
    expect((await cri.runtime.Version({ version: '' }, RPC)).runtime_name).toBe('from-the-file')
    await expect(cri.image.ListImages({ filter: null }, RPC)).rejects.toMatchObject({ code: 14, details: 'from the config file' })
    expect((await cri.runtime.ListPodSandbox({ filter: null }, RPC)).items).toHaveLength(3)
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig('from-config'), runtime_handler: 'kata' }, RPC)
    const { status } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id, verbose: false }, RPC)
    expect(status!.runtime_handler).toBe('kata')
  })

  test('a flag wins over its environment variable, which wins over the file, which wins over the default', async () => {
    const config = write(
      'fake.yaml',
      'runtimeName: file\nruntimeVersion: file\npodCidr: 10.5.0.0/16\nfaults:\n  - {method: Version, delay: 5}\n',
    )
    const out = await printed(['--config', config, '--runtime-version', 'flag', '--fault', 'Status:error=14'], {
      FAKE_CONTAINERD_RUNTIME_NAME: 'env',
      FAKE_CONTAINERD_RUNTIME_VERSION: 'env',
    })
    expect(out).toMatch(/^runtimeName: env$/m)
    expect(out).toMatch(/^runtimeVersion: flag$/m)
    expect(out).toMatch(/^podCidr: 10\.5\.0\.0\/16$/m)
    expect(out).toMatch(/^logLevel: info$/m)
    // A list option from a flag replaces the file's list, as any option from a flag does.
    expect(out).toMatch(/^faults:\n {2}- method: Status\n {4}error: 14\n(?! )/m)
    // FAKE_CONTAINERD_CONFIG names the file; --config wins over it.
    const other = write('other.yaml', 'runtimeName: other\n')
    expect(await printed([], { FAKE_CONTAINERD_CONFIG: config })).toMatch(/^runtimeName: file$/m)
    expect(await printed(['--config', other], { FAKE_CONTAINERD_CONFIG: config })).toMatch(/^runtimeName: other$/m)
  })

  test('--print-config writes a file --config reads back to the same options; an inline seed state starts the node', async () => {
    const scenario = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'scenarios', 'three-running-pods.json'), 'utf8')) as { state: unknown }
    const socket = join(tmp, 'c.sock')
    const first = write(
      'first.yaml',
      `socket: ${socket}\nstateSync: true\njournalSize: 50\nseedState: ${JSON.stringify({ state: scenario.state })}\n` +
        "faults:\n  - 'kind=crash,name=web,exit-code=3,after=1h'\n  - {method: 'List*', delay: {min: 1, max: 2}}\n",
    )
    const out = await printed(['--config', first, '--pod-cidr', '10.6.0.0/16', '--seed', '3'])
    expect(out).toMatch(/^stateSync: true$/m)
    expect(out).toMatch(/^seedState:\n {2}state:\n/m)
    const again = write('again.yaml', out)
    expect(await printed(['--config', again])).toBe(out)
    // The file it wrote serves: the seed state's pods are there, and --print-config did not start a server.
    expect(existsSync(socket)).toBe(false)
    const fc = await startCli(['--config', again])
    expect((await connect(fc).runtime.ListPodSandbox({ filter: null }, RPC)).items).toHaveLength(3)
  })

  test('a seed state file is read once: a FIFO, which gives its bytes once, serves as --seed-state', async () => {
    const fifo = join(tmp, 'seed.json')
    execFileSync('mkfifo', [fifo])
    const cli = startCli(['--socket', join(tmp, 'c.sock'), '--seed-state', fifo])
    await writeFile(fifo, readFileSync(join(ROOT, 'fixtures', 'scenarios', 'three-running-pods.json')))
    const fc = await cli
    expect((await connect(fc).runtime.ListPodSandbox({ filter: null }, RPC)).items).toHaveLength(3)
  })

  test.each([
    [
      'pod-cidr: 10.1.0.0/16',
      /config file \S+: "pod-cidr" is the flag's spelling; a config file's keys are the option names: write podCidr/,
    ],
    ['podCider: 10.1.0.0/16', /config file \S+: "podCider" is not an option; did you mean podCidr\?/],
    ['verbose: true', /config file \S+: "verbose" is not an option; the options are socket, state, stateSync, /],
    ['seed: many', /config file \S+: seed must be a whole number, got "many"/],
    ['podCidr: banana', /config file \S+: podCidr: invalid pod CIDR "banana"/],
    ['stateSync: yes', /config file \S+: stateSync must be true or false, not "yes"/],
    ['runtimeName: [a, b]', /config file \S+: runtimeName takes one value, not a list/],
    ['runtimeHandlers: [runc, {a: 1}]', /config file \S+: runtimeHandlers\[1\] must be a list of strings, not an object/],
    [
      'faults:\n  - {method: RunPodSandbx, error: 14}',
      /config file \S+: faults\[0\]\.method: no RPC is named "RunPodSandbx"; did you mean RunPodSandbox\?/,
    ],
    [
      'faults:\n  - {method: Version, error: 14}\n  - {method: Version, times: 0, error: 14}',
      /config file \S+: faults\[1\]\.times must be a whole number of at least 1, not 0/,
    ],
    ['web: ""', /config file \S+: web: the web address is empty: give HOST:PORT/],
    ['seedState: nosuch', /config file \S+: seedState: cannot read seed state nosuch: .*shipped scenarios: .*three-running-pods/],
    ['seedState: {state: {version: 1}}', /config file \S+: seedState is not a valid node state: state\.uuid must be present/],
    ['- a list', /config file \S+ must be a mapping of option names to values, not an array/],
    ['a: [', /cannot read config file \S+: /],
  ])('%j is refused with the file and the key named, exit code 2', async (text, message) => {
    const r = await runCli(['--config', write('bad.yaml', text), '--socket', join(tmp, 'c.sock')])
    expect([r.code, r.stdout]).toEqual([2, ''])
    expect(r.stderr).toMatch(message)
    expect(existsSync(join(tmp, 'c.sock'))).toBe(false)
  })

  test('a file that is not there is refused with exit code 2', async () => {
    const r = await runCli(['--config', join(tmp, 'missing.yaml')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`cannot read config file ${join(tmp, 'missing.yaml')}: ENOENT`)
  })
})
