// The host side of host ports (src/model/runtime/host-bridge.ts) over real loopback sockets into a
// simulated network: UDP flows expire and never crash the server when no simulated socket is left,
// a failed bind keeps no descriptor, a TCP client that half-closes still gets its reply; host-ports.ts's
// closes are waited for by whoever asks for them.
import { createSocket, type Socket as DgramSocket } from 'node:dgram'
import { readdirSync } from 'node:fs'
import { connect as tcpConnect, createServer } from 'node:net'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { parseCidr } from '../../src/model/cri/ipam.js'
import { silentLogger } from '../../src/log.js'
import { HostPorts } from '../../src/model/runtime/host-ports.js'
import { forwardTcp, forwardUdp, HostBindError, type HostForward } from '../../src/model/runtime/host-bridge.js'
import { HOST_NET, NodeNetwork } from '../../src/sim/net-namespaces.js'
import { NetError, type UdpSocket } from '../../src/sim/net.js'

// The TCP servers host-bridge.ts makes, to give one an accept error as EMFILE would.
const made = vi.hoisted(() => ({ servers: [] as import('node:net').Server[] }))
vi.mock('node:net', async (importOriginal) => {
  const net = await importOriginal<typeof import('node:net')>()
  const createServer = ((...args: Parameters<typeof net.createServer>) => {
    const server = net.createServer(...args)
    made.servers.push(server)
    return server
  }) as typeof net.createServer
  return { ...net, createServer, default: { ...net, createServer } }
})

const owner = { pid: 0, name: 'containerd', uid: 0 }
const server = { pid: 9, name: 'server', uid: 0 }

function hostNet() {
  const net = new NodeNetwork({ cidr: parseCidr('10.88.0.0/16'), addressesOf: () => [], podAt: () => undefined })
  return net.view(HOST_NET)
}

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

function udpClient(): Promise<DgramSocket> {
  const s = createSocket('udp4')
  cleanup.push(() => new Promise((resolve) => s.close(() => resolve(undefined))))
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)))
}

const reply = (s: DgramSocket): Promise<string> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no UDP reply within 2 s')), 2000)
    s.once('message', (m) => {
      clearTimeout(t)
      resolve(m.toString())
    })
  })

/** A simulated UDP echo server on 127.0.0.1:port of the host network. */
function udpEcho(net: ReturnType<typeof hostNet>, port: number): UdpSocket {
  const ac = new AbortController()
  cleanup.push(() => ac.abort())
  const sock = net.bindUdp({ address: '127.0.0.1', port, owner: server, signal: ac.signal })
  void (async () => {
    for (let d = await sock.receive(); d !== undefined; d = await sock.receive()) sock.send(d.from, d.data)
  })()
  return sock
}

async function forward(f: Promise<HostForward>): Promise<HostForward> {
  const fwd = await f
  cleanup.push(() => fwd.close())
  return fwd
}

/** A port free on 127.0.0.1 for `type` right now. */
async function freePort(type: 'udp' | 'tcp'): Promise<number> {
  if (type === 'udp') {
    const s = createSocket('udp4')
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()))
    const { port } = s.address()
    await new Promise<void>((resolve) => s.close(() => resolve()))
    return port
  }
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))
  const { port } = s.address() as { port: number }
  await new Promise((resolve) => s.close(resolve))
  return port
}

const closedWithin = (s: UdpSocket, ms: number): Promise<boolean> =>
  Promise.race([s.receive().then((d) => d === undefined), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

describe('UDP forwarding', () => {
  test('many peers: each gets its replies, no MaxListenersExceededWarning, idle flows close their simulated sockets', async () => {
    const net = hostNet()
    udpEcho(net, 53)
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    cleanup.push(() => process.off('warning', onWarning))
    const sims: UdpSocket[] = []
    const port = await freePort('udp')
    await forward(
      forwardUdp(
        { address: '127.0.0.1', port },
        (signal) => {
          const s = net.bindUdp({ port: 0, owner, signal })
          sims.push(s)
          return s
        },
        { address: '127.0.0.1', port: 53 },
        { flowTimeoutMs: 300 },
      ),
    )
    for (let i = 0; i < 15; i++) {
      const c = await udpClient()
      const got = reply(c)
      c.send(`ping ${i}`, port, '127.0.0.1')
      expect(await got).toBe(`ping ${i}`)
    }
    expect(sims).toHaveLength(15)
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    expect(await Promise.all(sims.map((s) => closedWithin(s, 2000)))).toEqual(sims.map(() => true))
  })

  test('a flow in use is kept past the timeout', async () => {
    const net = hostNet()
    udpEcho(net, 53)
    const sims: UdpSocket[] = []
    const port = await freePort('udp')
    await forward(
      forwardUdp(
        { address: '127.0.0.1', port },
        (signal) => {
          const s = net.bindUdp({ port: 0, owner, signal })
          sims.push(s)
          return s
        },
        { address: '127.0.0.1', port: 53 },
        { flowTimeoutMs: 300 },
      ),
    )
    const c = await udpClient()
    for (let i = 0; i < 6; i++) {
      const got = reply(c)
      c.send(`ping ${i}`, port, '127.0.0.1')
      expect(await got).toBe(`ping ${i}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(sims).toHaveLength(1)
  })

  test('no simulated socket to be had: the datagram is dropped, said once, and the forward goes on', async () => {
    const net = hostNet()
    udpEcho(net, 53)
    const said: string[] = []
    let fail = true
    const port = await freePort('udp')
    await forward(
      forwardUdp(
        { address: '127.0.0.1', port },
        (signal) => {
          if (fail) throw new NetError('EADDRINUSE')
          return net.bindUdp({ port: 0, owner, signal })
        },
        { address: '127.0.0.1', port: 53 },
        { warn: (m) => said.push(m) },
      ),
    )
    const c = await udpClient()
    c.send('lost', port, '127.0.0.1')
    c.send('lost too', port, '127.0.0.1')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(/^UDP datagrams to host 127\.0\.0\.1:\d+ are being dropped: no simulated socket could be opened/)
    fail = false
    const got = reply(c)
    c.send('kept', port, '127.0.0.1')
    expect(await got).toBe('kept')
  })

  test('a failed bind keeps no file descriptor', async () => {
    const held = await udpClient()
    const { port } = held.address()
    const fds = () => readdirSync('/proc/self/fd').length
    const before = fds()
    for (let i = 0; i < 20; i++) {
      await expect(
        forwardUdp(
          { address: '127.0.0.1', port },
          () => {
            throw new Error('not reached')
          },
          { address: '127.0.0.1', port: 53 },
        ),
      ).rejects.toBeInstanceOf(HostBindError)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(fds() - before).toBeLessThan(5)
  })
})

describe('TCP forwarding', () => {
  test('a client that writes then half-closes gets the reply', async () => {
    const net = hostNet()
    const ac = new AbortController()
    cleanup.push(() => ac.abort())
    const listener = net.listen({ address: '127.0.0.1', port: 7000, owner: server, signal: ac.signal })
    // Reads to end of stream, then answers with what it read.
    void (async () => {
      for (let c = await listener.accept(); c !== undefined; c = await listener.accept()) {
        const conn = c
        void (async () => {
          const parts: Buffer[] = []
          for await (const chunk of conn) parts.push(chunk)
          conn.write(`got ${Buffer.concat(parts).toString()}`)
          conn.end()
        })()
      }
    })()
    const port = await freePort('tcp')
    await forward(forwardTcp({ address: '127.0.0.1', port }, (signal) => net.connect({ address: '127.0.0.1', port: 7000, owner, signal })))
    const answer = await new Promise<string>((resolve, reject) => {
      const s = tcpConnect({ host: '127.0.0.1', port, allowHalfOpen: true })
      const parts: Buffer[] = []
      s.on('data', (d: Buffer) => parts.push(d))
      s.on('end', () => resolve(Buffer.concat(parts).toString()))
      s.on('error', reject)
      s.on('connect', () => s.end('hello'))
      setTimeout(() => reject(new Error('no reply within 2 s')), 2000).unref()
    })
    expect(answer).toBe('got hello')
  })
})

describe('closing host ports', () => {
  test("a close asked while another is under way (StopPodSandbox after markNotReady's) resolves only once the port is free", async () => {
    const net = new NodeNetwork({ cidr: parseCidr('10.88.0.0/16'), addressesOf: () => [], podAt: () => undefined })
    const ports = new HostPorts({ network: net, log: silentLogger, podIp: () => undefined, hostAddress: '127.0.0.1' })
    cleanup.push(() => ports.closeAll())
    const port = await freePort('tcp')
    await ports.open('pod1', '10.88.0.2', [{ protocol: 'TCP', container_port: 80, host_port: port, host_ip: '127.0.0.1' }] as never)
    let first = false
    void ports.close('pod1').then(() => (first = true))
    await ports.close('pod1')
    expect(first).toBe(true)
    await ports.closeAll()
  })

  test('closeAll() waits for a mirror already closing because its simulated server closed', async () => {
    const net = new NodeNetwork({ cidr: parseCidr('10.88.0.0/16'), addressesOf: () => [], podAt: () => undefined })
    const ports = new HostPorts({ network: net, log: silentLogger, podIp: () => undefined, hostAddress: '127.0.0.1' })
    cleanup.push(() => ports.closeAll())
    const port = await freePort('tcp')
    made.servers.length = 0
    const ac = new AbortController()
    cleanup.push(() => ac.abort())
    const listener = net.view(HOST_NET).listen({ address: '127.0.0.1', port, owner: server, signal: ac.signal })
    await vi.waitFor(() => expect(made.servers[0]?.listening).toBe(true))
    let mirrorClosed = false
    made.servers[0]!.once('close', () => (mirrorClosed = true))
    listener.close()
    await ports.closeAll()
    expect(mirrorClosed).toBe(true)
  })
})

test('an accept error on a listening host port (EMFILE) is said, and the listener goes on', async () => {
  const net = hostNet()
  const ac = new AbortController()
  cleanup.push(() => ac.abort())
  const listener = net.listen({ address: '127.0.0.1', port: 7001, owner: server, signal: ac.signal })
  void (async () => {
    for (let c = await listener.accept(); c !== undefined; c = await listener.accept()) c.end()
  })()
  const said: string[] = []
  const port = await freePort('tcp')
  made.servers.length = 0
  await forward(
    forwardTcp({ address: '127.0.0.1', port }, (signal) => net.connect({ address: '127.0.0.1', port: 7001, owner, signal }), {
      warn: (m) => said.push(m),
    }),
  )
  expect(made.servers).toHaveLength(1)
  const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' })
  made.servers[0]!.emit('error', emfile)
  made.servers[0]!.emit('error', emfile)
  expect(said).toEqual([
    `host 127.0.0.1:${port} could not accept a TCP connection: accept EMFILE: out of file descriptors, raise the limit (ulimit -n) or close connections`,
    `host 127.0.0.1:${port} could not accept a TCP connection: accept EMFILE: out of file descriptors, raise the limit (ulimit -n) or close connections`,
  ])
  const ended = await new Promise<boolean>((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port })
    s.on('end', () => resolve(true))
    s.on('error', () => resolve(false))
    s.resume()
  })
  expect(ended).toBe(true)
})
