// What --state costs as the node grows (not a test): `npm run build && node bench/state.mjs`.
// For N pods of 2 running `sleep` containers each (N = 100, 1,000, 10,000; `--pods 100,1000`
// chooses others), with --state and with --state --state-sync:
//   - a free call (ContainerStatus) and two changes (UpdateContainerResources, StartContainer of a
//     new container in an existing pod): bytes written to disk and ms per call, until the state
//     file holds the change (the call itself with --state-sync; the call and store.flush() without);
//   - a clean restart: close, then start a new server on the same file until ListContainers answers
//     with every container; and a restart after a crash (the state directory copied while the
//     server ran, as a kill -9 would leave it).
// The node is built once per N, in process: one pod (a sandbox and 2 containers) made through CRI,
// then cloned N times into the state file with fresh ids, names, IPs and PIDs.
// Bytes are the process's write() bytes (/proc/self/io wchar), which include the gRPC frames of the
// in-process client and server: the free call shows what those come to.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : process.argv[i + 1]
}
// `--dist DIR`: another build to measure (a copy of main's dist/ inside the checkout, for "before").
const lib = await import(join(root, arg('--dist', 'dist'), 'index.js'))
const SIZES = arg('--pods', '100,1000,10000').split(',').map(Number)
const MODES = arg('--modes', 'state,state-sync').split(',')
/** Calls of each kind measured per size and mode. */
const CALLS = Number(arg('--calls', '40'))
/** Channel options: ListContainers of 20,000 containers is over grpc's default 4 MiB. */
const CHANNEL = { 'grpc.max_receive_message_length': 256 * 1024 * 1024 }

const wchar = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1])
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmtBytes = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${Math.round(n)} B`)
const ms = (n) => `${n.toFixed(1)} ms`

/** One pod with 2 running containers, made through CRI; returns the state file and the state. */
async function template(dir) {
  const file = join(dir, 'state.json')
  const f = await lib.startFakeContainerd({ state: file, logLevel: 'error' })
  const cri = lib.criClients(f.address)
  await cri.image.PullImage({ image: { image: 'busybox' } })
  // No log directory: 20,000 open log files are over this machine's limit of open files (issue #18's
  // other part); the state is what is measured here.
  const config = { metadata: { name: 'pod-0', namespace: 'bench', uid: 'uid-0' } }
  const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
  for (const name of ['a', 'b']) {
    const { container_id } = await cri.runtime.CreateContainer({
      pod_sandbox_id,
      config: { metadata: { name }, image: { image: 'busybox' }, command: ['sleep', '3600'], log_path: `${name}.log` },
      sandbox_config: config,
    })
    await cri.runtime.StartContainer({ container_id })
  }
  const state = f.snapshot()
  cri.close()
  await f.close()
  return { file, state }
}

const hex = (n, salt) => (salt + n.toString(16).padStart(12, '0')).padStart(64, 'f').slice(-64)

/** The template's pod cloned `pods` times: the template state with N pods in place of its one. */
function clone(state, pods) {
  const ids = Object.keys(state.containers)
  const snapshots = state.snapshots.overlayfs['k8s.io']
  const text = JSON.stringify({ containers: state.containers, snapshots: Object.fromEntries(ids.map((id) => [id, snapshots[id]])) })
  const out = structuredClone(state)
  out.containers = {}
  for (const id of ids) delete out.snapshots.overlayfs['k8s.io'][id]
  let pid = state.nextPid
  for (let i = 0; i < pods; i++) {
    const fresh = new Map(ids.map((id, k) => [id, hex(i, `${k + 1}`)]))
    const ip = `10.88.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`
    let t = text
    for (const [old, id] of fresh) t = t.replaceAll(old, id).replaceAll(old.slice(0, 8), id.slice(0, 8))
    t = t.replaceAll('"10.88.0.2"', `"${ip}"`).replaceAll('pod-0', `pod-${i}`).replaceAll('uid-0', `uid-${i}`)
    const part = JSON.parse(t)
    for (const record of Object.values(part.containers)) {
      if (!record.task) continue
      const next = pid++
      record.task.pid = next
    }
    Object.assign(out.containers, part.containers)
    Object.assign(out.snapshots.overlayfs['k8s.io'], part.snapshots)
  }
  out.nextPid = pid
  return out
}

/** Starts a server on `file` and waits until ListContainers shows `count` containers; returns it and the ms taken. */
async function start(file, sync, count) {
  const t0 = performance.now()
  const f = await lib.startFakeContainerd({ state: file, stateSync: sync, logLevel: 'error' })
  const cri = lib.criClients(f.address, CHANNEL)
  const { containers } = await cri.runtime.ListContainers({})
  const took = performance.now() - t0
  if (containers.length !== count) throw new Error(`restarted with ${containers.length} containers, not ${count}`)
  return { f, cri, ms: took }
}

/** bytes and ms of `calls` calls of one kind, each until the file holds its change. */
async function measure(f, calls, call) {
  const times = []
  const bytes = []
  for (let i = 0; i < calls; i++) {
    await f.node.store.flush()
    const w0 = wchar()
    const t0 = performance.now()
    await call(i)
    await f.node.store.flush()
    times.push(performance.now() - t0)
    bytes.push(wchar() - w0)
  }
  return { ms: median(times), bytes: median(bytes), total: bytes.reduce((a, b) => a + b, 0) / calls }
}

async function run(pods, mode, tpl, dir) {
  const sync = mode === 'state-sync'
  const file = join(dir, `${mode}-${pods}`, 'state.json')
  cpSync(join(dir, 'tpl'), join(dir, `${mode}-${pods}`), { recursive: true })
  rmSync(`${file}.log`, { force: true })
  const state = clone(tpl.state, pods)
  writeFileSync(file, JSON.stringify(state))
  const size = JSON.stringify(state).length
  const count = pods * 2
  const cold = await start(file, sync, count)
  let { f, cri } = cold
  const all = (await cri.runtime.ListContainers({})).containers
  const apps = all.filter((c) => c.metadata.name === 'a' || c.metadata.name === 'b')
  const sandboxes = [...new Set(apps.map((c) => c.pod_sandbox_id))]
  // Spread over the node, the same ones in every run.
  const pick = (xs, i) => xs[(i * 7919) % xs.length]
  const status = await measure(f, CALLS, (i) => cri.runtime.ContainerStatus({ container_id: pick(apps, i).id, verbose: false }))
  const update = await measure(f, CALLS, (i) =>
    cri.runtime.UpdateContainerResources({ container_id: pick(apps, i).id, linux: { cpu_shares: 512 + i, memory_limit_in_bytes: 0 } }),
  )
  // A new container in an existing pod, created unmeasured, then started (the change measured).
  const created = []
  for (let i = 0; i < CALLS; i++) {
    const sandbox = pick(sandboxes, i + 1)
    const config = { metadata: { name: 'bench', namespace: 'bench', uid: 'bench' } }
    const { container_id } = await cri.runtime.CreateContainer({
      pod_sandbox_id: sandbox,
      config: { metadata: { name: `extra-${i}` }, image: { image: 'busybox' }, command: ['sleep', '3600'], log_path: `extra-${i}.log` },
      sandbox_config: config,
    })
    created.push(container_id)
  }
  const startCall = await measure(f, CALLS, (i) => cri.runtime.StartContainer({ container_id: created[i] }))
  const total = count + CALLS

  // A crash: the state directory as it is while the server runs (everything acknowledged is on disk).
  await f.node.store.flush()
  const crashDir = join(dir, `${mode}-${pods}-crash`)
  cpSync(join(dir, `${mode}-${pods}`), crashDir, { recursive: true })
  rmSync(join(crashDir, 'state.json.lock'), { force: true })

  let t0 = performance.now()
  cri.close()
  await f.close()
  const closeMs = performance.now() - t0
  const warm = await start(file, sync, total)
  warm.cri.close()
  await warm.f.close()
  const crash = await start(join(crashDir, 'state.json'), sync, total)
  crash.cri.close()
  await crash.f.close()
  rmSync(join(dir, `${mode}-${pods}`), { recursive: true, force: true })
  rmSync(crashDir, { recursive: true, force: true })
  return { pods, mode, size, cold: cold.ms, status, update, start: startCall, closeMs, warm: warm.ms, crash: crash.ms }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'fc-bench-state-'))
  try {
    const tplDir = join(dir, 'tpl')
    const tpl = await template(tplDir)
    // `--write-state DIR`: only the node of the first size, as a state directory to profile a start on.
    const out = arg('--write-state', undefined)
    if (out !== undefined) {
      cpSync(tplDir, out, { recursive: true })
      rmSync(join(out, 'state.json.log'), { force: true })
      writeFileSync(join(out, 'state.json'), JSON.stringify(clone(tpl.state, SIZES[0])))
      console.log(`${join(out, 'state.json')}: ${SIZES[0]} pods`)
      return
    }
    console.log(`state bench: ${CALLS} calls of each kind; bytes = write() bytes per call (median), ms per call (median)`)
    console.log(
      '| pods | mode | state file | ContainerStatus | UpdateContainerResources | StartContainer | close | restart | restart after crash |',
    )
    console.log('|---|---|---|---|---|---|---|---|---|')
    for (const pods of SIZES) {
      for (const mode of MODES) {
        const r = await run(pods, mode, tpl, dir)
        const cell = (m) => `${fmtBytes(m.bytes)}, ${ms(m.ms)}`
        console.log(
          `| ${pods} | --${mode} | ${fmtBytes(r.size)} | ${cell(r.status)} | ${cell(r.update)} | ${cell(r.start)} | ${ms(r.closeMs)} | ${ms(r.warm)} | ${ms(r.crash)} |`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
process.exit(0)
