// Many nodes from one process (not a test): `npm run build && node --expose-gc bench/cluster.mjs [nodes] [pods]`.
// Targets (issue #18): 100 idle nodes in ≤ 400 MB RSS; 100 nodes × 30 pods (one container each)
// created through the sockets in ≤ 10 s; one node's ListPodSandbox alone and while the others are
// busy (they share one event loop: the ratio is the CPU they take, reported, not asserted).
// The cluster runs as the built CLI (dist/cli.js --nodes N) so that its RSS is its own; the clients
// run here. With --expose-gc it also measures, in this process, the heap the first import costs (the
// parsed protos, the image catalog: loaded once) against the heap each further node adds.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPod as startBenchPod } from './pod.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const NODES = Number(process.argv[2] ?? 100)
const PODS = Number(process.argv[3] ?? 30)
// Node's own flags for the server (e.g. CLUSTER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it).
const NODE_ARGS = (process.env.CLUSTER_NODE_ARGS ?? '').split(' ').filter(Boolean)
const MB = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`
const ms = (n) => `${n.toFixed(2)} ms`
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const sleep = (t) => new Promise((r) => setTimeout(r, t))

/** VmRSS of a process, in bytes. */
const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024

/** The CLI with these flags, ready (its sockets from the "listening on" lines); resolves with the time it took. */
async function spawnCli(flags, nodes) {
  const t0 = performance.now()
  const child = spawn(process.execPath, [...NODE_ARGS, join(root, 'dist/cli.js'), '--log-level', 'error', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d
      if (/^export CONTAINERD_ADDRESS=/m.test(out)) resolve()
    })
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code}`)))
  })
  const addresses = [...out.matchAll(/^listening on (unix:\/\/\S+)/gm)].map((m) => m[1])
  if (addresses.length !== nodes) throw new Error(`expected ${nodes} nodes, the CLI printed ${addresses.length}`)
  const stop = async () => {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
  return { child, addresses, readyMs: performance.now() - t0, stop }
}

/** RSS once it stops moving much (idle: timers and lazy compilation settle). */
async function idleRss(pid) {
  await sleep(1500)
  return rssOf(pid)
}

/** Pod i of a node (or of a client of the single server): a name unique in the node, a uid unique in the run. */
const startPod = (cri, dir, node, i) =>
  startBenchPod(cri, { name: `pod-${i}`, uid: `uid-${node}-${i}`, logDirectory: join(dir, `n${node}`, `pod-${i}`) })

/** p50 of `count` ListPodSandbox calls on one client, one at a time. */
async function listLatency(cri, count = 200) {
  const times = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await cri.runtime.ListPodSandbox({})
    times.push(performance.now() - t0)
  }
  return median(times)
}

/** In this process: the heap of the first import (protos, catalog) against what each further node adds. */
async function heapPerNode(lib) {
  if (typeof globalThis.gc !== 'function') return console.log('heap per node: run with node --expose-gc to measure it')
  const heap = () => {
    globalThis.gc()
    globalThis.gc()
    return process.memoryUsage().heapUsed
  }
  const one = await lib.startFakeCluster({ nodes: 1 })
  const h1 = heap()
  const more = await lib.startFakeCluster({ nodes: 50, podCidr: '10.96.0.0/16' })
  const h51 = heap()
  await more.close()
  await one.close()
  console.log(`heap each further node adds (in-process, after gc): ${MB((h51 - h1) / 50)}; heap in use with one node: ${MB(h1)}`)
}

async function main() {
  const t0 = performance.now()
  const lib = await import(join(root, 'dist/index.js'))
  console.log(`import of the library (protos parsed, image catalog loaded, once): ${ms(performance.now() - t0)}`)
  await heapPerNode(lib)

  const dir = mkdtempSync(join(tmpdir(), 'fc-bench-cluster-'))
  try {
    const single = await spawnCli(['--socket', join(dir, 'single.sock')], 1)
    const singleRss = await idleRss(single.child.pid)
    await single.stop()
    const one = await spawnCli(['--nodes', '1', '--socket-dir', join(dir, 'one')], 1)
    const oneRss = await idleRss(one.child.pid)
    await one.stop()
    // The same pods on one node, made by as many concurrent clients: what splitting them into nodes costs.
    // (A single server: a cluster's node has a /24, 253 pods, and kubelet's max-pods is 110.)
    const lone = await spawnCli(['--socket', join(dir, 'lone.sock'), '--pod-cidr', '10.88.0.0/16'], 1)
    const loneClients = Array.from({ length: NODES }, () => lib.criClients(lone.addresses[0]))
    await loneClients[0].image.PullImage({ image: { image: 'busybox' } })
    const t3 = performance.now()
    await Promise.all(
      loneClients.map(async (cri, n) => {
        for (let i = 0; i < PODS; i++) await startPod(cri, dir, `lone-${n}`, i)
      }),
    )
    const loneMs = performance.now() - t3
    for (const cri of loneClients) cri.close()
    await lone.stop()

    const many = await spawnCli(['--nodes', String(NODES), '--socket-dir', join(dir, 'many')], NODES)
    const manyRss = await idleRss(many.child.pid)
    console.log(
      `idle RSS: single server ${MB(singleRss)}; --nodes 1 ${MB(oneRss)}; --nodes ${NODES} ${MB(manyRss)} (target ≤ 400 MB at 100)`,
    )
    console.log(
      `  each further node: ${MB((manyRss - oneRss) / (NODES - 1))}; ${NODES} nodes ready in ${ms(many.readyMs)} (spawn → last "listening on")`,
    )

    const clients = many.addresses.map((a) => lib.criClients(a))
    for (const cri of clients) await cri.image.PullImage({ image: { image: 'busybox' } })
    const t1 = performance.now()
    // Every node at once, each node's pods one after another: NODES calls in flight.
    await Promise.all(
      clients.map(async (cri, n) => {
        for (let i = 0; i < PODS; i++) await startPod(cri, dir, n, i)
      }),
    )
    const createMs = performance.now() - t1
    console.log(
      `${NODES} nodes × ${PODS} pods (RunPodSandbox + CreateContainer + StartContainer, one node's pods in turn, all nodes at once): ` +
        `${(createMs / 1000).toFixed(2)} s, ${((NODES * PODS) / (createMs / 1000)).toFixed(0)} pods/s (target ≤ 10 s at 100 × 30)`,
    )
    console.log(
      `  the same ${NODES * PODS} pods on one node, ${NODES} clients at once: ${(loneMs / 1000).toFixed(2)} s, ` +
        `${((NODES * PODS) / (loneMs / 1000)).toFixed(0)} pods/s (${NODES} nodes take ${(createMs / loneMs).toFixed(2)}× its time)`,
    )
    console.log(`RSS with ${NODES * PODS} pods and containers: ${MB(rssOf(many.child.pid))}`)

    // node-0's ListPodSandbox alone, then while 16 clients keep other nodes busy, then while they keep
    // node-0 itself busy: one process is one event loop, so the fair question is whether other nodes'
    // load costs node-0 more than the same load on node-0 would (nothing beyond the CPU they share).
    const alone = await listLatency(clients[0])
    const underLoad = async (targets) => {
      let busy = true
      const load = Array.from({ length: 16 }, async (_, k) => {
        let calls = 0
        for (; busy; calls++) await targets[(k + calls) % targets.length].runtime.ListPodSandbox({})
        return calls
      })
      await sleep(200)
      const t = performance.now()
      const p50 = await listLatency(clients[0])
      const span = performance.now() - t
      busy = false
      const calls = (await Promise.all(load)).reduce((a, b) => a + b, 0)
      return { p50, rate: (calls / span) * 1000 }
    }
    const others = await underLoad(clients.slice(1))
    const own = await underLoad([clients[0]])
    console.log(
      `node-0 ListPodSandbox (${PODS} pods) p50: alone ${ms(alone)}; while 16 clients list the other ${NODES - 1} nodes' pods ` +
        `${ms(others.p50)} (${(others.p50 / alone).toFixed(1)}×, ${others.rate.toFixed(0)} calls/s); while the same 16 clients list node-0's own ` +
        `${ms(own.p50)} (${(own.p50 / alone).toFixed(1)}×, ${own.rate.toFixed(0)} calls/s)`,
    )
    for (const cri of clients) cri.close()
    await many.stop()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
