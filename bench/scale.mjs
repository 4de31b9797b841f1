// Scale (a benchmark, not a test; not in CI): `npm run build && node bench/scale.mjs`. The built CLI
// (bench/spawn-server.mjs) serves 16 concurrent CRI clients that make PODS pods (default 10000;
// PODS=1000 is a quick run), each with 2 containers running `sleep` (RunPodSandbox, then
// CreateContainer + StartContainer twice). Prints, per thousand pods: seconds, container
// creations/s, the server's RSS; then the server's and the clients' CPU per creation (the clients
// share the machine: the server's CPU says what it can do); at the end: ListContainers,
// ListPodSandbox and ContainerStatus p50 over the whole set (a list timed to its last byte; then
// again with this client decoding it), the server's open file descriptors (/proc/PID/fd), and the first
// thousand's cost per pod next to the last's (the Nth pod should cost what the first did); then every
// pod stopped and removed, timed per thousand the same way.
// SCALE_NODE_ARGS: options for the server's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
// or "--heapsnapshot-signal=SIGUSR2" with SCALE_HEAP=<seconds to wait for it>); SCALE_ARGS: more flags for
// the server.
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnServer } from './spawn-server.mjs'
import { makeScalePod } from './scale-pod.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = await import(join(root, 'dist/index.js'))
const PODS = Number(process.env.PODS ?? 10000)
const CLIENTS = 16
const STEP = Math.min(1000, PODS)
const QUERIES = Number(process.env.QUERIES ?? 20)
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const ms = (n) => `${n.toFixed(2)} ms`

const words = (s) => (s ?? '').split(' ').filter(Boolean)
const { dir, child } = await spawnServer(() => words(process.env.SCALE_ARGS), words(process.env.SCALE_NODE_ARGS))
const address = `unix://${join(dir, 'c.sock')}`
/** The server's resident set, in MiB, from /proc. */
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
const fds = () => readdirSync(`/proc/${child.pid}/fd`).length
/** CPU seconds a process has used (user + system), from /proc: the server's alone, whatever the clients cost. */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const clients = Array.from({ length: CLIENTS }, () => lib.criClients(address))
await clients[0].image.PullImage({ image: { image: 'busybox' } })

let next = 0
const containerIds = []
const podIds = []
/** Seconds each thousand took (wall, all clients together). */
const rows = []
let stepStart = performance.now()
let stepDone = 0

async function makePod(cri, i) {
  const made = await makeScalePod(cri, i, dir)
  podIds.push(made.podId)
  containerIds.push(...made.containerIds)
}

async function worker(cri) {
  for (;;) {
    const i = next++
    if (i >= PODS) return
    await makePod(cri, i)
    if (++stepDone === STEP) {
      const now = performance.now()
      const s = (now - stepStart) / 1000
      rows.push(s)
      console.log(
        `pods ${String(rows.length * STEP).padStart(6)}: ${s.toFixed(2)} s, ${((2 * STEP) / s).toFixed(0)} container creations/s, RSS ${rss().toFixed(0)} MiB, fds ${fds()}`,
      )
      stepStart = now
      stepDone = 0
    }
  }
}

const t0 = performance.now()
const cpu0 = { server: cpuSeconds(child.pid), client: cpuSeconds(process.pid) }
await Promise.all(clients.map(worker))
const total = (performance.now() - t0) / 1000
console.log(`${PODS} pods, ${2 * PODS} containers in ${total.toFixed(1)} s (${((2 * PODS) / total).toFixed(0)} container creations/s)`)
// On a shared or small machine the clients' CPU limits the wall figure: the server's own CPU per
// creation (a pod's RunPodSandbox counted in its two containers) says what the server can do.
const serverCpu = cpuSeconds(child.pid) - cpu0.server
const clientCpu = cpuSeconds(process.pid) - cpu0.client
console.log(
  `CPU per container creation: server ${((serverCpu / (2 * PODS)) * 1000).toFixed(3)} ms (${((2 * PODS) / serverCpu).toFixed(0)} creations per server CPU second), clients ${((clientCpu / (2 * PODS)) * 1000).toFixed(3)} ms`,
)

/** A CRI list call that resolves with the answer's bytes as they arrived (grpc-js, no decoding); close() ends its channel. */
function rawLists(target) {
  const require = createRequire(import.meta.url)
  const grpc = require('@grpc/grpc-js')
  const sd = require(join(root, 'dist/service-descriptors.cjs'))
  const { service } = sd.serviceConstructor(sd.loadGroup('cri', join(root, 'proto')), 'runtime.v1.RuntimeService')
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 256 << 20 })
  const call = (method, request) =>
    new Promise((ok, fail) =>
      client.makeUnaryRequest(
        service[method].path,
        service[method].requestSerialize,
        (b) => b,
        request,
        (e, b) => (e ? fail(e) : ok(b)),
      ),
    )
  call.close = () => client.close()
  return call
}

/** p50 of QUERIES sequential calls from one client. */
async function p50(fn) {
  const times = []
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now()
    await fn(i)
    times.push(performance.now() - t)
  }
  return pct(
    times.sort((a, b) => a - b),
    50,
  )
}
// SCALE_HEAP=1 with SCALE_NODE_ARGS=--heapsnapshot-signal=SIGUSR2: a heap snapshot of the full server,
// written into the server's working directory (this one).
if (process.env.SCALE_HEAP) {
  child.kill('SIGUSR2')
  await new Promise((r) => setTimeout(r, Number(process.env.SCALE_HEAP) * 1000))
}
const cri = lib.criClients(address, { 'grpc.max_receive_message_length': 256 << 20 })
const listed = await cri.runtime.ListContainers({})
// The lists are timed to their last byte, not decoded: decoding 20,000 containers into objects is
// this client's cost (proto-loader's toObject with defaults, several times what the server takes),
// which a Go kubelet pays far less of; it is given on its own below.
const raw = rawLists(address)
const listC = await p50(() => raw('ListContainers', {}))
const listP = await p50(() => raw('ListPodSandbox', {}))
const listL = await p50(() => raw('ListContainers', { filter: { label_selector: { role: 'a' } } }))
const listS = await p50(() => raw('ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } }))
const decodeC = await p50(() => cri.runtime.ListContainers({}))
const decodeP = await p50(() => cri.runtime.ListPodSandbox({}))
const status = await p50((i) => cri.runtime.ContainerStatus({ container_id: containerIds[(i * 7919) % containerIds.length] }))
const podStatus = await p50((i) => cri.runtime.PodSandboxStatus({ pod_sandbox_id: podIds[(i * 7919) % podIds.length] }))
raw.close()
console.log(
  `ListContainers (${listed.containers.length}) p50 ${ms(listC)}; with a label selector ${ms(listL)}; with state RUNNING ${ms(listS)}`,
)
console.log(`ListPodSandbox p50 ${ms(listP)}`)
console.log(`the same with this client decoding the answer: ListContainers ${ms(decodeC)}, ListPodSandbox ${ms(decodeP)}`)
console.log(`ContainerStatus p50 ${ms(status)}; PodSandboxStatus p50 ${ms(podStatus)}`)
console.log(`server RSS ${rss().toFixed(0)} MiB, open fds ${fds()}`)
if (rows.length > 1)
  console.log(
    `first ${STEP} pods ${rows[0].toFixed(2)} s, last ${STEP} ${rows.at(-1).toFixed(2)} s: the last cost ${(rows.at(-1) / rows[0]).toFixed(2)}× the first`,
  )

// Removal: the same clients stop and remove every pod (its containers with it), newest last; per
// thousand, as for creation. The Nth removal should cost what the first did (a collection after
// each removal walked every object: quadratic).
const removed = []
let removeNext = 0
let removeStart = performance.now()
let removeDone = 0
async function remover(c) {
  for (;;) {
    const i = removeNext++
    if (i >= podIds.length) return
    await c.runtime.StopPodSandbox({ pod_sandbox_id: podIds[i] })
    await c.runtime.RemovePodSandbox({ pod_sandbox_id: podIds[i] })
    if (++removeDone === STEP) {
      const now = performance.now()
      removed.push((now - removeStart) / 1000)
      console.log(`removed ${String(removed.length * STEP).padStart(6)}: ${removed.at(-1).toFixed(2)} s, RSS ${rss().toFixed(0)} MiB`)
      removeStart = now
      removeDone = 0
    }
  }
}
const r0 = performance.now()
await Promise.all(clients.map(remover))
console.log(`${podIds.length} pods removed in ${((performance.now() - r0) / 1000).toFixed(1)} s`)
if (removed.length > 1)
  console.log(
    `removal: first ${STEP} pods ${removed[0].toFixed(2)} s, last ${STEP} ${removed.at(-1).toFixed(2)} s: the last cost ${(removed.at(-1) / removed[0]).toFixed(2)}× the first`,
  )
cri.close()
for (const c of clients) c.close()
child.kill('SIGTERM')
// The server writes its --cpu-prof profile as it exits.
await once(child, 'exit')
