// The bytes of the content store, by digest. In memory by default; with --state, files in a
// directory next to the state file (<state>.blobs/sha256/<hex>), each written atomically.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface BlobStore {
  has(digest: string): boolean
  get(digest: string): Buffer | undefined
  put(digest: string, data: Buffer): void
  delete(digest: string): void
}

export function memoryBlobs(): BlobStore {
  const blobs = new Map<string, Buffer>()
  return {
    has: (d) => blobs.has(d),
    get: (d) => blobs.get(d),
    put: (d, data) => void blobs.set(d, data),
    delete: (d) => void blobs.delete(d),
  }
}

export function fileBlobs(dir: string): BlobStore {
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
      writeFileSync(tmp, data)
      renameSync(tmp, p)
    },
    delete: (d) => rmSync(path(d), { force: true }),
  }
}
