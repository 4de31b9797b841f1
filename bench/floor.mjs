// The fake's cost per call against the floor of its gRPC stack (issue #18), in one run:
//   bare   a @grpc/grpc-js server with the project's protos answering the same calls with fixed
//          answers (the fake's own, captured first): no model, no journal, no faults
//   http2  a minimal node:http2 gRPC responder for Version (one pre-encoded frame and a grpc-status
//          trailer): the floor under grpc-js; a bench only, not a server
//   lib    the fake in library mode (startFakeContainerd in a process of its own)
//   cli    the built CLI (dist/cli.js)
// and, with BEFORE=<another checkout with a built dist/>, its lib and cli too. Every server runs in a
// child process and this one is the client, so a figure is the server's cost, not the client's.
// Targets are measured in turn within each round (ROUNDS, default 3) so that load from elsewhere on a
// shared machine hits them alike; a figure is the median of the rounds, and the ratio is to `bare`
// of the same round. With CRITEST=<critest binary>, critest's benchmark suite runs against the CLI
// (and BEFORE's): the pod and container lifecycle at 20 pods parallel 2, and the 105-pod batch at
// parallel 10 (CRITEST_RUNS times, default 3, median).
//
// The server's CPU time per call (from /proc) is given next to each rate: on a machine shared with
// other work, rates move with that work and CPU per call much less.
//
//   npm run build && node bench/floor.mjs
//   BEFORE=/tmp/fc-before CRITEST=/opt/cri-tools/1.29/critest node bench/floor.mjs
import { spawn, execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const here = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
const grpc = require('@grpc/grpc-js')

/** The CRI RuntimeService of a checkout: its loaded package (its own proto/ and loader options). */
function runtimeService(root) {
  const sd = require(join(root, 'dist/service-descriptors.cjs'))
  return sd.serviceConstructor(sd.loadGroup('cri', join(root, 'proto')), 'runtime.v1.RuntimeService')
}

// ---- the servers (run as `node bench/floor.mjs serve KIND SOCKET ROOT [ANSWERS]`) -------------------

async function serve(kind, socket, root, answersFile) {
  const ready = (address) => process.stdout.write(`listening on ${address}\n`)
  if (kind === 'lib') {
    const lib = await import(join(root, 'dist/index.js'))
    const f = await lib.startFakeContainerd({ socket, logLevel: 'error' })
    return ready(f.address)
  }
  const Runtime = runtimeService(root)
  const answers = JSON.parse(readFileSync(answersFile, 'utf8'))
  if (kind === 'http2') {
    const http2 = await import('node:http2')
    const body = Runtime.service.Version.responseSerialize(answers.Version)
    const frame = Buffer.alloc(5 + body.length)
    frame.writeUInt32BE(body.length, 1)
    body.copy(frame, 5)
    const server = http2.createServer()
    server.on('stream', (stream) => {
      stream.on('data', () => {})
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }))
        stream.end(frame)
      })
    })
    await new Promise((ok) => server.listen(socket, ok))
    return ready(`unix://${socket}`)
  }
  // bare grpc-js: the same service definition and message limits as the fake, fixed answers.
  const sd = require(join(root, 'dist/service-descriptors.cjs'))
  const server = new grpc.Server(sd.MESSAGE_LIMITS)
  const answer = (res) => (_call, cb) => cb(null, res)
  server.addService(Runtime.service, {
    Version: answer(answers.Version),
    PodSandboxStatus: (call, cb) => cb(null, call.request.verbose ? answers.PodSandboxStatusVerbose : answers.PodSandboxStatus),
    ContainerStatus: (call, cb) => cb(null, call.request.verbose ? answers.ContainerStatusVerbose : answers.ContainerStatus),
    ListContainers: answer(answers.ListContainers),
  })
  await new Promise((ok, fail) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? fail(err) : ok())),
  )
  ready(`unix://${socket}`)
}

// ---- the driver ----------------------------------------------------------------------------------

/** Starts a server child; resolves with its address and a stop(). */
async function start(kind, root, dir, answersFile) {
  const socket = join(dir, `${kind}-${Math.random().toString(36).slice(2, 8)}.sock`)
  const args =
    kind === 'cli'
      ? [join(root, 'dist/cli.js'), '--socket', socket, '--log-level', 'error']
      : [fileURLToPath(import.meta.url), 'serve', kind, socket, root, answersFile ?? '']
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const address = await new Promise((ok, fail) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /listening on (unix:\/\/\S+)/.exec(out)
      if (m) ok(m[1])
    })
    child.once('exit', (code) => fail(new Error(`${kind} server (${root}) exited with ${code}`)))
  })
  return {
    address,
    socket,
    pid: child.pid,
    stop: () => new Promise((ok) => (child.once('exit', ok), child.kill('SIGTERM'))),
  }
}

const call = (client, method, request) => new Promise((ok, fail) => client[method](request, (err, res) => (err ? fail(err) : ok(res))))

/** Fills a fake with what the calls read: 25 pods of 4 running containers (100 in all). */
async function populate(Runtime, address) {
  const sd = require(join(here, 'dist/service-descriptors.cjs'))
  const Image = sd.serviceConstructor(sd.loadGroup('cri', join(here, 'proto')), 'runtime.v1.ImageService')
  const image = new Image(address, grpc.credentials.createInsecure(), sd.MESSAGE_LIMITS)
  const rt = new Runtime(address, grpc.credentials.createInsecure(), sd.MESSAGE_LIMITS)
  await call(image, 'PullImage', { image: { image: 'busybox' } })
  let pod = ''
  let container = ''
  for (let p = 0; p < 25; p++) {
    const config = { metadata: { name: `pod-${p}`, namespace: 'bench', uid: `uid-${p}` }, labels: { app: 'bench' } }
    const { pod_sandbox_id } = await call(rt, 'RunPodSandbox', { config })
    pod ||= pod_sandbox_id
    for (let c = 0; c < 4; c++) {
      const { container_id } = await call(rt, 'CreateContainer', {
        pod_sandbox_id,
        config: { metadata: { name: `c${c}` }, image: { image: 'busybox' }, command: ['sleep', '3600'], labels: { c: String(c) } },
        sandbox_config: config,
      })
      await call(rt, 'StartContainer', { container_id })
      container ||= container_id
    }
  }
  image.close()
  rt.close()
  return { pod, container }
}

/** The calls measured: name, method, request (given the ids a fake was populated with). */
const CALLS = [
  ['Version', 'Version', () => ({ version: '' })],
  ['PodSandboxStatus', 'PodSandboxStatus', (ids) => ({ pod_sandbox_id: ids.pod, verbose: false })],
  ['ContainerStatus', 'ContainerStatus', (ids) => ({ container_id: ids.container, verbose: false })],
  ['ContainerStatus verbose', 'ContainerStatus', (ids) => ({ container_id: ids.container, verbose: true })],
  ['ListContainers (100)', 'ListContainers', () => ({ filter: null })],
]

/** CPU seconds a process has used (user and system), from /proc: what other load on the machine does not change. */
const TICK = 100 // USER_HZ: the unit of /proc/<pid>/stat's times on Linux
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICK
}

/**
 * `count` calls from each of `clients` clients at once: calls/s, the p50 latency in µs, and the
 * server's CPU µs per call (its process's CPU time over the calls, 10 ms resolution).
 */
async function measure(clients, method, request, count, pid) {
  for (const c of clients) for (let i = 0; i < 50; i++) await call(c, method, request)
  const lat = []
  const cpu0 = pid ? cpuSeconds(pid) : 0
  const t0 = performance.now()
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < count; i++) {
        const s = performance.now()
        await call(c, method, request)
        lat.push(performance.now() - s)
      }
    }),
  )
  const secs = (performance.now() - t0) / 1000
  const cpu = pid ? ((cpuSeconds(pid) - cpu0) / lat.length) * 1e6 : 0
  lat.sort((a, b) => a - b)
  return { rate: lat.length / secs, p50: lat[Math.floor(lat.length / 2)] * 1000, cpu }
}

/** Calls per measurement from one client (16 clients make twice as many in all). */
const COUNT = Number(process.env.CALLS ?? 1500)
const rotate = (xs, n) => xs.map((_, i) => xs[(i + n) % xs.length])
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rate = (r) => (r >= 10_000 ? `${(r / 1000).toFixed(1)}k` : `${(r / 1000).toFixed(2)}k`)

async function main() {
  const rounds = Number(process.env.ROUNDS ?? 3)
  const before = process.env.BEFORE ? resolve(process.env.BEFORE) : undefined
  const dir = mkdtempSync(join(tmpdir(), 'fc-floor-'))

  // CRITEST_ONLY=1: critest's figures alone.
  if (!process.env.CRITEST_ONLY) await floor(rounds, before, dir)

  if (process.env.CRITEST) {
    const runs = Number(process.env.CRITEST_RUNS ?? 3)
    const fakes = [{ name: 'after', root: here }, ...(before ? [{ name: 'before', root: before }] : [])]
    const figures = new Map(fakes.map((f) => [f, []]))
    for (let r = 0; r < runs; r++) for (const f of fakes) figures.get(f).push(await critest(process.env.CRITEST, f.root, dir))
    const cols = [...fakes].reverse()
    console.log(`\ncritest ${process.env.CRITEST} -benchmark against the CLI, median of ${runs} runs (per run, the median of its samples)`)
    console.log(`| figure | ${cols.map((f) => f.name).join(' | ')} |`)
    console.log(`|---|${cols.map(() => '---|').join('')}`)
    for (const [key, label, unit] of CRITEST_ROWS) {
      const cell = (f) => {
        const v = median(figures.get(f).map((x) => x[key]))
        return unit === 's' ? `${(v / 1000).toFixed(3)} s` : `${v.toFixed(2)} ms`
      }
      console.log(`| ${label} | ${cols.map(cell).join(' | ')} |`)
    }
  }
  rmSync(dir, { recursive: true, force: true })
}

/** The table of calls against the floor: every server started, the fakes populated, each call measured in turn. */
async function floor(rounds, before, dir) {
  const Runtime = runtimeService(here)
  const channel = { ...require(join(here, 'dist/service-descriptors.cjs')).MESSAGE_LIMITS, 'grpc.use_local_subchannel_pool': 1 }
  // The fakes first, populated; the bare server answers what the first of them answered.
  const targets = [
    { name: 'lib', kind: 'lib', root: here },
    { name: 'cli', kind: 'cli', root: here },
    ...(before
      ? [
          { name: 'before lib', kind: 'lib', root: before },
          { name: 'before cli', kind: 'cli', root: before },
        ]
      : []),
  ]
  for (const t of targets) {
    t.server = await start(t.kind, t.root, dir)
    t.ids = await populate(Runtime, t.server.address)
  }
  const probe = new Runtime(targets[0].server.address, grpc.credentials.createInsecure(), channel)
  const ids = targets[0].ids
  const answers = {
    Version: await call(probe, 'Version', { version: '' }),
    PodSandboxStatus: await call(probe, 'PodSandboxStatus', { pod_sandbox_id: ids.pod, verbose: false }),
    PodSandboxStatusVerbose: await call(probe, 'PodSandboxStatus', { pod_sandbox_id: ids.pod, verbose: true }),
    ContainerStatus: await call(probe, 'ContainerStatus', { container_id: ids.container, verbose: false }),
    ContainerStatusVerbose: await call(probe, 'ContainerStatus', { container_id: ids.container, verbose: true }),
    ListContainers: await call(probe, 'ListContainers', { filter: null }),
  }
  probe.close()
  if (answers.ListContainers.containers.length !== 100)
    throw new Error(`expected 100 containers, got ${answers.ListContainers.containers.length}`)
  const answersFile = join(dir, 'answers.json')
  writeFileSync(answersFile, JSON.stringify(answers))
  const bare = { name: 'bare grpc-js', kind: 'bare', root: here, ids }
  const h2 = { name: 'node:http2', kind: 'http2', root: here, ids, only: 'Version' }
  bare.server = await start('bare', here, dir, answersFile)
  h2.server = await start('http2', here, dir, answersFile)
  const all = [bare, h2, ...targets]
  // Warm every server's code paths (and this client's) before any figure is taken.
  for (const t of all) {
    const c = new Runtime(t.server.address, grpc.credentials.createInsecure(), channel)
    for (const [label, method, request] of CALLS) if (!t.only || t.only === label) await measure([c], method, request(t.ids), 300)
    c.close()
  }

  console.log(
    `fake-containerd per call against the floor: ${rounds} rounds, servers in child processes, one client process.\n` +
      "Each cell: calls/s (p50 latency), the ratio to bare grpc-js of the same round; then the server's CPU µs per call\n" +
      "and bare's CPU per call over it (the cost ratio, which other load on the machine does not move). Medians of the rounds.",
  )
  console.log('| call | clients | ' + all.map((t) => t.name).join(' | ') + ' |')
  console.log('|---|---|' + all.map(() => '---|').join(''))
  for (const [label, method, request] of CALLS) {
    for (const n of [1, 16]) {
      const per = new Map(all.map((t) => [t, { rates: [], p50s: [], ratios: [], cpus: [], costs: [] }]))
      for (let r = 0; r < rounds; r++) {
        let floor = 0
        let floorCpu = 0
        // bare first (each ratio is to its figure of the same round), then the others in turn.
        const order = [bare, ...rotate(all.slice(1), r)]
        for (const t of order) {
          if (t.only && t.only !== label) continue
          const clients = Array.from({ length: n }, () => new Runtime(t.server.address, grpc.credentials.createInsecure(), channel))
          const m = await measure(clients, method, request(t.ids), n === 1 ? COUNT : Math.ceil(COUNT / 8), t.server.pid)
          clients.forEach((c) => c.close())
          if (t === bare) ((floor = m.rate), (floorCpu = m.cpu))
          const f = per.get(t)
          f.rates.push(m.rate)
          f.p50s.push(m.p50)
          f.ratios.push(m.rate / floor)
          f.cpus.push(m.cpu)
          f.costs.push(floorCpu / m.cpu)
        }
      }
      const cells = all.map((t) => {
        const f = per.get(t)
        if (!f.rates.length) return '–'
        const fig = `${rate(median(f.rates))}/s (${Math.round(median(f.p50s))} µs)`
        const cpu = `${Math.round(median(f.cpus))} µs cpu`
        return t === bare ? `${fig}; ${cpu}` : `${fig} ${median(f.ratios).toFixed(2)}×; ${cpu} ${median(f.costs).toFixed(2)}×`
      })
      console.log(`| ${label} | ${n} | ${cells.join(' | ')} |`)
    }
  }
  for (const t of all) await t.server.stop()
}

const CRITEST_ROWS = [
  ['pod', 'pod lifecycle (20 pods, parallel 2)'],
  ['container', 'container lifecycle (same)'],
  ['CreateContainer', 'CreateContainer'],
  ['StatusContainer', 'ContainerStatus'],
  ['RemoveContainer', 'RemoveContainer'],
  ['StatusPod', 'PodSandboxStatus (20 pods)'],
  ['batch', "critest's 105-pod batch at parallel 10, wall", 's'],
  ['batchStatusPod', 'PodSandboxStatus inside that batch'],
]

/** The medians (ms) of one critest run pair against a fresh CLI each: lifecycles at 20/2, then 105/10. */
async function critest(bin, root, dir) {
  const run = async (params, focus) => {
    const out = mkdtempSync(join(dir, 'critest-'))
    mkdirSync(out, { recursive: true })
    writeFileSync(join(out, 'params.yml'), params)
    const server = await start('cli', root, dir)
    try {
      await promisify(execFile)(
        bin,
        [
          '-benchmark',
          `--runtime-endpoint=${server.address}`,
          `--benchmarking-params-file=${join(out, 'params.yml')}`,
          `--benchmarking-output-dir=${out}`,
          `-ginkgo.focus=${focus}`,
        ],
        { maxBuffer: 64 << 20 },
      )
    } finally {
      await server.stop()
    }
    const read = (f) => JSON.parse(readFileSync(join(out, f), 'utf8'))
    return { read }
  }
  const ms = (ns) => ns / 1e6
  const op = (set, name) => median(set.datapoints.map((d) => ms(d.operationsDurationsNs[set.operationsNames.indexOf(name)])))
  const life = (set) => median(set.datapoints.map((d) => ms(d.endTime - d.startTime)))
  const small = await run(
    'containersNumber: 20\ncontainersNumberParallel: 2\npodsNumber: 20\npodsNumberParallel: 2\n',
    'lifecycle of PodSandbox|basic operations on Container',
  )
  const pods = small.read('pod_benchmark_data.json')
  const containers = small.read('container_benchmark_data.json')
  const batch = (await run('podsNumber: 105\npodsNumberParallel: 10\n', 'lifecycle of PodSandbox')).read('pod_benchmark_data.json')
  return {
    pod: life(pods),
    container: life(containers),
    CreateContainer: op(containers, 'CreateContainer'),
    StatusContainer: op(containers, 'StatusContainer'),
    RemoveContainer: op(containers, 'RemoveContainer'),
    StatusPod: op(pods, 'StatusPod'),
    batch: ms(Math.max(...batch.datapoints.map((d) => d.endTime)) - Math.min(...batch.datapoints.map((d) => d.startTime))),
    batchStatusPod: op(batch, 'StatusPod'),
  }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3], process.argv[4], process.argv[5], process.argv[6])
} else {
  await main()
}
