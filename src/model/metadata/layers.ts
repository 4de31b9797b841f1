// Layer archives as containerd's differ reads them: the media type decides whether the blob is
// decompressed (containerd then detects gzip or zstd from the bytes), a small tar reader lists the
// entries (ustar, GNU long names, pax headers), and indexLayer() makes the layer's index: each
// file's attributes and where its bytes are, whiteouts (.wh.) kept as the layer's deletions so a
// snapshot's files can be composed from its chain of layers (layer-tree.ts).
import { posix } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { LayerEntry, LayerEntryKind } from '../../store/schema.js'
import { RuntimeError, unknown } from '../errors.js'

export const MEDIA_LAYER = 'application/vnd.oci.image.layer.v1.tar'
export const MEDIA_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const MEDIA_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'

const WHITEOUT = '.wh.'
/** The marker that makes its directory opaque (overlayfs hides what the layers below hold in it). */
export const OPAQUE = '.wh..wh..opq'

/** How containerd's images.DiffCompression treats a media type: decompress (detecting the format), read as is, or refuse. */
function diffCompression(mediaType: string): 'detect' | 'none' | undefined {
  const [base = '', ...ext] = mediaType.split('+')
  ext.sort()
  switch (base) {
    case 'application/vnd.docker.image.rootfs.diff.tar':
    case 'application/vnd.docker.image.rootfs.foreign.diff.tar':
    case 'application/vnd.docker.image.rootfs.diff.tar.gzip':
    case 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip':
    case 'application/vnd.docker.image.rootfs.diff.tar.zstd':
      // A wrapped type (an extension) is passed through; the rest may be compressed.
      return ext.length > 0 ? 'none' : 'detect'
    case MEDIA_LAYER:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar': {
      const last = ext[ext.length - 1]
      return last === 'gzip' || last === 'zstd' ? 'detect' : 'none'
    }
    default:
      return undefined
  }
}

const isGzip = (b: Buffer): boolean => b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08
const isZstd = (b: Buffer): boolean => {
  if (b.length < 4) return false
  const magic = b.readUInt32LE(0)
  return magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50
}

/**
 * How a layer blob is read, from its media type and first bytes, as containerd's stream processors
 * decide: gunzipped, or as it is; zstd and unknown media types are refused.
 */
export function layerCompression(head: Buffer, mediaType: string): 'gzip' | 'none' {
  const mode = diffCompression(mediaType)
  if (mode === undefined) throw unknown(`failed to get stream processor for ${mediaType}: no processor for media-type`)
  if (mode === 'none') return 'none'
  if (isZstd(head)) {
    throw new RuntimeError(
      'Unimplemented',
      `zstd layers are not supported by fake-containerd (Node's zlib has no zstd): ${mediaType}: not implemented`,
    )
  }
  return isGzip(head) ? 'gzip' : 'none'
}

/** A zlib error as containerd's gzip reader reports it. */
export function gzipError(err: unknown): RuntimeError {
  const code = (err as { code?: string }).code
  if (code === 'Z_BUF_ERROR') return unknown('unexpected EOF')
  return unknown(`gzip: ${(err as Error).message}`)
}

/** The uncompressed tar stream of a layer blob, as containerd's stream processors produce it. */
export function uncompressedLayer(blob: Buffer, mediaType: string): Buffer {
  if (layerCompression(blob.subarray(0, 4), mediaType) === 'none') return blob
  try {
    return gunzipSync(blob)
  } catch (err) {
    throw gzipError(err)
  }
}

/** Compresses a tar stream for a diff media type (Diff.Diff); zstd cannot be written here. */
export function compressLayer(tar: Buffer, mediaType: string): Buffer {
  if (mediaType === MEDIA_LAYER) return tar
  if (mediaType === MEDIA_LAYER_GZIP) return gzipSync(tar)
  if (mediaType === MEDIA_LAYER_ZSTD) {
    throw new RuntimeError('Unimplemented', `zstd layers are not supported by fake-containerd (Node's zlib has no zstd): not implemented`)
  }
  throw new RuntimeError('Unimplemented', `unsupported diff media type: ${mediaType}: not implemented`)
}

/** An empty layer: the end-of-archive marker Go's tar writer closes with. */
export const EMPTY_TAR = Buffer.alloc(1024)

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo'

export interface TarEntry {
  /** Absolute, cleaned path inside the layer ("/etc/passwd"). */
  path: string
  type: EntryType
  size: number
  /** Permission bits with set-user-ID, set-group-ID and sticky (the header's mode & 07777). */
  mode: number
  uid: number
  gid: number
  mtimeMs: number
  linkname: string
  /** Where a regular file's bytes start in the tar stream. */
  offset: number
  /** A device's numbers. */
  devmajor: number
  devminor: number
}

const invalidHeader = (): RuntimeError => unknown('archive/tar: invalid tar header')
const unexpectedEof = (): RuntimeError => unknown('unexpected EOF')

/** A NUL-terminated string field. */
function str(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length)
  const nul = field.indexOf(0)
  return (nul === -1 ? field : field.subarray(0, nul)).toString('utf8')
}

/** An octal (or GNU base-256) numeric field. */
function num(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length)
  if (length > 0 && ((field[0] as number) & 0x80) !== 0) {
    // base-256: big-endian two's complement, the top bit of the first byte marking the format
    let value = (field[0] as number) & 0x7f
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number)
    return value
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim()
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw invalidHeader()
  return parseInt(text, 8)
}

function checksumOk(block: Buffer): boolean {
  const stored = num(block, 148, 8)
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number)
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  return stored === unsigned || stored === signed
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
/** A pax record's integer (size, uid, gid): decimal digits and a safe integer, else Go's invalid header. */
function paxInt(text: string, signed: boolean): number {
  if (!(signed ? /^[+-]?\d+$/ : /^\+?\d+$/).test(text)) throw invalidHeader()
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw invalidHeader()
  return value
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let pos = 0
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos)
    if (space === -1) throw invalidHeader()
    const length = Number(data.subarray(pos, space).toString('latin1'))
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) throw invalidHeader()
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq === -1) throw invalidHeader()
    out[record.slice(0, eq)] = record.slice(eq + 1)
    pos += length
  }
  return out
}

/** The types containerd's createTarFile makes (Go's reader turns GNU sparse 'S' files into regular ones). */
const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  S: 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
}

/** Cleans a member name to an absolute path, as containerd's archive.Apply does (filepath.Clean under the root). */
export function cleanPath(name: string): string {
  const p = posix.normalize(`/${name}`)
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p
}

/** A tar stream to read from: its size and a range reader (a Buffer, or a file read a piece at a time). */
export interface TarSource {
  readonly size: number
  read(offset: number, length: number): Buffer
}

const bufferSource = (data: Buffer): TarSource => ({ size: data.length, read: (o, n) => data.subarray(o, o + n) })

/** Lists a tar stream's entries, reading only headers (and GNU long names, pax records). Errors carry Go's archive/tar wording. */
export function readTar(input: Buffer | TarSource): TarEntry[] {
  const src = Buffer.isBuffer(input) ? bufferSource(input) : input
  const data = { length: src.size, subarray: (from: number, to: number): Buffer => src.read(from, to - from) }
  const entries: TarEntry[] = []
  let pos = 0
  let longName: string | undefined
  let longLink: string | undefined
  let pax: Record<string, string> = {}
  for (;;) {
    if (pos === data.length) break // EOF at a block boundary ends the archive, as Go's reader allows
    if (pos + 512 > data.length) throw unexpectedEof()
    const block = data.subarray(pos, pos + 512)
    pos += 512
    if (block.every((b) => b === 0)) {
      if (pos === data.length) break
      if (pos + 512 > data.length) throw unexpectedEof()
      if (data.subarray(pos, pos + 512).every((b) => b === 0)) break
      throw invalidHeader()
    }
    if (!checksumOk(block)) throw invalidHeader()
    const typeflag = String.fromCharCode(block[156] as number)
    const magic = block.subarray(257, 263).toString('latin1')
    const ustar = magic === 'ustar\0'
    let size = num(block, 124, 12)
    // A pax size is a decimal count (Go parses it with strconv.ParseInt and refuses a negative one): anything
    // else, which could step the reader backwards, is Go's invalid header.
    if (pax.size !== undefined) size = paxInt(pax.size, false)
    const dataStart = pos
    const dataEnd = dataStart + size
    if (dataEnd > data.length) throw unexpectedEof()
    pos = dataStart + Math.ceil(size / 512) * 512
    const body = (): Buffer => data.subarray(dataStart, dataEnd)
    switch (typeflag) {
      case 'L': {
        const b = body()
        longName = str(b, 0, b.length)
        continue
      }
      case 'K': {
        const b = body()
        longLink = str(b, 0, b.length)
        continue
      }
      case 'x':
        pax = { ...pax, ...paxRecords(body()) }
        continue
      case 'g':
        // Global pax headers are skipped by containerd's archive.Apply.
        continue
    }
    let name = str(block, 0, 100)
    if (ustar) {
      const prefix = str(block, 345, 155)
      if (prefix !== '') name = `${prefix}/${name}`
    }
    if (longName !== undefined) name = longName
    if (pax.path !== undefined) name = pax.path
    let linkname = str(block, 157, 100)
    if (longLink !== undefined) linkname = longLink
    if (pax.linkpath !== undefined) linkname = pax.linkpath
    const header = pax
    longName = undefined
    longLink = undefined
    pax = {}
    const type = TYPES[typeflag]
    // What containerd's createTarFile refuses (after Go's reader has parsed the header).
    if (type === undefined) throw unknown(`unhandled tar header type ${block[156] as number}`)
    const path = cleanPath(name)
    if (path === '/') continue
    const mtime = header.mtime !== undefined ? Number(header.mtime) : num(block, 136, 12)
    entries.push({
      path,
      type,
      size: type === 'file' ? size : 0,
      mode: num(block, 100, 8) & 0o7777,
      uid: header.uid !== undefined ? paxInt(header.uid, true) : num(block, 108, 8),
      gid: header.gid !== undefined ? paxInt(header.gid, true) : num(block, 116, 8),
      mtimeMs: Number.isFinite(mtime) ? Math.round(mtime * 1000) : 0,
      linkname,
      offset: dataStart,
      devmajor: ustar || magic === 'ustar ' ? num(block, 329, 8) : 0,
      devminor: ustar || magic === 'ustar ' ? num(block, 337, 8) : 0,
    })
  }
  return entries
}

/** A layer's index (store/schema.ts LayerEntry) and the bytes its regular files hold (Usage). */
export interface LayerIndex {
  entries: LayerEntry[]
  bytes: number
}

const KINDS: Readonly<Record<EntryType, LayerEntryKind>> = {
  file: 'f',
  dir: 'd',
  symlink: 'l',
  hardlink: 'h',
  char: 'c',
  block: 'b',
  fifo: 'p',
}

/**
 * Indexes a layer's tar entries as containerd's archive.Apply applies them: `.wh.<name>` removes
 * <name> (a name that leaves its directory is "invalid whiteout name"), `.wh..wh..opq` makes its
 * directory opaque, other `.wh..wh.` names are metadata and not unpacked; a later entry for a
 * path replaces an earlier one.
 */
export function indexLayer(entries: readonly TarEntry[]): LayerIndex {
  const out: LayerEntry[] = []
  let bytes = 0
  // What the layer has unpacked so far: a hard link's target must be one of them, as containerd
  // links within the directory it extracts to (an overlay snapshot's upper directory).
  const unpacked = new Set<string>()
  for (const e of entries) {
    const base = posix.basename(e.path)
    const dir = posix.dirname(e.path)
    if (base === OPAQUE) {
      out.push([dir, 'o', 0, 0, 0, 0, 0])
      continue
    }
    if (base.startsWith(WHITEOUT)) {
      const target = posix.join(dir, base.slice(WHITEOUT.length))
      if (!target.startsWith(dir === '/' ? '/' : `${dir}/`) || target === dir)
        throw unknown(`invalid whiteout name: ${base}: invalid archive`)
      if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) continue
      out.push([target, 'w', 0, 0, 0, 0, 0])
      continue
    }
    if (e.type === 'hardlink') {
      const target = cleanPath(e.linkname)
      if (!unpacked.has(target)) throw unknown(`link ${target} ${e.path}: no such file or directory`)
    }
    unpacked.add(e.path)
    const kind = KINDS[e.type]
    const where =
      e.type === 'file' ? e.offset : e.type === 'symlink' ? e.linkname : e.type === 'hardlink' ? cleanPath(e.linkname) : undefined
    const size = e.type === 'file' ? e.size : e.type === 'char' || e.type === 'block' ? e.devmajor * 2 ** 20 + e.devminor : 0
    out.push(
      where === undefined
        ? [e.path, kind, e.mode, e.uid, e.gid, e.mtimeMs, size]
        : [e.path, kind, e.mode, e.uid, e.gid, e.mtimeMs, size, where],
    )
    bytes += e.type === 'file' ? e.size : 0
  }
  return { entries: out, bytes }
}
