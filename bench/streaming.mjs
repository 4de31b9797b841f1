// Benchmark (not a test): `npm run build && node bench/streaming.mjs`. The streaming server's exec
// round trip (Exec RPC, connect, `true`, status) p50 over SPDY/3.1 and WebSocket, and port-forward
// throughput for a 50 MB page from busybox httpd in a pod, over SPDY.
import { request } from 'node:http'
import { constants, createDeflate, createInflate } from 'node:zlib'
import { WebSocket } from 'ws'
import { criClients } from '../dist/client.js'
import { startFakeContainerd } from '../dist/server.js'
import { SPDY3_DICTIONARY } from '../dist/streaming/spdy/dictionary.js'
import { FrameParser, dataFrame, encodeHeaders, synStreamFrame } from '../dist/streaming/spdy/frames.js'

const through = (z, input) =>
  new Promise((resolve) => {
    const out = []
    const on = (c) => out.push(c)
    z.on('data', on)
    z.write(input)
    z.flush(constants.Z_SYNC_FLUSH, () => (z.off('data', on), resolve(Buffer.concat(out))))
  })

/** A minimal SPDY client: upgrades, opens streams with these headers, collects DATA by stream until the server closes. */
async function spdy(url, protocol, streams, onData = () => {}) {
  const socket = await new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocol },
    })
    req.on('upgrade', (_res, s) => resolve(s))
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)))
    req.end()
  })
  const deflate = createDeflate({ dictionary: SPDY3_DICTIONARY })
  const parser = new FrameParser()
  const data = new Map()
  socket.on('data', (c) => {
    for (const f of parser.push(c)) {
      if (f.control) continue
      data.set(f.streamId, (data.get(f.streamId) ?? 0) + f.data.length)
      onData(f.streamId, f.data, f.flags & 1)
    }
  })
  const closed = new Promise((resolve) => socket.on('close', resolve))
  for (const [id, headers] of streams) socket.write(synStreamFrame(id, await through(deflate, encodeHeaders(headers))))
  return { socket, data, closed }
}

const p50 = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const fake = await startFakeContainerd({ logLevel: 'error' })
const cri = criClients(fake.address)
await cri.image.PullImage({ image: { image: 'busybox' } })
const podConfig = { metadata: { name: 'bench', namespace: 'default', uid: 'bench', attempt: 0 }, linux: {} }
const { pod_sandbox_id: pod } = await cri.runtime.RunPodSandbox({ config: podConfig })
const container = async (name, command) => {
  const { container_id } = await cri.runtime.CreateContainer({
    pod_sandbox_id: pod,
    config: { metadata: { name }, image: { image: 'busybox' }, command, linux: {} },
    sandbox_config: podConfig,
  })
  await cri.runtime.StartContainer({ container_id })
  return container_id
}
const box = await container('box', ['sleep', '3600'])

const N = 50
const spdyTimes = []
for (let i = 0; i < N; i++) {
  const t0 = performance.now()
  const { url } = await cri.runtime.Exec({ container_id: box, cmd: ['true'], stdout: true })
  const c = await spdy(url, 'v4.channel.k8s.io', [
    [1, { streamtype: 'error' }],
    [3, { streamtype: 'stdout' }],
  ])
  await c.closed
  spdyTimes.push(performance.now() - t0)
}
const wsTimes = []
for (let i = 0; i < N; i++) {
  const t0 = performance.now()
  const { url } = await cri.runtime.Exec({ container_id: box, cmd: ['true'], stdout: true })
  const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io'])
  await new Promise((resolve) => ws.on('close', resolve))
  wsTimes.push(performance.now() - t0)
}
console.log(`exec round trip p50: SPDY ${p50(spdyTimes).toFixed(2)} ms, WebSocket ${p50(wsTimes).toFixed(2)} ms (${N} each)`)

await container('web', [
  'sh',
  '-c',
  'mkdir /www && dd if=/dev/zero of=/www/big bs=1048576 count=50 2>/dev/null && httpd -f -p 8080 -h /www',
])
for (let i = 0; i < 100; i++) {
  const r = await cri.runtime.ExecSync({ container_id: box, cmd: ['wget', '--spider', '-q', 'http://127.0.0.1:8080/big'], timeout: 5 })
  if (r.exit_code === 0) break
  await new Promise((resolve) => setTimeout(resolve, 50))
}
const { url } = await cri.runtime.PortForward({ pod_sandbox_id: pod, port: [] })
const t0 = performance.now()
const c = await spdy(
  url,
  'portforward.k8s.io',
  [
    [1, { streamtype: 'error', port: '8080', requestid: '0' }],
    [3, { streamtype: 'data', port: '8080', requestid: '0' }],
  ],
  (id, _d, fin) => {
    if (id === 3 && fin) c.socket.destroy()
  },
)
c.socket.write(dataFrame(3, Buffer.from('GET /big HTTP/1.0\r\n\r\n')))
await c.closed
const seconds = (performance.now() - t0) / 1000
const bytes = c.data.get(3) ?? 0
console.log(
  `port-forward over SPDY: ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${(bytes / 1e6 / seconds).toFixed(1)} MB/s`,
)

cri.close()
await fake.close()
