// Heap per pod (a benchmark, not a test): `npm run build && node --expose-gc bench/pod-heap.mjs [pods]`.
// The server runs in this process (journal kept to 100 calls, so its bounded size does not count),
// 8 CRI clients make pods of the scale bench's shape (bench/scale.mjs: 2 containers running
// `sleep 3600`) after 200 warm-up pods; the V8 heap after full collections, before and after, divided
// by the pods made, is the figure. Then the heap after three whole ListContainers and after every
// pod is removed (what removal leaves behind). DIST=<dir> measures another build (A/B); SNAP=<file>
// writes a heap snapshot after creation.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import { makeScalePod } from './scale-pod.mjs'

if (typeof gc !== 'function') throw new Error('run with node --expose-gc')
const dist = process.env.DIST ?? fileURLToPath(new URL('../dist', import.meta.url))
const PODS = Number(process.argv[2] ?? 2000)
const lib = await import(join(dist, 'index.js'))
const dir = mkdtempSync(join(tmpdir(), 'fc-heap-'))
const server = await lib.startFakeContainerd({ socket: join(dir, 'c.sock'), logLevel: 'error', journalSize: 100 })
const clients = Array.from({ length: 8 }, () => lib.criClients(server.address))
await clients[0].image.PullImage({ image: { image: 'busybox' } })
const MiB = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`
/** The heap once garbage is collected (a few turns for what finishes late). */
async function heap() {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 50))
    gc()
  }
  return process.memoryUsage().heapUsed
}

let next = 0
const podIds = []
async function makePod(cri, i) {
  podIds.push((await makeScalePod(cri, i, dir)).podId)
}
async function make(n) {
  const end = next + n
  await Promise.all(
    clients.map(async (cri) => {
      for (let i = next++; i < end; i = next++) await makePod(cri, i)
    }),
  )
  next = end
}

await make(200)
const before = await heap()
await make(PODS)
const after = await heap()
console.log(`${PODS} pods: heap ${MiB(before)} -> ${MiB(after)}, ${((after - before) / PODS / 1024).toFixed(2)} KiB a pod`)
if (process.env.SNAP) v8.writeHeapSnapshot(process.env.SNAP)
const lister = lib.criClients(server.address, { 'grpc.max_receive_message_length': 256 << 20 })
for (let i = 0; i < 3; i++) await lister.runtime.ListContainers({})
console.log(`after 3 ListContainers: heap ${MiB(await heap())}`)
await Promise.all(
  clients.map(async (cri) => {
    for (let id = podIds.pop(); id !== undefined; id = podIds.pop()) {
      await cri.runtime.StopPodSandbox({ pod_sandbox_id: id })
      await cri.runtime.RemovePodSandbox({ pod_sandbox_id: id })
    }
  }),
)
const removed = await heap()
console.log(`every pod removed: heap ${MiB(removed)} (${MiB(removed - before)} over the warm start)`)
lister.close()
for (const c of clients) c.close()
await server.close()
