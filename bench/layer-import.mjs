// Benchmark (not a test): the server's peak memory (VmHWM) and time when real `ctr images import`
// imports an image with one 100 MB layer (100 files of 1 MiB, random, gzipped), then `ctr run`
// cats one of its files. In memory and with --state (layers kept under <state>.blobs/).
//   npm run build && node bench/layer-import.mjs [--root DIR] [--mb 100]
// --root runs another checkout's build (dist/cli.js) for a before/after comparison.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ociLayout } from '../test/oci-layout.mjs'

const run = promisify(execFile)
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const root = resolve(arg('root', fileURLToPath(new URL('..', import.meta.url))))
const mb = Number(arg('mb', '100'))
const CTR = process.env.CTR ?? 'ctr'

function header(name, size, type = '0', mode = 0o644) {
  const h = Buffer.alloc(512)
  h.write(name, 0, 100, 'utf8')
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1')
  h.write('0000000\0', 108, 'latin1')
  h.write('0000000\0', 116, 'latin1')
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1')
  h.write('14524572400\0', 136, 'latin1')
  h.write(type, 156, 'latin1')
  h.write('ustar\x0000', 257, 'latin1')
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  return h
}
const pad = (b) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)])
const tar = (members) =>
  Buffer.concat([
    ...members.flatMap((m) => [header(m.name, m.data?.length ?? 0, m.type, m.mode), ...(m.data ? [pad(m.data)] : [])]),
    Buffer.alloc(1024),
  ])

function archive(name) {
  const files = [
    { name: 'data/', type: '5', mode: 0o755 },
    { name: 'data/msg', data: Buffer.from('hello\n') },
  ]
  for (let i = 0; i < mb; i++) files.push({ name: `data/f${i}`, data: randomBytes(1 << 20) })
  return tar(ociLayout(name, tar(files), { Cmd: ['cat', '/data/msg'] }, 1))
}

const kib = (pid, field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
const mib = (k) => `${(k / 1024).toFixed(0)} MiB`

async function measure(file, withState, unpack = true) {
  const dir = mkdtempSync(join(tmpdir(), 'fc-bench-layer-'))
  const socket = join(dir, 'c.sock')
  const args = [
    join(root, 'dist/cli.js'),
    '--socket',
    socket,
    '--log-level',
    'error',
    ...(withState ? ['--state', join(dir, 'state.json')] : []),
  ]
  const child = spawn(process.execPath, args)
  await new Promise((ok, fail) => {
    child.stdout.on('data', (d) => String(d).includes('listening on') && ok())
    child.once('exit', (code) => fail(new Error(`server exited with ${code}`)))
  })
  try {
    const idle = kib(child.pid, 'VmRSS')
    const t0 = performance.now()
    await run(CTR, ['-a', socket, 'images', 'import', ...(unpack ? [] : ['--no-unpack']), file], { maxBuffer: 1 << 24 })
    const importMs = performance.now() - t0
    const peak = kib(child.pid, 'VmHWM')
    const after = kib(child.pid, 'VmRSS')
    const mode = `${withState ? '--state  ' : 'in memory'}${unpack ? '            ' : ' --no-unpack'}`
    if (!unpack) {
      console.log(`${mode} import ${(importMs / 1000).toFixed(1)} s; RSS idle ${mib(idle)}, peak ${mib(peak)}, after ${mib(after)}`)
      return
    }
    const { stdout } = await run(CTR, [
      '-a',
      socket,
      'run',
      '--rm',
      'docker.io/library/bench-layer:1',
      'c1',
      'sh',
      '-c',
      'cat /data/msg; wc -c /data/f7',
    ])
    console.log(
      `${mode} import ${(importMs / 1000).toFixed(1)} s; RSS idle ${mib(idle)}, peak ${mib(peak)}, after ${mib(after)}; ` +
        `run: ${JSON.stringify(stdout)}`,
    )
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    rmSync(dir, { recursive: true, force: true })
  }
}

const dir = mkdtempSync(join(tmpdir(), 'fc-bench-archive-'))
const file = join(dir, 'image.tar')
writeFileSync(file, archive('docker.io/library/bench-layer:1'))
console.log(`ctr images import of one ${mb} MB layer (${root}):`)
try {
  // The content store alone (--no-unpack), then with the unpack: Diff.Apply's share is the difference.
  for (const withState of [false, true]) {
    await measure(file, withState, false)
    await measure(file, withState)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
