// Bytes by digest: the content store's blobs, and the uncompressed tars of applied layers (the
// layer store, as containerd extracts a layer once). In memory by default; with --state, files in a
// directory next to the state file (<state>.blobs/sha256/<hex>, layers under <state>.blobs/layers/),
// each written atomically. read() takes a range without loading the rest.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { dirname, join } from 'node:path'

export interface BlobStore {
  has(digest: string): boolean
  get(digest: string): Buffer | undefined
  /** Stores a blob: its bytes, or the chunks that make them up (written in order, not joined first). */
  put(digest: string, data: Buffer | readonly Buffer[]): void
  delete(digest: string): void
  /** `length` bytes from `offset` (fewer at the end); throws when the blob is not there. */
  read(digest: string, offset: number, length: number): Buffer
  /** A store of files: where a blob's file is, so it can be streamed rather than loaded. */
  readonly files?: {
    path(digest: string): string
    /** A fresh path in the store's directory to write a blob to before its digest is known. */
    temp(): string
    /** Moves a finished temp file into place as `digest` (dropping it when the blob is there already). */
    adopt(digest: string, temp: string): void
  }
}

export function memoryBlobs(): BlobStore {
  const blobs = new Map<string, Buffer>()
  return {
    has: (d) => blobs.has(d),
    get: (d) => blobs.get(d),
    put: (d, data) => void blobs.set(d, Buffer.isBuffer(data) ? data : Buffer.concat(data)),
    delete: (d) => void blobs.delete(d),
    read: (d, offset, length) => {
      const data = blobs.get(d)
      if (!data) throw new Error(`blob ${d} not found`)
      return data.subarray(offset, offset + length)
    },
  }
}

let temps = 0

/** `length` bytes at `offset` of an open file (fewer at its end). */
export function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let n = 0
  while (n < length) {
    const got = readSync(fd, buf, n, length - n, offset + n)
    if (got === 0) break
    n += got
  }
  return buf.subarray(0, n)
}

/** Forces a file's (or directory's) data to the disk. */
function fsyncFile(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Removes the temp files of writes a crash cut short: `.tmp-<pid>-<n>` ingests in `dir` and
 * `<hex>.tmp-<pid>` blobs in its algorithm directories. Only for a directory no other server uses
 * (the state file's lock says so).
 */
export function removeTemps(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.startsWith('.tmp-')) rmSync(join(dir, entry.name), { force: true })
    if (!entry.isDirectory()) continue
    for (const file of readdirSync(join(dir, entry.name))) {
      if (/\.tmp-\d+$/.test(file)) rmSync(join(dir, entry.name, file), { force: true })
    }
  }
}

/** Blobs as files in `dir`; with `sync` (--state-sync) each is fsynced, with its directory, before it is used. */
export function fileBlobs(dir: string, { sync = false }: { sync?: boolean } = {}): BlobStore {
  /** Moves a written temp file into place, durably with sync. */
  const place = (temp: string, p: string): void => {
    if (sync) fsyncFile(temp)
    renameSync(temp, p)
    if (sync) fsyncFile(dirname(p))
  }
  const path = (digest: string): string => {
    const [alg, hex] = digest.split(':')
    if (!alg || !hex || !/^[a-z0-9]+$/.test(alg) || !/^[a-f0-9]+$/.test(hex)) throw new Error(`invalid digest ${digest}`)
    return join(dir, alg, hex)
  }
  return {
    has: (d) => existsSync(path(d)),
    get: (d) => (existsSync(path(d)) ? readFileSync(path(d)) : undefined),
    put: (d, data) => {
      const p = path(d)
      mkdirSync(join(p, '..'), { recursive: true })
      const tmp = `${p}.tmp-${process.pid}`
      const fd = openSync(tmp, 'w')
      try {
        for (const chunk of Buffer.isBuffer(data) ? [data] : data) writeSync(fd, chunk)
      } finally {
        closeSync(fd)
      }
      place(tmp, p)
    },
    delete: (d) => rmSync(path(d), { force: true }),
    files: {
      path,
      temp: () => {
        mkdirSync(dir, { recursive: true })
        return join(dir, `.tmp-${process.pid}-${++temps}`)
      },
      adopt: (d, temp) => {
        const p = path(d)
        if (existsSync(p)) return rmSync(temp, { force: true })
        mkdirSync(join(p, '..'), { recursive: true })
        place(temp, p)
      },
    },
    read: (d, offset, length) => {
      const fd = openSync(path(d), 'r')
      try {
        return readAt(fd, offset, length)
      } finally {
        closeSync(fd)
      }
    },
  }
}
