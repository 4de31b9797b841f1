import * as grpc from '@grpc/grpc-js'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { EXEC_SYNC_STREAM_BYTES } from '../../src/model/cri/exec-sync.js'
import { packagePath } from '../../src/paths.js'
import { loadGroup, serviceConstructor } from '../../src/service-descriptors.cjs'
import { containerdClients, criClients } from '../../src/client.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { WebSocket } from 'ws'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
let pod: string
let config: PodSandboxConfig
let running: string
beforeEach(async () => {
  h = await harness()
  config = podConfig('exec-pod')
  pod = await runPod(h, config)
  running = await runContainer(
    h,
    pod,
    config,
    containerConfig('app', { command: ['sleep', '3600'], envs: [{ key: 'GREETING', value: Buffer.from('hi there') }] }),
  )
})
afterEach(() => h.close())

const exec = async (cmd: string[], timeout = 0) => {
  const r = await h.runtime.ExecSync({ container_id: running, cmd, timeout })
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exit: r.exit_code }
}

describe('ExecSync', () => {
  test("output past containerd's 16 MiB message limit fails the call with RESOURCE_EXHAUSTED, as containerd's server does", async () => {
    // Each stream is capped at 16 MiB (so the server never holds more), and containerd's gRPC server
    // sends at most 16 MiB (defaults.DefaultMaxSendMsgSize): a capped reply is over it. This client
    // would take any size, so the refusal is the server's.
    const Runtime = serviceConstructor(loadGroup('cri', packagePath('proto')), 'runtime.v1.RuntimeService')
    const raw = new Runtime(h.fake.address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 })
    try {
      const err = await new Promise<grpc.ServiceError | undefined>((resolve) =>
        (raw as unknown as Record<string, (req: unknown, cb: (e: grpc.ServiceError | null) => void) => void>).ExecSync!(
          { container_id: running, cmd: ['sh', '-c', 'yes | head -c 20000000; echo err >&2'], timeout: 60 },
          (e) => resolve(e ?? undefined),
        ),
      )
      expect(EXEC_SYNC_STREAM_BYTES).toBe(16 * 1024 * 1024)
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    } finally {
      raw.close()
    }
  })

  test('a reply of 15 MiB reaches the typed client, whose limit is the 16 MiB the kubelet takes', async () => {
    const r = await h.runtime.ExecSync({ container_id: running, cmd: ['sh', '-c', 'yes | head -c 15728640'], timeout: 60 })
    expect([r.stdout.length, r.stdout.subarray(0, 4).toString(), r.exit_code]).toEqual([15 * 1024 * 1024, 'y\ny\n', 0])
  })

  test('the typed clients take channel options: a smaller receive limit refuses that reply', async () => {
    const small = criClients(h.fake.address, { 'grpc.max_receive_message_length': 1 << 20 })
    try {
      const err = await grpcError(
        small.runtime.ExecSync({ container_id: running, cmd: ['sh', '-c', 'yes | head -c 2000000'], timeout: 60 }),
      )
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    } finally {
      small.close()
    }
  })

  test('echo, true, false, exit N', async () => {
    expect(await exec(['echo', 'hello', 'world'])).toEqual({ stdout: 'hello world\n', stderr: '', exit: 0 })
    expect(await exec(['/bin/echo', '-n', 'x'])).toEqual({ stdout: 'x', stderr: '', exit: 0 })
    expect((await exec(['true'])).exit).toBe(0)
    expect((await exec(['false'])).exit).toBe(1)
    expect((await exec(['sh', '-c', 'exit 7'])).exit).toBe(7)
  })

  test('sh -c with lists, quoting, variables from the container env, and $?', async () => {
    expect(await exec(['sh', '-c', 'echo "$GREETING"; false || echo "status $?"; true && echo \'single $GREETING\''])).toEqual({
      stdout: 'hi there\nstatus 1\nsingle $GREETING\n',
      stderr: '',
      exit: 0,
    })
    expect(await exec(['sh', '-c', 'echo to-err >&2; nope'])).toEqual({ stdout: '', stderr: 'to-err\nsh: nope: not found\n', exit: 127 })
  })

  test('sleep N finishes within the timeout', async () => {
    expect((await exec(['sleep', '0.05'], 5)).exit).toBe(0)
  })

  test('the timeout kills the process and fails with DeadlineExceeded, as containerd reports it', async () => {
    const err = await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['sleep', '30'], timeout: 1 }))
    expect(err.code).toBe(4)
    expect(err.details).toBe('timeout 1s exceeded: context deadline exceeded')
  })

  test('an unknown executable fails as the OCI runtime reports it', async () => {
    const err = await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['kubectl', 'version'], timeout: 0 }))
    expect(err.code).toBe(2)
    expect(err.details).toMatch(/exec: "kubectl": executable file not found in \$PATH/)
  })

  test('a missing or stopped container is refused', async () => {
    expect((await grpcError(h.runtime.ExecSync({ container_id: 'nope', cmd: ['true'], timeout: 0 }))).code).toBe(5)
    await h.runtime.StopContainer({ container_id: running, timeout: 0 })
    expect((await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['true'], timeout: 0 }))).details).toBe(
      'container is in CONTAINER_EXITED state',
    )
  })

  test('a paused container is refused by the shim, and a failed exec leaves no process behind in the task', async () => {
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    try {
      await ctr.tasks.Pause({ container_id: running })
      const paused = await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['true'], timeout: 0 }))
      expect([paused.code, paused.details]).toEqual([
        2,
        expect.stringMatching(/^failed to exec in container: failed to create exec "[0-9a-f]{64}": cannot exec in a paused state/),
      ])
      await ctr.tasks.Resume({ container_id: running })
      await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['kubectl'], timeout: 0 }))
      expect((await ctr.tasks.ListPids({ container_id: running })).processes).toHaveLength(1)
      expect(Object.keys(h.fake.node.containers.get(running).task?.execs ?? {})).toEqual([])
    } finally {
      ctr.close()
    }
  })

  test('an empty command is InvalidArgument', async () => {
    expect((await grpcError(h.runtime.ExecSync({ container_id: running, cmd: [], timeout: 0 }))).code).toBe(3)
  })
})

/** A WebSocket client of the streaming server: the messages it gets, by channel, and its close. */
function wsClient(url: string, protocols: string[]) {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols)
  const got: { channel: number; data: string }[] = []
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve())
    ws.on('error', reject)
  })
  ws.on('message', (raw: Buffer, binary: boolean) => {
    const text = raw.toString('latin1')
    if (binary) got.push({ channel: raw[0]!, data: raw.subarray(1).toString() })
    else got.push({ channel: Number(text[0]), data: Buffer.from(text.slice(1), 'base64').toString() })
  })
  const on = (channel: number) =>
    got
      .filter((m) => m.channel === channel)
      .map((m) => m.data)
      .join('')
  const send = (channel: number, data: string) => ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]))
  return { ws, got, on, send, opened, closed }
}

/** An Exec for `cmd` with these streams, and a WebSocket client of its URL, connected. */
async function wsExec(
  cmd: string[],
  streams: { stdin?: boolean; stdout?: boolean; stderr?: boolean; tty?: boolean },
  protocol = 'v4.channel.k8s.io',
) {
  const { url } = await h.runtime.Exec({ container_id: running, cmd, ...streams })
  const c = wsClient(url, [protocol])
  await c.opened
  return c
}

describe('Exec, Attach, PortForward: URLs on the streaming server', () => {
  test('Exec answers a single-use URL on 127.0.0.1; a used or unknown token is a 404', async () => {
    const { url } = await h.runtime.Exec({ container_id: running, cmd: ['echo', 'hi'], stdout: true })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{8}$/)
    const c = wsClient(url, ['v4.channel.k8s.io'])
    await c.closed
    expect(c.on(1)).toBe('hi\n')
    expect(JSON.parse(c.on(3))).toEqual({ status: 'Success' })
    const again = await fetch(url, { method: 'POST' })
    expect([again.status, await again.text()]).toEqual([404, '404 page not found\n'])
    const other = await fetch(url.replace(/exec\/.*/, 'exec/AAAAAAAA'))
    expect(other.status).toBe(404)
    // A token is for its own kind of request only.
    const { url: attach } = await h.runtime.Attach({ container_id: running, stdout: true })
    expect((await fetch(attach.replace('/attach/', '/exec/'))).status).toBe(404)
  })

  test('a plain request with a valid token fails the handshake as kubelet does', async () => {
    const { url } = await h.runtime.Exec({ container_id: running, cmd: ['true'], stdout: true })
    const res = await fetch(url, { method: 'POST', headers: { 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' } })
    expect(res.status).toBe(400)
    expect(await res.text()).toMatch(/^unable to upgrade: missing upgrade headers in request: http.Header\{/)
    const { url: u2 } = await h.runtime.Exec({ container_id: running, cmd: ['true'], stdout: true })
    const none = await fetch(u2, { method: 'POST', headers: { 'X-Stream-Protocol-Version': 'v9' } })
    expect(none.status).toBe(403)
    expect(none.headers.get('x-accepted-stream-protocol-versions')).toContain('v4.channel.k8s.io')
  })

  test('WebSocket exec: stdin in (v5 closes it), stderr apart, exit code in the v4 status; base64 protocol', async () => {
    const c = await wsExec(['sh', '-c', 'cat; echo oops >&2; exit 4'], { stdin: true, stdout: true, stderr: true }, 'v5.channel.k8s.io')
    expect(c.ws.protocol).toBe('v5.channel.k8s.io')
    c.send(0, 'piped in\n')
    c.ws.send(Buffer.from([255, 0]))
    await c.closed
    expect(c.on(1)).toBe('piped in\n')
    expect(c.on(2)).toBe('oops\n')
    expect(JSON.parse(c.on(3))).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '4' }] },
    })
    const { url: b64 } = await h.runtime.Exec({ container_id: running, cmd: ['echo', 'b64'], stdout: true })
    const d = wsClient(b64, ['base64.channel.k8s.io'])
    await d.closed
    expect(d.on(1)).toBe('b64\n')
    expect(d.on(3)).toBe('') // before v4: nothing on success
  })

  test('a WebSocket exec with a tty: resize reaches the process (stty size), input is echoed, output has CR LF', async () => {
    const c = await wsExec(['sh', '-c', 'read x; stty size; echo "got $x"'], { tty: true, stdin: true, stdout: true })
    c.send(4, '{"Width":100,"Height":30}')
    c.send(0, 'go\r')
    await c.closed
    expect(c.on(1)).toBe('go\r\n30 100\r\ngot go\r\n')
    const plain = await exec(['stty', 'size'])
    expect([plain.stderr, plain.exit]).toEqual(['stty: standard input: Not a tty\n', 1])
  })

  test('an interactive shell on a tty: ^C interrupts the foreground command, ^D ends the shell', async () => {
    const c = await wsExec(['sh'], { tty: true, stdin: true, stdout: true })
    await eventually(() => (c.on(1).endsWith('/ # ') ? true : undefined), 'the prompt')
    c.send(0, 'sleep 100\r')
    await eventually(() => (c.on(1).includes('sleep 100\r\n') ? true : undefined), 'the echo')
    c.send(0, '\x03')
    await eventually(() => (c.on(1).endsWith('^C\r\n/ # ') ? true : undefined), 'the prompt after ^C')
    c.send(0, 'echo after\r')
    await eventually(() => (c.on(1).includes('after\r\n/ # ') ? true : undefined), 'the shell still there')
    c.send(0, '\x04')
    await c.closed
    expect(JSON.parse(c.on(3))).toEqual({ status: 'Success' })
  })

  test("a client that goes away ends the exec'd process", async () => {
    const c = await wsExec(['sleep', '777'], { stdout: true })
    await eventually(async () => ((await exec(['ps'])).stdout.includes('sleep 777') ? true : undefined), 'the exec running')
    c.ws.terminate()
    await eventually(async () => ((await exec(['ps'])).stdout.includes('sleep 777') ? undefined : true), 'the exec gone')
  })

  test('WebSocket port-forward (v4 channels): each asked port opens with its number, data reaches the pod, refusal on the error channel', async () => {
    await runContainer(
      h,
      pod,
      config,
      containerConfig('web', { command: ['sh', '-c', 'mkdir /www && echo page > /www/index.html && httpd -f -p 8080 -h /www'] }),
    )
    await eventually(async () => ((await exec(['wget', '-qO-', 'http://127.0.0.1:8080/'])).stdout === 'page\n' ? true : undefined), 'httpd')
    const { url } = await h.runtime.PortForward({ pod_sandbox_id: pod, port: [8080, 9999] })
    expect(url).toMatch(/\/portforward\/[A-Za-z0-9_-]{8}$/)
    const c = wsClient(url, ['v4.channel.k8s.io'])
    await c.opened
    const port = (channel: number) => c.got.find((m) => m.channel === channel)?.data
    await eventually(() => (c.got.length >= 4 ? true : undefined), 'the port messages')
    expect([0, 1, 2, 3].map((ch) => Buffer.from(port(ch) ?? '', 'latin1').length)).toEqual([2, 2, 2, 2])
    c.send(0, 'GET / HTTP/1.0\r\n\r\n')
    await c.closed
    expect(c.on(0)).toMatch(/^..HTTP\/1\.[01] 200 OK\r\n[\s\S]*\r\n\r\npage\n$/)
    expect(c.on(3)).toContain('failed to connect to localhost:9999 inside namespace')
  })

  test('attach: several clients at once see the output; stdin from one; its stdin ending detaches it (no stdin_once)', async () => {
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('reader', { command: ['sh', '-c', 'while read l; do echo "got $l"; done'], stdin: true }),
    )
    const { url: one } = await h.runtime.Attach({ container_id: id, stdin: true, stdout: true })
    const { url: two } = await h.runtime.Attach({ container_id: id, stdout: true })
    const a = wsClient(one, ['v5.channel.k8s.io'])
    const b = wsClient(two, ['v4.channel.k8s.io'])
    await Promise.all([a.opened, b.opened])
    a.send(0, 'hello\n')
    await eventually(() => (a.on(1) === 'got hello\n' && b.on(1) === 'got hello\n' ? true : undefined), 'both attachers see it')
    a.ws.send(Buffer.from([255, 0]))
    await a.closed
    expect(JSON.parse(a.on(3))).toEqual({ status: 'Success' })
    const status = await h.runtime.ContainerStatus({ container_id: id })
    expect(status.status?.state).toBe('CONTAINER_RUNNING')
    b.ws.close()
  })

  test('a slow reader holds the process back: what piles up for it stays bounded', async () => {
    const c = await wsExec(['yes'], { stdout: true })
    c.ws.pause() // the client stops reading; yes must wait for it
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await exec(['sh', '-c', 'kill $(pidof yes)'])
    c.ws.resume()
    await c.closed
    const received = c.got.reduce((n, m) => n + m.data.length, 0)
    // The server's 1 MiB backlog and the sockets' buffers; unchecked, yes would have written far more in a second.
    expect(received).toBeGreaterThan(0)
    expect(received).toBeLessThan(16 * 1024 * 1024)
  })

  test('an unknown subprotocol is refused; a bad handshake does not stop the server', async () => {
    const { url } = await h.runtime.Exec({ container_id: running, cmd: ['true'], stdout: true })
    const c = wsClient(url, ['v9.channel.k8s.io'])
    await expect(c.opened).rejects.toThrow(/403/)
    expect((await exec(['echo', 'still here'])).stdout).toBe('still here\n')
  })

  test('validate like containerd', async () => {
    const both = await grpcError(h.runtime.Exec({ container_id: running, cmd: ['sh'], tty: true, stdout: true, stderr: true }))
    expect([both.code, both.details]).toEqual([3, 'tty and stderr cannot both be true'])
    const none = await grpcError(h.runtime.Attach({ container_id: running }))
    expect([none.code, none.details]).toEqual([3, 'one of stdin, stdout, and stderr must be set'])
    const noStream = await grpcError(h.runtime.Exec({ container_id: running, cmd: ['sh'] }))
    expect([noStream.code, noStream.details]).toEqual([3, 'one of stdin, stdout, or stderr must be set'])
    const missing = await grpcError(h.runtime.Exec({ container_id: 'nope', cmd: ['sh'], stdout: true }))
    expect([missing.code, missing.details]).toEqual([5, 'failed to find container "nope" in store: not found'])
    const noPod = await grpcError(h.runtime.PortForward({ pod_sandbox_id: 'nope', port: [80] }))
    expect([noPod.code, noPod.details]).toEqual([5, 'failed to find sandbox "nope": not found'])
    await h.runtime.StopContainer({ container_id: running, timeout: 0 })
    const stopped = await grpcError(h.runtime.Exec({ container_id: running, cmd: ['sh'], stdout: true }))
    expect([stopped.code, stopped.details]).toEqual([2, 'container is in CONTAINER_EXITED state'])
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    const notReady = await grpcError(h.runtime.PortForward({ pod_sandbox_id: pod, port: [80] }))
    expect([notReady.code, notReady.details]).toEqual([2, 'sandbox container is not running'])
  })
})
