// containerd's Diff service over the socket: applying layers into snapshots (as ctr's unpack
// does) and writing diffs.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { status as Code } from '@grpc/grpc-js'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { ctrHarness, readAll, sha256, tarball, upload, writeSession, type CtrHarness } from '../containerd.js'
import { grpcError } from '../helpers.js'

const LAYER = 'application/vnd.oci.image.layer.v1.tar'
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
const ss = 'overlayfs'
const leased = { metadata: { 'containerd-lease': 'hold' } }

let h: CtrHarness
beforeEach(async () => {
  h = await ctrHarness()
  // Everything these tests write is held by a lease, as ctr holds one around an unpack.
  await h.ctr.leases.Create({ id: 'hold', labels: {} })
})
afterEach(() => h.close())

const longName = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}/file.txt`
const paxName = `pax/${'p'.repeat(120)}.txt`
const layer1 = tarball([
  { name: 'etc/', type: '5' },
  { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' },
  { name: 'etc/motd', data: 'welcome\n' },
  { name: './bin/', type: '5' },
  { name: './bin/sh', data: '#!fake\n' },
  { name: 'bin/ash', type: '2', linkname: 'sh' },
  { name: 'var/', type: '5' },
  { name: 'var/cache/', type: '5' },
  { name: 'var/cache/a', data: 'aaaa' },
  { name: longName, data: 'long' },
  { name: paxName, data: 'pax', longName: 'pax' },
])

/** Stores a blob under the lease and returns its descriptor. */
async function blob(data: Buffer, mediaType: string) {
  const digest = await upload(h.ctr, data, { options: leased })
  return { media_type: mediaType, digest, size: data.length, annotations: {} }
}

/** What ctr's unpack does for one layer: Prepare, Apply into its mounts, Commit. */
async function unpack(key: string, parent: string, desc: { media_type: string; digest: string; size: number }) {
  const { mounts } = await h.ctr.snapshots.Prepare({ snapshotter: ss, key, parent, labels: {} }, leased)
  const { applied } = await h.ctr.diff.Apply({ diff: desc, mounts, payloads: {} }, leased)
  return applied!
}

describe('Apply', () => {
  test('a gzip layer: the applied descriptor is the uncompressed tar (the diff id); its files are recorded', async () => {
    const gz = gzipSync(layer1)
    const applied = await unpack('extract-1', '', await blob(gz, LAYER_GZIP))
    expect(applied).toEqual({ media_type: LAYER, digest: sha256(layer1), size: String(layer1.length), annotations: {} })
    const node = h.fake.node
    // What the tar holds, as absolute paths, with the parents containerd makes for it.
    expect(node.snapshots.files(ss, 'default', 'extract-1')).toEqual(
      [
        '/deep',
        `/deep/${'d'.repeat(60)}`,
        `/deep/${'d'.repeat(60)}/${'e'.repeat(60)}`,
        '/pax',
        '/bin',
        '/bin/ash',
        '/bin/sh',
        `/${longName}`,
        '/etc',
        '/etc/motd',
        '/etc/passwd',
        `/${paxName}`,
        '/var',
        '/var/cache',
        '/var/cache/a',
      ].sort(),
    )
    const bytes = 'root:x:0:0:root:/root:/bin/sh\n'.length + 'welcome\n'.length + '#!fake\n'.length + 4 + 4 + 3
    expect(await h.ctr.snapshots.Usage({ snapshotter: ss, key: 'extract-1' })).toEqual({ size: String(bytes), inodes: '11' })
    // Committed under its chain id, the snapshot keeps what was unpacked.
    await h.ctr.snapshots.Commit({ snapshotter: ss, name: sha256(layer1), key: 'extract-1', labels: {}, parent: '' }, leased)
    expect(node.snapshots.files(ss, 'default', sha256(layer1))).toContain('/etc/passwd')
    expect(await h.ctr.snapshots.Usage({ snapshotter: ss, key: sha256(layer1) })).toEqual({ size: String(bytes), inodes: '11' })
  })

  test('layers stack: a whiteout deletes a file below, an opaque marker empties a directory', async () => {
    await unpack('l1', '', await blob(gzipSync(layer1), LAYER_GZIP))
    await h.ctr.snapshots.Commit({ snapshotter: ss, name: 'c1', key: 'l1', labels: {}, parent: '' }, leased)
    const layer2 = tarball([
      { name: 'etc/.wh.motd' },
      { name: 'var/cache/.wh..wh..opq' },
      { name: 'var/cache/b', data: 'b' },
      { name: 'bin/.wh.ash' },
      { name: 'home/', type: '5' },
      { name: 'home/user', data: 'u' },
    ])
    const applied = await unpack('l2', 'c1', await blob(layer2, LAYER))
    expect(applied.digest).toBe(sha256(layer2))
    const files = h.fake.node.snapshots.files(ss, 'default', 'l2')
    expect(files).toEqual(expect.arrayContaining(['/etc/passwd', '/var/cache/b', '/home/user', '/bin/sh']))
    for (const gone of ['/etc/motd', '/var/cache/a', '/bin/ash']) expect(files).not.toContain(gone)
    expect(files.some((f: string) => f.includes('.wh.'))).toBe(false)
  })

  test('media types: plain tar as is, Docker types with the compression detected, zstd and unknown types refused', async () => {
    const plain = tarball([{ name: 'a', data: 'a' }])
    expect((await unpack('p', '', await blob(plain, LAYER))).digest).toBe(sha256(plain))
    const dockerGz = await blob(gzipSync(plain), 'application/vnd.docker.image.rootfs.diff.tar.gzip')
    expect((await h.ctr.diff.Apply({ diff: dockerGz, mounts: [], payloads: {} })).applied!.digest).toBe(sha256(plain))
    // Docker's plain layer type may still be compressed: containerd detects it.
    const dockerTar = await blob(gzipSync(Buffer.concat([plain, Buffer.alloc(512)])), 'application/vnd.docker.image.rootfs.diff.tar')
    expect((await h.ctr.diff.Apply({ diff: dockerTar, mounts: [], payloads: {} })).applied).toMatchObject({
      size: String(plain.length + 512),
    })
    const zstd = await blob(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]), 'application/vnd.oci.image.layer.v1.tar+zstd')
    const z = await grpcError(h.ctr.diff.Apply({ diff: zstd, mounts: [], payloads: {} }))
    expect(z.code).toBe(Code.UNIMPLEMENTED)
    expect(z.details).toMatch(/zstd layers are not supported by fake-containerd/)
    const text = await blob(Buffer.from('hello'), 'text/plain')
    const t = await grpcError(h.ctr.diff.Apply({ diff: text, mounts: [], payloads: {} }))
    expect([t.code, t.details]).toEqual([Code.UNKNOWN, 'failed to get stream processor for text/plain: no processor for media-type'])
  })

  test('a missing blob, a broken tar and a truncated one fail like containerd', async () => {
    const missing = sha256('missing')
    const nf = await grpcError(h.ctr.diff.Apply({ diff: { media_type: LAYER, digest: missing, size: 1 }, mounts: [], payloads: {} }))
    expect([nf.code, nf.details]).toEqual([Code.NOT_FOUND, `failed to get reader from content store: content digest ${missing}: not found`])
    const garbage = await blob(Buffer.alloc(1024, 7), LAYER)
    const bad = await grpcError(h.ctr.diff.Apply({ diff: garbage, mounts: [], payloads: {} }))
    expect([bad.code, bad.details]).toEqual([Code.UNKNOWN, 'archive/tar: invalid tar header'])
    // A hard link is made in the directory the layer is extracted to: its target must come earlier in the layer.
    const link = await blob(
      tarball([
        { name: 'etc/', type: '5' },
        { name: 'etc/b', type: '1', linkname: 'etc/a' },
      ]),
      LAYER,
    )
    const nolink = await grpcError(h.ctr.diff.Apply({ diff: link, mounts: [], payloads: {} }))
    expect([nolink.code, nolink.details]).toEqual([Code.UNKNOWN, 'link /etc/a /etc/b: no such file or directory'])
    const whiteout = await blob(tarball([{ name: 'etc/.wh..' }]), LAYER)
    const wh = await grpcError(h.ctr.diff.Apply({ diff: whiteout, mounts: [], payloads: {} }))
    expect([wh.code, wh.details]).toEqual([Code.UNKNOWN, 'invalid whiteout name: .wh..: invalid archive'])
    const odd = Buffer.from(tarball([{ name: 'a', data: 'a' }]))
    odd[156] = 'Z'.charCodeAt(0)
    odd.fill(0x20, 148, 156)
    let sum = 0
    for (const b of odd.subarray(0, 512)) sum += b
    odd.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
    const unhandled = await grpcError(h.ctr.diff.Apply({ diff: await blob(odd, LAYER), mounts: [], payloads: {} }))
    expect([unhandled.code, unhandled.details]).toEqual([Code.UNKNOWN, 'unhandled tar header type 90'])
    const cut = await blob(tarball([{ name: 'big', data: 'x'.repeat(2000) }]).subarray(0, 1000), LAYER)
    const eof = await grpcError(h.ctr.diff.Apply({ diff: cut, mounts: [], payloads: {} }))
    expect([eof.code, eof.details]).toEqual([Code.UNKNOWN, 'unexpected EOF'])
  })

  test('with --state the layer is streamed to the layer store: the same errors, the same files, its tar dropped with its snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-diff-state-'))
    const saved = h
    h = await ctrHarness({ state: join(dir, 'state.json') })
    try {
      await h.ctr.leases.Create({ id: 'hold', labels: {} })
      const garbage = await blob(Buffer.alloc(1024, 7), LAYER)
      const bad = await grpcError(h.ctr.diff.Apply({ diff: garbage, mounts: [], payloads: {} }))
      expect([bad.code, bad.details]).toEqual([Code.UNKNOWN, 'archive/tar: invalid tar header'])
      const cutGz = await blob(gzipSync(layer1).subarray(0, 100), LAYER_GZIP)
      const eof = await grpcError(h.ctr.diff.Apply({ diff: cutGz, mounts: [], payloads: {} }))
      expect([eof.code, eof.details]).toEqual([Code.UNKNOWN, 'unexpected EOF'])
      const applied = await unpack('s1', '', await blob(gzipSync(layer1), LAYER_GZIP))
      expect(applied).toEqual({ media_type: LAYER, digest: sha256(layer1), size: String(layer1.length), annotations: {} })
      const tarFile = join(dir, 'state.json.blobs', 'layers', 'sha256', sha256(layer1).slice(7))
      expect(readFileSync(tarFile).equals(layer1)).toBe(true)
      expect(h.fake.node.snapshots.files(ss, 'default', 's1')).toContain('/etc/motd')
      // Nothing but the kept tar is left in the layer store's directory.
      expect(readdirSync(join(dir, 'state.json.blobs', 'layers'))).toEqual(['sha256'])
      await h.ctr.snapshots.Remove({ snapshotter: ss, key: 's1' }, leased)
      expect(existsSync(tarFile)).toBe(false)
      // A blob of several MiB is written to a file as it arrives (in 1 MiB messages, as ctr sends it); committed, that file is the blob.
      const big = gzipSync(tarball([{ name: 'big', data: randomBytes(6 << 20) }]))
      const pieces = Array.from({ length: Math.ceil(big.length / (1 << 20)) }, (_, i) => i << 20)
      const written = await writeSession(
        h.ctr,
        [
          ...pieces.map((offset) => ({ action: 'WRITE' as const, ref: 'big', offset, data: big.subarray(offset, offset + (1 << 20)) })),
          { action: 'COMMIT' as const, ref: 'big', offset: big.length, total: big.length, expected: sha256(big), labels: {} },
        ],
        leased,
      )
      expect(written.error).toBeUndefined()
      expect(sha256(await readAll(h.ctr, sha256(big)))).toBe(sha256(big))
      const abandoned = await writeSession(h.ctr, [
        ...[0, 1, 2, 3, 4].map((i) => ({ action: 'WRITE' as const, ref: 'abandoned', offset: i << 20, data: randomBytes(1 << 20) })),
      ])
      expect(abandoned.error).toBeUndefined()
      await h.ctr.content.Abort({ ref: 'abandoned' })
      expect(readdirSync(join(dir, 'state.json.blobs')).filter((f) => f.startsWith('.tmp'))).toEqual([])
    } finally {
      await h.close()
      h = saved
    }
  })

  test('mounts that are not a snapshot of this server: the descriptor is returned, nothing is recorded', async () => {
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'untouched', parent: '', labels: {} }, leased)
    const desc = await blob(gzipSync(layer1), LAYER_GZIP)
    const { applied } = await h.ctr.diff.Apply({ diff: desc, mounts: [{ type: 'bind', source: '/tmp', options: ['rbind'] }], payloads: {} })
    expect(applied!.digest).toBe(sha256(layer1))
    expect(await h.ctr.snapshots.Usage({ snapshotter: ss, key: 'untouched' })).toEqual({ size: '0', inodes: '0' })
  })
})

describe('Diff', () => {
  test('writes an empty layer, gzip by default, labelled with its uncompressed digest, held by the lease', async () => {
    const { mounts } = await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'upper', parent: '', labels: {} }, leased)
    const { diff } = await h.ctr.diff.Diff({ left: [], right: mounts, media_type: '', ref: '', labels: { mine: 'yes' } }, leased)
    expect(diff).toMatchObject({ media_type: LAYER_GZIP })
    const bytes = await readAll(h.ctr, diff!.digest)
    expect(sha256(bytes)).toBe(diff!.digest)
    expect(String(bytes.length)).toBe(diff!.size)
    const tar = gunzipSync(bytes)
    expect(tar.equals(Buffer.alloc(1024))).toBe(true)
    expect((await h.ctr.content.Info({ digest: diff!.digest })).info!.labels).toEqual({
      mine: 'yes',
      'containerd.io/uncompressed': sha256(tar),
    })
    const { resources } = await h.ctr.leases.ListResources({ id: 'hold' })
    expect(resources).toContainEqual({ id: diff!.digest, type: 'content' })
  })

  test('an uncompressed diff; the same diff twice; zstd and unknown media types', async () => {
    const { diff } = await h.ctr.diff.Diff({ left: [], right: [], media_type: LAYER, ref: 'my-diff', labels: {} }, leased)
    expect(diff).toEqual({ media_type: LAYER, digest: sha256(Buffer.alloc(1024)), size: '1024', annotations: {} })
    const again = await h.ctr.diff.Diff({ left: [], right: [], media_type: LAYER, ref: 'my-diff', labels: {} }, leased)
    expect(again.diff).toEqual(diff)
    const zstd = await grpcError(h.ctr.diff.Diff({ left: [], right: [], media_type: 'application/vnd.oci.image.layer.v1.tar+zstd' }))
    expect(zstd.code).toBe(Code.UNIMPLEMENTED)
    const odd = await grpcError(h.ctr.diff.Diff({ left: [], right: [], media_type: 'text/plain' }))
    expect([odd.code, odd.details]).toEqual([Code.UNIMPLEMENTED, 'unsupported diff media type: text/plain: not implemented'])
  })
})
