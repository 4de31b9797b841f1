// The node's network model (namespaces, sockets, routes, DNS, /proc/net) and the servers and
// commands over it where the process table matters: nginx's workers and daemons (spawn), nc -e, UDP.
import { describe, expect, test } from 'vitest'
import { NodeNetwork } from '../../src/sim/net-namespaces.js'
import { networkNamespace, podDirectory } from '../../src/model/runtime/network.js'
import type { SandboxLookup } from '../../src/model/cri/records.js'
import { parseCidr } from '../../src/model/cri/ipam.js'
import { SimClock } from '../../src/sim/clock.js'
import { NetError, StreamReader, type Net } from '../../src/sim/net.js'
import { imageProgram, type PackageFile } from '../../src/sim/programs/index.js'
import type { ContainerRecord } from '../../src/store/schema.js'
import { FakeTable, MemFs, sh, startArgv, until, type FileSpec } from './sh-helpers.js'

interface StubSandbox {
  id: string
  cri: { kind: 'sandbox'; ip: string; additionalIps: string[]; ready: boolean; netnsPath: string; config: object }
  spec: object
}

const sandbox = (id: string, ip: string, hostNetwork = false): StubSandbox => ({
  id,
  cri: {
    kind: 'sandbox',
    ip: hostNetwork ? '' : ip,
    additionalIps: [],
    ready: true,
    netnsPath: hostNetwork ? '' : `/var/run/netns/cni-${id.slice(0, 8)}`,
    config: { linux: { security_context: { namespace_options: { network: hostNetwork ? 'NODE' : 'POD' } } } },
  },
  spec: {},
})

const lookup = (sandboxes: StubSandbox[]): SandboxLookup =>
  ({
    find: (id: string) => sandboxes.find((s) => s.id === id),
    all: () => sandboxes,
    at: (address: string) => sandboxes.filter((s) => s.cri.ip === address || s.cri.additionalIps.includes(address)),
    withNetns: (path: string) => sandboxes.find((s) => s.cri.netnsPath === path),
  }) as unknown as SandboxLookup

/** The stack over these sandboxes, reached by container record as the model reaches it. */
function network(sandboxes: StubSandbox[]): {
  view(r: ContainerRecord): Net
  procNet(r: ContainerRecord, file: string): string | undefined
  query: NodeNetwork['query']
} {
  const pods = lookup(sandboxes)
  const net = new NodeNetwork(podDirectory(pods, () => parseCidr('10.88.0.0/16')))
  return {
    view: (r) => net.view(networkNamespace(pods, r)),
    procNet: (r, file) => net.procNet(networkNamespace(pods, r), file),
    query: (name, type) => net.query(name, type),
  }
}

const record = (r: object): ContainerRecord => r as ContainerRecord
const inPod = (sandboxId: string): ContainerRecord => record({ id: `c-${sandboxId}`, cri: { kind: 'container', sandboxId }, spec: {} })
const owner = { pid: 7, name: 'test', uid: 0 }

describe('the network model', () => {
  const pods = [sandbox('aaaaaaaa1', '10.88.0.2'), sandbox('bbbbbbbb2', '10.88.0.3'), sandbox('cccccccc3', '', true)]

  test('the namespace a container is in: its pod’s, the node’s (host network, or no netns in an OCI spec), one it joins or its own', () => {
    const n = (r: ContainerRecord): string => networkNamespace(lookup(pods), r)
    expect(n(inPod('aaaaaaaa1'))).toBe('pod:aaaaaaaa1')
    expect(n(record(pods[0] as object))).toBe('pod:aaaaaaaa1')
    expect(n(inPod('cccccccc3'))).toBe('host')
    expect(n(record({ id: 'x', spec: { linux: { namespaces: [{ type: 'pid' }] } } }))).toBe('host')
    expect(n(record({ id: 'x', spec: { linux: { namespaces: [{ type: 'network' }] } } }))).toBe('own:x')
    expect(n(record({ id: 'x', spec: { linux: { namespaces: [{ type: 'network', path: '/var/run/netns/cni-bbbbbbbb' }] } } }))).toBe(
      'pod:bbbbbbbb2',
    )
    expect(n(record({ id: 'x', spec: { linux: { namespaces: [{ type: 'network', path: '/proc/42/ns/net' }] } } }))).toBe(
      'path:/proc/42/ns/net',
    )
  })

  test('listen, connect across pods and on loopback, bytes both ways, end of stream, and the errors', async () => {
    const net = network(pods)
    const a = net.view(inPod('aaaaaaaa1'))
    const b = net.view(inPod('bbbbbbbb2'))
    const process = new AbortController()
    const listener = a.listen({ port: 80, owner, signal: process.signal })
    const code = (f: () => unknown): string | undefined => {
      try {
        f()
      } catch (err) {
        return (err as NetError).code
      }
      return undefined
    }
    expect(code(() => a.listen({ port: 80, owner, signal: process.signal }))).toBe('EADDRINUSE')
    expect(code(() => a.listen({ address: '127.0.0.1', port: 80, owner, signal: process.signal }))).toBe('EADDRINUSE')
    expect(code(() => a.listen({ address: '10.1.2.3', port: 81, owner, signal: process.signal }))).toBe('EADDRNOTAVAIL')
    expect(code(() => b.listen({ port: 80, owner, signal: process.signal }))).toBeUndefined()
    expect(code(() => b.connect({ address: '10.88.0.2', port: 81, owner, signal: process.signal }))).toBe('ECONNREFUSED')
    expect(code(() => b.connect({ address: '10.88.0.99', port: 80, owner, signal: process.signal }))).toBe('EHOSTUNREACH')
    expect(code(() => b.connect({ address: '8.8.8.8', port: 53, owner, signal: process.signal }))).toBe('ENETUNREACH')
    expect(new NetError('EADDRINUSE').message).toBe('Address in use')

    const client = b.connect({ address: '10.88.0.2', port: 80, owner, signal: process.signal })
    const server = await listener.accept()
    expect(server?.remote).toEqual(client.local)
    expect(client.local.address).toBe('10.88.0.3')
    client.write('ping')
    client.end()
    const reader = new StreamReader(server!)
    expect(await reader.line()).toBe('ping')
    expect(await reader.line()).toBeUndefined()
    expect(server!.write('pong')).toBe(true)
    server!.close()
    const chunks: string[] = []
    for await (const chunk of client) chunks.push(chunk.toString())
    expect(chunks).toEqual(['pong'])
    expect(client.write('more')).toBe(false)

    // Loopback is the namespace's own: 127.0.0.1:80 from b is b's listener, not a's.
    const own = b.connect({ address: '127.0.0.1', port: 80, owner, signal: process.signal })
    expect(own.remote).toEqual({ address: '127.0.0.1', port: 80 })
    // The node reaches pods, and pods reach the node on the gateway.
    const host = net.view(inPod('cccccccc3'))
    expect(host.connect({ address: '10.88.0.2', port: 80, owner, signal: process.signal }).local.address).toBe('10.88.0.1')
  })

  test("sockets close when their process ends: pending accepts see the end, connections the peer's end", async () => {
    const net = network(pods)
    const a = net.view(inPod('aaaaaaaa1'))
    const b = net.view(inPod('bbbbbbbb2'))
    const server = new AbortController()
    const listener = a.listen({ port: 9000, owner, signal: server.signal })
    const client = b.connect({ address: '10.88.0.2', port: 9000, owner, signal: new AbortController().signal })
    const accepted = await listener.accept()
    const pending = listener.accept()
    server.abort()
    expect(await pending).toBeUndefined()
    expect(await client.read()).toBeUndefined()
    expect(client.write('x')).toBe(false)
    expect(accepted?.write('x')).toBe(false)
    // The port is free again.
    expect(a.listen({ port: 9000, owner, signal: new AbortController().signal }).local.port).toBe(9000)
  })

  test('UDP: datagrams to a bound port, with the sender’s address; none when nothing is bound', async () => {
    const net = network(pods)
    const a = net.view(inPod('aaaaaaaa1'))
    const b = net.view(inPod('bbbbbbbb2'))
    const signal = new AbortController().signal
    const server = a.bindUdp({ port: 53, owner, signal })
    const client = b.bindUdp({ port: 0, owner, signal })
    client.send({ address: '10.88.0.2', port: 53 }, 'query')
    client.send({ address: '10.88.0.2', port: 54 }, 'lost')
    const d = await server.receive()
    expect(d?.data.toString()).toBe('query')
    expect(d?.from).toEqual({ address: '10.88.0.3', port: client.local.port })
    expect(client.local.port).toBeGreaterThanOrEqual(32768)
  })

  test('/proc/net/tcp lists the namespace’s sockets as the kernel does; the cluster DNS answers what it knows', () => {
    const net = network(pods)
    const a = net.view(inPod('aaaaaaaa1'))
    a.listen({ address: '127.0.0.1', port: 8080, owner: { pid: 1, name: 'nc', uid: 1000 }, signal: new AbortController().signal })
    const tcp = net.procNet(inPod('aaaaaaaa1'), 'tcp') as string
    const [header, line] = tcp.split('\n')
    expect(header).toHaveLength(149)
    expect(line).toMatch(
      /^ {3}0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 {8}0 (\d+) 1 0000000000000000 100 0 0 10 0 +$/,
    )
    const inode = Number(/ 0 (\d+) 1 /.exec(line as string)?.[1])
    expect(a.owner(inode)).toEqual({ pid: 1, name: 'nc', uid: 1000 })
    expect(net.procNet(inPod('bbbbbbbb2'), 'tcp')?.split('\n')).toHaveLength(2)

    expect(net.query('localhost', 'A')).toEqual({
      rcode: 'NOERROR',
      authoritative: false,
      records: [{ name: 'localhost', type: 'A', data: '127.0.0.1' }],
    })
    expect(net.query('10-88-0-3.prod.pod.cluster.local.', 'A').records).toEqual([
      { name: '10-88-0-3.prod.pod.cluster.local', type: 'A', data: '10.88.0.3' },
    ])
    expect(net.query('1.0.0.127.in-addr.arpa', 'PTR').records[0]?.data).toBe('localhost')
    expect(net.query('kubernetes.default.svc.cluster.local', 'A')).toEqual({ rcode: 'NXDOMAIN', authoritative: true, records: [] })
  })
})

/** An image program's package as MemFs files (its logs as files, not links to /dev). */
function packageFiles(program: string, image: string): Record<string, FileSpec> {
  const files: Record<string, FileSpec> = {}
  for (const [path, f] of Object.entries(imageProgram(program)?.files(image) as Record<string, PackageFile>)) {
    if (typeof f === 'string') files[path] = f
    else if ('text' in f) files[path] = { content: f.text, mode: f.mode }
    else if ('dir' in f) files[path] = { dir: true }
  }
  return files
}

describe('a pod CIDR inside 127/8 (--pod-cidr 127.77.0.0/16)', () => {
  const pods = [sandbox('aaaaaaaa1', '127.77.0.2'), sandbox('bbbbbbbb2', '127.77.0.3')]
  const net = new NodeNetwork(podDirectory(lookup(pods), () => parseCidr('127.77.0.0/16')))
  const view = (id: string): Net => net.view(networkNamespace(lookup(pods), inPod(id)))

  test("a pod's address is its own, not every namespace's loopback; 127.0.0.1 still is each namespace's", async () => {
    const process = new AbortController()
    const listener = view('aaaaaaaa1').listen({ port: 80, owner, signal: process.signal })
    const c = view('bbbbbbbb2').connect({ address: '127.77.0.2', port: 80, owner, signal: process.signal })
    expect(c.local.address).toBe('127.77.0.3')
    expect((await listener.accept())?.remote.address).toBe('127.77.0.3')
    expect(() => view('bbbbbbbb2').listen({ address: '127.77.0.2', port: 81, owner, signal: process.signal })).toThrow(
      'Address not available',
    )
    expect(() => view('bbbbbbbb2').connect({ address: '127.0.0.1', port: 80, owner, signal: process.signal })).toThrow('Connection refused')
    expect(() => view('bbbbbbbb2').connect({ address: '127.77.0.9', port: 80, owner, signal: process.signal })).toThrow(
      'Host is unreachable',
    )
    process.abort()
  })

  test('watch() sees each listener and UDP socket bound, with its namespace, and when it closes', () => {
    const seen: string[] = []
    const stop = net.watch((s) => {
      seen.push(`${s.key} ${s.proto} ${s.local.address}:${s.local.port}`)
      s.onClose(() => seen.push(`closed ${s.proto} ${s.local.port}`))
    })
    const process = new AbortController()
    view('aaaaaaaa1').listen({ port: 8080, owner, signal: process.signal })
    const udp = view('bbbbbbbb2').bindUdp({ address: '127.77.0.3', port: 53, owner, signal: process.signal })
    view('bbbbbbbb2').connect({ address: '127.77.0.2', port: 8080, owner, signal: process.signal })
    udp.close()
    stop()
    view('aaaaaaaa1').listen({ port: 8081, owner, signal: process.signal })
    process.abort()
    expect(seen).toEqual(['pod:aaaaaaaa1 tcp 0.0.0.0:8080', 'pod:bbbbbbbb2 udp 127.77.0.3:53', 'closed udp 53', 'closed tcp 8080'])
  })
})

const PATH = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', NGINX_VERSION: '1.25.0' }

describe('servers and clients where the process table matters', () => {
  const pods = [sandbox('aaaaaaaa1', '10.88.0.2'), sandbox('bbbbbbbb2', '10.88.0.3')]

  async function fetch(net: Net, port: number, path = '/'): Promise<string> {
    const r = await sh(`wget -q -O- http://10.88.0.2:${port}${path}`, { net })
    return r.stdout
  }

  test('nginx with a process table that spawns: workers, their notices, and a graceful stop on SIGQUIT', async () => {
    const net = network(pods)
    const fs = new MemFs({
      ...packageFiles('nginx', 'docker.io/library/nginx:1.25.0'),
      '/var/log/nginx/error.log': '',
      '/var/log/nginx/access.log': '',
    })
    const table = new FakeTable(true)
    const nginx = startArgv(['nginx', '-g', 'daemon off;'], {
      fs,
      table,
      net: net.view(inPod('aaaaaaaa1')),
      env: PATH,
      pid: 1,
      isInit: true,
    })
    await until(() => table.list().filter((p) => p.args[0] === 'nginx: worker process').length > 0)
    const workers = table.list().filter((p) => p.args[0] === 'nginx: worker process')
    expect(workers.every((w) => w.ppid === 1)).toBe(true)
    expect(table.list().find((p) => p.pid === 1)?.args).toEqual(['nginx: master process nginx -g daemon off;'])
    expect(fs.text('/var/run/nginx.pid')).toBe('1\n')
    const client = net.view(inPod('bbbbbbbb2'))
    expect(await fetch(client, 80)).toContain('<h1>Welcome to nginx!</h1>')
    expect(fs.text('/var/log/nginx/access.log')).toMatch(/^10\.88\.0\.3 - - \[.*\] "GET \/ HTTP\/1\.1" 200 615 "-" "Wget" "-"\n$/)
    for (const w of workers) expect(fs.text('/var/log/nginx/error.log')).toContain(`[notice] 1#1: start worker process ${w.pid}\n`)

    nginx.proc.kill(3)
    expect((await nginx.exited).code).toBe(0)
    const log = fs.text('/var/log/nginx/error.log') as string
    const w = workers[0]?.pid
    expect(log).toMatch(
      new RegExp(
        `\\[notice\\] 1#1: signal 3 \\(SIGQUIT\\) received, shutting down\\n(.*\\n)*.*\\[notice\\] ${w}#${w}: gracefully shutting down\\n`,
      ),
    )
    expect(log).toContain(`[notice] 1#1: worker process ${w} exited with code 0\n`)
    expect(log).toMatch(/\[notice\] 1#1: exit\n$/)
    expect(table.list().filter((p) => p.args[0] === 'nginx: worker process')).toEqual([])
    expect(fs.text('/var/run/nginx.pid')).toBeUndefined()
    expect((await sh('wget -q http://10.88.0.2/', { net: client })).stderr).toBe(
      "wget: can't connect to remote host (10.88.0.2): Connection refused\n",
    )
  })

  test('nginx stops at once on SIGTERM, and refuses to start on a port that stays taken', async () => {
    const net = network(pods)
    const fs = new MemFs({ ...packageFiles('nginx', 'docker.io/library/nginx:1.25.0'), '/var/log/nginx/error.log': '' })
    const a = net.view(inPod('aaaaaaaa1'))
    const nginx = startArgv(['nginx', '-g', 'daemon off;'], { fs, net: a, env: PATH, pid: 1, isInit: true })
    await until(() => fs.text('/var/run/nginx.pid') !== undefined)
    const clock = new SimClock()
    clock.freeze(true)
    const second = startArgv(['nginx', '-g', 'daemon off; pid /tmp/second.pid;'], { fs, net: a, env: PATH, pid: 2, clock })
    await until(() => second.out.stderr.includes('bind()'))
    for (let i = 0; i < 5; i++) {
      clock.advance(500)
      await new Promise((r) => setImmediate(r))
    }
    expect((await second.exited).code).toBe(1)
    expect(second.out.stderr).toBe(
      `${'nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\n'.repeat(5)}nginx: [emerg] still could not bind()\n`,
    )
    nginx.proc.kill(15)
    expect((await nginx.exited).code).toBe(0)
    expect(fs.text('/var/log/nginx/error.log')).toMatch(
      /\[notice\] 1#1: signal 15 \(SIGTERM\) received, exiting\n(.*\n)*.*\[notice\] 1#1: exit\n$/,
    )
  })

  test('daemons: nginx without "daemon off" and busybox httpd without -f fork into the background, and stop on a signal', async () => {
    const net = network(pods)
    const fs = new MemFs({ ...packageFiles('nginx', 'docker.io/library/nginx:1.25.0'), '/www/index.html': 'busybox page\n' })
    const table = new FakeTable(true)
    const a = net.view(inPod('aaaaaaaa1'))
    const client = net.view(inPod('bbbbbbbb2'))
    expect(await sh('nginx; httpd -p 8080 -h /www; echo started', { fs, table, net: a, env: PATH })).toEqual({
      stdout: 'started\n',
      stderr: '',
      code: 0,
    })
    const master = table.list().find((p) => p.args[0]?.startsWith('nginx: master process'))
    expect(master?.args).toEqual(['nginx: master process nginx'])
    expect(fs.text('/var/run/nginx.pid')).toBe(`${master?.pid}\n`)
    expect(await fetch(client, 80)).toContain('Welcome to nginx!')
    expect(await fetch(client, 8080)).toBe('busybox page\n')
    const httpd = table.list().find((p) => p.args[0] === 'httpd')
    expect(httpd?.ppid).toBe(1)

    // nginx -s quit signals the master named in the pid file.
    expect(await sh('nginx -s quit', { fs, table, net: a, env: PATH })).toMatchObject({ code: 0 })
    await until(() => !table.list().some((p) => p.pid === master?.pid))
    table.kill(httpd?.pid as number, 15)
    await until(() => !table.list().some((p) => p.pid === httpd?.pid))
    expect((await sh('wget -q http://10.88.0.2:8080/', { net: client })).stderr).toBe(
      "wget: can't connect to remote host (10.88.0.2): Connection refused\n",
    )
  })

  test('nc -e runs a program on the connection (-lk: one per connection); nc -u exchanges datagrams', async () => {
    const net = network(pods)
    const a = net.view(inPod('aaaaaaaa1'))
    const client = net.view(inPod('bbbbbbbb2'))
    const server = startArgv(['nc', '-lk', '-p', '7000', '-e', 'sed', 's/^/echo: /'], { net: a })
    await until(() => (net.procNet(inPod('aaaaaaaa1'), 'tcp') ?? '').includes(':1B58 '))
    expect(await sh('echo one | nc 10.88.0.2 7000', { net: client })).toEqual({ stdout: 'echo: one\n', stderr: '', code: 0 })
    expect(await sh('echo two | nc 10.88.0.2 7000', { net: client })).toEqual({ stdout: 'echo: two\n', stderr: '', code: 0 })
    server.proc.kill(9)

    const clock = new SimClock()
    clock.freeze(true)
    const udp = startArgv(['sh', '-c', 'echo pong | nc -u -l -p 5353'], { net: a, clock })
    await until(() => (net.procNet(inPod('aaaaaaaa1'), 'udp') ?? '').includes(':14E9 '))
    const ask = startArgv(['sh', '-c', 'echo ping | nc -u -w 1 10.88.0.2 5353'], { net: client, clock })
    await until(() => ask.out.stdout === 'pong\n' && udp.out.stdout === 'ping\n')
    // -w 1: the client gives up after the net has been silent twice over.
    clock.advance(1000)
    await new Promise((r) => setImmediate(r))
    clock.advance(1000)
    expect((await ask.exited).code).toBe(0)
    udp.proc.kill(9)
  })
})
