// Real crictl against the fake's streaming server: exec (without -s: SPDY, and WebSocket with
// crictl 1.30+), exec -it under a pseudo-terminal (script(1)), attach and port-forward (a pod's, a
// host-network pod's), and a pod's hostPort reached from the host as port-forward's is. Runs once
// for each crictl binary CRICTL names (comma-separated), as crictl.test.ts does.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { crictlPodFile, eventually, harness, type Harness } from '../helpers.js'

const CRICTLS = (process.env.CRICTL ?? '').split(',').filter(Boolean)
const run = promisify(execFile)
const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0

/** crictl's minor version (1.29 → 29), from `crictl --version`. */
const minor = (crictl: string): number => Number(/v?1\.(\d+)/.exec(spawnSync(crictl, ['--version']).stdout.toString())?.[1] ?? 0)

/** A TCP port free on 127.0.0.1 right now. */
const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

const fetchPage = (port: number, path = '/'): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })

test.runIf(process.env.CI && CRICTLS.length === 0)('CI names the crictl binaries to test (CRICTL)', () => {
  throw new Error('CRICTL is not set: .ci/run installs crictl and names them in CRICTL')
})

const transports = CRICTLS.flatMap((c) => (minor(c) >= 30 ? [[c, 'spdy'] as const, [c, 'websocket'] as const] : [[c, 'spdy'] as const]))

describe.each(transports)('crictl streaming (%s, %s)', (CRICTL, transport) => {
  let h: Harness
  let pod: string
  let box: string
  let podFile: string
  const base = () => ['-r', h.fake.address, '-i', h.fake.address, '--timeout', '10s']
  const flags = transport === 'websocket' ? ['--transport', 'websocket'] : []
  const crictl = async (...args: string[]) => (await run(CRICTL, [...base(), ...args], { timeout: 30_000 })).stdout.trim()
  /** crictl with `input` on its stdin; its exit code, stdout and stderr. */
  const crictlIn = (args: string[], input?: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(CRICTL, [...base(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr })
      })
      if (input !== undefined) child.stdin.end(input)
      else child.stdin.end()
    })
  const exec = (args: string[], input?: string) => crictlIn(['exec', ...flags, ...args], input)
  const container = async (name: string, extra: Record<string, unknown>, target = pod, targetFile = podFile) => {
    const file = join(h.logDir, `${name}.json`)
    writeFileSync(file, JSON.stringify({ metadata: { name }, image: { image: 'busybox' }, log_path: `${name}/0.log`, linux: {}, ...extra }))
    const id = await crictl('create', target, file, targetFile)
    await crictl('start', id)
    return id
  }

  /** crictl port-forward from a free local port to the pod's `to`, once it says it forwards. */
  const forward = async (to: number, target = pod) => {
    const port = await freePort()
    const child = spawn(CRICTL, [...base(), 'port-forward', ...flags, target, `${port}:${to}`])
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr.on('data', (c: Buffer) => (output += c.toString()))
    await eventually(() => (output.includes('Forwarding from 127.0.0.1') ? true : undefined), 'the forward')
    return { port, output: () => output, stop: () => child.kill() }
  }

  beforeAll(async () => {
    h = await harness()
    podFile = crictlPodFile(h.logDir, 'stream')
    pod = await crictl('runp', podFile)
    await crictl('pull', 'busybox')
    box = await container('box', { command: ['sleep', '3600'] })
  })
  afterAll(() => h?.close())

  test('exec: output, stderr, exit codes, big output', async () => {
    expect(await exec([box, 'echo', 'hello', 'world'])).toMatchObject({ code: 0, stdout: 'hello world\n' })
    const both = await exec([box, 'sh', '-c', 'echo out; echo err >&2; exit 3'])
    expect(both.stdout).toBe('out\n')
    expect(both.stderr).toContain('err\n')
    // crictl fails with the exit code the status message carried (and exits 1, as against containerd).
    expect(both.stderr).toContain('command terminated with exit code 3')
    expect(both.code).toBe(1)
    const big = await exec([box, 'sh', '-c', 'seq 1 50000'])
    expect(big.code).toBe(0)
    const lines = big.stdout.split('\n')
    expect(lines.length).toBe(50001)
    expect(lines[49999]).toBe('50000')
  })

  test('exec -i: stdin piped in, to its end', async () => {
    const r = await exec(['-i', box, 'sh', '-c', 'wc -l; echo done'], 'a\nb\nc\n')
    expect(r.code).toBe(0)
    expect(r.stdout.replace(/ +/g, '')).toBe('3\ndone\n')
    expect((await exec(['-i', box, 'cat'], 'x'.repeat(100_000))).stdout.length).toBe(100_000)
  })

  test('exec in a stopped container or with no command fails as on containerd', async () => {
    const gone = await container('gone', { command: ['true'] })
    await eventually(
      async () => (JSON.parse(await crictl('inspect', gone)).status.state === 'CONTAINER_EXITED' ? true : undefined),
      'exited',
    )
    const r = await exec([gone, 'echo'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('container is in CONTAINER_EXITED state')
  })

  test.runIf(HAVE_SCRIPT)('exec -it under a pseudo-terminal: echo, CR LF, exit code', async () => {
    const cmd = [CRICTL, ...base(), 'exec', ...flags, '-it', box, 'sh'].join(' ')
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    await eventually(() => (out.includes('# ') ? true : undefined), 'the prompt')
    child.stdin.write('echo typed-$((6*7))\r')
    await eventually(() => (out.includes('typed-42\r\n') ? true : undefined), 'the command output')
    child.stdin.write('exit 5\r')
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(out).toContain('echo typed-$((6*7))\r\n')
    expect(out).toContain('command terminated with exit code 5')
    expect(code).toBe(1)
  })

  test('attach: the container output from now on, stdin into it (stdin_once)', async () => {
    const id = await container('att', {
      command: ['sh', '-c', 'while read l; do echo "got $l"; done; echo bye'],
      stdin: true,
      stdin_once: true,
    })
    const r = await crictlIn(['attach', ...flags, '-i', id], 'one\ntwo\n')
    expect(r.stdout).toBe('got one\ngot two\nbye\n')
    expect(r.code).toBe(0)
    await eventually(async () => (JSON.parse(await crictl('inspect', id)).status.state === 'CONTAINER_EXITED' ? true : undefined), 'exited')
  })

  test('port-forward: pages from busybox httpd in the pod, several times over one forward; nothing listening is containerd error', async () => {
    await container('web', {
      command: ['sh', '-c', 'mkdir -p /www && echo hello from httpd > /www/index.html && httpd -f -p 8080 -h /www'],
    })
    await eventually(
      async () => ((await exec([box, 'wget', '-qO-', 'http://127.0.0.1:8080/'])).stdout.includes('hello') ? true : undefined),
      'httpd',
    )
    const web = await forward(8080)
    try {
      for (let i = 0; i < 3; i++) expect(await fetchPage(web.port)).toEqual({ status: 200, body: 'hello from httpd\n' })
      expect((await fetchPage(web.port, '/missing')).status).toBe(404)
    } finally {
      web.stop()
    }
    const none = await forward(9999)
    try {
      await fetchPage(none.port).catch(() => undefined)
      await eventually(() => (none.output().includes('connection refused') ? true : undefined), 'the error')
      expect(none.output().replaceAll('\\"', '"')).toContain(
        `error forwarding port 9999 to pod ${pod}, uid : failed to execute portforward in network namespace "/var/run/netns/cni-${pod.slice(0, 8)}": failed to connect to localhost:9999 inside namespace "${pod}", IPv4: dial tcp4 127.0.0.1:9999: connect: connection refused`,
      )
    } finally {
      none.stop()
    }
  })

  test("port-forward into a host-network pod reaches the node's server, which the host also reaches on 127.0.0.1", async () => {
    const port = await freePort()
    const nodeFile = crictlPodFile(mkdirSync(join(h.logDir, `${transport}-onnode`), { recursive: true })!, `onnode-${transport}`, {
      linux: { security_context: { namespace_options: { network: 2 } } },
    })
    const onNode = await crictl('runp', nodeFile)
    try {
      const script = `mkdir -p /www && echo on the node > /www/index.html && httpd -f -p ${port} -h /www`
      await container(`node-web-${transport}`, { command: ['sh', '-c', script] }, onNode, nodeFile)
      const direct = await eventually(() => fetchPage(port).catch(() => undefined), 'the server on 127.0.0.1')
      expect(direct).toEqual({ status: 200, body: 'on the node\n' })
      const web = await forward(port, onNode)
      try {
        expect(await fetchPage(web.port)).toEqual({ status: 200, body: 'on the node\n' })
      } finally {
        web.stop()
      }
    } finally {
      await crictl('rmp', '-f', onNode)
    }
  })

  test("a pod's hostPort (runp with port_mappings) serves its httpd on 127.0.0.1 of the host until the pod is removed", async () => {
    const hostPort = await freePort()
    const mappedFile = crictlPodFile(mkdirSync(join(h.logDir, `${transport}-mapped`), { recursive: true })!, `mapped-${transport}`, {
      port_mappings: [{ container_port: 8080, host_port: hostPort }],
    })
    const mapped = await crictl('runp', mappedFile)
    const script = 'mkdir -p /www && echo via the host port > /www/index.html && httpd -f -p 8080 -h /www'
    await container(`mapped-web-${transport}`, { command: ['sh', '-c', script] }, mapped, mappedFile)
    const page = await eventually(() => fetchPage(hostPort).catch(() => undefined), 'the host port')
    expect(page).toEqual({ status: 200, body: 'via the host port\n' })
    await crictl('rmp', '-f', mapped)
    await expect(fetchPage(hostPort)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
