// A host with its own `ca` keeps the roots every other host is checked against, NODE_EXTRA_CA_CERTS
// among them, as Go adds a host's CA files to the system's pool rather than replacing it. Its own
// file: the roots are read once per process, so NODE_EXTRA_CA_CERTS is set before any pull.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tls from 'node:tls'
import { afterAll, describe, expect, test } from 'vitest'
import { tarball } from '../containerd.js'
import { harness } from '../helpers.js'
import { imageBlobs } from '../oci-layout.mjs'
import { MockRegistry, sha256 } from '../registry-mock.js'
import { hasOpenssl, makePki, serveHttps } from '../registry-tls.js'

// Where Node has tls.getCACertificates (22.15 and 24), it reads NODE_EXTRA_CA_CERTS once, when the process
// starts, so setting it here cannot reach it: the test runs where the variable is read when the roots are
// made (Node 20, the suite's main run).
const readsExtraAtStart = typeof (tls as { getCACertificates?: unknown }).getCACertificates === 'function'

describe.skipIf(!hasOpenssl() || readsExtraAtStart)('NODE_EXTRA_CA_CERTS with a host `ca`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fc-reg-extra-ca-'))
  const saved = process.env.NODE_EXTRA_CA_CERTS
  afterAll(() => {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS
    else process.env.NODE_EXTRA_CA_CERTS = saved
    rmSync(dir, { recursive: true, force: true })
  })

  test('a registry signed by a CA in NODE_EXTRA_CA_CERTS is trusted though the host names another `ca`', async () => {
    const pki = makePki(dir)
    process.env.NODE_EXTRA_CA_CERTS = pki.ca
    let registry: MockRegistry | undefined
    const server = await serveHttps(pki, () => (registry as MockRegistry).handlers())
    registry = new MockRegistry(server.origin)
    const blobs = imageBlobs([tarball([{ name: 'a.txt', data: 'a\n', mode: 0o644 }])], { Cmd: ['sh'] })
    registry.putBlob(blobs.config)
    for (const l of blobs.layers) registry.putBlob(l)
    registry.putManifest('extra/app', 'application/vnd.oci.image.manifest.v1+json', blobs.manifest, 'v1')
    const root = join(dir, 'hosts')
    mkdirSync(join(root, 'registry.test'), { recursive: true })
    writeFileSync(join(root, 'registry.test', 'hosts.toml'), `server = "${server.origin}"\nca = "${pki.otherCa}"\n`)
    const h = await harness({ pullPolicy: 'registry', registryConfigPath: root })
    try {
      const pulled = await h.image.PullImage({ image: { image: 'registry.test/extra/app:v1' } })
      expect(pulled.image_ref).toBe(sha256(blobs.config))
    } finally {
      await h.close()
      await server.close()
    }
  }, 30_000)
})
