// The web view's HTTP face without a browser: the page and its headers, each panel's JSON, the
// live event stream, the fault actions and what they refuse, and its end when the server stops.
// (test/e2e/web.test.ts drives the page itself in Chromium.)
import { createHash } from 'node:crypto'
import { request, type IncomingMessage } from 'node:http'
import { hostname, networkInterfaces } from 'node:os'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { Harness as CoreHarness } from '../../src/harness.js'
import { createLogger } from '../../src/log.js'
import { startFakeContainerd } from '../../src/server.js'
import { WebServer } from '../../src/web/server.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

interface Answer {
  status: number
  headers: IncomingMessage['headers']
  body: string
}

/** One HTTP request to the web view; `headers` replace the defaults. */
function call(base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { method, agent: false, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** An open /api/events stream: the events received so far, by name, and its end. */
function events(base: string): Promise<{
  node: unknown[]
  journal: { entries: { method: string; status: string }[]; skipped: number }[]
  ended: Promise<void>
  close(): void
}> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/api/events', base), { agent: false }, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8')
      const got = { node: [] as unknown[], journal: [] as never[] }
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        buffer += c
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const name = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (name === 'node' || name === 'journal') got[name].push(JSON.parse(data!) as never)
        }
      })
      const ended = new Promise<void>((done) => res.on('close', () => done()))
      resolve({ ...got, ended, close: () => req.destroy() })
    })
    req.on('error', reject)
    req.end()
  })
}

let h: Harness
let base: string
beforeEach(async () => {
  h = await harness({ web: '127.0.0.1:0' })
  base = h.fake.webUrl!
})
afterEach(async () => {
  await h.close()
})

describe('the web view', () => {
  test('is off unless asked for', async () => {
    const plain = await startFakeContainerd()
    expect(plain.webUrl).toBeUndefined()
    await plain.close()
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
  })

  test('serves its page with a policy that runs only its own script', async () => {
    const page = await call(base, 'GET', '/')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toContain('<title>fake-containerd</title>')
    // Only the page's own script, by its hash: no inline handler (an injected onerror) may run.
    const script = /<script>([\s\S]*?)<\/script>/.exec(page.body)![1]!
    const hash = createHash('sha256').update(script).digest('base64')
    expect(page.headers['content-security-policy']).toContain(`script-src 'sha256-${hash}';`)
  })

  test('each panel has its JSON: pods, containers with their processes, images, faults, journal', async () => {
    const pod = podConfig('json-pod')
    const podId = await runPod(h, pod)
    const containerId = await runContainer(h, podId, pod, containerConfig('top', { command: ['sleep', '100'] }))
    const pods = JSON.parse((await call(base, 'GET', '/api/pods')).body)
    expect(pods).toEqual([expect.objectContaining({ id: podId, name: 'json-pod', namespace: 'default', state: 'READY', ip: '10.88.0.2' })])
    const containers = JSON.parse((await call(base, 'GET', '/api/containers')).body)
    expect(containers).toEqual([
      expect.objectContaining({
        id: containerId,
        name: 'top',
        podId,
        podName: 'json-pod',
        image: 'busybox',
        state: 'RUNNING',
        processes: [expect.objectContaining({ args: ['sleep', '100'], state: 'S' })],
      }),
    ])
    const images = JSON.parse((await call(base, 'GET', '/api/images')).body) as { name: string }[]
    expect(images.map((i) => i.name)).toEqual(expect.arrayContaining(['docker.io/library/busybox:latest', 'registry.k8s.io/pause:3.10']))
    expect(JSON.parse((await call(base, 'GET', '/api/faults')).body)).toEqual([])
    const journal = JSON.parse((await call(base, 'GET', '/api/journal?since=1')).body) as {
      entries: { seq: number; method: string; status: string }[]
    }
    expect(journal.entries.map((e) => e.method)).toEqual(['PullImage', 'CreateContainer', 'StartContainer'])
    expect(journal.entries.every((e) => e.seq > 1 && e.status === 'OK')).toBe(true)
    const node = JSON.parse((await call(base, 'GET', '/api/node')).body)
    expect(Object.keys(node)).toEqual(['pods', 'containers', 'images', 'faults'])
  })

  test('the event stream sends the node and the journal as calls happen', async () => {
    const stream = await events(base)
    await eventually(() => stream.node.length || undefined, 'the first node view')
    expect(stream.node[0]).toEqual({ pods: [], containers: [], images: [], faults: [] })
    await runPod(h, podConfig('live-pod'))
    await eventually(
      () => stream.node.find((v) => (v as { pods: { name: string }[] }).pods.some((p) => p.name === 'live-pod')),
      'the pod in a node event',
    )
    await eventually(
      () => stream.journal.flatMap((j) => j.entries).find((e) => e.method === 'RunPodSandbox'),
      'RunPodSandbox in a journal event',
    )
    h.fake.faults.use({ method: 'Version', error: 'NOT_FOUND', message: 'gone' })
    await grpcError(h.runtime.Version({ version: '' }))
    const failed = await eventually(() => stream.journal.flatMap((j) => j.entries).find((e) => e.method === 'Version'), 'the failed call')
    expect(failed).toEqual(
      expect.objectContaining({
        status: 'NOT_FOUND',
        code: 5,
        details: 'gone',
        fault: { method: 'Version', error: 'NOT_FOUND', message: 'gone' },
      }),
    )
    stream.close()
  })

  test('an open page gets a new view only when something changed: the state, the fault rules, a process', async () => {
    const stream = await events(base)
    await eventually(() => stream.node.length || undefined, 'the first node view')
    // Nothing changes: the ticks (every 250 ms) do not make the view again.
    const made = vi.spyOn(h.fake.node.sandboxes, 'all')
    await new Promise((r) => setTimeout(r, 700))
    expect(made).not.toHaveBeenCalled()
    made.mockRestore()
    // A rule added through the library changes no state, but shows.
    h.fake.faults.use({ method: 'ListImages', error: 'UNAVAILABLE' })
    await eventually(
      () => stream.node.find((v) => (v as { faults: { method: string }[] }).faults.some((f) => f.method === 'ListImages')),
      'the rule in a node event',
    )
    // A process that replaces its arguments (exec) shows them, without any change of state.
    const config = podConfig('exec-pod')
    const podId = await runPod(h, config)
    await runContainer(h, podId, config, containerConfig('execer', { command: ['sh', '-c', 'sleep 0.3; exec sleep 3600'] }))
    await eventually(
      () =>
        stream.node.find((v) =>
          (v as { containers: { processes: { args: string[] }[] }[] }).containers.some((c) =>
            c.processes.some((p) => p.args.join(' ') === 'sleep 3600'),
          ),
        ),
      'the exec in a node event',
    )
    stream.close()
  })

  test('the fault actions add a preset through the harness and clear the run-time rules', async () => {
    const added = await call(base, 'POST', '/api/faults', JSON.stringify({ preset: 'flaky', args: { method: 'Status', times: '2' } }))
    expect([added.status, JSON.parse(added.body)]).toEqual([
      200,
      [expect.objectContaining({ method: 'Status', times: 2, error: 'UNAVAILABLE' })],
    ])
    expect((await grpcError(h.runtime.Status({ verbose: false }))).code).toBe(14)
    const cni = await call(base, 'POST', '/api/faults', JSON.stringify({ preset: 'cniFailure', args: { match: '{"name":"doomed"}' } }))
    expect(cni.status).toBe(200)
    const err = await grpcError(runPod(h, podConfig('doomed')))
    expect(err.details).toContain('failed to setup network for sandbox')
    const cleared = await call(base, 'DELETE', '/api/faults')
    expect([cleared.status, JSON.parse(cleared.body)]).toEqual([200, []])
    await h.runtime.Status({ verbose: false })
  })

  test('refuses what it cannot do with a status and a sentence', async () => {
    const post = (body: unknown, headers?: Record<string, string>) => call(base, 'POST', '/api/faults', JSON.stringify(body), headers)
    const cases: [Promise<Answer>, number, string][] = [
      [post({ preset: 'nope' }), 400, 'there is no fault preset "nope"; choose one of registryUnavailable,'],
      [post({ preset: 'flaky', args: {} }), 400, 'the flaky preset needs a method'],
      [post({ preset: 'flaky', args: { method: 'Status', times: 'many' } }), 400, 'flaky: times must be a whole number, got "many"'],
      [post({ preset: 'flaky', args: { method: 'Statuss' } }), 400, 'no RPC is named "Statuss"; did you mean Status?'],
      [post({ preset: 'crashLoop', args: { match: '[1]' } }), 400, 'crashLoop: match must be a JSON object'],
      [call(base, 'POST', '/api/faults', '{nope'), 400, 'the body is not valid JSON'],
      [post({ preset: 'flaky' }, { 'content-type': 'text/plain' }), 415, 'send the action as JSON (Content-Type: application/json)'],
      [
        post({ preset: 'flaky' }, { origin: 'http://evil.example' }),
        403,
        'only on requests from its own page (at port ' + new URL(base).port + ' of this machine), not from http://evil.example',
      ],
      [
        call(base, 'GET', '/api/pods', undefined, { host: 'evil.example:80' }),
        403,
        'answers only requests addressed to this machine (a loopback name or one of its addresses), not to "evil.example:80"; open it at http://127.0.0.1:',
      ],
      [call(base, 'GET', '/api/journal?since=x'), 400, 'since must be a journal sequence number (a whole number), got "x"'],
      [call(base, 'PUT', '/api/faults'), 405, 'PUT is not allowed on /api/faults; use GET or POST or DELETE'],
      [call(base, 'PUT', '/api/faults/'), 405, 'PUT is not allowed on /api/faults; use GET or POST or DELETE'],
      [call(base, 'POST', '/api/journal/'), 405, 'POST is not allowed on /api/journal; use GET'],
      [call(base, 'GET', '/api/faults/x'), 404, 'there is nothing at /api/faults/x'],
      [call(base, 'GET', '/nothing'), 404, 'there is nothing at /nothing; the web view is at /'],
    ]
    for (const [answer, status, message] of cases) {
      const got = await answer
      expect([got.status, JSON.parse(got.body).error]).toEqual([status, expect.stringContaining(message)])
    }
    expect(h.fake.faults.list()).toEqual([])
  })

  test("the journal's last is below a call still running: polling with since=last misses no slow call", async () => {
    h.fake.faults.use({ method: 'Version', delay: 400 })
    const before = h.fake.journal.last
    const slow = h.runtime.Version({ version: '' })
    await eventually(() => h.fake.journal.last > before || undefined, 'the slow call to begin')
    const slowSeq = h.fake.journal.last
    await h.runtime.Status({ verbose: false })
    const first = JSON.parse((await call(base, 'GET', `/api/journal?since=${before}`)).body) as {
      entries: { seq: number; method: string }[]
      last: number
    }
    expect(first.entries.map((e) => e.method)).toEqual(['Status'])
    expect(first.last).toBeLessThan(slowSeq)
    await slow
    const next = JSON.parse((await call(base, 'GET', `/api/journal?since=${first.last}`)).body) as typeof first
    expect(next.entries.map((e) => e.method)).toEqual(['Version', 'Status'])
    expect(next.last).toBe(h.fake.journal.last)
  })

  test('ends its event streams and stops listening when the server stops', async () => {
    const stream = await events(base)
    await eventually(() => stream.node.length || undefined, 'the first node view')
    await h.fake.close()
    await stream.ended
    await expect(call(base, 'GET', '/')).rejects.toThrow(/ECONNREFUSED/)
  })

  test('keeps its address and streams across restart(), showing the new run', async () => {
    const stream = await events(base)
    await h.fake.restart()
    await runPod(h, podConfig('after-restart'))
    await eventually(
      () => stream.node.find((v) => (v as { pods: { name: string }[] }).pods.some((p) => p.name === 'after-restart')),
      'the pod made after the restart',
    )
    expect(h.fake.webUrl).toBe(base)
    stream.close()
  })
})

test('a web address that is taken fails the start with a sentence', async () => {
  const first = await startFakeContainerd({ web: '127.0.0.1:0' })
  const port = new URL(first.webUrl!).port
  await expect(startFakeContainerd({ web: `127.0.0.1:${port}` })).rejects.toThrow(
    `cannot serve the web view on 127.0.0.1:${port}: listen EADDRINUSE`,
  )
  await first.close()
})

test('an empty web address is refused, not taken as a free port', async () => {
  await expect(startFakeContainerd({ web: '' })).rejects.toThrow(
    'cannot serve the web view on : the web address is empty: give HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one), or leave it out',
  )
})

describe('bound to every address (0.0.0.0)', () => {
  let wide: Harness
  let port: string
  let at: string
  beforeAll(async () => {
    wide = await harness({ web: '0.0.0.0:0' })
    port = new URL(wide.fake.webUrl!).port
    at = `http://127.0.0.1:${port}/`
  })
  afterAll(() => wide.close())

  test('answers only requests addressed to this machine, and acts only on its own pages (no DNS rebinding)', async () => {
    const flaky = JSON.stringify({ preset: 'flaky', args: { method: 'Status' } })
    const evil = `evil.example:${port}`
    const rebound = await call(at, 'POST', '/api/faults', flaky, {
      'content-type': 'application/json',
      host: evil,
      origin: `http://${evil}`,
    })
    expect([rebound.status, JSON.parse(rebound.body).error]).toEqual([403, expect.stringContaining(`not to "${evil}"`)])
    const read = await call(at, 'GET', '/api/pods', undefined, { host: evil })
    expect(read.status).toBe(403)
    for (const origin of [`http://${evil}`, `http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`]) {
      const cross = await call(at, 'DELETE', '/api/faults', undefined, { origin })
      expect([origin, cross.status, JSON.parse(cross.body).error]).toEqual([
        origin,
        403,
        expect.stringContaining(`acts only on requests from its own page (at port ${port} of this machine), not from ${origin}`),
      ])
      const post = await call(at, 'POST', '/api/faults', flaky, { 'content-type': 'application/json', origin })
      expect(post.status).toBe(403)
    }
    expect(wide.fake.faults.list()).toEqual([])
    // Its own names: loopback, the wildcard it printed, the machine's addresses and host name.
    const own = [`127.0.0.1:${port}`, `localhost:${port}`, `0.0.0.0:${port}`, `${hostname()}:${port}`]
    const ip = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)
    if (ip) own.push(`${ip.address}:${port}`)
    for (const host of own) {
      const ok = await call(at, 'DELETE', '/api/faults', undefined, { host, origin: `http://${host}` })
      expect([host, ok.status]).toEqual([host, 200])
    }
    const added = await call(at, 'POST', '/api/faults', flaky, { origin: `http://localhost:${port}` })
    expect(added.status).toBe(200)
  })
})

describe('the view when no page is open, and a panel that throws', () => {
  test('stops building the view once the last stream closes; a panel that throws is logged, not the end of the server', async () => {
    const fake = await startFakeContainerd()
    const lines: string[] = []
    const web = new WebServer(
      fakeHarness(fake),
      createLogger('error', 'text', (l) => lines.push(l)),
    )
    await web.listen('127.0.0.1:0')
    try {
      const list = vi.spyOn(fake.faults, 'list')
      const stream = await events(web.url)
      await eventually(() => stream.node.length || undefined, 'the first node view')
      expect(web.openStreams).toBe(1)
      // A panel that throws while the view is brought up to date (a call was recorded).
      list.mockImplementation(() => {
        throw new Error('panel broke')
      })
      fake.journal.begin('runtime.v1.RuntimeService', 'Version', '', {})({ status: { code: 0, details: '' } })
      await eventually(
        () => lines.find((l) => l.includes('web view: updating the open pages failed: Error: panel broke')),
        'the error logged',
      )
      list.mockRestore()
      const spied = vi.spyOn(fake.faults, 'list')
      fake.journal.begin('runtime.v1.RuntimeService', 'Status', '', {})({ status: { code: 0, details: '' } })
      await eventually(
        () => stream.journal.flatMap((j) => j.entries).find((e) => e.method === 'Status'),
        'the stream still going after the throw',
      )
      stream.close()
      await eventually(() => web.openStreams === 0 || undefined, 'the stream gone')
      const built = spied.mock.calls.length
      fake.journal.begin('runtime.v1.RuntimeService', 'Version', '', {})({ status: { code: 0, details: '' } })
      await new Promise((r) => setTimeout(r, 600))
      expect(spied.mock.calls.length).toBe(built)
    } finally {
      await web.close()
      await fake.close()
    }
  })
})

/** A harness over a running fake's parts, for a web view of its own. */
function fakeHarness(fake: Awaited<ReturnType<typeof startFakeContainerd>>): CoreHarness {
  const harness = new CoreHarness({ faults: fake.faults, journal: fake.journal, clock: fake.clock, podCidr: '10.88.0.0/16' })
  harness.attach(fake.node)
  return harness
}
