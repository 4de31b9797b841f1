// Many nodes from one process (startFakeCluster): each node on its own socket with its own pods, pod
// range, loopback address, fault rules and journal, as real crictl and the control service see them;
// a restart with a state directory brings each node back; bad input refused with what to change.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { afterEach, describe, expect, test } from 'vitest'
import { startFakeCluster, type FakeCluster } from '../../src/cluster/cluster.js'
import { startFakeContainerd } from '../../src/server.js'
import { controlClient, criClients, type CriClients } from '../../src/client.js'
import { containerConfig, crictlPodFile, eventually, grpcError, podConfig, runContainer, runPod } from '../helpers.js'

const run = promisify(execFile)
const CRICTL = (process.env.CRICTL ?? '').split(',').find(Boolean) ?? '/opt/cri-tools/1.29/crictl'

let cluster: FakeCluster | undefined
const closers: (() => unknown)[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  await cluster?.close()
  cluster = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'fc-cluster-'))
  dirs.push(d)
  return d
}

/** CRI clients of node i, closed after the test. */
function clientsOf(c: FakeCluster, i: number): CriClients {
  const clients = criClients(c.node(i).address)
  closers.push(() => clients.close())
  return clients
}

/** A port free on `address` just now (the nodes bind it on theirs). */
const freePort = (address: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer().once('error', reject)
    s.listen(0, address, () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })

const ipOf = async (cri: CriClients, id: string): Promise<string> =>
  (await cri.runtime.PodSandboxStatus({ pod_sandbox_id: id })).status?.network?.ip ?? ''

describe('a cluster of nodes in one process', () => {
  test.runIf(existsSync(CRICTL))(`real crictl (${CRICTL}) sees each node's own pods, with IPs from the node's own /24`, async () => {
    cluster = await startFakeCluster({ nodes: 2 })
    const crictl = async (i: number, ...args: string[]) =>
      (await run(CRICTL, ['-r', cluster!.node(i).address, '-i', cluster!.node(i).address, '--timeout', '10s', ...args])).stdout.trim()
    const dir = tempDir()
    const pods = [0, 1].map((i) => {
      const sub = join(dir, `n${i}`)
      mkdirSync(sub)
      return crictlPodFile(sub, `web-${i}`)
    })
    const ids = [await crictl(0, 'runp', pods[0]!), await crictl(1, 'runp', pods[1]!)]
    expect(await crictl(0, 'pods', '-q')).toBe(ids[0])
    expect(await crictl(1, 'pods', '-q')).toBe(ids[1])
    expect(await crictl(0, 'pods', '--name', 'web-1', '-q')).toBe('')
    const ips = await Promise.all([0, 1].map(async (i) => JSON.parse(await crictl(i, 'inspectp', ids[i]!)).status.network.ip as string))
    expect(ips).toEqual(['10.88.0.2', '10.88.1.2'])
    // A pod whose config names no hostname: containerd's spec carries the config's (none).
    const info = JSON.parse(await crictl(1, 'inspectp', ids[1]!)).info
    expect(info.runtimeSpec.hostname).toBe('')
  })

  test("a pod without a hostname: an empty spec hostname, and the node's name in /etc/hostname, HOSTNAME= and the UTS name", async () => {
    cluster = await startFakeCluster({ nodes: 2 })
    const single = await startFakeContainerd()
    closers.push(() => single.close())
    const seen = async (address: string): Promise<{ spec: string; out: string }> => {
      const cri = criClients(address)
      closers.push(() => cri.close())
      const config = podConfig('nameless', { hostname: '' })
      const pod = await runPod(cri, config)
      const id = await runContainer(cri, pod, config, containerConfig('box', { command: ['sleep', '1000'] }))
      const { info } = await cri.runtime.ContainerStatus({ container_id: id, verbose: true })
      const { stdout } = await cri.runtime.ExecSync({
        container_id: id,
        cmd: ['sh', '-c', 'echo $HOSTNAME; hostname; cat /etc/hostname'],
        timeout: 10,
      })
      return { spec: JSON.parse(info.info ?? '{}').runtimeSpec.hostname as string, out: stdout.toString() }
    }
    expect(await seen(cluster.node(1).address)).toEqual({ spec: '', out: 'node-1\n'.repeat(3) })
    // A single server is named as containerd names a pod there: by the host's name (os.Hostname()).
    expect(await seen(single.address)).toEqual({ spec: '', out: `${hostname()}\n`.repeat(3) })
  })

  test('fault probabilities: node i draws on seed + i, so nodes differ and each repeats itself with the same seed', async () => {
    const pattern = async (c: FakeCluster, i: number): Promise<number[]> => {
      const cri = clientsOf(c, i)
      const codes: number[] = []
      for (let k = 0; k < 24; k++)
        codes.push(
          await cri.runtime.Version({ version: '' }).then(
            () => 0,
            (e: { code: number }) => e.code,
          ),
        )
      return codes
    }
    const rule = { method: 'Version', probability: 0.5, error: 'UNAVAILABLE' as const }
    cluster = await startFakeCluster({ nodes: 2, seed: 7, faults: [rule] })
    const first = [await pattern(cluster, 0), await pattern(cluster, 1)]
    expect(first[0]).not.toEqual(first[1])
    for (const codes of first) expect(new Set(codes)).toEqual(new Set([0, 14]))
    await cluster.close()
    cluster = await startFakeCluster({ nodes: 2, seed: 7, faults: [rule] })
    expect([await pattern(cluster, 0), await pattern(cluster, 1)]).toEqual(first)
    // Node 1 of seed 7 draws as node 0 of seed 8 does.
    await cluster.close()
    cluster = await startFakeCluster({ nodes: 1, seed: 8, faults: [rule] })
    expect(await pattern(cluster, 0)).toEqual(first[1])
  })

  test("without journal limits each node keeps a 1/N share of one server's; given limits apply to every node", async () => {
    cluster = await startFakeCluster({ nodes: 40 })
    const cri = clientsOf(cluster, 3)
    for (let k = 0; k < 260; k++) await cri.runtime.Version({ version: '' })
    expect(cluster.calls('Version', {}, { node: 3 })).toHaveLength(10_000 / 40)
    await cluster.close()
    cluster = await startFakeCluster({ nodes: 40, journalSize: 300 })
    const again = clientsOf(cluster, 3)
    for (let k = 0; k < 260; k++) await again.runtime.Version({ version: '' })
    expect(cluster.calls('Version', {}, { node: 3 })).toHaveLength(260)
  })

  test('pod IPs of different nodes never overlap, and each node lists only its own pods', async () => {
    cluster = await startFakeCluster({ nodes: 3, podCidr: '10.60.0.0/16' })
    const ips: string[] = []
    for (let i = 0; i < 3; i++) {
      const cri = clientsOf(cluster, i)
      for (let p = 0; p < 3; p++) ips.push(await ipOf(cri, await runPod(cri, podConfig(`pod-${p}`))))
      expect((await cri.runtime.ListPodSandbox({})).items.map((s) => s.metadata?.name).sort()).toEqual(['pod-0', 'pod-1', 'pod-2'])
    }
    expect(new Set(ips).size).toBe(9)
    expect(ips.map((ip) => ip.split('.').slice(0, 3).join('.'))).toEqual([
      ...Array(3).fill('10.60.0'),
      ...Array(3).fill('10.60.1'),
      ...Array(3).fill('10.60.2'),
    ])
  })

  test('a fault on one node does not touch another; its journal holds only its calls', async () => {
    cluster = await startFakeCluster({ nodes: 2 })
    const [a, b] = [clientsOf(cluster, 0), clientsOf(cluster, 1)]
    cluster.addFaults({ method: 'RunPodSandbox', error: 'UNAVAILABLE' }, { node: 'node-1' })
    expect((await grpcError(b.runtime.RunPodSandbox({ config: podConfig('refused') }))).code).toBe(14)
    await runPod(a, podConfig('fine'))
    expect(cluster.calls('RunPodSandbox', {}, { node: 0 }).map((e) => [e.node, e.status.code])).toEqual([['node-0', 0]])
    expect(cluster.calls('RunPodSandbox').map((e) => [e.node, e.status.code])).toEqual([
      ['node-0', 0],
      ['node-1', 14],
    ])
    // Every node at once; a bad rule is refused whole.
    cluster.addFaults([{ method: 'Version', error: 'INTERNAL' }])
    for (const cri of [a, b]) expect((await grpcError(cri.runtime.Version({ version: '' }))).code).toBe(13)
    expect(() => cluster!.addFaults({ method: 'Versoin', error: 'INTERNAL' })).toThrow('did you mean Version?')
    expect(() => cluster!.addFaults({ method: 'Version', error: 'INTERNAL' }, { node: 7 })).toThrow(
      'no node 7 in this cluster: it has node-0 … node-1',
    )
    cluster.reset({ node: 0 })
    await a.runtime.Version({ version: '' })
    expect((await grpcError(b.runtime.Version({ version: '' }))).code).toBe(13)
  })

  test("over the wire: ListNodes names every node, and each socket's Control acts on its own node", async () => {
    cluster = await startFakeCluster({ nodes: 2 })
    const control = controlClient(cluster.node(1).address)
    closers.push(() => control.close())
    const { nodes } = await control.ListNodes({})
    expect(nodes).toEqual([
      {
        name: 'node-0',
        address: cluster.node(0).address,
        pod_cidr: '10.88.0.0/24',
        host_address: '127.0.1.1',
        stream_url: expect.stringMatching(/^http:\/\/127\.0\.1\.1:\d+$/),
        self: false,
      },
      expect.objectContaining({ name: 'node-1', pod_cidr: '10.88.1.0/24', host_address: '127.0.1.2', self: true }),
    ])
    await control.AddFaults({ rules_json: JSON.stringify({ method: 'ListPodSandbox', error: 'UNAVAILABLE' }) })
    expect((await grpcError(clientsOf(cluster, 1).runtime.ListPodSandbox({}))).code).toBe(14)
    await clientsOf(cluster, 0).runtime.ListPodSandbox({})
    const journal = JSON.parse((await control.GetJournal({ method: 'ListPodSandbox', since: '0' })).entries_json) as unknown[]
    expect(journal).toHaveLength(1)
  })

  test("the same hostPort on two nodes: each opens it on the node's own loopback address", async () => {
    cluster = await startFakeCluster({ nodes: 2 })
    const port = await freePort('127.0.1.1')
    const script = 'mkdir -p /www && echo "$(hostname)" > /www/index.html && httpd -f -p 8080 -h /www'
    for (const i of [0, 1]) {
      const cri = clientsOf(cluster, i)
      const config = podConfig(`web-${i}`, {
        hostname: '',
        port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: port, host_ip: '' }],
      })
      const id = await runPod(cri, config)
      await runContainer(cri, id, config, containerConfig('httpd', { command: ['sh', '-c', script] }))
    }
    for (const [i, address] of ['127.0.1.1', '127.0.1.2'].entries()) {
      const body = await eventually(async () => {
        try {
          return await (await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(5000) })).text()
        } catch {
          return undefined
        }
      }, `${address}:${port} to answer`)
      expect(body).toBe(`node-${i}\n`)
    }
  })

  test('with a state directory, a restart brings each node back with its own pods', async () => {
    const state = join(tempDir(), 'state')
    cluster = await startFakeCluster({ nodes: 2, state })
    const ids = [await runPod(clientsOf(cluster, 0), podConfig('kept-0')), await runPod(clientsOf(cluster, 1), podConfig('kept-1'))]
    await cluster.close()
    expect(
      readdirSync(state)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(['node-0.json', 'node-1.json'])
    cluster = await startFakeCluster({ nodes: 2, state })
    for (const i of [0, 1]) {
      const items = (await clientsOf(cluster, i).runtime.ListPodSandbox({})).items
      expect(items.map((s) => [s.id, s.metadata?.name, s.state])).toEqual([[ids[i], `kept-${i}`, 'SANDBOX_READY']])
    }
    const before = clientsOf(cluster, 0)
    await cluster.restart({ node: 1 })
    expect((await clientsOf(cluster, 1).runtime.ListPodSandbox({})).items.map((s) => s.id)).toEqual([ids[1]])
    // node-0 went on serving: the same connection answers, with its pod still there.
    expect((await before.runtime.ListPodSandbox({})).items.map((s) => s.id)).toEqual([ids[0]])
  })

  test('a node that cannot start is named, and the nodes started before it are closed: no socket, lock or temp directory left', async () => {
    const state = join(tempDir(), 'state')
    const port = await freePort('127.0.1.2')
    const blocker = createServer()
    await new Promise<void>((ok) => blocker.listen(port, '127.0.1.2', ok))
    closers.push(() => new Promise<void>((ok) => blocker.close(() => ok())))
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('fake-cluster-')))
    await expect(startFakeCluster({ nodes: 3, state, streamAddress: `127.0.0.1:${port}` })).rejects.toThrow(
      `node-1: cannot serve streams on 127.0.1.2:${port}: listen EADDRINUSE`,
    )
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('fake-cluster-') && !before.has(f))).toEqual([])
    // node-0 wrote its state and let go of its lock; node-1's store was opened and closed; node-2 never started.
    expect(
      readdirSync(state)
        .filter((f) => !f.endsWith('.blobs'))
        .sort(),
    ).toEqual(['node-0.json', 'node-1.json'])
  })

  test('ListNodes on a single server lists it alone, by the host name, as the one answering', async () => {
    const single = await startFakeContainerd()
    closers.push(() => single.close())
    const control = controlClient(single.address)
    closers.push(() => control.close())
    expect((await control.ListNodes({})).nodes).toEqual([
      {
        name: hostname(),
        address: single.address,
        pod_cidr: '10.88.0.0/16',
        host_address: '127.0.0.1',
        stream_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        self: true,
      },
    ])
  })

  test('bad input is refused with what to change', async () => {
    await expect(startFakeCluster({ nodes: 0 })).rejects.toThrow('nodes must be a whole number of at least 1, got 0')
    await expect(startFakeCluster({ nodes: 2, podCidr: '10.88.0.0/24' })).rejects.toThrow(
      '--pod-cidr 10.88.0.0/24 holds 1 node range of /24',
    )
    const file = join(tempDir(), 'a-file')
    writeFileSync(file, '')
    await expect(startFakeCluster({ nodes: 2, socketDir: join(file, 'sockets') })).rejects.toThrow(
      `cannot make the socket directory ${join(file, 'sockets')}: ENOTDIR`,
    )
    // The types keep one node's options off a cluster and a cluster's off one node; JavaScript is told at run time.
    // @ts-expect-error web is one node's
    await expect(startFakeCluster({ nodes: 2, web: '127.0.0.1:0' })).rejects.toThrow('the web view shows one node')
    // @ts-expect-error socket is one node's
    await expect(startFakeCluster({ nodes: 2, socket: join(tempDir(), 'c.sock') })).rejects.toThrow('give socketDir instead of socket')
    // @ts-expect-error nodes is a cluster's
    await expect(startFakeContainerd({ nodes: 2 })).rejects.toThrow('call startFakeCluster')
  })
})
