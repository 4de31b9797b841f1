// containerd 2.x's services over the socket, spoken by hand as the 2.x Go client speaks them:
// Streaming's handshake, Transfer's import/export/tag over streams with window credit and progress,
// and the Sandbox Store and Controller over CRI pods and records of their own.
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import { decodeMessage } from '../../src/proto/load.js'
import { importLimits } from '../../src/containerd/transfer.js'
import { tarball } from '../containerd.js'
import { imageBlobs, ociLayout } from '../oci-layout.mjs'
import { eventually, grpcError, harness, podConfig, runPod, type Harness } from '../helpers.js'
import { T, any, openTransferStream, progressEvents, sendBytes, type TransferStream } from '../transfer-streams.js'
import { hasRegistry, manifestDigest, pushBlob, pushManifest, startRegistry, type RunningRegistry } from '../registry-server.mjs'

let h: Harness
let ctr: ContainerdClients
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address, 'default')
})
afterEach(async () => {
  ctr.close()
  await h.close()
})

/** Opens a stream on this test's client and waits for the server's ack. */
const openStream = (id: string, namespace = 'default'): Promise<TransferStream> => openTransferStream(ctr, id, namespace)

const archive = (name: string): Buffer =>
  tarball(
    ociLayout(
      name,
      tarball([
        { name: 'etc/', type: '5' },
        { name: 'etc/hi', data: 'hi\n' },
      ]),
      { Cmd: ['sleep', '1'] },
    ),
  )

describe('Streaming', () => {
  test('acks StreamInit with an Empty; a second stream of the same id is AlreadyExists; another first message is refused as typeurl does', async () => {
    const first = await openStream('s1')
    const dup = ctr.streaming.Stream({ metadata: { 'containerd-namespace': 'default' } })
    dup.write(any('containerd.services.streaming.v1.StreamInit', { id: 's1' }))
    const err = await new Promise<{ code: number; details: string }>((resolve) => dup.on('error', resolve))
    expect([err.code, err.details]).toEqual([6, 'already exists'])
    // The same id in another namespace is another stream.
    const other = await openStream('s1', 'elsewhere')
    other.call.end()
    const bad = ctr.streaming.Stream({ metadata: { 'containerd-namespace': 'default' } })
    bad.write(any(`${T}Data`, { data: Buffer.from('x') }))
    const badErr = await new Promise<{ code: number; details: string }>((resolve) => bad.on('error', resolve))
    expect([badErr.code, badErr.details]).toEqual([
      2,
      `can't unmarshal type "${T}Data" to output "containerd.services.streaming.v1.StreamInit"`,
    ])
    const alien = ctr.streaming.Stream({ metadata: { 'containerd-namespace': 'default' } })
    alien.write({ type_url: 'example.com/Thing', value: Buffer.alloc(0) })
    const alienErr = await new Promise<{ code: number; details: string }>((resolve) => alien.on('error', resolve))
    expect([alienErr.code, alienErr.details]).toEqual([5, 'type with url example.com/Thing: not found'])
    // containerd registers the empty id as any other.
    const empty = await openStream('')
    empty.call.end()
    first.call.end()
  })
})

describe('Transfer', () => {
  test('imports an archive sent with window credit, reports progress, unpacks; exports it back; tags it', async () => {
    const topics: string[] = []
    const sub = ctr.events.Subscribe({ filters: [] })
    sub.on('data', (e: { topic: string }) => topics.push(e.topic))
    sub.on('error', () => {})
    await new Promise((r) => setTimeout(r, 100))
    const progress = await openStream('progress-1')
    const input = await openStream('import-1')
    const store = {
      name: '',
      extra_references: [{ name: 'import-2026-01-01', is_prefix: true, allow_overwrite: true }],
      platforms: [{ os: 'linux', architecture: 'amd64' }],
      unpacks: [{ platform: { os: 'linux', architecture: 'amd64' }, snapshotter: 'overlayfs' }],
    }
    const done = ctr.transfer.Transfer({
      source: any(`${T}ImageImportStream`, { stream: 'import-1' }),
      destination: any(`${T}ImageStore`, store),
      options: { progress_stream: 'progress-1' },
    })
    await sendBytes(input, archive('docker.io/library/hand:1'))
    expect(await progressEvents(progress)).toEqual([
      { event: 'Importing', name: '' },
      { event: 'saved', name: 'docker.io/library/hand:1' },
      { event: 'Completed import', name: '' },
    ])
    await done
    const images = (await ctr.images.List({ filters: [] })).images
    expect(images.map((i) => i.name)).toEqual(['docker.io/library/hand:1'])
    await eventually(() => (topics.includes('/images/create') ? true : undefined), 'the import events')
    sub.cancel()
    // Each blob (oci-layout's index, manifest, config, layer), then the unpack, then the image.
    expect(topics.filter((t) => t === '/content/create')).toHaveLength(4)
    expect(topics.indexOf('/snapshot/commit')).toBeGreaterThan(topics.lastIndexOf('/content/create'))
    expect(topics.indexOf('/images/create')).toBeGreaterThan(topics.indexOf('/snapshot/commit'))
    const snapshots: unknown[] = []
    for await (const r of ctr.snapshots.List({ snapshotter: 'overlayfs', filters: [] })) snapshots.push(...r.info)
    expect(snapshots).toHaveLength(1)

    // Export: the client grants credit, the server sends the archive and ends the stream.
    const out = await openStream('export-1')
    const exported = ctr.transfer.Transfer({
      source: any(`${T}ImageStore`, { extra_references: [{ name: 'docker.io/library/hand:1' }] }),
      destination: any(`${T}ImageExportStream`, { stream: 'export-1' }),
    })
    out.call.write(any(`${T}WindowUpdate`, { update: 64 * 1024 }))
    const chunks: Buffer[] = []
    let window = 64 * 1024
    for (let m = await out.next(); m; m = await out.next()) {
      const data = Buffer.from(decodeMessage(`${T}Data`, m.value).data as Uint8Array)
      expect(data.length).toBeLessThanOrEqual(32 * 1024)
      chunks.push(data)
      window -= data.length
      if (window < 64 * 1024) {
        out.call.write(any(`${T}WindowUpdate`, { update: 64 * 1024 }))
        window += 64 * 1024
      }
    }
    out.call.end()
    await exported
    const tar = Buffer.concat(chunks)
    expect(tar.subarray(257, 263).toString('latin1')).toBe('ustar\0')
    expect(tar.includes(Buffer.from('"io.containerd.image.name":"docker.io/library/hand:1"'))).toBe(true)

    // Tag: image store to image store, no progress stream.
    await ctr.transfer.Transfer({
      source: any(`${T}ImageStore`, { name: 'docker.io/library/hand:1' }),
      destination: any(`${T}ImageStore`, { name: 'docker.io/library/hand:2', labels: { tagged: 'yes' } }),
    })
    const tagged = (await ctr.images.Get({ name: 'docker.io/library/hand:2' })).image!
    expect([tagged.target?.digest, tagged.labels]).toEqual([images[0]!.target?.digest, { tagged: 'yes' }])
  })

  test('an archive that is not a tar fails in Go archive/tar words; one without a layout or manifest.json is unrecognized', async () => {
    for (const [bytes, details] of [
      [Buffer.from('not a tar'), 'unexpected EOF'],
      [Buffer.alloc(512, 1), 'archive/tar: invalid tar header'],
      [tarball([{ name: 'hello', data: 'x' }]), 'unrecognized image format'],
    ] as const) {
      const input = await openStream('import-bad')
      const done = grpcError(
        ctr.transfer.Transfer({
          source: any(`${T}ImageImportStream`, { stream: 'import-bad' }),
          destination: any(`${T}ImageStore`, { name: 'x' }),
        }),
      )
      await sendBytes(input, bytes)
      const err = await done
      expect([err.code, err.details]).toEqual([2, details])
    }
  })

  test('a layout naming one child from many parents is walked once per blob; indexes nested past the bound are InvalidArgument', async () => {
    const layout = (levels: number): Buffer => {
      const files = ociLayout('docker.io/library/nest:1', tarball([{ name: 'f', data: 'x' }]), {})
      const index = JSON.parse(String(files[1]!.data)) as { manifests: Record<string, unknown>[] }
      let child = index.manifests[0]!
      // Each level's index names the level below twice: 2^levels paths to the manifest, levels + 1 blobs.
      for (let i = 0; i < levels; i++) {
        const blob = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [child, { ...child, annotations: { n: String(i) } }] }))
        const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`
        files.push({ name: `blobs/sha256/${digest.slice(7)}`, data: blob })
        child = { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: blob.length }
      }
      index.manifests = [{ ...child, annotations: { 'io.containerd.image.name': 'docker.io/library/nest:1' } }]
      files[1] = { name: 'index.json', data: Buffer.from(JSON.stringify(index)) }
      return tarball(files)
    }
    const importing = async (bytes: Buffer): Promise<unknown> => {
      const input = await openStream('import-nest')
      const done = ctr.transfer.Transfer({
        source: any(`${T}ImageImportStream`, { stream: 'import-nest' }),
        destination: any(`${T}ImageStore`, { extra_references: [{ name: 'import-nest', is_prefix: true, allow_overwrite: true }] }),
      })
      await sendBytes(input, bytes)
      return done
    }
    await importing(layout(30))
    expect((await ctr.images.List({ filters: [] })).images.map((i) => i.name)).toEqual(['docker.io/library/nest:1'])
    const deep = await grpcError(importing(layout(40)) as Promise<never>)
    expect([deep.code, deep.details]).toEqual([3, 'image indexes are nested more than 32 levels deep: invalid argument'])
  }, 20_000)

  test('an import past the byte bound is ResourceExhausted, naming the bound; nothing is imported', async () => {
    const saved = importLimits.maxBytes
    importLimits.maxBytes = 64 * 1024
    try {
      const input = await openStream('import-big')
      const done = grpcError(
        ctr.transfer.Transfer({
          source: any(`${T}ImageImportStream`, { stream: 'import-big' }),
          destination: any(`${T}ImageStore`, { name: 'docker.io/library/big:1' }),
        }),
      )
      // The server grants 64 KiB, then 64 KiB more once it has read them: the client never gets past the bound.
      void sendBytes(input, Buffer.alloc(1024 * 1024)).catch(() => {})
      const err = await done
      expect([err.code, err.details]).toEqual([
        8,
        'the import stream sent more than 65536 bytes, the largest archive fake-containerd imports in one transfer: resource exhausted',
      ])
      expect((await ctr.images.List({ filters: [] })).images).toEqual([])
    } finally {
      importLimits.maxBytes = saved
    }
  })

  test('an upload cancelled midway is not imported (Canceled); a second transfer naming a stream in use is FailedPrecondition', async () => {
    const input = await openStream('import-cut')
    const done = grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}ImageImportStream`, { stream: 'import-cut' }),
        destination: any(`${T}ImageStore`, { name: 'docker.io/library/cut:1' }),
      }),
    )
    const second = await grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}ImageImportStream`, { stream: 'import-cut' }),
        destination: any(`${T}ImageStore`, { name: 'docker.io/library/cut:2' }),
      }),
    )
    expect([second.code, second.details]).toEqual([9, 'stream "import-cut" is already used by another transfer: failed precondition'])
    // A whole archive's first half, then the client cancels its stream instead of closing it.
    const bytes = archive('docker.io/library/cut:1')
    const update = await input.next()
    expect(update?.type_url).toBe(`${T}WindowUpdate`)
    input.call.write(any(`${T}Data`, { data: bytes.subarray(0, 1024) }))
    await new Promise((r) => setTimeout(r, 50))
    input.call.cancel()
    const err = await done
    expect([err.code, err.details]).toEqual([1, 'stream "import-cut" was cancelled by the client before it ended: canceled'])
    expect((await ctr.images.List({ filters: [] })).images).toEqual([])
  })

  test('malformed archive JSON and undecodable stream messages are answered in words, never INTERNAL', async () => {
    const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
    const blob = (b: Buffer): { name: string; data: Buffer } => ({ name: `blobs/sha256/${sha(b).slice(7)}`, data: b })
    const layout = (index: unknown, ...blobs: Buffer[]): Buffer =>
      tarball([
        { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
        { name: 'index.json', data: JSON.stringify(index) },
        ...blobs.map(blob),
      ])
    const manifestOf = (b: Buffer, mediaType = 'application/vnd.oci.image.manifest.v1+json'): Record<string, unknown> => ({
      mediaType,
      digest: sha(b),
      size: b.length,
      annotations: { 'io.containerd.image.name': 'docker.io/library/bad:1' },
    })
    const notJson = Buffer.from('not json')
    const noConfig = Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [] }))
    const goEntry = 'struct { Config string; RepoTags []string; Layers []string }'
    const cases: [Buffer, number, string][] = [
      [
        tarball([{ name: 'manifest.json', data: '{}' }]),
        2,
        `untar manifest "manifest.json": json: cannot unmarshal object into Go value of type []${goEntry}`,
      ],
      [
        tarball([{ name: 'manifest.json', data: '[1]' }]),
        2,
        `untar manifest "manifest.json": json: cannot unmarshal number into Go value of type ${goEntry}`,
      ],
      [tarball([{ name: 'manifest.json', data: '[null]' }]), 2, 'image config "" not found'],
      [
        tarball([{ name: 'manifest.json', data: '[{"Config":"c.json","Layers":"l"}]' }]),
        2,
        'untar manifest "manifest.json": json: cannot unmarshal string into Go struct field .Layers of type []string',
      ],
      [layout({ schemaVersion: 2, manifests: [manifestOf(notJson)] }, notJson), 2, `blob ${sha(notJson)} is not JSON: `],
      [
        layout({ schemaVersion: 2, manifests: {} }),
        2,
        'json: cannot unmarshal object into Go struct field Index.manifests of type []v1.Descriptor',
      ],
      [
        layout({ schemaVersion: 2, manifests: [manifestOf(noConfig)] }, noConfig),
        3,
        `manifest ${sha(noConfig)} names no config: invalid argument`,
      ],
    ]
    for (const [bytes, code, details] of cases) {
      const input = await openStream('import-json')
      const done = grpcError(
        ctr.transfer.Transfer({
          source: any(`${T}ImageImportStream`, { stream: 'import-json' }),
          destination: any(`${T}ImageStore`, { extra_references: [{ name: 'import-json', is_prefix: true, allow_overwrite: true }] }),
        }),
      )
      await sendBytes(input, bytes)
      const err = await done
      expect([err.code, err.details.startsWith(details) ? details : err.details]).toEqual([code, details])
    }
    // A Data message whose bytes are not a Data.
    const input = await openStream('import-undecodable')
    const done = grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}ImageImportStream`, { stream: 'import-undecodable' }),
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    await input.next()
    input.call.write({ type_url: `${T}Data`, value: Buffer.from([0x0a, 0x05, 0x01]) })
    const err = await done
    expect(err.code).toBe(3)
    expect(err.details).toMatch(/^the import stream sent a Data that does not decode: .*: invalid argument$/)
  })

  test('an import without a lease holds its blobs under a lease of its own (24h expiry) until it ends, then deletes it', async () => {
    const input = await openStream('import-lease')
    const done = ctr.transfer.Transfer({
      source: any(`${T}ImageImportStream`, { stream: 'import-lease' }),
      destination: any(`${T}ImageStore`, { name: 'docker.io/library/leased:1' }),
    })
    // The transfer has begun once it grants credit.
    const first = await input.next()
    expect(first?.type_url).toBe(`${T}WindowUpdate`)
    const during = (await ctr.leases.List({ filters: [] })).leases
    expect(during).toHaveLength(1)
    const expire = Date.parse(during[0]!.labels['containerd.io/gc.expire']!)
    expect(Math.abs(expire - (Date.now() + 24 * 3600 * 1000))).toBeLessThan(60_000)
    // sendBytes waits for credit: give back the grant already read.
    input.call.write(any(`${T}Data`, { data: Buffer.alloc(0) }))
    const bytes = archive('docker.io/library/leased:1')
    let sent = 0
    let credit = 64 * 1024
    while (sent < bytes.length) {
      const n = Math.min(32 * 1024, credit, bytes.length - sent)
      input.call.write(any(`${T}Data`, { data: bytes.subarray(sent, sent + n) }))
      sent += n
      credit -= n
      if (credit <= 0) credit += Number(decodeMessage(`${T}WindowUpdate`, (await input.next())!.value).update)
    }
    input.call.end()
    await done
    expect((await ctr.leases.List({ filters: [] })).leases).toEqual([])
    expect((await ctr.images.List({ filters: [] })).images.map((i) => i.name)).toEqual(['docker.io/library/leased:1'])
  })

  test('a single-platform import labels the index with every manifest for the collector, and walks only the platform', async () => {
    const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
    const blob = (b: Buffer): { name: string; data: Buffer } => ({ name: `blobs/sha256/${sha(b).slice(7)}`, data: b })
    const amd = imageBlobs([tarball([{ name: 'a', data: 'amd64' }])], { Env: ['A=1'] })
    const arm = imageBlobs([tarball([{ name: 'a', data: 'arm64' }])], { Env: ['A=2'] })
    const entry = (m: Buffer, architecture: string) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha(m),
      size: m.length,
      platform: { architecture, os: 'linux' },
    })
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [entry(amd.manifest, 'amd64'), entry(arm.manifest, 'arm64')],
      }),
    )
    const bytes = tarball([
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: index },
      ...[amd, arm].flatMap((b) => [blob(b.manifest), blob(b.config), ...b.layers.map(blob)]),
    ])
    const input = await openStream('import-multi')
    const done = ctr.transfer.Transfer({
      source: any(`${T}ImageImportStream`, { stream: 'import-multi' }),
      destination: any(`${T}ImageStore`, { name: 'docker.io/library/multi:1', platforms: [{ os: 'linux', architecture: 'amd64' }] }),
    })
    await sendBytes(input, bytes)
    await done
    const labels = (await ctr.content.Info({ digest: sha(index) })).info!.labels
    expect(labels).toEqual({
      'containerd.io/gc.ref.content.m.0': sha(amd.manifest),
      'containerd.io/gc.ref.content.m.1': sha(arm.manifest),
    })
    // The image (the index) holds the arm64 manifest through the label, past the import's collection;
    // it is not walked, so its children get no labels.
    expect((await ctr.content.Info({ digest: sha(arm.manifest) })).info!.labels).toEqual({})
    expect(Object.keys((await ctr.content.Info({ digest: sha(amd.manifest) })).info!.labels).sort()).toEqual([
      'containerd.io/gc.ref.content.config',
      'containerd.io/gc.ref.content.l.0',
    ])
  })

  test('a stream nobody reads is held back by flow control, not queued by the server', async () => {
    const input = await openStream('unread')
    const piece = any(`${T}Data`, { data: Buffer.alloc(32 * 1024) })
    let flushed = 0
    // 8 MiB offered with no transfer reading: the server takes only what its buffers and windows hold.
    for (let i = 0; i < 256; i++) input.call.write(piece, () => flushed++)
    await new Promise((r) => setTimeout(r, 500))
    expect(flushed).toBeLessThan(128)
    input.call.cancel()
  })

  test('a stream that is not open is NotFound; a registry without a reference is InvalidArgument; an unknown type is NotFound', async () => {
    const noStream = await grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}ImageImportStream`, { stream: 'nope' }),
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    expect([noStream.code, noStream.details]).toEqual([5, 'stream "nope" is not open in namespace "default": not found'])
    const noRef = await grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}OCIRegistry`, { reference: '' }),
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    expect([noRef.code, noRef.details]).toEqual([3, 'the OCIRegistry names no reference: invalid argument'])
    const noAuth = await grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}OCIRegistry`, { reference: '127.0.0.1:1/x:1', resolver: { auth_stream: 'creds-none' } }),
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    expect([noAuth.code, noAuth.details]).toEqual([5, 'stream "creds-none" is not open in namespace "default": not found'])
    const unknown = await grpcError(
      ctr.transfer.Transfer({
        source: { type_url: 'example.com/Thing', value: Buffer.alloc(0) },
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    expect([unknown.code, unknown.details]).toEqual([5, 'type with url example.com/Thing: not found'])
    const unserved = await grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}Progress`, { event: 'x' }),
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    expect([unserved.code, unserved.details]).toEqual([12, `method Transfer not implemented for ${T}Progress to ${T}ImageStore`])
    const missing = await grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}ImageStore`, { name: 'docker.io/library/absent:1' }),
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    expect([missing.code, missing.details]).toEqual([5, 'image "docker.io/library/absent:1": not found'])
  })
})

describe.skipIf(!hasRegistry())('Transfer with a registry', () => {
  const USER = { name: 'api-user', password: 'api-password' }
  let reg: RunningRegistry
  beforeEach(async () => {
    reg = await startRegistry(USER)
  })
  afterEach(() => reg?.stop())

  /** Puts a one-layer image under `repo:1` with the registry's own credentials; its manifest digest. */
  async function seed(repo: string): Promise<string> {
    const auth = { ...reg, authorization: `Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString('base64')}` }
    const blobs = imageBlobs([tarball([{ name: 'hi', data: 'hi\n' }])], { Cmd: ['sleep', '1'] })
    for (const b of [...blobs.layers, blobs.config]) await pushBlob(auth, repo, b)
    return pushManifest(auth, repo, '1', 'application/vnd.oci.image.manifest.v1+json', blobs.manifest)
  }

  test('a pull asks the client for credentials on its auth stream (host, reference), retried with the answer; push likewise', async () => {
    const digest = await seed('api/img')
    const ref = `${reg.host}/api/img:1`
    const creds = await openStream('creds-1')
    const progress = await openStream('progress-1')
    const asked: Record<string, unknown>[] = []
    const answer = (async () => {
      for (let m = await creds.next(); m; m = await creds.next()) {
        expect(m.type_url).toBe(`${T}AuthRequest`)
        asked.push(decodeMessage(`${T}AuthRequest`, m.value))
        creds.call.write(any(`${T}AuthResponse`, { authType: 1, username: USER.name, secret: USER.password }))
      }
    })()
    await ctr.transfer.Transfer({
      source: any(`${T}OCIRegistry`, { reference: ref, resolver: { auth_stream: 'creds-1' } }),
      destination: any(`${T}ImageStore`, { name: ref, unpacks: [{ platform: { os: 'linux', architecture: 'amd64' } }] }),
      options: { progress_stream: 'progress-1' },
    })
    await answer
    expect(asked).toEqual([{ host: reg.host, reference: ref, wwwauthenticate: [] }])
    const events = await progressEvents(progress)
    expect(events[0]).toEqual({ event: `Resolving from OCI Registry (${ref})`, name: '' })
    expect(events).toContainEqual({ event: 'saved', name: ref })
    expect(events.at(-1)?.event).toBe('complete')
    expect((await ctr.images.Get({ name: ref })).image?.target?.digest).toBe(digest)

    // Pushed under another name with the same credentials; a REFRESH answer with no secret is anonymous: refused.
    await ctr.images.Create({ image: { name: `${reg.host}/api/copy:2`, target: (await ctr.images.Get({ name: ref })).image!.target } })
    const pushCreds = await openStream('creds-2')
    const pushAnswer = (async () => {
      for (let m = await pushCreds.next(); m; m = await pushCreds.next())
        pushCreds.call.write(any(`${T}AuthResponse`, { authType: 1, username: USER.name, secret: USER.password }))
    })()
    await ctr.transfer.Transfer({
      source: any(`${T}ImageStore`, { name: `${reg.host}/api/copy:2` }),
      destination: any(`${T}OCIRegistry`, { reference: `${reg.host}/api/copy:2`, resolver: { auth_stream: 'creds-2' } }),
    })
    await pushAnswer
    const auth = { ...reg, authorization: `Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString('base64')}` }
    expect(await manifestDigest(auth, 'api/copy', '2')).toBe(digest)

    const anonymous = await openStream('creds-3')
    const refuse = (async () => {
      for (let m = await anonymous.next(); m; m = await anonymous.next()) anonymous.call.write(any(`${T}AuthResponse`, { authType: 2 }))
    })()
    const refused = await grpcError(
      ctr.transfer.Transfer({
        source: any(`${T}OCIRegistry`, { reference: `${reg.host}/api/img:1`, resolver: { auth_stream: 'creds-3' } }),
        destination: any(`${T}ImageStore`, { name: 'refused' }),
      }),
    )
    await refuse
    expect(refused.code).toBe(2)
    // An answer without user name and secret is containerd's ErrInvalidAuthorization.
    expect(refused.details).toBe(
      'failed to resolve image: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
    )
  })
})

describe('Sandbox Store and Controller', () => {
  const k8s = { metadata: { 'containerd-namespace': 'k8s.io' } }

  test('a CRI pod is a podsandbox record; the controller reports, stops and shuts it down', async () => {
    const pod = await runPod(h, podConfig('sb'))
    const list = (await ctr.sandboxStore.List({ filters: [] }, k8s)).list
    const record = list.find((s) => s.sandbox_id === pod)!
    expect([record.sandboxer, record.runtime?.name]).toEqual(['podsandbox', 'io.containerd.runc.v2'])
    const meta = JSON.parse(record.extensions.metadata!.value.toString())
    expect([record.extensions.metadata!.type_url, meta.Version, meta.Metadata.ID, meta.Metadata.Config.metadata.name]).toEqual([
      'github.com/containerd/cri/pkg/store/sandbox/Metadata',
      'v1',
      pod,
      'sb',
    ])
    expect((await ctr.sandboxStore.List({ filters: [] })).list).toEqual([])
    const ids = { sandbox_id: pod, sandboxer: 'podsandbox' }
    const status = await ctr.sandboxController.Status({ ...ids, verbose: false }, k8s)
    expect([status.state, Number(status.pid) > 0]).toEqual(['SANDBOX_READY', true])
    expect((await ctr.sandboxController.Platform(ids, k8s)).platform).toMatchObject({ os: 'linux', architecture: 'amd64' })
    expect((await ctr.sandboxController.Metrics(ids, k8s)).metrics?.id).toBe(pod)
    const waited = ctr.sandboxController.Wait(ids, k8s)
    await ctr.sandboxController.Stop({ ...ids, timeout_secs: 0 }, k8s)
    expect((await waited).exited_at).not.toBeNull()
    expect((await ctr.sandboxController.Status({ ...ids, verbose: false }, k8s)).state).toBe('SANDBOX_NOTREADY')
    expect((await h.runtime.PodSandboxStatus({ pod_sandbox_id: pod, verbose: false })).status?.state).toBe('SANDBOX_NOTREADY')
    await ctr.sandboxController.Shutdown(ids, k8s)
    expect((await h.runtime.ListPodSandbox({})).items).toEqual([])
    expect((await grpcError(ctr.sandboxStore.Get({ sandbox_id: pod }, k8s))).code).toBe(5)
  })

  test('a record of its own: Create (the store stamps the times), Update by field, controller Start/Stop/Wait, Delete; wrong calls', async () => {
    expect((await grpcError(ctr.sandboxStore.Get({ sandbox_id: 'own' }))).details).toBe('no sandbox buckets: not found')
    const sandbox = { sandbox_id: 'own', runtime: { name: 'io.containerd.runc.v2' }, labels: { a: '1' }, sandboxer: 'shim' }
    const created = (await ctr.sandboxStore.Create({ sandbox })).sandbox!
    expect(Number(created.created_at?.seconds)).toBeGreaterThan(0)
    const dup = await grpcError(ctr.sandboxStore.Create({ sandbox }))
    expect([dup.code, dup.details]).toEqual([6, 'write error: sandbox bucket "own" already exists: already exists'])
    const badId = await grpcError(ctr.sandboxStore.Create({ sandbox: { ...sandbox, sandbox_id: 'no way' } }))
    expect([badId.code, badId.details]).toEqual([
      3,
      'failed to validate sandbox: invalid sandbox ID: identifier "no way" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument',
    ])
    const updated = await ctr.sandboxStore.Update({ sandbox: { ...sandbox, labels: { b: '2' } }, fields: ['labels.b'] })
    expect(updated.sandbox?.labels).toEqual({ a: '1', b: '2' })
    const immutable = await grpcError(ctr.sandboxStore.Update({ sandbox: { ...sandbox, runtime: { name: 'other' } }, fields: [] }))
    expect([immutable.code, immutable.details]).toEqual([3, 'sandbox.Runtime.Name field is immutable: invalid argument'])
    const ids = { sandbox_id: 'own', sandboxer: 'shim' }
    const started = await ctr.sandboxController.Start(ids)
    expect(Number(started.pid)).toBeGreaterThan(0)
    expect((await ctr.sandboxController.Status({ ...ids, verbose: false })).state).toBe('SANDBOX_READY')
    const waited = ctr.sandboxController.Wait(ids)
    await ctr.sandboxController.Stop({ ...ids, timeout_secs: 0 })
    expect((await waited).exit_status).toBe(0)
    const empty = await grpcError(ctr.sandboxController.Status({ sandbox_id: 'own', sandboxer: '', verbose: false }))
    expect([empty.code, empty.details]).toEqual([3, 'invalid argument: sandbox controller name can not be empty'])
    const unknown = await grpcError(ctr.sandboxController.Status({ sandbox_id: 'own', sandboxer: 'vm', verbose: false }))
    expect([unknown.code, unknown.details]).toEqual([5, 'not found: failed to get sandbox controller by vm'])
    expect((await grpcError(ctr.sandboxStore.Get({ sandbox_id: 'other' }))).details).toBe('bucket "other" not found: not found')
    await ctr.sandboxStore.Delete({ sandbox_id: 'own' })
    // The namespace's sandbox bucket outlives its last sandbox (core/metadata/sandbox.go).
    const again = await grpcError(ctr.sandboxStore.Delete({ sandbox_id: 'own' }))
    expect([again.code, again.details]).toEqual([5, 'failed to delete sandbox "own": not found'])
    expect((await grpcError(ctr.sandboxStore.Get({ sandbox_id: 'own' }))).details).toBe('bucket "own" not found: not found')
  })

  test('a Store record makes its namespace (listed); deleting the namespace drops its records, as containerd 2.1 (listNs counts no sandboxes)', async () => {
    const other = containerdClients(h.fake.address, 'sandboxed')
    try {
      await other.sandboxStore.Create({ sandbox: { sandbox_id: 'held', runtime: { name: 'io.containerd.runc.v2' }, sandboxer: 'shim' } })
      expect((await ctr.namespaces.List({})).namespaces.map((n) => n.name)).toContain('sandboxed')
      await ctr.namespaces.Delete({ name: 'sandboxed' })
      expect((await ctr.namespaces.List({})).namespaces.map((n) => n.name)).not.toContain('sandboxed')
      expect((await other.sandboxStore.List({ filters: [] })).list).toEqual([])
      expect((await grpcError(other.sandboxStore.Get({ sandbox_id: 'held' }))).details).toBe('no sandbox buckets: not found')
    } finally {
      other.close()
    }
  })

  test('with --state, Store records, their controller state and the sandbox buckets outlive a restart; a version 2 state gains them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-sandbox-state-'))
    const file = join(dir, 'state.json')
    const persisted = await harness({ state: file })
    const c = containerdClients(persisted.fake.address, 'keep')
    try {
      const sandbox = { sandbox_id: 'kept', runtime: { name: 'io.containerd.runc.v2' }, labels: { a: '1' }, sandboxer: 'shim' }
      const created = (await c.sandboxStore.Create({ sandbox })).sandbox!
      await c.sandboxStore.Create({ sandbox: { ...sandbox, sandbox_id: 'gone' } })
      const started = await c.sandboxController.Start({ sandbox_id: 'kept', sandboxer: 'shim' })
      await c.sandboxStore.Delete({ sandbox_id: 'gone' })
      await persisted.fake.restart()
      const got = (await c.sandboxStore.Get({ sandbox_id: 'kept' })).sandbox!
      expect([got.labels, got.sandboxer, got.runtime?.name, got.created_at]).toEqual([
        { a: '1' },
        'shim',
        'io.containerd.runc.v2',
        created.created_at,
      ])
      const status = await c.sandboxController.Status({ sandbox_id: 'kept', sandboxer: 'shim', verbose: false })
      expect([status.state, status.pid]).toEqual(['SANDBOX_READY', started.pid])
      // The bucket stays with its namespace: a missing record is "bucket not found", not "no sandbox buckets".
      expect((await grpcError(c.sandboxStore.Get({ sandbox_id: 'gone' }))).details).toBe('bucket "gone" not found: not found')
      // A namespace deleted with a sandbox in it stays deleted, its sandboxes with it, past a restart.
      const doomed = containerdClients(persisted.fake.address, 'doomed')
      try {
        await doomed.sandboxStore.Create({ sandbox: { ...sandbox, sandbox_id: 'doomed' } })
        await c.namespaces.Delete({ name: 'doomed' })
        await persisted.fake.restart()
        expect((await c.namespaces.List({})).namespaces.map((n) => n.name)).not.toContain('doomed')
        expect((await doomed.sandboxStore.List({ filters: [] })).list).toEqual([])
      } finally {
        doomed.close()
      }
    } finally {
      c.close()
      await persisted.close()
    }
    // A state written before the Sandbox Store was kept (version 2) is read with none.
    const old = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    delete old.sandboxes
    writeFileSync(file, JSON.stringify({ ...old, version: 2 }))
    const migrated = await harness({ state: file })
    try {
      expect(migrated.fake.node.state.version).toBe(4)
      expect(migrated.fake.node.state.sandboxes).toEqual({})
    } finally {
      await migrated.close()
    }
  })

  test('Store List takes containerd filters: id and labels.<key> (adaptSandbox); a bad filter is InvalidArgument', async () => {
    for (const [id, labels] of [
      ['one', { team: 'a' }],
      ['two', { team: 'b', 'x.y': 'z' }],
      ['three', {}],
    ] as const) {
      await ctr.sandboxStore.Create({ sandbox: { sandbox_id: id, runtime: { name: 'io.containerd.runc.v2' }, labels, sandboxer: 'shim' } })
    }
    const ids = async (filters: string[]) => (await ctr.sandboxStore.List({ filters })).list.map((s) => s.sandbox_id).sort()
    expect(await ids([])).toEqual(['one', 'three', 'two'])
    expect(await ids(['id==two'])).toEqual(['two'])
    expect(await ids(['labels.team==a', 'id==three'])).toEqual(['one', 'three'])
    expect(await ids(['labels.team'])).toEqual(['one', 'two'])
    expect(await ids(['labels."x.y"==z'])).toEqual(['two'])
    expect(await ids(['id~=^t'])).toEqual(['three', 'two'])
    // v2.1.0's adaptor has no sandboxer or runtime field: such a filter matches nothing.
    expect(await ids(['sandboxer==shim'])).toEqual([])
    const bad = await grpcError(ctr.sandboxStore.List({ filters: ['id=='] }))
    expect(bad.code).toBe(3)
    expect(bad.details).toMatch(/: invalid argument$/)
  })

  test('sandbox events come from the controller: /sandboxes/create on Create, /sandboxes/start on Start, /sandboxes/exit when Wait returns', async () => {
    const topics: string[] = []
    const sub = ctr.events.Subscribe({ filters: ['topic~="/sandboxes/"'] })
    sub.on('data', (e: { topic: string }) => topics.push(e.topic))
    sub.on('error', () => {})
    await new Promise((r) => setTimeout(r, 100))
    // The Store alone publishes nothing.
    await ctr.sandboxStore.Create({ sandbox: { sandbox_id: 'quiet', runtime: { name: 'io.containerd.runc.v2' } } })
    await ctr.sandboxStore.Create({ sandbox: { sandbox_id: 'ev', runtime: { name: 'io.containerd.runc.v2' } } })
    const ids = { sandbox_id: 'ev', sandboxer: 'shim' }
    await ctr.sandboxController.Create(ids)
    await ctr.sandboxController.Start(ids)
    const waited = ctr.sandboxController.Wait(ids)
    await ctr.sandboxController.Stop({ ...ids, timeout_secs: 0 })
    await waited
    await eventually(() => (topics.length === 3 ? true : undefined), 'three sandbox events')
    await new Promise((r) => setTimeout(r, 100))
    sub.cancel()
    expect(topics).toEqual(['/sandboxes/create', '/sandboxes/start', '/sandboxes/exit'])
  })
})
