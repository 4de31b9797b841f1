// Memory around big ExecSync outputs (not a test): `npm run build && node --expose-gc bench/exec-memory.mjs`.
// Each stream keeps at most containerd's 16 MiB (the rest is dropped as it comes, never held), the
// journal keeps a summary of the response; once the calls end, memory comes back near its baseline.
import * as grpc from '@grpc/grpc-js'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runningContainer } from './running-container.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = await import(join(root, 'dist/index.js'))
const { loadGroup, serviceConstructor } = await import(join(root, 'dist/service-descriptors.cjs'))
const mb = (n) => `${(n / 1024 / 1024).toFixed(0)} MiB`
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.()
    await new Promise((r) => setTimeout(r, 50))
  }
  return process.memoryUsage()
}

const { f, cri, container_id } = await runningContainer(lib)
// kubelet's client takes 16 MiB messages; this one takes any, to see what the server sends.
const Runtime = serviceConstructor(loadGroup('cri', join(root, 'proto')), 'runtime.v1.RuntimeService')
const raw = new Runtime(f.address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 })
const execSync = (cmd) =>
  new Promise((resolve, reject) => raw.ExecSync({ container_id, cmd, timeout: 120 }, (e, r) => (e ? reject(e) : resolve(r))))

const base = await settle()
console.log(`baseline: rss ${mb(base.rss)}, heap ${mb(base.heapUsed)}, buffers ${mb(base.arrayBuffers)}`)
let peak = 0
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10)
/** One call; a function, so that its response is not kept alive by the module's own scope. */
async function big(script) {
  const t0 = performance.now()
  let r
  try {
    r = await execSync(['sh', '-c', script])
  } catch (err) {
    // A full 16 MiB stream plus the reply's framing is over the server's 16 MiB send limit, as it
    // is for containerd (the same caps): the call fails, and memory must come back all the same.
    console.log(
      `ExecSync sh -c '${script}': ${err.code === grpc.status.RESOURCE_EXHAUSTED ? 'RESOURCE_EXHAUSTED' : err.code}: ${err.details}, ${(performance.now() - t0).toFixed(0)} ms`,
    )
    return
  }
  console.log(
    `ExecSync sh -c '${script}': stdout ${r.stdout.length} bytes, stderr ${r.stderr.length} bytes, exit ${r.exit_code}, ${(performance.now() - t0).toFixed(0)} ms`,
  )
}
for (const script of ['yes | head -c 15000000', 'yes | head -c 100000000', 'yes | head -c 200000000 >&2']) await big(script)
clearInterval(sampler)
const after = await settle()
console.log(
  `peak rss during the calls ${mb(peak)}; after: rss ${mb(after.rss)}, heap ${mb(after.heapUsed)}, buffers ${mb(after.arrayBuffers)}`,
)
console.log(
  `heap after / baseline: ${(after.heapUsed / base.heapUsed).toFixed(2)}×; journal holds ~${(f.journal.bytes / 1024).toFixed(0)} KiB`,
)
raw.close()
cri.close()
await f.close()
