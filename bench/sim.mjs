// Simulator benchmark (not a test): 1,000 containers each running
//   while true; do echo tick; sleep 1; done
// for 60 simulated seconds (the clock advanced a second at a time). Prints the CPU time of those
// 60 seconds and the peak RSS from the end of the start phase on, of this one process: the server
// and its in-process CRI clients. Targets: under 1 CPU-second per simulated minute per 100
// containers, and under 200 MB for 1,000 containers. The peak is mostly the heap V8 grew while the
// containers started (it keeps the pages after the GC below); the 60 seconds add little to it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = await import(join(root, 'dist/index.js'))
const N = Number(process.env.CONTAINERS ?? 1000)
const dir = mkdtempSync(join(tmpdir(), 'fc-bench-sim-'))
const fake = await lib.startFakeContainerd()
const cri = lib.criClients(fake.address)
fake.clock.freeze(true)
await cri.image.PullImage({ image: { image: 'busybox' } })
const pods = Math.ceil(N / 10)
let started = 0
for (let p = 0; p < pods; p++) {
  const config = { metadata: { name: `p${p}`, namespace: 'bench', uid: `u${p}` }, log_directory: join(dir, `p${p}`) }
  const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
  await Promise.all(
    Array.from({ length: Math.min(10, N - started) }, async (_, i) => {
      const { container_id } = await cri.runtime.CreateContainer({
        pod_sandbox_id,
        config: {
          metadata: { name: `c${i}` },
          image: { image: 'busybox' },
          command: ['sh', '-c', 'while true; do echo tick; sleep 1; done'],
          log_path: `c${i}.log`,
        },
        sandbox_config: config,
      })
      await cri.runtime.StartContainer({ container_id })
    }),
  )
  started += Math.min(10, N - started)
}
await new Promise((r) => setTimeout(r, 200))
global.gc?.()
let peak = process.memoryUsage().rss
const cpu0 = process.cpuUsage()
const t0 = performance.now()
for (let s = 0; s < 60; s++) {
  fake.clock.advance(1000)
  // Let every woken loop write its line and go back to sleep.
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setTimeout(r, 5))
  peak = Math.max(peak, process.memoryUsage().rss)
}
const cpu = process.cpuUsage(cpu0)
const wall = performance.now() - t0
const { stats } = await cri.runtime.ListContainerStats({ filter: null })
const { readFileSync } = await import('node:fs')
const ticks = readFileSync(join(dir, 'p0', 'c0.log'), 'utf8')
  .split('\n')
  .filter(Boolean).length
console.log(
  `${N} looping containers (${stats.length} running), 60 simulated seconds: CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s ` +
    `(${((cpu.user + cpu.system) / 1e6 / (N / 100)).toFixed(2)} s per 100 containers per simulated minute), wall ${(wall / 1000).toFixed(2)} s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MB; one container logged ${ticks} ticks`,
)
cri.close()
await fake.close()
rmSync(dir, { recursive: true, force: true })
