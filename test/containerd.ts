// Helpers for tests of containerd's own API: a server with typed clients, Content.Write sessions,
// tar archives built by hand, and the envelopes the node publishes.
import { createHash } from 'node:crypto'
import type { ServiceError } from '@grpc/grpc-js'
import { containerdClients, type CallOptions, type ContainerdClients } from '../src/client.js'
import type { WriteContentRequest } from '../src/generated/containerd/services/content/v1/WriteContentRequest.js'
import type { WriteContentResponse__Output } from '../src/generated/containerd/services/content/v1/WriteContentResponse.js'
import type { Envelope } from '../src/model/events.js'
import type { FakeContainerdOptions } from '../src/config.js'
import { startFakeContainerd, type FakeContainerd } from '../src/server.js'
import { imageBlobs } from './oci-layout.mjs'

export interface CtrHarness {
  fake: FakeContainerd
  ctr: ContainerdClients
  /** Clients for another namespace. */
  ns(namespace: string): ContainerdClients
  /** Every containerd event the node published since the start. */
  events: Envelope[]
  close(): Promise<void>
}

export async function ctrHarness(options: FakeContainerdOptions = {}): Promise<CtrHarness> {
  const fake = await startFakeContainerd(options)
  const clients: ContainerdClients[] = []
  const ns = (namespace: string): ContainerdClients => {
    const c = containerdClients(fake.address, namespace)
    clients.push(c)
    return c
  }
  const events: Envelope[] = []
  fake.node.events.envelopes.subscribe((e) => events.push(e))
  return {
    fake,
    ctr: ns('default'),
    ns,
    events,
    close: async () => {
      clients.forEach((c) => c.close())
      await fake.close()
    },
  }
}

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

export interface WriteResult {
  responses: WriteContentResponse__Output[]
  error?: ServiceError
}

/**
 * One Content.Write session: each request is sent after the answer to the one before; then the
 * client ends its side and the rest of the stream (containerd's trailing repeat) is read.
 */
export async function writeSession(ctr: ContainerdClients, requests: WriteContentRequest[], options?: CallOptions): Promise<WriteResult> {
  const call = ctr.content.Write(options)
  const incoming = call[Symbol.asyncIterator]() as AsyncIterator<WriteContentResponse__Output>
  const responses: WriteContentResponse__Output[] = []
  try {
    for (const request of requests) {
      call.write(request)
      const next = await incoming.next()
      if (next.done) return { responses }
      responses.push(next.value)
    }
    call.end()
    for (let next = await incoming.next(); !next.done; next = await incoming.next()) responses.push(next.value)
    return { responses }
  } catch (err) {
    return { responses, error: err as ServiceError }
  }
}

/** Writes a blob the way ctr does (STAT, WRITE, COMMIT with size and digest) and returns its digest. */
export async function upload(
  ctr: ContainerdClients,
  data: Buffer | string,
  opts: { ref?: string; labels?: Record<string, string>; options?: CallOptions } = {},
): Promise<string> {
  const bytes = Buffer.from(data)
  const digest = sha256(bytes)
  const ref = opts.ref ?? `upload-${digest}`
  const { error } = await writeSession(
    ctr,
    [
      { action: 'STAT', ref, total: bytes.length, expected: digest },
      { action: 'WRITE', offset: 0, data: bytes },
      { action: 'COMMIT', offset: bytes.length, total: bytes.length, expected: digest, labels: opts.labels ?? {} },
    ],
    opts.options,
  )
  if (error) throw error
  return digest
}

/** Reads a whole blob through Content.Read. */
export async function readAll(ctr: ContainerdClients, digest: string, offset = 0, size = 0): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const m of ctr.content.Read({ digest, offset, size })) chunks.push(m.data)
  return Buffer.concat(chunks)
}

// A tar writer small enough to trust: ustar headers, GNU long names ('L') and pax records ('x').

export interface TarMember {
  name: string
  /** '0' file (default), '5' directory, '2' symlink, '1' hard link. */
  type?: '0' | '5' | '2' | '1'
  data?: Buffer | string
  linkname?: string
  /** Permission bits (default 0644). */
  mode?: number
  uid?: number
  gid?: number
  /** Modification time, seconds since the epoch (default 0). */
  mtime?: number
  /** How a name longer than 100 bytes is carried. */
  longName?: 'gnu' | 'pax'
}

interface Attributes {
  mode?: number
  uid?: number
  gid?: number
  mtime?: number
}

function header(name: string, size: number, type: string, linkname = '', magic: 'ustar' | 'gnu' = 'ustar', a: Attributes = {}): Buffer {
  const h = Buffer.alloc(512)
  const octal = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0'
  h.write(name, 0, 100, 'utf8')
  h.write(octal(a.mode ?? 0o644, 8), 100, 'latin1')
  h.write(octal(a.uid ?? 0, 8), 108, 'latin1')
  h.write(octal(a.gid ?? 0, 8), 116, 'latin1')
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1')
  h.write(octal(a.mtime ?? 0, 12), 136, 'latin1')
  h.write(type, 156, 'latin1')
  h.write(linkname, 157, 100, 'utf8')
  if (magic === 'ustar') h.write('ustar\x0000', 257, 'latin1')
  else h.write('ustar  \0', 257, 'latin1')
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
  return h
}

const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)])

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let length = body.length + 1
  while (`${length}${body}`.length !== length) length++
  return `${length}${body}`
}

export function tarball(members: TarMember[]): Buffer {
  const parts: Buffer[] = []
  for (const m of members) {
    const type = m.type ?? '0'
    const data = Buffer.from(m.data ?? '')
    let name = m.name
    if (Buffer.byteLength(name) > 100) {
      if (m.longName === 'pax') {
        const records = Buffer.from(paxRecord('path', name))
        parts.push(header('PaxHeaders/x', records.length, 'x'), pad(records))
      } else {
        const long = Buffer.from(`${name}\0`)
        parts.push(header('././@LongLink', long.length, 'L', '', 'gnu'), pad(long))
      }
      name = name.slice(0, 100)
    }
    parts.push(header(name, type === '0' ? data.length : 0, type, m.linkname ?? '', 'ustar', m))
    if (type === '0') parts.push(pad(data))
  }
  parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

/** The payloads of the events on a topic. */
export const payloads = (events: Envelope[], topic: string): Record<string, unknown>[] =>
  events.filter((e) => e.topic === topic).map((e) => e.payload)

/** containerd's chain id of a list of diff ids: the snapshot an unpack commits the top layer as. */
export function chainId(diffIds: readonly string[]): string {
  let chain = ''
  for (const id of diffIds) chain = chain === '' ? id : sha256(`${chain} ${id}`)
  return chain
}

/**
 * Imports an image through containerd's API as ctr's import and unpack do: the gzipped layers,
 * config and manifest into the content store, an image record, then for each layer Prepare, Diff.Apply
 * into its mounts and Commit under its chain id. `layers` are uncompressed tars, lowest first.
 */
export async function importImage(
  ctr: ContainerdClients,
  name: string,
  layers: readonly Buffer[],
  config: Record<string, unknown> = {},
  options?: CallOptions,
): Promise<void> {
  const { diffIds, layers: gz, config: cfg, manifest } = imageBlobs(layers, config)
  for (const blob of [...gz, cfg]) await upload(ctr, blob, options ? { options } : {})
  const manifestDigest = await upload(ctr, manifest, options ? { options } : {})
  await ctr.images.Create(
    {
      image: {
        name,
        labels: {},
        target: {
          media_type: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: {},
        },
      },
    },
    options,
  )
  let parent = ''
  for (let i = 0; i < gz.length; i++) {
    const key = `extract-${i}-${name}`
    const { mounts } = await ctr.snapshots.Prepare({ snapshotter: 'overlayfs', key, parent, labels: {} }, options)
    const blob = gz[i] as Buffer
    await ctr.diff.Apply(
      {
        diff: { media_type: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(blob), size: blob.length },
        mounts,
        payloads: {},
      },
      options,
    )
    const chain = chainId(diffIds.slice(0, i + 1))
    await ctr.snapshots.Commit({ snapshotter: 'overlayfs', name: chain, key, labels: {}, parent: '' }, options)
    parent = chain
  }
}

/** The start of a dynamically linked x86-64 ELF executable: its header and one PT_INTERP program header naming `loader`. */
export function elfAskingFor(loader: string): Buffer {
  const elf = Buffer.alloc(256)
  elf.write('\x7fELF', 0, 'latin1')
  elf[4] = 2 // 64-bit
  elf[5] = 1 // little-endian
  elf[6] = 1
  elf.writeUInt16LE(62, 18) // x86-64
  elf.writeBigUInt64LE(64n, 0x20) // e_phoff
  elf.writeUInt16LE(56, 0x36) // e_phentsize
  elf.writeUInt16LE(1, 0x38) // e_phnum
  elf.writeUInt32LE(3, 64) // PT_INTERP
  elf.writeBigUInt64LE(120n, 64 + 8) // p_offset
  elf.writeBigUInt64LE(BigInt(loader.length + 1), 64 + 32) // p_filesz
  elf.write(`${loader}\0`, 120, 'latin1')
  return elf
}

/** A container's OCI runtime spec as an Any, with a process of `args` and `env`; `extra` adds or replaces top-level fields. */
export const ociSpec = (args: string[], extra: Record<string, unknown> = {}, env: string[] = ['PATH=/bin']) => ({
  type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
  value: Buffer.from(
    JSON.stringify({
      ociVersion: '1.1.0',
      process: { args, env, cwd: '/' },
      linux: { namespaces: [{ type: 'pid' }] },
      ...extra,
    }),
  ),
})

/** An exec's OCI process spec as an Any. */
export const processSpec = (args: string[]) => ({
  type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
  value: Buffer.from(JSON.stringify({ args, env: ['PATH=/bin'], cwd: '/' })),
})
