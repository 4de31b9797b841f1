// The web view's cost to the gRPC server (not a test): `npm run build && node --expose-gc bench/web.mjs`.
// 50 pods, then Version p50/p99 and a batch of 2,000 ListPodSandbox calls, with no web view, with a
// browser that reads its event stream, and with one that never reads (its socket backs up); and the
// heap after the stalled run, which must not grow with the calls made.
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = await import(join(root, 'dist/index.js'))
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

/** A raw HTTP client of /api/events: reading (it drops what it gets) or stalled (it never reads). */
function eventClient(url, reading) {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  socket.write(`GET /api/events HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`)
  if (reading) socket.resume()
  else socket.pause()
  return socket
}

async function run(label, web, reader) {
  const fake = await lib.startFakeContainerd(web ? { web: '127.0.0.1:0', journalSize: 100_000 } : { journalSize: 100_000 })
  const cri = lib.criClients(fake.address)
  for (let i = 0; i < 50; i++)
    await cri.runtime.RunPodSandbox({ config: { metadata: { name: `p${i}`, namespace: 'default', uid: `u${i}`, attempt: 0 } } })
  const client = web && reader !== 'none' ? eventClient(fake.webUrl, reader === 'reading') : undefined
  await new Promise((r) => setTimeout(r, 300))
  const times = []
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now()
    await cri.runtime.Version({ version: '' })
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  const t0 = performance.now()
  await Promise.all(Array.from({ length: 2000 }, () => cri.runtime.ListPodSandbox({})))
  const batch = performance.now() - t0
  globalThis.gc?.()
  const heap = process.memoryUsage().heapUsed / 2 ** 20
  console.log(
    `${label.padEnd(34)} Version p50 ${pct(times, 50).toFixed(3)} ms, p99 ${pct(times, 99).toFixed(3)} ms; ` +
      `2,000 ListPodSandbox (50 pods) ${batch.toFixed(0)} ms; heap after ${heap.toFixed(1)} MiB`,
  )
  client?.destroy()
  cri.close()
  await fake.close()
}

await run('warm-up', false, 'none')
await run('no web view', false, 'none')
await run('web view, no browser', true, 'none')
await run('web view, a reading browser', true, 'reading')
await run('web view, a stalled browser', true, 'stalled')
