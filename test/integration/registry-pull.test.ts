// CRI PullImage with --pull-policy registry against a registry msw serves in-process: the resolve
// (Accept headers, User-Agent), OCI index and Docker manifest list platform choice, Docker and OCI
// manifests, by tag and by digest, Basic and Bearer auth (anonymous tokens, the OAuth POST, CRI
// AuthConfig's forms), redirected blob downloads, and each failure with containerd's code and text,
// leaving nothing half-pulled. The pulled image's files are what a container of it reads.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { status } from '@grpc/grpc-js'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { containerdClients } from '../../src/client.js'
import { tarball } from '../containerd.js'
import { eventually, grpcError, harness, podConfig, runPod, subscribe, type Harness } from '../helpers.js'
import { imageBlobs } from '../oci-layout.mjs'
import { MockRegistry, sha256 } from '../registry-mock.js'
import type { FakeContainerdOptions } from '../../src/config.js'
import { MEDIA } from '../../src/model/metadata/image-content.js'

const ORIGIN = 'http://127.0.0.1:5999'
const HOST = '127.0.0.1:5999'
const { ociIndex: OCI_INDEX, ociManifest: OCI_MANIFEST, dockerList: DOCKER_LIST, dockerManifest: DOCKER_MANIFEST } = MEDIA

let registry: MockRegistry
const msw = setupServer()
beforeAll(() => msw.listen({ onUnhandledRequest: 'bypass' }))
afterAll(() => msw.close())

let h: Harness
async function start(options: FakeContainerdOptions = {}): Promise<Harness> {
  h = await harness({ pullPolicy: 'registry', ...options })
  return h
}
beforeEach(() => {
  registry = new MockRegistry(ORIGIN)
  msw.resetHandlers(...registry.handlers())
})
afterEach(async () => {
  await h?.close()
})

/** One image in the registry: its layer holds /hello and a script; amd64 and arm64 variants under an index (or list). */
function pushImage(repo: string, tag: string, list: 'oci' | 'docker' | 'none' = 'oci') {
  const variant = (arch: string) => {
    const layer = tarball([
      { name: 'etc/', type: '5', mode: 0o755 },
      { name: 'etc/hello', data: `hello from ${arch}\n`, mode: 0o640 },
      { name: 'etc/hi', type: '2', linkname: 'hello' },
      { name: 'app/', type: '5', mode: 0o755 },
      { name: 'app/run.sh', data: '#!/bin/sh\necho entry ran\nexec sleep 3600\n', mode: 0o755 },
    ])
    const blobs = imageBlobs([layer], { Entrypoint: ['/app/run.sh'], Env: ['PATH=/usr/bin:/bin'] })
    const config = Buffer.from(JSON.stringify({ ...JSON.parse(blobs.config.toString()), architecture: arch }))
    const manifestJson = JSON.parse(blobs.manifest.toString())
    manifestJson.config.digest = sha256(config)
    manifestJson.config.size = config.length
    if (list === 'docker') {
      manifestJson.mediaType = DOCKER_MANIFEST
      manifestJson.config.mediaType = 'application/vnd.docker.container.image.v1+json'
      manifestJson.layers[0].mediaType = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
    }
    const manifest = Buffer.from(JSON.stringify(manifestJson))
    registry.putBlob(config)
    for (const l of blobs.layers) registry.putBlob(l)
    const mediaType = list === 'docker' ? DOCKER_MANIFEST : OCI_MANIFEST
    const digest = registry.putManifest(repo, mediaType, manifest, list === 'none' && arch === 'amd64' ? tag : undefined)
    return { digest, manifest, config, layer: blobs.layers[0] as Buffer, mediaType, arch }
  }
  const amd = variant('amd64')
  const arm = variant('arm64')
  if (list === 'none') return { target: amd.digest, targetSize: amd.manifest.length, amd, arm, index: undefined }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: list === 'oci' ? OCI_INDEX : DOCKER_LIST,
      manifests: [arm, amd].map((v) => ({
        mediaType: v.mediaType,
        digest: v.digest,
        size: v.manifest.length,
        platform: { os: 'linux', architecture: v.arch },
      })),
    }),
  )
  const target = registry.putManifest(repo, list === 'oci' ? OCI_INDEX : DOCKER_LIST, index, tag)
  return { target, targetSize: index.length, amd, arm, index }
}

/** A single OCI manifest by tag over the given layers (tars, gzipped here), each holding one file. */
function pushLayers(repo: string, tag: string, files: string[]) {
  const tars = files.map((f) => tarball([{ name: f, data: `${f}\n`, mode: 0o644 }]))
  const blobs = imageBlobs(tars, { Cmd: ['sh'] })
  registry.putBlob(blobs.config)
  for (const l of blobs.layers) registry.putBlob(l)
  const digest = registry.putManifest(repo, OCI_MANIFEST, blobs.manifest, tag)
  return { digest, config: blobs.config, layers: blobs.layers as Buffer[] }
}

/** An index (or manifest list) of `mediaType` naming `manifests`, as its bytes. */
const indexOf = (mediaType: string, manifests: object[]): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }))

/** A loopback port nothing listens on (taken, then given back). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** No pull lease is left in CRI's namespace (a pull's lease goes once the image holds its content, or on failure). */
async function expectNoLeases(): Promise<void> {
  const ctr = containerdClients(h.fake.address, 'k8s.io')
  try {
    expect((await ctr.leases.List({ filters: [] })).leases).toEqual([])
  } finally {
    ctr.close()
  }
}

async function execCat(image: string, args: string[]): Promise<string> {
  const pod = podConfig(`p${Math.random().toString(36).slice(2, 8)}`)
  const podId = await runPod(h, pod)
  const { container_id } = await h.runtime.CreateContainer({
    pod_sandbox_id: podId,
    config: { metadata: { name: 'app', attempt: 0 }, image: { image } },
    sandbox_config: pod,
  })
  await h.runtime.StartContainer({ container_id })
  const r = await h.runtime.ExecSync({ container_id, cmd: args, timeout: 10 })
  return r.stdout.toString() + r.stderr.toString()
}

describe('pull policy registry', () => {
  test('an OCI index by tag: the linux/amd64 manifest, blobs byte for byte, containerd ids, the files in a container', async () => {
    await start()
    registry.auth = { scheme: 'bearer', anonymous: true }
    const img = pushImage('team/app', 'v1')
    const { image_ref } = await h.image.PullImage({ image: { image: `${HOST}/team/app:v1` } })
    expect(image_ref).toBe(sha256(img.amd.config))
    const { image } = await h.image.ImageStatus({ image: { image: `${HOST}/team/app:v1` } })
    expect(image?.repo_tags).toEqual([`${HOST}/team/app:v1`])
    expect(image?.repo_digests).toEqual([`${HOST}/team/app@${img.target}`])
    // containerd's image size: index + chosen manifest + config + layers.
    expect(Number(image?.size)).toBe(img.targetSize + img.amd.manifest.length + img.amd.config.length + img.amd.layer.length)

    // The resolve asked as containerd does; an anonymous token was fetched for the repository's scope.
    const head = registry.seen.find((s) => s.method === 'HEAD' && s.headers.authorization)
    expect(head?.headers.accept).toBe(
      'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*',
    )
    expect(head?.headers['user-agent']).toMatch(/^containerd\//)
    const token = registry.seen.find((s) => new URL(s.url).pathname === '/token')
    expect(new URL(token?.url ?? ORIGIN).searchParams.get('scope')).toBe('repository:team/app:pull')
    expect(registry.count('GET', img.arm.layer ? sha256(img.arm.layer) : 'x')).toBe(0)

    // The blobs are in the content store ctr reads, byte for byte.
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    try {
      for (const blob of [img.index as Buffer, img.amd.manifest, img.amd.config, img.amd.layer]) {
        const chunks: Buffer[] = []
        for await (const r of ctr.content.Read({ digest: sha256(blob), offset: '0', size: '0' })) chunks.push(r.data)
        expect(Buffer.concat(chunks).equals(blob)).toBe(true)
      }
      const { info } = await ctr.content.Info({ digest: img.target })
      // Every child of the index, in its order (arm64 first), as SetChildrenMappedLabels labels them.
      expect(info?.labels['containerd.io/gc.ref.content.m.0']).toBe(img.arm.digest)
      expect(info?.labels['containerd.io/gc.ref.content.m.1']).toBe(img.amd.digest)
    } finally {
      ctr.close()
    }
    expect(await execCat(`${HOST}/team/app:v1`, ['sh', '-c', 'cat /etc/hi; stat -c "%a %F" /etc/hello; ps -o args | grep -c run.sh'])).toBe(
      'hello from amd64\n640 regular file\n1\n',
    )
  })

  test('/content/create for each blob the pull commits (index, manifest, config, layer), all before the image records', async () => {
    await start()
    const img = pushImage('lib/events', 'v1')
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    const sub = await subscribe(ctr, ['namespace==k8s.io'])
    try {
      await h.image.PullImage({ image: { image: `${HOST}/lib/events:v1` } })
      await eventually(() => (sub.events.filter((e) => e.topic === '/images/create').length === 3 ? true : undefined), 'the records')
      const topics = sub.events.map((e) => e.topic)
      const created = sub.events.filter((e) => e.topic === '/content/create').map((e) => e.event.digest)
      expect(created).toEqual([img.target, img.amd.digest, sha256(img.amd.config), sha256(img.amd.layer)])
      expect(topics.lastIndexOf('/content/create')).toBeLessThan(topics.indexOf('/images/create'))
    } finally {
      sub.close()
      ctr.close()
    }
  })

  test('a Docker manifest list by digest; a single Docker manifest by tag; a registry without HEAD', async () => {
    await start()
    registry.noHead = true
    const listed = pushImage('lib/list', 'x', 'docker')
    await h.image.PullImage({ image: { image: `${HOST}/lib/list@${listed.target}` } })
    const { image } = await h.image.ImageStatus({ image: { image: `${HOST}/lib/list@${listed.target}` } })
    expect(image?.id).toBe(sha256(listed.amd.config))
    expect(image?.repo_tags).toEqual([])
    expect(image?.repo_digests).toEqual([`${HOST}/lib/list@${listed.target}`])
    const single = pushImage('lib/single', 'y', 'none')
    expect((await h.image.PullImage({ image: { image: `${HOST}/lib/single:y` } })).image_ref).toBe(sha256(single.amd.config))
    expect(await execCat(`${HOST}/lib/single:y`, ['cat', '/etc/hello'])).toBe('hello from amd64\n')
  })

  test('Basic auth: no credentials, wrong ones, then username/password, `auth` and a server_address for another host', async () => {
    await start()
    registry.auth = { scheme: 'basic', username: 'alice', password: 's3cret' }
    const img = pushImage('private/app', 'v1', 'none')
    const ref = `${HOST}/private/app:v1`
    // containerd 1.7 and later refuse the empty answer (ErrInvalidAuthorization); 1.6 leaves the 401 as it was.
    const none = await grpcError(h.image.PullImage({ image: { image: ref } }))
    expect(none.code).toBe(status.UNKNOWN)
    expect(none.details).toBe(
      `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`,
    )
    const old = await harness({ pullPolicy: 'registry', containerdVersion: '1.6' })
    try {
      const none16 = await grpcError(old.image.PullImage({ image: { image: ref } }))
      expect(none16.details).toBe(
        `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": pulling from host ${HOST} failed with status code [manifests v1]: 401 Unauthorized`,
      )
    } finally {
      await old.close()
    }
    const wrong = await grpcError(h.image.PullImage({ image: { image: ref }, auth: { username: 'alice', password: 'nope' } }))
    expect(wrong.details).toContain('401 Unauthorized')
    const elsewhere = await grpcError(
      h.image.PullImage({
        image: { image: ref },
        auth: { username: 'alice', password: 's3cret', server_address: 'https://other.example:5000' },
      }),
    )
    // Credentials for another host are none for this one.
    expect(elsewhere.details).toContain('authorization failed: no basic auth credentials')
    expect((await h.image.ListImages({})).images.filter((i) => i.repo_tags.includes(ref))).toEqual([])

    await h.image.PullImage({ image: { image: ref }, auth: { username: 'alice', password: 's3cret', server_address: ORIGIN } })
    await h.image.RemoveImage({ image: { image: ref } })
    const auth = Buffer.from('alice:s3cret').toString('base64')
    expect((await h.image.PullImage({ image: { image: ref }, auth: { auth } })).image_ref).toBe(sha256(img.amd.config))
    const bad = await grpcError(h.image.PullImage({ image: { image: ref }, auth: { auth: Buffer.from('nocolon').toString('base64') } }))
    expect(bad.details).toBe(
      `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": invalid decoded auth: 7 characters with no ":" between user name and password (the value is not shown)`,
    )
  })

  test('Bearer auth with credentials: the OAuth POST; an identity token; refused credentials', async () => {
    await start()
    registry.auth = { scheme: 'bearer', username: 'bob', password: 'pw' }
    pushImage('private/tok', 'v1', 'none')
    const ref = `${HOST}/private/tok:v1`
    await h.image.PullImage({ image: { image: ref }, auth: { username: 'bob', password: 'pw' } })
    const post = registry.seen.find((s) => s.method === 'POST')
    expect(post && new URL(post.url).pathname).toBe('/token')

    registry.auth = { scheme: 'bearer', username: '', password: 'identity-token-1' }
    await h.image.RemoveImage({ image: { image: ref } })
    await h.image.PullImage({ image: { image: ref }, auth: { identity_token: 'identity-token-1' } })

    registry.auth = { scheme: 'bearer', username: 'bob', password: 'pw' }
    await h.image.RemoveImage({ image: { image: ref } })
    const refused = await grpcError(h.image.PullImage({ image: { image: ref }, auth: { username: 'bob', password: 'wrong' } }))
    expect(refused.code).toBe(status.UNKNOWN)
    expect(refused.details).toBe(
      `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": failed to authorize: failed to fetch oauth token: unexpected status from GET request to ${ORIGIN}/token?service=mock-registry&scope=repository%3Aprivate%2Ftok%3Apull: 401 Unauthorized`,
    )
    const anonymous = await grpcError(h.image.PullImage({ image: { image: ref } }))
    expect(anonymous.details).toContain('failed to fetch anonymous token: unexpected status from GET request to')
  })

  test('a missing tag, repository or digest is NotFound; a registry that is down is Unknown; nothing is synthesised', async () => {
    await start()
    pushImage('lib/there', 'v1')
    const tag = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/there:v2` } }))
    expect(tag.code).toBe(status.NOT_FOUND)
    expect(tag.details).toBe(
      `failed to pull and unpack image "${HOST}/lib/there:v2": failed to resolve reference "${HOST}/lib/there:v2": ${HOST}/lib/there:v2: not found`,
    )
    const repo = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/nothere:v1` } }))
    expect(repo.code).toBe(status.NOT_FOUND)
    const digest = `sha256:${'0'.repeat(64)}`
    const byDigest = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/there@${digest}` } }))
    expect(byDigest.code).toBe(status.NOT_FOUND)
    expect(byDigest.details).toBe(
      `failed to pull and unpack image "${HOST}/lib/there@${digest}": failed to resolve reference "${HOST}/lib/there@${digest}": ${HOST}/lib/there@${digest}: not found`,
    )

    const port = await freePort()
    const downRef = `127.0.0.1:${port}/lib/app:v1`
    const down = await grpcError(h.image.PullImage({ image: { image: downRef } }))
    expect(down.code).toBe(status.UNKNOWN)
    expect(down.details).toBe(
      `failed to pull and unpack image "${downRef}": failed to resolve reference "${downRef}": failed to do request: Head "http://127.0.0.1:${port}/v2/lib/app/manifests/v1": dial tcp 127.0.0.1:${port}: connect: connection refused`,
    )
    // The catalog still answers offline for the images it ships.
    expect((await h.image.PullImage({ image: { image: 'busybox' } })).image_ref).toMatch(/^sha256:/)
    expect((await h.image.ListImages({})).images).toHaveLength(1)
  })

  test("an image config that does not decode: Unknown in the unpacker's words, and nothing kept", async () => {
    await start()
    const layer = tarball([{ name: 'f', data: 'x\n' }])
    const config = Buffer.from('{"rootfs": [1,]}')
    const manifest = JSON.parse(imageBlobs([layer], {}).manifest.toString())
    manifest.config = { ...manifest.config, digest: sha256(config), size: config.length }
    registry.blobs.set(sha256(config), config)
    registry.blobs.set(sha256(layer), layer)
    registry.putManifest('lib/odd', OCI_MANIFEST, Buffer.from(JSON.stringify(manifest)), 'v1')
    const ref = `${HOST}/lib/odd:v1`
    const err = await grpcError(h.image.PullImage({ image: { image: ref } }))
    expect([err.code, err.details]).toEqual([
      status.UNKNOWN,
      `failed to pull and unpack image "${ref}": unmarshal image config: invalid character ']' looking for beginning of value`,
    ])
    expect((await h.image.ListImages({})).images).toEqual([])
    // Valid JSON whose fields are not what the unpacker's Go struct takes: encoding/json's words.
    for (const [i, [body, why]] of [
      ['{"rootfs":{"type":"layers","diff_ids":[1]}}', 'number into Go struct field RootFS.rootfs.diff_ids of type digest.Digest'],
      ['{"rootfs":{"diff_ids":"x"}}', 'string into Go struct field RootFS.rootfs.diff_ids of type []digest.Digest'],
      ['{"architecture":5,"rootfs":{}}', 'number into Go struct field unpackConfig.architecture of type string'],
      ['{"rootfs":7}', 'number into Go struct field unpackConfig.rootfs of type v1.RootFS'],
    ].entries()) {
      const typed = Buffer.from(body!)
      const m = { ...manifest, config: { ...manifest.config, digest: sha256(typed), size: typed.length } }
      registry.blobs.set(sha256(typed), typed)
      registry.putManifest('lib/odd', OCI_MANIFEST, Buffer.from(JSON.stringify(m)), `t${i}`)
      const typedRef = `${HOST}/lib/odd:t${i}`
      const bad = await grpcError(h.image.PullImage({ image: { image: typedRef } }))
      expect([bad.code, bad.details]).toEqual([
        status.UNKNOWN,
        `failed to pull and unpack image "${typedRef}": unmarshal image config: json: cannot unmarshal ${why}`,
      ])
    }
    expect((await h.image.ListImages({})).images).toEqual([])
  })

  test('a blob whose bytes do not match, or that is cut short: FailedPrecondition, and nothing half-pulled', async () => {
    await start()
    const img = pushImage('lib/bad', 'v1')
    registry.corrupt.add(sha256(img.amd.layer))
    const ref = `${HOST}/lib/bad:v1`
    const bad = await grpcError(h.image.PullImage({ image: { image: ref } }))
    expect(bad.code).toBe(status.FAILED_PRECONDITION)
    expect(bad.details).toMatch(
      new RegExp(
        `^failed to pull and unpack image "${ref}": failed commit on ref "layer-${sha256(img.amd.layer)}": unexpected commit digest sha256:[0-9a-f]{64}, expected ${sha256(img.amd.layer)}: failed precondition$`,
      ),
    )
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    try {
      const held = async () => {
        const digests: string[] = []
        for await (const r of ctr.content.List({ filters: [] })) digests.push(...r.info.map((i: { digest: string }) => i.digest))
        return digests
      }
      expect(await held()).toEqual([])
      registry.corrupt.clear()
      registry.truncated.add(sha256(img.amd.layer))
      const short = await grpcError(h.image.PullImage({ image: { image: ref } }))
      expect(short.code).toBe(status.FAILED_PRECONDITION)
      expect(short.details).toContain(
        `"layer-${sha256(img.amd.layer)}" failed size validation: ${Math.floor(img.amd.layer.length / 2)} != ${img.amd.layer.length}`,
      )
      expect(await held()).toEqual([])
      expect((await h.image.ListImages({})).images).toEqual([])
      const snapshots: string[] = []
      for await (const r of ctr.snapshots.List({ snapshotter: 'overlayfs', filters: [] }))
        snapshots.push(...r.info.map((i: { name: string }) => i.name))
      expect(snapshots).toEqual([])
    } finally {
      ctr.close()
    }
  })

  test('blob downloads that redirect to storage are followed, without the registry credentials', async () => {
    await start()
    registry.auth = { scheme: 'basic', username: 'alice', password: 's3cret' }
    registry.redirect = true
    const img = pushImage('lib/redirected', 'v1')
    await h.image.PullImage({ image: { image: `${HOST}/lib/redirected:v1` }, auth: { username: 'alice', password: 's3cret' } })
    expect(registry.seen.some((s) => s.url.startsWith(registry.storage) && s.url.endsWith(sha256(img.amd.layer)))).toBe(true)
  })

  test('ten pods pulling one image at once fetch its layer once', async () => {
    await start()
    const img = pushImage('lib/popular', 'v1')
    const ids = await Promise.all(Array.from({ length: 10 }, () => h.image.PullImage({ image: { image: `${HOST}/lib/popular:v1` } })))
    expect(new Set(ids.map((r) => r.image_ref))).toEqual(new Set([sha256(img.amd.config)]))
    expect(registry.count('GET', `/blobs/${sha256(img.amd.layer)}`)).toBe(1)
    // A later pull of the image finds its blobs held and keeps the collector's labels on them.
    await h.image.PullImage({ image: { image: `${HOST}/lib/popular:v1` } })
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    try {
      const { info } = await ctr.content.Info({ digest: img.amd.digest })
      expect(info?.labels).toMatchObject({
        'containerd.io/gc.ref.content.config': sha256(img.amd.config),
        'containerd.io/gc.ref.content.l.0': sha256(img.amd.layer),
      })
    } finally {
      ctr.close()
    }
  })

  test('two images with a new layer in common, pulled at once: the layer is fetched once and unpacked once', async () => {
    await start()
    const run = { name: 'app/run.sh', data: '#!/bin/sh\nexec sleep 3600\n', mode: 0o755 }
    const image = (repo: string, tars: Buffer[]) => {
      const blobs = imageBlobs(tars, { Entrypoint: ['/app/run.sh'], Env: ['PATH=/usr/bin:/bin'] })
      registry.putBlob(blobs.config)
      for (const l of blobs.layers) registry.putBlob(l)
      registry.putManifest(repo, OCI_MANIFEST, blobs.manifest, 'v1')
      return { config: blobs.config, layers: blobs.layers as Buffer[] }
    }
    const common = tarball([{ name: 'app/', type: '5', mode: 0o755 }, run, { name: 'shared', data: 'shared\n', mode: 0o644 }])
    const one = image('lib/one', [common])
    const two = image('lib/two', [common, tarball([{ name: 'extra', data: 'extra\n', mode: 0o644 }])])
    const shared = sha256(one.layers[0] as Buffer)
    expect(sha256(two.layers[0] as Buffer)).toBe(shared)
    const chain = (JSON.parse(one.config.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids[0] as string
    // The common layer comes slowly, so both pulls are waiting for it when it lands.
    registry.delayed.set(shared, 300)
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    const events: { topic: string; key: string; name: string }[] = []
    const stream = ctr.events.Subscribe({ filters: ['topic~="^/snapshot/"', 'namespace==k8s.io'] })
    try {
      stream.on('data', (e: { topic: string; event: { value: Buffer } }) => {
        const text = e.event.value.toString('latin1')
        events.push({ topic: e.topic, key: /extract-\S+ sha256:[0-9a-f]{64}/.exec(text)?.[0] ?? '', name: text })
      })
      stream.on('error', () => {})
      await new Promise((r) => stream.once('metadata', r))
      const [a, b] = await Promise.all([
        h.image.PullImage({ image: { image: `${HOST}/lib/one:v1` } }),
        h.image.PullImage({ image: { image: `${HOST}/lib/two:v1` } }),
      ])
      expect([a.image_ref, b.image_ref]).toEqual([sha256(one.config), sha256(two.config)])
      expect(registry.count('GET', `/blobs/${shared}`)).toBe(1)
      // One extraction snapshot prepared and committed for the common chain: the other pull used it.
      await eventually(() => (events.filter((e) => e.topic === '/snapshot/commit').length >= 2 ? true : undefined), 'both commits seen')
      const prepared = events.filter((e) => e.topic === '/snapshot/prepare' && e.key.endsWith(` ${chain}`))
      expect(prepared).toHaveLength(1)
      expect(events.filter((e) => e.topic === '/snapshot/commit' && e.name.includes(chain))).toHaveLength(1)
      expect(events.filter((e) => e.topic === '/snapshot/remove')).toEqual([])
      const names: string[] = []
      for await (const r of ctr.snapshots.List({ snapshotter: 'overlayfs', filters: [] }))
        names.push(...r.info.map((i: { name: string }) => i.name))
      expect(names.filter((n) => n === chain)).toHaveLength(1)
      // Both images are whole: a container of each reads its files.
      expect(await execCat(`${HOST}/lib/one:v1`, ['cat', '/shared'])).toBe('shared\n')
      expect(await execCat(`${HOST}/lib/two:v1`, ['cat', '/shared', '/extra'])).toBe('shared\nextra\n')
    } finally {
      stream.cancel()
      ctr.close()
    }
  })

  test('a stalled download is cut off by the progress timeout, leaving nothing behind', async () => {
    await start({ imagePullProgressTimeoutMs: 300 })
    const img = pushImage('lib/slow', 'v1')
    registry.stalled.add(sha256(img.amd.layer))
    const err = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/slow:v1` } }))
    // containerd's progress reporter cancels the pull: the copy under way reports it, code Canceled.
    expect(err.code).toBe(status.CANCELLED)
    expect(err.details).toBe(`failed to pull and unpack image "${HOST}/lib/slow:v1": failed to copy: context canceled`)
    expect((await h.image.ListImages({})).images).toEqual([])
    // A registry that never answers the resolve: its request reports the cancel.
    msw.use(http.head(`${ORIGIN}/v2/lib/hang/manifests/v1`, () => new Promise<Response>(() => undefined)))
    const hung = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/hang:v1` } }))
    expect(hung.code).toBe(status.CANCELLED)
    expect(hung.details).toBe(
      `failed to pull and unpack image "${HOST}/lib/hang:v1": failed to resolve reference "${HOST}/lib/hang:v1": failed to do request: Head "${ORIGIN}/v2/lib/hang/manifests/v1": context canceled`,
    )
  })

  test("a token endpoint that never answers: the progress timeout cancels the pull, code Canceled with Go's words", async () => {
    await start({ imagePullProgressTimeoutMs: 300 })
    pushImage('lib/token', 'v1')
    registry.auth = { scheme: 'bearer', username: 'bob', password: 'pw' }
    msw.use(http.post(`${ORIGIN}/token`, () => new Promise<Response>(() => undefined)))
    const err = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/token:v1` }, auth: { username: 'bob', password: 'pw' } }))
    expect(err.code).toBe(status.CANCELLED)
    expect(err.details).toContain(`failed to fetch oauth token: Post "${ORIGIN}/token": context canceled`)
  })

  test('two servers in one process pulling one image each read it from their own store', async () => {
    const img = pushImage('lib/twice', 'v1', 'none')
    const first = await start()
    await first.image.PullImage({ image: { image: `${HOST}/lib/twice:v1` } })
    expect(await execCat(`${HOST}/lib/twice:v1`, ['cat', '/etc/hello'])).toBe('hello from amd64\n')
    // The first server lets go of the layer (its containers and image removed, the collector ran).
    for (const p of (await first.runtime.ListPodSandbox({})).items) {
      await first.runtime.StopPodSandbox({ pod_sandbox_id: p.id })
      await first.runtime.RemovePodSandbox({ pod_sandbox_id: p.id })
    }
    await first.image.RemoveImage({ image: { image: `${HOST}/lib/twice:v1` } })
    await first.close()
    await start()
    await h.image.PullImage({ image: { image: `${HOST}/lib/twice:v1` } })
    expect(await execCat(`${HOST}/lib/twice:v1`, ['cat', '/etc/hello'])).toBe('hello from amd64\n')
    expect(registry.count('GET', `/blobs/${sha256(img.amd.layer)}`)).toBe(2)
  })

  test('a cancelled PullImage stops the download and leaves nothing behind', async () => {
    await start()
    const img = pushImage('lib/cancelled', 'v1')
    registry.stalled.add(sha256(img.amd.layer))
    const err = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/cancelled:v1` } }, { deadline: 500 }))
    expect(err.code).toBe(status.DEADLINE_EXCEEDED)
    await eventually(() => (registry.abandoned === 1 ? true : undefined), 'the download was abandoned')
    expect((await h.image.ListImages({})).images).toEqual([])
  })

  test("a hosts directory's mirror is asked first, with the registry named in ?ns=", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-hosts-'))
    mkdirSync(join(dir, 'registry.example.com'))
    writeFileSync(
      join(dir, 'registry.example.com', 'hosts.toml'),
      `server = "https://registry.example.com"\n\n[host."${ORIGIN}"]\n  capabilities = ["pull", "resolve"]\n`,
    )
    await start({ registryConfigPath: dir })
    const img = pushImage('team/mirrored', 'v1')
    await h.image.PullImage({ image: { image: 'registry.example.com/team/mirrored:v1' } })
    const { image } = await h.image.ImageStatus({ image: { image: 'registry.example.com/team/mirrored:v1' } })
    expect(image?.repo_digests).toEqual([`registry.example.com/team/mirrored@${img.target}`])
    expect(registry.seen.every((s) => new URL(s.url).searchParams.get('ns') === 'registry.example.com')).toBe(true)
  })

  test('a catalog image whose registry has a host directory comes from that registry; under any and catalog, from the catalog', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-hosts-'))
    mkdirSync(join(dir, 'docker.io'))
    writeFileSync(join(dir, 'docker.io', 'hosts.toml'), `server = "${ORIGIN}"\n`)
    const img = pushImage('library/busybox', 'latest')
    await start({ registryConfigPath: dir })
    const catalogId = async (policy: 'any' | 'catalog') => {
      const other = await harness({ pullPolicy: policy, registryConfigPath: dir })
      try {
        return (await other.image.PullImage({ image: { image: 'busybox' } })).image_ref
      } finally {
        await other.close()
      }
    }
    expect((await h.image.PullImage({ image: { image: 'busybox' } })).image_ref).toBe(sha256(img.amd.config))
    expect(registry.count('HEAD', '/library/busybox/manifests/latest')).toBe(1)
    expect(await execCat('busybox', ['cat', '/etc/hello'])).toBe('hello from amd64\n')
    // Another catalog image of docker.io is asked of the registry too, which lacks it.
    const missing = await grpcError(h.image.PullImage({ image: { image: 'alpine:3.19' } }))
    expect(missing.code).toBe(status.NOT_FOUND)
    // A catalog image of a registry with no host directory is the catalog's, offline.
    const seen = registry.seen.length
    await h.image.PullImage({ image: { image: 'registry.k8s.io/pause:3.10' } })
    expect(registry.seen.length).toBe(seen)
    // The offline policies never ask a registry, configured or not.
    for (const policy of ['any', 'catalog'] as const) {
      const id = await catalogId(policy)
      expect(id).not.toBe(sha256(img.amd.config))
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/)
    }
    expect(registry.seen.length).toBe(seen)
  })

  test('a collection during a slow pull (RemoveImage of another image) takes nothing the pull downloaded', async () => {
    await start()
    await h.image.PullImage({ image: { image: 'busybox' } })
    const img = pushImage('lib/slowgc', 'v1')
    registry.delayed.set(sha256(img.amd.layer), 400)
    const pulling = h.image.PullImage({ image: { image: `${HOST}/lib/slowgc:v1` } })
    await eventually(() => (registry.count('GET', `/blobs/${sha256(img.amd.layer)}`) === 1 ? true : undefined), 'the layer is asked for')
    await h.image.RemoveImage({ image: { image: 'busybox' } })
    expect((await pulling).image_ref).toBe(sha256(img.amd.config))
    expect(await execCat(`${HOST}/lib/slowgc:v1`, ['cat', '/etc/hello'])).toBe('hello from amd64\n')
    // The pull's lease is gone once the image record holds its content.
    await expectNoLeases()
  })

  test("a failed pull leaves what a concurrent pull reused; a cancelled pull's shared download is fetched again by the other", async () => {
    await start()
    // A: layers shared + bad (bad is slow, then corrupt); B: shared + slow. B finds A's shared layer committed.
    const a = pushLayers('lib/a', 'v1', ['shared', 'bad'])
    const b = pushLayers('lib/b', 'v1', ['shared', 'slow'])
    const [shared, bad] = a.layers as [Buffer, Buffer]
    registry.delayed.set(sha256(bad), 300)
    registry.corrupt.add(sha256(bad))
    registry.delayed.set(sha256(b.layers[1] as Buffer), 700)
    const failing = grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/a:v1` } }))
    await eventually(() => (registry.count('GET', `/blobs/${sha256(shared)}`) === 1 ? true : undefined), 'A fetched the shared layer')
    await new Promise((r) => setTimeout(r, 50))
    const pullB = h.image.PullImage({ image: { image: `${HOST}/lib/b:v1` } })
    expect((await failing).code).toBe(status.FAILED_PRECONDITION)
    expect((await pullB).image_ref).toBe(sha256(b.config))
    expect(registry.count('GET', `/blobs/${sha256(shared)}`)).toBe(1)

    // One image under two tags: the second pull waits on the first's downloads; the first is cancelled.
    const img = pushImage('lib/two', 'v1')
    registry.putManifest('lib/two', OCI_INDEX, img.index as Buffer, 'v2')
    registry.delayed.set(sha256(img.amd.layer), 400)
    const cancelled = grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/two:v1` } }, { deadline: 250 }))
    await eventually(() => (registry.count('GET', `/blobs/${sha256(img.amd.layer)}`) === 1 ? true : undefined), 'the first asked')
    const second = h.image.PullImage({ image: { image: `${HOST}/lib/two:v2` } })
    expect((await cancelled).code).toBe(status.DEADLINE_EXCEEDED)
    expect((await second).image_ref).toBe(sha256(img.amd.config))
    expect(registry.count('GET', `/blobs/${sha256(img.amd.layer)}`)).toBe(2)
  })

  test("a pull only waiting on another pull's shared download is not stalled; cancelled, it ends at once", async () => {
    await start({ imagePullProgressTimeoutMs: 300 })
    const a = pushLayers('lib/a', 'v1', ['shared'])
    const b = pushLayers('lib/b', 'v1', ['shared', 'own'])
    const shared = a.layers[0] as Buffer
    // A's download of the shared layer keeps coming, a byte every 50 ms (well inside the timeout), until released.
    let release = false
    let trickling = false
    msw.use(
      // (A digest in a handler's path would read as a parameter: the URL is matched here.)
      http.get(`${ORIGIN}/v2/lib/a/blobs/*`, ({ request }) => {
        if (!request.url.endsWith(`/blobs/${sha256(shared)}`)) return undefined
        trickling = true
        let sent = 0
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            await new Promise((r) => setTimeout(r, 50))
            if (release) {
              controller.enqueue(shared.subarray(sent))
              controller.close()
              return
            }
            if (sent < shared.length - 1) controller.enqueue(shared.subarray(sent, ++sent))
          },
        })
        return new HttpResponse(body, { headers: { 'Content-Type': 'application/octet-stream' } })
      }),
    )
    const pullA = h.image.PullImage({ image: { image: `${HOST}/lib/a:v1` } })
    await eventually(() => (trickling ? true : undefined), "A's download started")
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    try {
      // B waits on A's download; its caller gives up: B's pull ends (its lease gone) while A's download goes on.
      const cancelled = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/b:v1` } }, { deadline: 400 }))
      expect(cancelled.code).toBe(status.DEADLINE_EXCEEDED)
      await eventually(async () => ((await ctr.leases.List({ filters: [] })).leases.length === 1 ? true : undefined), "only A's lease held")
      expect(release).toBe(false)
      // B again, waiting on A's download for longer than the progress timeout: it is not cut off.
      const own = `/blobs/${sha256(b.layers[1] as Buffer)}`
      const before = registry.count('GET', own)
      const pullB = h.image.PullImage({ image: { image: `${HOST}/lib/b:v1` } })
      await eventually(() => (registry.count('GET', own) > before ? true : undefined), 'B fetched its own layer')
      await new Promise((r) => setTimeout(r, 1000))
      release = true
      expect((await pullA).image_ref).toBe(sha256(a.config))
      expect((await pullB).image_ref).toBe(sha256(b.config))
      // B never fetched the shared layer itself.
      expect(registry.count('GET', `/v2/lib/b/blobs/${sha256(shared)}`)).toBe(0)
    } finally {
      ctr.close()
    }
  })

  test("a resolve GET of an endless manifest stops past containerd's MaxManifestSize (4 * 1048 * 1048) and is NotFound", async () => {
    await start()
    let served = 0
    msw.use(
      http.head(`${ORIGIN}/v2/lib/huge/manifests/v1`, () => new HttpResponse(null, { status: 405 })),
      http.get(`${ORIGIN}/v2/lib/huge/manifests/v1`, () => {
        const chunk = Buffer.alloc(64 * 1024, 0x20)
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            served += chunk.length
            controller.enqueue(chunk)
            if (served > 1 << 30) controller.close()
          },
        })
        return new HttpResponse(body, { headers: { 'Content-Type': OCI_MANIFEST } })
      }),
    )
    const ref = `${HOST}/lib/huge:v1`
    const err = await grpcError(h.image.PullImage({ image: { image: ref } }))
    expect(err.code).toBe(status.NOT_FOUND)
    expect(err.details).toMatch(
      new RegExp(
        `^failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": rejecting \\d+ byte manifest for ${ref}: not found$`,
      ),
    )
    expect(Number(/rejecting (\d+) byte/.exec(err.details)?.[1])).toBeGreaterThan(4 * 1048 * 1048)
    expect(served).toBeLessThan(16 << 20)

    // 4,300,000 bytes: over 4 MiB, under containerd's limit, so pulled.
    const tar = tarball([{ name: 'big', data: 'big\n', mode: 0o644 }])
    const blobs = imageBlobs([tar], { Cmd: ['sh'] })
    registry.putBlob(blobs.config)
    for (const l of blobs.layers) registry.putBlob(l)
    const manifest = JSON.parse(blobs.manifest.toString())
    manifest.annotations = { pad: '' }
    manifest.annotations.pad = 'x'.repeat(4_300_000 - Buffer.byteLength(JSON.stringify(manifest)))
    const body = Buffer.from(JSON.stringify(manifest))
    expect(body.length).toBe(4_300_000)
    registry.putManifest('lib/big', OCI_MANIFEST, body, 'v1')
    expect((await h.image.PullImage({ image: { image: `${HOST}/lib/big:v1` } })).image_ref).toBe(sha256(blobs.config))
  })

  test('descriptors are checked before anything is fetched: digest, size, and the size of a config', async () => {
    await start()
    const tar = tarball([{ name: 'f', data: 'f\n', mode: 0o644 }])
    const blobs = imageBlobs([tar], { Cmd: ['sh'] })
    registry.putBlob(blobs.config)
    for (const l of blobs.layers) registry.putBlob(l)
    const layerDigest = sha256(blobs.layers[0] as Buffer)
    const cases: [string, (m: { config: Record<string, unknown>; layers: Record<string, unknown>[] }) => void, string][] = [
      ['nosize', (m) => delete m.layers[0]?.size, `invalid layer descriptor ${layerDigest}: size null is not a whole number of bytes`],
      [
        'negative',
        (m) => ((m.layers[0] as Record<string, unknown>).size = -1),
        `invalid layer descriptor ${layerDigest}: size -1 is not a whole number of bytes`,
      ],
      [
        'text',
        (m) => ((m.layers[0] as Record<string, unknown>).size = '12'),
        `invalid layer descriptor ${layerDigest}: size "12" is not a whole number of bytes`,
      ],
      [
        'fraction',
        (m) => ((m.layers[0] as Record<string, unknown>).size = 1.5),
        `invalid layer descriptor ${layerDigest}: size 1.5 is not a whole number of bytes`,
      ],
      [
        'digest',
        (m) => ((m.layers[0] as Record<string, unknown>).digest = 'sha256:abc'),
        `invalid layer descriptor: digest "sha256:abc": invalid checksum digest length`,
      ],
      ['nodigest', (m) => delete m.config.digest, `invalid config descriptor: digest "": invalid checksum digest format`],
      ['bigconfig', (m) => (m.config.size = 5_000_000), `rejecting 5000000 byte config ${sha256(blobs.config)}: larger than 4393216 bytes`],
    ]
    for (const [tag, spoil, message] of cases) {
      const manifest = JSON.parse(blobs.manifest.toString())
      spoil(manifest)
      registry.putManifest('lib/spoilt', OCI_MANIFEST, Buffer.from(JSON.stringify(manifest)), tag)
      const ref = `${HOST}/lib/spoilt:${tag}`
      const err = await grpcError(h.image.PullImage({ image: { image: ref } }))
      expect(err.details).toBe(`failed to pull and unpack image "${ref}": ${message}`)
    }
    expect(registry.count('GET', `/blobs/${layerDigest}`)).toBe(0)
    expect(registry.count('GET', `/blobs/${sha256(blobs.config)}`)).toBe(0)

    // A Content-Length that is no number: the manifest is fetched and measured instead.
    registry.putManifest('lib/spoilt', OCI_MANIFEST, blobs.manifest, 'ok')
    msw.use(
      http.head(
        `${ORIGIN}/v2/lib/spoilt/manifests/ok`,
        () =>
          new HttpResponse(null, {
            headers: { 'Content-Type': OCI_MANIFEST, 'Content-Length': 'abc', 'Docker-Content-Digest': sha256(blobs.manifest) },
          }),
      ),
    )
    expect((await h.image.PullImage({ image: { image: `${HOST}/lib/spoilt:ok` } })).image_ref).toBe(sha256(blobs.config))
    const { image } = await h.image.ImageStatus({ image: { image: `${HOST}/lib/spoilt:ok` } })
    expect(Number(image?.size)).toBe(blobs.manifest.length + blobs.config.length + (blobs.layers[0] as Buffer).length)
  })

  test("index entries: another platform is no match (containerd's words), one without a platform is kept but comes last, every child labelled", async () => {
    await start()
    const img = pushImage('lib/plat', 'v1')
    const entry = (v: typeof img.amd, platform?: { os: string; architecture: string }) => ({
      mediaType: v.mediaType,
      digest: v.digest,
      size: v.manifest.length,
      ...(platform ? { platform } : {}),
    })
    const putIndex = (tag: string, manifests: object[]) =>
      registry.putManifest('lib/plat', OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })), tag)
    const arm = { os: 'linux', architecture: 'arm64' }
    const amd = { os: 'linux', architecture: 'amd64' }

    const none = `${HOST}/lib/plat:none`
    putIndex('none', [entry(img.arm, arm)])
    const err = await grpcError(h.image.PullImage({ image: { image: none } }))
    expect(err.code).toBe(status.NOT_FOUND)
    expect(err.details).toBe(`failed to pull and unpack image "${none}": no match for platform in manifest: not found`)

    // No platform: kept, and taken when nothing matches.
    const bare = putIndex('bare', [entry(img.arm, arm), entry(img.amd)])
    expect((await h.image.PullImage({ image: { image: `${HOST}/lib/plat:bare` } })).image_ref).toBe(sha256(img.amd.config))
    // …but after one that matches.
    putIndex('both', [entry(img.arm), entry(img.amd, amd)])
    expect((await h.image.PullImage({ image: { image: `${HOST}/lib/plat:both` } })).image_ref).toBe(sha256(img.amd.config))
    expect(registry.count('GET', `/manifests/${img.arm.digest}`)).toBe(0)

    const ctr = containerdClients(h.fake.address, 'k8s.io')
    try {
      const { info } = await ctr.content.Info({ digest: bare })
      expect(info?.labels).toMatchObject({
        'containerd.io/gc.ref.content.m.0': img.arm.digest,
        'containerd.io/gc.ref.content.m.1': img.amd.digest,
      })
    } finally {
      ctr.close()
    }
  })

  test("a nested index: CRI's size counts each index on the way down, as containerd's Image.Size walks it", async () => {
    await start()
    const img = pushImage('lib/nested', 'inner')
    const inner = img.index as Buffer
    // The outer index names the inner one (no platform) and nothing else; a second outer names an
    // arm64-only index first and the inner one after it, with platforms on both.
    const outer = indexOf(OCI_INDEX, [{ mediaType: OCI_INDEX, digest: sha256(inner), size: inner.length }])
    registry.putManifest('lib/nested', OCI_INDEX, outer, 'outer')
    const ref = `${HOST}/lib/nested:outer`
    expect((await h.image.PullImage({ image: { image: ref } })).image_ref).toBe(sha256(img.amd.config))
    const { image } = await h.image.ImageStatus({ image: { image: ref } })
    expect(Number(image?.size)).toBe(outer.length + inner.length + img.amd.manifest.length + img.amd.config.length + img.amd.layer.length)
    expect(image?.repo_digests).toEqual([`${HOST}/lib/nested@${sha256(outer)}`])

    const armOnly = indexOf(OCI_INDEX, [
      {
        mediaType: img.arm.mediaType,
        digest: img.arm.digest,
        size: img.arm.manifest.length,
        platform: { os: 'linux', architecture: 'arm64' },
      },
    ])
    registry.putManifest('lib/nested', OCI_INDEX, armOnly, 'armonly')
    const two = indexOf(OCI_INDEX, [
      { mediaType: OCI_INDEX, digest: sha256(armOnly), size: armOnly.length, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: OCI_INDEX, digest: sha256(inner), size: inner.length, platform: { os: 'linux', architecture: 'amd64' } },
    ])
    registry.putManifest('lib/nested', OCI_INDEX, two, 'two')
    const ref2 = `${HOST}/lib/nested:two`
    const firstSize = Number(image?.size)
    expect((await h.image.PullImage({ image: { image: ref2 } })).image_ref).toBe(sha256(img.amd.config))
    // The same image id under another name keeps the size it was first recorded with (CRI's image store adds references only)…
    expect(Number((await h.image.ImageStatus({ image: { image: ref2 } })).image?.size)).toBe(firstSize)
    // …and pulled afresh it is counted through the second outer index and its amd64 child.
    await h.image.RemoveImage({ image: { image: ref2 } })
    await h.image.PullImage({ image: { image: ref2 } })
    const second = (await h.image.ImageStatus({ image: { image: ref2 } })).image
    expect(Number(second?.size)).toBe(two.length + inner.length + img.amd.manifest.length + img.amd.config.length + img.amd.layer.length)
    expect(registry.count('GET', `/manifests/${sha256(armOnly)}`)).toBe(0)
  })

  test('a Docker schema 1 manifest is refused as containerd 2.x refuses it, by its type or as text/plain, before anything is fetched', async () => {
    await start()
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'old/app', tag: 'v1', fsLayers: [], history: [], signatures: [] }))
    const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws'
    registry.putManifest('old/app', SCHEMA1, schema1, 'v1')
    registry.putManifest('old/app', 'text/plain', schema1, 'plain')
    for (const tag of ['v1', 'plain']) {
      const ref = `${HOST}/old/app:${tag}`
      const err = await grpcError(h.image.PullImage({ image: { image: ref } }))
      expect(err.code).toBe(status.INVALID_ARGUMENT)
      expect(err.details).toBe(
        `failed to pull and unpack image "${ref}": schema 1 image manifests are no longer supported: invalid argument`,
      )
    }
    expect(registry.seen.filter((s) => s.method === 'GET')).toEqual([])
    // Resolved by GET (no digest from HEAD): the resolver's own words.
    msw.use(http.all(`${ORIGIN}/v2/old/nodigest/manifests/v1`, () => new HttpResponse(schema1, { headers: { 'Content-Type': SCHEMA1 } })))
    const ref = `${HOST}/old/nodigest:v1`
    const err = await grpcError(h.image.PullImage({ image: { image: ref } }))
    expect(err.code).toBe(status.UNIMPLEMENTED)
    expect(err.details).toBe(
      `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": not implemented: media type "${SCHEMA1}" is no longer supported since containerd v2.0, please rebuild the image as "${DOCKER_MANIFEST}" or "${OCI_MANIFEST}"`,
    )
    // A list naming a schema 1 manifest: refused before it is fetched.
    const list = indexOf(DOCKER_LIST, [
      { mediaType: SCHEMA1, digest: sha256(schema1), size: schema1.length, platform: { os: 'linux', architecture: 'amd64' } },
    ])
    registry.putManifest('old/app', DOCKER_LIST, list, 'list')
    const listed = await grpcError(h.image.PullImage({ image: { image: `${HOST}/old/app:list` } }))
    expect(listed.code).toBe(status.UNKNOWN)
    expect(listed.details).toBe(`failed to pull and unpack image "${HOST}/old/app:list": ${SCHEMA1} not supported`)
    expect(registry.count('GET', `/manifests/${sha256(schema1)}`)).toBe(0)
    expect((await h.image.ListImages({})).images).toEqual([])
    await expectNoLeases()
  })

  test("a fetch error names the URL with its query (a mirror's ?ns=)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-hosts-'))
    mkdirSync(join(dir, 'registry.example.com'))
    writeFileSync(
      join(dir, 'registry.example.com', 'hosts.toml'),
      `server = "https://registry.example.com"\n\n[host."${ORIGIN}"]\n  capabilities = ["pull", "resolve"]\n`,
    )
    await start({ registryConfigPath: dir })
    msw.use(http.all('https://registry.example.com/*', () => new HttpResponse(null, { status: 404 })))
    const img = pushImage('team/gone', 'v1')
    registry.manifests.delete(`team/gone@${img.amd.digest}`)
    const ref = 'registry.example.com/team/gone:v1'
    const err = await grpcError(h.image.PullImage({ image: { image: ref } }))
    expect(err.code).toBe(status.NOT_FOUND)
    expect(err.details).toBe(
      `failed to pull and unpack image "${ref}": content at ${ORIGIN}/v2/team/gone/manifests/${img.amd.digest}?ns=registry.example.com not found: not found`,
    )
  })

  test('an ingest left with bytes is written again from its start; a locked one fails before anything is fetched', async () => {
    await start()
    const img = pushImage('lib/resumed', 'v1', 'none')
    const layer = sha256(img.amd.layer)
    const content = h.fake.node.content
    const left = content.openWriter('k8s.io', `layer-${layer}`, img.amd.layer.length, '')
    content.append(left, Buffer.from('left over from an earlier try'))
    content.release(left)
    expect((await h.image.PullImage({ image: { image: `${HOST}/lib/resumed:v1` } })).image_ref).toBe(sha256(img.amd.config))
    expect(await execCat(`${HOST}/lib/resumed:v1`, ['cat', '/etc/hello'])).toBe('hello from amd64\n')

    const other = pushLayers('lib/locked', 'v1', ['locked'])
    const otherLayer = sha256(other.layers[0] as Buffer)
    content.openWriter('k8s.io', `layer-${otherLayer}`, (other.layers[0] as Buffer).length, '')
    const err = await grpcError(h.image.PullImage({ image: { image: `${HOST}/lib/locked:v1` } }))
    expect(err.details).toMatch(new RegExp(`ref layer-${otherLayer} locked for \\d+ms`))
    expect(registry.count('GET', `/blobs/${otherLayer}`)).toBe(0)
  })
})
