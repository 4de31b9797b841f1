// A real registry for the e2e tests and the bench: Debian's docker-registry (the distribution
// registry) started on 127.0.0.1 with its own config and storage in a temp dir, optionally behind
// htpasswd Basic auth; and an image pushed to it over the Distribution API with Node's fetch
// (blob uploads: POST then PUT ?digest=; manifests: PUT by tag or digest). Plain JavaScript, so
// bench/pull.mjs (run without a build) shares it; registry-server.d.mts gives the tests its types.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { get as httpsGet } from 'node:https'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'

export const REGISTRY_BIN = process.env.DOCKER_REGISTRY ?? '/usr/bin/docker-registry'
export const hasRegistry = () => existsSync(REGISTRY_BIN)

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Starts a registry; with `user` it refuses requests without that user's Basic credentials; with
 * `options.tls` it serves HTTPS with that certificate and key (its config's http.tls); with
 * `options.storage` it serves another registry's storage directory (what was pushed there).
 * @param {{ name: string, password: string }} [user]
 * @param {{ tls?: { certificate: string, key: string }, storage?: string }} [options]
 */
export async function startRegistry(user, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fc-registry-'))
  const port = await freePort()
  const storage = options.storage ?? join(dir, 'data')
  const tls = options.tls ? `  tls:\n    certificate: ${options.tls.certificate}\n    key: ${options.tls.key}\n` : ''
  let auth = ''
  if (user) {
    // The registry reads bcrypt entries only (htpasswd -B).
    const line = execFileSync('htpasswd', ['-Bbn', user.name, user.password], { encoding: 'utf8' })
    writeFileSync(join(dir, 'htpasswd'), line)
    auth = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${join(dir, 'htpasswd')}\n`
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tls}${auth}`,
  )
  const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += d.toString()))
  const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  const until = Date.now() + 15_000
  for (;;) {
    // Up once it answers: over TLS any handshake will do (fetch cannot be told the test's CA).
    const up = options.tls
      ? await new Promise((resolve) => {
          const req = httpsGet(`${origin}/v2/`, { rejectUnauthorized: false }, (res) => {
            res.resume()
            resolve(res.statusCode === 200 || res.statusCode === 401)
          })
          req.on('error', () => resolve(false))
        })
      : await fetch(`${origin}/v2/`).then(
          (res) => res.status === 200 || res.status === 401,
          () => false,
        )
    if (up) break
    if (Date.now() > until || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    host: `127.0.0.1:${port}`,
    origin,
    storage,
    ...(user ? { authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}` } : {}),
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Uploads a blob (monolithic: POST, then PUT with the digest); its digest.
 * @param {{ origin: string, authorization?: string }} reg
 * @param {string} repo
 * @param {Buffer} data
 */
export async function pushBlob(reg, repo, data) {
  const digest = sha256(data)
  const headers = reg.authorization ? { Authorization: reg.authorization } : {}
  const start = await fetch(`${reg.origin}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers })
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`)
  const location = new URL(String(start.headers.get('location')), reg.origin)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) },
    body: data,
  })
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`)
  return digest
}

/** Puts a manifest or index under a tag (or its digest); its digest as the registry reports it. */
export async function pushManifest(reg, repo, ref, mediaType, body) {
  const headers = { 'Content-Type': mediaType, ...(reg.authorization ? { Authorization: reg.authorization } : {}) }
  const res = await fetch(`${reg.origin}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers, body })
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`)
  return res.headers.get('docker-content-digest') ?? sha256(body)
}

/** The digest a registry serves for a tag (HEAD, with the Accept a resolver sends). */
export async function manifestDigest(reg, repo, ref) {
  const res = await fetch(`${reg.origin}/v2/${repo}/manifests/${ref}`, {
    method: 'HEAD',
    headers: {
      Accept:
        'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
      ...(reg.authorization ? { Authorization: reg.authorization } : {}),
    },
  })
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined
}
