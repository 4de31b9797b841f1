// The filesystem a simulated process sees: its container's root (image layers, a writable layer,
// bind mounts, synthesized /etc and /proc). Commands and the shell's redirections use only this
// interface. Paths are absolute and normalised by the caller (see resolvePath).

import type { BinaryInfo } from '../binary.js'

export type FileType = 'file' | 'dir' | 'symlink' | 'char'

export interface FileStat {
  type: FileType
  /** Permission bits (e.g. 0o644). */
  mode: number
  uid: number
  gid: number
  size: number
  mtimeMs: number
  /** For a symlink (from lstat): where it points. */
  target?: string
  /** Hard links (a directory: 2 + its subdirectories); 1 when not given. */
  nlink?: number
  /** For a character device: its major and minor numbers. */
  rdev?: [number, number]
}

/** errno-style codes; `message` is what a busybox command prints after "cmd: ". */
export type FsErrorCode =
  | 'ENOENT'
  | 'EEXIST'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ENOTEMPTY'
  | 'EACCES'
  | 'EROFS'
  | 'EINVAL'
  | 'ELOOP'
  /** A mount point cannot be removed or renamed. */
  | 'EBUSY'
  /** chmod and utimes by someone who does not own the file; a call a seccomp filter refuses. */
  | 'EPERM'
  /** A writable layer or tmpfs that is full. */
  | 'ENOSPC'
  /** A call a seccomp filter answers with ENOSYS. */
  | 'ENOSYS'

export class FsError extends Error {
  constructor(
    readonly code: FsErrorCode,
    readonly path: string,
  ) {
    super(`${path}: ${FS_MESSAGES[code]}`)
  }
}

export const FS_MESSAGES: Readonly<Record<FsErrorCode, string>> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOTEMPTY: 'Directory not empty',
  EACCES: 'Permission denied',
  EROFS: 'Read-only file system',
  EINVAL: 'Invalid argument',
  ELOOP: 'Symbolic link loop',
  EBUSY: 'Resource busy',
  EPERM: 'Operation not permitted',
  ENOSPC: 'No space left on device',
  ENOSYS: 'Function not implemented',
}

/** errno numbers of the codes; any other errno reads as EPERM here. */
const ERRNO_CODES: Readonly<Record<number, FsErrorCode>> = {
  1: 'EPERM',
  2: 'ENOENT',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  30: 'EROFS',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  40: 'ELOOP',
}

export const errnoCode = (errno: number): FsErrorCode => ERRNO_CODES[errno] ?? 'EPERM'

export interface Fs {
  /** Follows symlinks; undefined when nothing is there. */
  stat(path: string): FileStat | undefined
  /** Does not follow a final symlink. */
  lstat(path: string): FileStat | undefined
  /** Throws FsError (ENOENT, EISDIR, …). */
  readFile(path: string): Buffer
  /**
   * Optional: what a file's bytes say it runs (src/sim/binary.ts), symlinks followed, without the
   * read permission (exec needs none); remembered per file so a large binary is read once.
   */
  inspect?(path: string): BinaryInfo
  /** Creates or replaces (or appends to) a file; throws FsError (EROFS on a read-only root or mount, …). */
  writeFile(path: string, data: Buffer | string, options?: { append?: boolean; mode?: number }): void
  /** Names in a directory, sorted. */
  readdir(path: string): string[]
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): void
  /** Removes a file, symlink or (with recursive, or when empty) a directory. */
  rm(path: string, options?: { recursive?: boolean }): void
  rename(from: string, to: string): void
  symlink(target: string, path: string): void
  readlink(path: string): string
  /** The path with every symlink resolved. */
  realpath(path: string): string
  /** Sets the permission bits (follows symlinks); the owner or a root with CAP_FOWNER only (EPERM). */
  chmod?(path: string, mode: number): void
  /**
   * mount(2) in the container's mount namespace: a bind of one of its paths, or a new tmpfs
   * (EPERM without CAP_SYS_ADMIN); absent where the filesystem has no mounts.
   */
  mount?(o: { source: string; target: string; type: 'bind' | 'tmpfs'; readonly: boolean }): void
  /** umount(2): EINVAL when nothing is mounted at `target`. */
  umount?(target: string): void
  /** Sets the modification time (follows symlinks), as touch does. */
  utimes?(path: string, mtimeMs: number): void
  /**
   * Optional: memoises `compute`, a pure function of this filesystem as this process sees it (a
   * PATH search), until the filesystem changes. `key` names the question.
   */
  memo?<T>(key: string, compute: () => T): T
  /** Optional: the filesystem as the same process sees it with other credentials (after a set-user-ID exec). */
  as?(identity: { uid: number; gid: number; groups: readonly number[] }): Fs
}

/** Joins a path to a working directory and normalises it ("." and ".." resolved, no trailing slash). */
export function resolvePath(cwd: string, path: string): string {
  const parts: string[] = []
  for (const part of (path.startsWith('/') ? path : `${cwd}/${path}`).split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return `/${parts.join('/')}`
}
