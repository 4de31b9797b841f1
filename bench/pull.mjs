// Benchmark (not a test): `npm run build && node bench/pull.mjs [MB]`. Pushes a single-layer image
// whose layer holds one file of MB (default 100) random bytes to a local docker-registry (Debian's
// package, started on 127.0.0.1 by test/registry-server.mjs), then pulls it through CRI PullImage
// from a spawned server with --pull-policy registry, once with the state in memory and once with
// --state (blobs and layers in files, streamed): prints the seconds of the pull and the server's
// peak RSS (VmHWM) before and after; with openssl, once more with --state from a second registry
// serving the same storage over TLS (hosts.toml `ca`). The goal (#15): the layer streams to the store, so with --state
// the peak RSS stays far below the layer's size.
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { spawnServer } from './spawn-server.mjs'
import { hasOpenssl, makePki } from '../test/registry-pki.mjs'
import { hasRegistry, pushBlob, pushManifest, startRegistry } from '../test/registry-server.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = await import(join(root, 'dist/index.js'))
const MB = Number(process.argv[2] ?? 100)
const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`
const mib = (kb) => `${(kb / 1024).toFixed(0)} MiB`

/** A tar with one regular file (ustar header, data, padding, end blocks). */
function oneFileTar(name, data) {
  const h = Buffer.alloc(512)
  h.write(name, 0)
  h.write('0000644\0', 100)
  h.write('0000000\0', 108)
  h.write('0000000\0', 116)
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124)
  h.write('00000000000\0', 136)
  h.write('0', 156)
  h.write('ustar\x0000', 257, 'latin1')
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)])
}

/** The server's peak and current resident set, from /proc. */
function rss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { peak: kb('VmHWM'), now: kb('VmRSS') }
}

async function main() {
  if (!hasRegistry()) throw new Error('docker-registry is not installed (apt-get install docker-registry)')
  const registry = await startRegistry()
  try {
    const tar = oneFileTar('blob.bin', randomBytes(MB * 1024 * 1024))
    const layer = gzipSync(tar, { level: 1 })
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sleep', '3600'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    )
    await pushBlob(registry, 'bench/big', layer)
    await pushBlob(registry, 'bench/big', config)
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
      }),
    )
    await pushManifest(registry, 'bench/big', 'v1', 'application/vnd.oci.image.manifest.v1+json', manifest)
    console.log(`image: one layer, ${MB} MiB of random bytes (${(layer.length / 2 ** 20).toFixed(1)} MiB gzipped)`)
    // The same storage over TLS (a certificate from a CA made here, trusted by the hosts.toml's `ca`),
    // when openssl is there: the pull through node:https with the host's settings, beside fetch's.
    const tlsDir = mkdtempSync(join(tmpdir(), 'fc-bench-tls-'))
    const pki = hasOpenssl() ? makePki(tlsDir) : undefined
    const secure = pki
      ? await startRegistry(undefined, { tls: { certificate: pki.serverCert, key: pki.serverKey }, storage: registry.storage })
      : undefined
    if (secure && pki) {
      const hostDir = join(tlsDir, 'hosts', secure.host.replace(/:(\d+)$/, '_$1_'))
      mkdirSync(hostDir, { recursive: true })
      writeFileSync(join(hostDir, 'hosts.toml'), `server = "${secure.origin}"\nca = "${pki.ca}"\n`)
    }
    const variants = [
      ['state in memory', () => [], registry.host],
      ['--state (files)', (dir) => ['--state', join(dir, 'state.json')], registry.host],
      ...(secure
        ? [
            [
              '--state, over TLS',
              (dir) => ['--state', join(dir, 'state.json'), '--registry-config-path', join(tlsDir, 'hosts')],
              secure.host,
            ],
          ]
        : []),
    ]
    for (const [label, extra, host] of variants) {
      const server = await spawnServer((dir) => ['--pull-policy', 'registry', ...extra(dir)])
      const clients = lib.criClients(server.address)
      try {
        const before = rss(server.child.pid)
        const t0 = process.hrtime.bigint()
        await clients.image.PullImage({ image: { image: `${host}/bench/big:v1` } })
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9
        const after = rss(server.child.pid)
        console.log(
          `${label}: pull ${seconds.toFixed(2)} s; peak RSS ${mib(before.peak)} before, ${mib(after.peak)} after (now ${mib(after.now)})`,
        )
      } finally {
        clients.close()
        server.child.kill('SIGTERM')
        await new Promise((resolve) => server.child.once('exit', resolve))
        rmSync(server.dir, { recursive: true, force: true })
      }
    }
    await secure?.stop()
    rmSync(tlsDir, { recursive: true, force: true })
  } finally {
    await registry.stop()
  }
}

await main()
