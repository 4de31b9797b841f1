// What a mount is made of. A backend stores entries under its own root ("/" and "/a/b", already
// normalised, no symlinks resolved); the container filesystem (container-fs.ts) resolves paths,
// symlinks, mounts and permissions and then asks the backend that holds a path. Backends: an
// in-memory tree (tmpfs, and the layers of the overlay root; mem.ts), the overlay itself, the
// host directory or file of a bind mount (host.ts), and /proc (procfs.ts).
import type { BinaryInfo } from '../binary.js'
import type { FileStat } from './types.js'
import { FsError } from './types.js'

/** Character devices the simulator gives meaning to. */
export type DeviceKind = 'null' | 'zero' | 'full' | 'random' | 'urandom' | 'tty' | 'stdin' | 'stdout' | 'stderr'

/** What a backend holds at a path: its stat, and for a device what the simulator makes of it. */
export interface Entry extends FileStat {
  device?: DeviceKind
}

/** Who creates an entry, with what permission bits, when. */
export interface Attrs {
  mode: number
  uid: number
  gid: number
  mtimeMs: number
}

export interface Backend {
  /** The entry at p; `links` asks for a directory's nlink too (it costs a scan of its children). */
  lstat(p: string, links?: boolean): Entry | undefined
  /** Names in a directory (unsorted is fine). */
  readdir(p: string): string[]
  read(p: string): Buffer
  /** Optional: inspectBinary of a file, remembered per file (in-memory trees). */
  inspect?(p: string): BinaryInfo
  /** Replaces (or appends to) a file, creating it with `attrs` when it is not there. */
  write(p: string, data: Buffer, append: boolean, attrs: Attrs): void
  mkdir(p: string, attrs: Attrs): void
  symlink(target: string, p: string, attrs: Attrs): void
  /** Removes one entry: a file, a symlink, a device or an empty directory. */
  remove(p: string): void
  /** Moves an entry (a whole directory tree) within this backend; `to` is absent or already removed. */
  rename(from: string, to: string): void
  setattr(p: string, attrs: { mode?: number; mtimeMs?: number }): void
}

export const parentOf = (p: string): string => {
  const i = p.lastIndexOf('/')
  return i <= 0 ? '/' : p.slice(0, i)
}

export const baseOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1)

export const joinPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`)

/** True when `p` is `dir` or below it. */
/** A path's components, without empty ones ("/a//b/" is a, b). */
export const pathParts = (p: string): string[] => p.split('/').filter((s) => s !== '')

export const isUnder = (p: string, dir: string): boolean => dir === '/' || p === dir || p.startsWith(`${dir}/`)

/** The path of `p` relative to `dir` (p under dir), as a backend path ("/" for dir itself). */
export const relativeTo = (p: string, dir: string): string => (dir === '/' ? p : p === dir ? '/' : p.slice(dir.length))

export const fail = (code: ConstructorParameters<typeof FsError>[0], path: string): never => {
  throw new FsError(code, path)
}
