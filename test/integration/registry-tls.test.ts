// CRI PullImage from an HTTPS registry (a real TLS server on loopback with a CA made for the test):
// hosts.toml's `ca` (one file or a list, relative to the host's directory), `skip_verify` and
// `client` (cert and key pairs), Docker's certs.d layout, and each failure in containerd's words:
// an untrusted certificate, a certificate for another name, a missing or empty CA file, a key that
// is not the certificate's, a server that wants a client certificate. A failed pull holds nothing.
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { status } from '@grpc/grpc-js'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { containerdClients } from '../../src/client.js'
import { tarball } from '../containerd.js'
import { grpcError, harness, type Harness } from '../helpers.js'
import { imageBlobs } from '../oci-layout.mjs'
import { MockRegistry } from '../registry-mock.js'
import { hasOpenssl, makePki, serveHttps, type HttpsServer, type Pki } from '../registry-tls.js'

const UNTRUSTED = 'tls: failed to verify certificate: x509: certificate signed by unknown authority'

describe.skipIf(!hasOpenssl())('pulls over TLS', () => {
  let dir: string
  let pki: Pki
  let server: HttpsServer
  let storage: HttpsServer
  let registry: MockRegistry
  let config: Buffer
  let h: Harness | undefined

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fc-reg-tls-'))
    pki = makePki(dir)
    // Blob storage on another loopback address (the certificate names both), for redirected downloads.
    storage = await serveHttps(pki, () => registry.handlers(), { address: '127.0.0.2' })
    server = await serveHttps(pki, () => registry.handlers())
    registry = new MockRegistry(server.origin, storage.origin)
    const blobs = imageBlobs([tarball([{ name: 'hello.txt', data: 'over TLS\n', mode: 0o644 }])], { Cmd: ['sh'] })
    config = blobs.config
    registry.putBlob(blobs.config)
    for (const l of blobs.layers) registry.putBlob(l)
    registry.putManifest('tls/app', 'application/vnd.oci.image.manifest.v1+json', blobs.manifest, 'v1')
  }, 30_000)
  afterAll(async () => {
    await server?.close()
    await storage?.close()
    rmSync(dir, { recursive: true, force: true })
  })
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  /** A hosts directory whose registry `registry.test` is served by `server` (a name that is not loopback, so TLS is verified). */
  function hostsDir(toml: string, files: Record<string, string> = {}): string {
    const root = mkdtempSync(join(dir, 'hosts-'))
    const hostDir = join(root, 'registry.test')
    mkdirSync(hostDir)
    writeFileSync(join(hostDir, 'hosts.toml'), toml)
    for (const [name, text] of Object.entries(files)) writeFileSync(join(hostDir, name), text)
    return root
  }
  const REF = 'registry.test/tls/app:v1'
  const id = (): string => `sha256:${createHash('sha256').update(config).digest('hex')}`

  async function pullWith(root: string, ref = REF) {
    h = await harness({ pullPolicy: 'registry', registryConfigPath: root })
    return h.image.PullImage({ image: { image: ref } })
  }

  async function nothingHeld(): Promise<void> {
    const ctr = containerdClients((h as Harness).fake.address, 'k8s.io')
    try {
      expect((await ctr.leases.List({ filters: [] })).leases).toEqual([])
      const digests: string[] = []
      for await (const r of ctr.content.List({ filters: [] })) digests.push(...r.info.map((i: { digest: string }) => i.digest))
      expect(digests).toEqual([])
    } finally {
      ctr.close()
    }
  }

  test("a server whose CA is not trusted: Unknown with Go's words inside containerd's, and nothing held", async () => {
    const root = hostsDir(`server = "${server.origin}"\n`)
    const err = await grpcError(pullWith(root))
    expect(err.code).toBe(status.UNKNOWN)
    expect(err.details).toBe(
      `failed to pull and unpack image "${REF}": failed to resolve reference "${REF}": failed to do request: Head "${server.origin}/v2/tls/app/manifests/v1?ns=registry.test": ${UNTRUSTED}`,
    )
    await nothingHeld()
    // A CA that signed something else does not help either.
    const other = await grpcError(pullWith(hostsDir(`server = "${server.origin}"\nca = "${pki.otherCa}"\n`)))
    expect(other.details).toContain(UNTRUSTED)
  })

  test('`ca` as a file relative to the host directory, and as a list; `skip_verify = true`', async () => {
    const relative = hostsDir(`server = "${server.origin}"\nca = "my-ca.pem"\n`, { 'my-ca.pem': readFileSync(pki.ca, 'utf8') })
    expect((await pullWith(relative)).image_ref).toBe(id())
    expect((await (h as Harness).image.ImageStatus({ image: { image: REF } })).image?.id).toBe(id())
    await h?.close()
    const list = hostsDir(`server = "${server.origin}"\nca = ["${pki.otherCa}", "${pki.ca}"]\n`)
    expect((await pullWith(list)).image_ref).toBe(id())
    await h?.close()
    expect((await pullWith(hostsDir(`server = "${server.origin}"\nskip_verify = true\n`))).image_ref).toBe(id())
    await h?.close()
    // A mirror entry carries its own settings; the server after it is not asked.
    const mirror = hostsDir(`server = "https://registry.test"\n[host."${server.origin}"]\n  ca = "${pki.ca}"\n`)
    expect((await pullWith(mirror)).image_ref).toBe(id())
  })

  test('Basic auth and blob downloads redirected to storage on another host, over TLS: the credentials stay with the registry', async () => {
    registry.auth = { scheme: 'basic', username: 'alice', password: 's3cret' }
    registry.redirect = true
    try {
      h = await harness({ pullPolicy: 'registry', registryConfigPath: hostsDir(`server = "${server.origin}"\nca = "${pki.ca}"\n`) })
      const refused = await grpcError(h.image.PullImage({ image: { image: REF } }))
      // No credentials: containerd 2.1's ErrInvalidAuthorization (1.6 would leave the 401).
      expect(refused.details).toContain('authorization failed: no basic auth credentials')
      const pulled = await h.image.PullImage({ image: { image: REF }, auth: { username: 'alice', password: 's3cret' } })
      expect(pulled.image_ref).toBe(id())
      const fromStorage = registry.seen.filter((s) => s.url.startsWith(storage.origin))
      expect(fromStorage.length).toBeGreaterThan(0)
      expect(fromStorage.every((s) => s.headers.authorization === undefined)).toBe(true)
    } finally {
      registry.auth = undefined
      registry.redirect = false
    }
  })

  test("Bearer auth over TLS: the token endpoint is asked with the host's settings too", async () => {
    registry.auth = { scheme: 'bearer', username: 'bob', password: 'pw' }
    try {
      h = await harness({ pullPolicy: 'registry', registryConfigPath: hostsDir(`server = "${server.origin}"\nca = "${pki.ca}"\n`) })
      const pulled = await h.image.PullImage({ image: { image: REF }, auth: { username: 'bob', password: 'pw' } })
      expect(pulled.image_ref).toBe(id())
      expect(registry.seen.some((s) => s.method === 'POST' && s.url === `${server.origin}/token`)).toBe(true)
    } finally {
      registry.auth = undefined
    }
  })

  test("a token endpoint whose certificate fails: Go's request error inside the token fetch's words", async () => {
    // The challenge names the token endpoint by a name the certificate is not for.
    const realm = `${server.origin.replace('127.0.0.1', 'localhost')}/token`
    registry.auth = { scheme: 'bearer', username: 'bob', password: 'pw', realm }
    const why = 'tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match localhost'
    try {
      h = await harness({ pullPolicy: 'registry', registryConfigPath: hostsDir(`server = "${server.origin}"\nca = "${pki.ca}"\n`) })
      const anonymous = await grpcError(h.image.PullImage({ image: { image: REF } }))
      expect(anonymous.code).toBe(status.UNKNOWN)
      expect(anonymous.details).toContain(
        `failed to fetch anonymous token: Get "${realm}?service=mock-registry&scope=repository%3Atls%2Fapp%3Apull": ${why}`,
      )
      const oauth = await grpcError(h.image.PullImage({ image: { image: REF }, auth: { username: 'bob', password: 'pw' } }))
      expect(oauth.details).toContain(`failed to fetch oauth token: Post "${realm}": ${why}`)
    } finally {
      registry.auth = undefined
    }
  })

  test("Docker's certs.d layout: a host directory without hosts.toml, its *.crt trusted", async () => {
    // The directory is the registry's own (127.0.0.2 serves nothing; 127.0.0.1's port is the server's).
    const root = mkdtempSync(join(dir, 'certs-'))
    const hostDir = join(root, server.host.replace(/:(\d+)$/, '_$1_'))
    mkdirSync(hostDir)
    copyFileSync(pki.ca, join(hostDir, 'ca.crt'))
    // A loopback registry is plain HTTP to containerd 1.6 whatever its certificates: the TLS server
    // answers that with 400, so the pull fails — but it reads the directory (an unreadable CA fails first).
    writeFileSync(join(hostDir, 'broken.crt'), 'not a certificate\n')
    const err = await grpcError(pullWith(root, `${server.host}/tls/app:v1`))
    expect(err.details).toBe(
      `failed to pull and unpack image "${server.host}/tls/app:v1": failed to resolve reference "${server.host}/tls/app:v1": unable to load CA cert "${join(hostDir, 'broken.crt')}"`,
    )
  })

  test('a CA file that is missing or holds no certificate fails before anything is fetched', async () => {
    const missing = join(dir, 'nowhere.pem')
    const err = await grpcError(pullWith(hostsDir(`server = "${server.origin}"\nca = "${missing}"\n`)))
    expect(err.code).toBe(status.UNKNOWN)
    expect(err.details).toBe(
      `failed to pull and unpack image "${REF}": failed to resolve reference "${REF}": unable to read CA cert "${missing}": open ${missing}: no such file or directory`,
    )
    await nothingHeld()
    await h?.close()
    const seen = registry.seen.length
    const empty = await grpcError(pullWith(hostsDir(`server = "${server.origin}"\nca = "empty.pem"\n`, { 'empty.pem': '' })))
    expect(empty.details).toMatch(/: unable to load CA cert ".*\/registry\.test\/empty\.pem"$/)
    expect(registry.seen.length).toBe(seen)
  })

  test("a certificate for other names: Go's hostname error", async () => {
    // The certificate is for 127.0.0.1 and 127.0.0.2, not the name "localhost".
    const origin = server.origin.replace('127.0.0.1', 'localhost')
    const err = await grpcError(pullWith(hostsDir(`server = "${origin}"\nca = "${pki.ca}"\n`)))
    expect(err.details).toContain(
      `failed to do request: Head "${origin}/v2/tls/app/manifests/v1?ns=registry.test": tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match localhost`,
    )
  })

  test('a certificate naming its host only by Common Name is refused as Go refuses it (no SANs)', async () => {
    const legacy = await serveHttps({ ...pki, serverCert: pki.legacyCert, serverKey: pki.legacyKey }, () => registry.handlers())
    try {
      const origin = legacy.origin.replace('127.0.0.1', 'localhost')
      const err = await grpcError(pullWith(hostsDir(`server = "${origin}"\nca = "${pki.ca}"\n`)))
      expect(err.code).toBe(status.UNKNOWN)
      expect(err.details).toContain(
        `failed to do request: Head "${origin}/v2/tls/app/manifests/v1?ns=registry.test": tls: failed to verify certificate: x509: certificate relies on legacy Common Name field, use SANs instead`,
      )
      await h?.close()
      const byIp = await grpcError(pullWith(hostsDir(`server = "${legacy.origin}"\nca = "${pki.ca}"\n`)))
      expect(byIp.details).toContain(
        `tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs`,
      )
    } finally {
      await legacy.close()
    }
  })

  test("a server that accepts the connection but never answers the handshake: Go's 10 s TLS handshake timeout", async () => {
    const silent = createNetServer(() => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const origin = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`
    try {
      const err = await grpcError(pullWith(hostsDir(`server = "${origin}"\nca = "${pki.ca}"\n`)))
      expect(err.code).toBe(status.UNKNOWN)
      expect(err.details).toBe(
        `failed to pull and unpack image "${REF}": failed to resolve reference "${REF}": failed to do request: Head "${origin}/v2/tls/app/manifests/v1?ns=registry.test": net/http: TLS handshake timeout`,
      )
      await nothingHeld()
    } finally {
      silent.close()
    }
  }, 30_000)

  describe('a server that wants a client certificate', () => {
    let mtls: HttpsServer
    let mreg: MockRegistry
    beforeAll(async () => {
      mtls = await serveHttps(pki, () => mreg.handlers(), { address: '127.0.0.2', clientCa: pki.ca })
      mreg = new MockRegistry(mtls.origin)
      for (const [k, v] of registry.blobs) mreg.blobs.set(k, v)
      for (const [k, v] of registry.manifests) mreg.manifests.set(k, v)
    })
    afterAll(() => mtls?.close())

    test('refused without one; pulled with `client` as a [cert, key] pair and as one file holding both', async () => {
      const none = await grpcError(pullWith(hostsDir(`server = "${mtls.origin}"\nca = "${pki.ca}"\n`)))
      expect(none.details).toMatch(/failed to do request: Head ".*": remote error: tls: certificate required$/)
      await h?.close()
      const pair = hostsDir(`server = "${mtls.origin}"\nca = "${pki.ca}"\nclient = [["${pki.clientCert}", "${pki.clientKey}"]]\n`)
      expect((await pullWith(pair)).image_ref).toBe(id())
      await h?.close()
      const both = readFileSync(pki.clientCert, 'utf8') + readFileSync(pki.clientKey, 'utf8')
      const one = hostsDir(`server = "${mtls.origin}"\nca = "${pki.ca}"\nclient = "both.pem"\n`, { 'both.pem': both })
      expect((await pullWith(one)).image_ref).toBe(id())
    })

    test("a key that is not the certificate's, or files swapped: tls.X509KeyPair's words", async () => {
      const wrong = await grpcError(pullWith(hostsDir(`server = "${mtls.origin}"\nclient = [["${pki.clientCert}", "${pki.serverKey}"]]\n`)))
      expect(wrong.details).toBe(
        `failed to pull and unpack image "${REF}": failed to resolve reference "${REF}": failed to load X509 key pair: tls: private key does not match public key`,
      )
      await h?.close()
      const swapped = await grpcError(
        pullWith(hostsDir(`server = "${mtls.origin}"\nclient = [["${pki.clientKey}", "${pki.clientCert}"]]\n`)),
      )
      expect(swapped.details).toContain(
        'failed to load X509 key pair: tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched',
      )
    })
  })
})
