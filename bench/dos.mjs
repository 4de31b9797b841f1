// Benchmark (not a test): `npm run build && node bench/dos.mjs`. Each pathological pattern of
// issue #17 runs in one client against a spawned server while a second client times CRI Version
// calls back to back; prints how long the attack took and the Version latencies (p50/p99/max)
// during it. Then the regex engines on ordinary greps: re2js (linear) against V8's RegExp.
// The target (#17): Version p99 under 100 ms during every attack; SIGTERM closes within 2 s.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnServer } from './spawn-server.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = await import(join(root, 'dist/index.js'))
const { compileRe2, compileRegex } = await import(join(root, 'dist/patterns/regex.js'))
const ms = (n) => `${n.toFixed(1)} ms`
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

const A = (n) => 'a'.repeat(n)
/** name, then what the attacker runs: a shell command in the container (ExecSync) or a function of the clients. */
const ATTACKS = [
  ['grep -E (a+)+$ on 34 a', `echo ${A(34)}! | grep -E '(a+)+$'`],
  ['grep BRE \\(a*\\)*\\1$ (budgeted)', `echo ${A(34)}! | grep '\\(a*\\)*\\1$'`],
  ["awk '/(a+)+$/'", `echo ${A(34)}! | awk '/(a+)+$/'`],
  ['sed -E s/(a+)+$//', `echo ${A(34)}! | sed -E 's/(a+)+$/x/'`],
  ['expr : \\(a*\\)*b', `expr ${A(34)} : '\\(a*\\)*b'`],
  ['case *a*a*a*a*a*b on 200 chars', `x=${A(200)}; case $x in *a*a*a*a*a*b) echo y;; *) echo n;; esac`],
  ['${x//*a*a*a*b/} on 200 chars', `x=${A(200)}; echo \${#x} \${x//*a*a*a*b/}`],
  ['containerd ~= ^([0-9a-f]+)+z', (c) => c.ctr.containers.List({ filters: ['id~=^([0-9a-f]+)+z'] })],
  ['while :; do :; done (timeout 2 s)', 'while :; do :; done', 2],
  ['${x//*b/} on 32 KiB (timeout 2 s)', 'x=a; i=0; while [ $i -lt 15 ]; do x=$x$x; i=$((i+1)); done; echo ${x//*b/} | wc -c', 2],
]

async function main() {
  const server = await spawnServer()
  const attacker = lib.criClients(server.address)
  const ctr = lib.containerdClients(server.address, 'k8s.io')
  const timer = lib.criClients(server.address)
  const config = { metadata: { name: 'dos', namespace: 'bench', uid: 'dos' } }
  await attacker.image.PullImage({ image: { image: 'busybox' } })
  const { pod_sandbox_id } = await attacker.runtime.RunPodSandbox({ config })
  const { container_id } = await attacker.runtime.CreateContainer({
    pod_sandbox_id,
    config: { metadata: { name: 'app' }, image: { image: 'busybox' }, command: ['sleep', '3600'] },
    sandbox_config: config,
  })
  await attacker.runtime.StartContainer({ container_id })
  for (const [name, what, timeout = 10] of ATTACKS) {
    let done = false
    const t0 = performance.now()
    const once = () =>
      typeof what === 'string'
        ? attacker.runtime
            .ExecSync({ container_id, cmd: ['sh', '-c', what], timeout })
            .then((r) => `exit ${r.exit_code}${r.stderr.length ? `, ${String(r.stderr).trim()}` : ''}`)
        : what({ ctr }).then(() => 'OK')
    // Each attack 20 times over (the busy loop once), so that the Version figures have a p99.
    const attack = (async () => {
      let result = ''
      for (let i = 0; i < (timeout === 10 ? 20 : 1); i++) result = await once().catch((e) => `error ${e.code}: ${e.details}`)
      return result
    })().finally(() => (done = true))
    const lat = []
    while (!done) {
      const v0 = performance.now()
      await timer.runtime.Version({})
      lat.push(performance.now() - v0)
    }
    const result = await attack
    const took = performance.now() - t0
    lat.sort((a, b) => a - b)
    console.log(
      `${name}: ${ms(took)} for ${timeout === 10 ? 20 : 1} (${result}); Version ×${lat.length} p50 ${ms(pct(lat, 50))} p99 ${ms(pct(lat, 99))} max ${ms(lat[lat.length - 1])}`,
    )
  }
  // SIGTERM in the middle of a busy loop and a backtracking pattern.
  void attacker.runtime.ExecSync({ container_id, cmd: ['sh', '-c', 'while :; do :; done'], timeout: 0 }).catch(() => {})
  void attacker.runtime
    .ExecSync({ container_id, cmd: ['sh', '-c', `while :; do echo ${A(34)}! | grep -E '(a+)+$'; done`], timeout: 0 })
    .catch(() => {})
  await new Promise((r) => setTimeout(r, 300))
  const t0 = performance.now()
  server.child.kill('SIGTERM')
  await new Promise((r) => server.child.once('exit', r))
  console.log(`SIGTERM mid-attack → exit: ${ms(performance.now() - t0)}`)
  for (const c of [attacker, timer, ctr]) c.close()
  rmSync(server.dir, { recursive: true, force: true })

  engines()
}

/** re2js against V8 on ordinary greps: ns per line over 20,000 log-like lines. */
function engines() {
  const lines = Array.from(
    { length: 20_000 },
    (_, i) =>
      `2026-12-07T14:${String(i % 60).padStart(2, '0')}:00Z level=${i % 7 ? 'info' : 'error'} msg="request ${i} served" path=/api/v1/pods/${i}`,
  )
  const cases = [
    ['literal', 'served'],
    ['anchored class', '^2026-[0-9]+-07'],
    ['alternation', 'level=(error|warn)'],
    ['interval', '[0-9]{4,}'],
    ['-i literal', 'ERROR', true],
    ['.* middle', 'request .* served'],
  ]
  for (const [name, src, ignoreCase = false] of cases) {
    const js = new RegExp(src, ignoreCase ? 'i' : '')
    const chosen = compileRegex(src, { ignoreCase })
    const re2 = compileRe2(ignoreCase ? `(?i)${src}` : src)
    const time = (test) => {
      let hits = 0
      const t0 = performance.now()
      for (let r = 0; r < 5; r++) for (const l of lines) if (test(l)) hits++
      return [((performance.now() - t0) * 1e6) / (5 * lines.length), hits]
    }
    for (const m of [js, re2, chosen]) time((l) => m.test(l)) // warm up
    const [jsNs, jsHits] = time((l) => js.test(l))
    const [reNs, reHits] = time((l) => re2.test(l))
    const [chNs, chHits] = time((l) => chosen.test(l))
    if (jsHits !== reHits || jsHits !== chHits) throw new Error(`${name}: engines disagree (${jsHits}, ${reHits}, ${chHits})`)
    console.log(
      `grep ${name} /${src}/: RegExp ${jsNs.toFixed(0)} ns/line, re2js ${reNs.toFixed(0)} ns/line (×${(reNs / jsNs).toFixed(1)}), as run (${chosen.engine}) ${chNs.toFixed(0)} ns/line`,
    )
  }
}

await main()
