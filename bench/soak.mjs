// Soak (a benchmark, not a test; not in CI): `npm run build && node bench/soak.mjs`. The built CLI
// runs as its own process with --state and --state-sync; 16 clients each go round a pod's whole
// life (RunPodSandbox, CreateContainer, StartContainer, ExecSync, ListContainers, StopContainer,
// RemoveContainer, StopPodSandbox, RemovePodSandbox) for SOAK_SECONDS (default 180), while a 17th
// client calls Version every 20 ms. Prints the server's RSS every 10 s and, at the end: errors
// (the target is 0), whether RSS is flat (the last minute's mean within 20% of the first minute's
// after 30 s of warm-up; scaled with SOAK_SECONDS), the Version p50/p99/max and the calls made.
// Exits 1 when a target is missed. SOAK_ARGS: more flags for the server
// (--no-state-sync); SOAK_NODE_ARGS: options for its node (--cpu-prof ...).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = await import(join(root, 'dist/index.js'))
const SECONDS = Number(process.env.SOAK_SECONDS ?? 180)
const CLIENTS = 16
const ms = (n) => `${n.toFixed(2)} ms`
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const sleep = (n) => new Promise((r) => setTimeout(r, n))

const dir = mkdtempSync(join(tmpdir(), 'fc-soak-'))
// SOAK_NODE_ARGS: options for the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const child = spawn(process.execPath, [
  ...(process.env.SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean),
  join(root, 'dist/cli.js'),
  '--socket',
  join(dir, 'c.sock'),
  '--state',
  join(dir, 'state.json'),
  '--state-sync',
  '--log-level',
  'error',
  ...(process.env.SOAK_ARGS ?? '').split(' ').filter(Boolean),
])
let stderr = ''
child.stderr.on('data', (d) => (stderr += String(d)))
const address = await new Promise((resolve, reject) => {
  child.stdout.on('data', (d) => {
    const m = /listening on (unix:\/\/\S+)/.exec(String(d))
    if (m) resolve(m[1])
  })
  child.once('exit', (code) => reject(new Error(`fake-containerd exited (${code}): ${stderr}`)))
})
/** The server's resident set, in MiB, from /proc. */
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

const setup = lib.criClients(address)
await setup.image.PullImage({ image: { image: 'busybox' } })
setup.close()

const t0 = performance.now()
const deadline = t0 + SECONDS * 1000
const ops = new Map()
const errors = []
let stop = false

/** One client: a pod's whole life, again and again; every failure is counted, with its call. */
async function client(n) {
  const cri = lib.criClients(address)
  const call = async (name, fn) => {
    try {
      const result = await fn()
      ops.set(name, (ops.get(name) ?? 0) + 1)
      return result
    } catch (err) {
      errors.push(`${name}: ${err.code ?? ''} ${err.details ?? err.message}`)
      return undefined
    }
  }
  for (let i = 0; !stop; i++) {
    const config = {
      metadata: { name: `soak-${n}-${i}`, namespace: 'soak', uid: `soak-${n}-${i}` },
      log_directory: join(dir, 'logs', `${n}`),
    }
    const pod = await call('RunPodSandbox', () => cri.runtime.RunPodSandbox({ config }))
    if (!pod) continue
    const { pod_sandbox_id } = pod
    const created = await call('CreateContainer', () =>
      cri.runtime.CreateContainer({
        pod_sandbox_id,
        config: { metadata: { name: 'app' }, image: { image: 'busybox' }, command: ['sleep', '3600'], log_path: `app-${i}.log` },
        sandbox_config: config,
      }),
    )
    if (created) {
      const { container_id } = created
      await call('StartContainer', () => cri.runtime.StartContainer({ container_id }))
      const exec = await call('ExecSync', () =>
        cri.runtime.ExecSync({ container_id, cmd: ['sh', '-c', `echo ${i} > /n && cat /n && ls / | wc -l`], timeout: 10 }),
      )
      if (exec && !String(exec.stdout).startsWith(`${i}\n`))
        errors.push(`ExecSync: unexpected output ${JSON.stringify(String(exec.stdout))}`)
      await call('ListContainers', () => cri.runtime.ListContainers({ filter: { pod_sandbox_id } }))
      await call('StopContainer', () => cri.runtime.StopContainer({ container_id, timeout: 0 }))
      await call('RemoveContainer', () => cri.runtime.RemoveContainer({ container_id }))
    }
    await call('ListPodSandbox', () => cri.runtime.ListPodSandbox({}))
    await call('StopPodSandbox', () => cri.runtime.StopPodSandbox({ pod_sandbox_id }))
    await call('RemovePodSandbox', () => cri.runtime.RemovePodSandbox({ pod_sandbox_id }))
  }
  cri.close()
}

/** A kubelet's probe: Version every 20 ms, timed. */
async function probe(latencies) {
  const cri = lib.criClients(address)
  while (!stop) {
    const s = performance.now()
    try {
      await cri.runtime.Version({ version: '' }, { deadline: Date.now() + 5000 })
      latencies.push(performance.now() - s)
    } catch (err) {
      errors.push(`Version: ${err.code ?? ''} ${err.details ?? err.message}`)
    }
    await sleep(20)
  }
  cri.close()
}

const samples = []
const latencies = []
const running = [...Array.from({ length: CLIENTS }, (_, n) => client(n)), probe(latencies)]
while (performance.now() < deadline) {
  await sleep(Math.min(10_000, deadline - performance.now()))
  const at = (performance.now() - t0) / 1000
  const total = [...ops.values()].reduce((a, b) => a + b, 0)
  samples.push({ at, rss: rss() })
  console.log(`${at.toFixed(0).padStart(4)} s: RSS ${rss().toFixed(1)} MiB, ${total} calls, ${errors.length} errors`)
}
stop = true
await Promise.all(running)
child.kill('SIGTERM')
const code = await new Promise((r) => child.once('exit', r))
rmSync(dir, { recursive: true, force: true })

const window = (from, to) => samples.filter((s) => s.at > SECONDS * from && s.at <= SECONDS * to + 1).map((s) => s.rss)
const early = mean(window(1 / 6, 1 / 2))
const late = mean(window(2 / 3, 1))
const flat = late <= early * 1.2
latencies.sort((a, b) => a - b)
const total = [...ops.values()].reduce((a, b) => a + b, 0)
console.log(
  `${SECONDS} s, ${CLIENTS} clients: ${total} calls (${Math.round(total / SECONDS)}/s): ${[...ops].map(([k, v]) => `${k} ${v}`).join(', ')}`,
)
console.log(`errors: ${errors.length}${errors.length ? `; first: ${[...new Set(errors)].slice(0, 5).join(' | ')}` : ''}`)
console.log(
  `RSS: ${early.toFixed(1)} MiB after warm-up, ${late.toFixed(1)} MiB in the last third (${((late / early - 1) * 100).toFixed(1)}%): ${flat ? 'flat' : 'GROWING'}`,
)
console.log(
  `Version every 20 ms (${latencies.length}): p50 ${ms(pct(latencies, 50))}, p99 ${ms(pct(latencies, 99))}, max ${ms(latencies.at(-1) ?? 0)}`,
)
console.log(`server exited with ${code} on SIGTERM`)
process.exit(errors.length === 0 && flat && code === 0 ? 0 : 1)
