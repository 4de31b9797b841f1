// A bind mount of a host directory or file (a CRI Mount's host_path). Reads go through to the host.
// A writable bind mount writes to the host path, as a real runtime's would: this is the only place
// a simulated process writes to the host, and only under a host path a client asked to mount
// writable. Symlinks inside the mount are not followed here: the container filesystem resolves them
// inside the container's root, as the kernel would; the host path itself is resolved on the host
// (realpath) when the mount is made, as runc does with a mount source. A private mount (CRI's
// default) does not see what the host mounts under it later; rslave and rshared ones do.
import * as fs from 'node:fs'
import type { Attrs, Backend, Entry } from './backend.js'
import { unescapeMountField } from './mount-escape.js'
import { FsError, type FsErrorCode } from './types.js'

const CODES: readonly FsErrorCode[] = [
  'ENOENT',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'ENOTEMPTY',
  'EACCES',
  'EROFS',
  'EINVAL',
  'ELOOP',
  'EBUSY',
  'EPERM',
]

/** Host errors in the container's words (a host errno the simulator has no word for is EINVAL). */
function translate(err: unknown, path: string): never {
  const code = (err as { code?: string }).code
  throw new FsError(CODES.find((c) => c === code) ?? (code === 'EXDEV' ? 'EBUSY' : 'EINVAL'), path)
}

function attempt<T>(path: string, f: () => T): T {
  try {
    return f()
  } catch (err) {
    return translate(err, path)
  }
}

/** A mount of the host's, as /proc/self/mountinfo lists it. */
export interface HostMount {
  mountPoint: string
  fstype: string
  source: string
  readonly: boolean
  /** Its per-mount options without rw/ro ("relatime", "nosuid,nodev"). */
  options: string
}

/** The host's mounts in the order they were made (octal escapes decoded); none where mountinfo cannot be read. */
function hostMounts(): HostMount[] {
  let text: string
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return []
  }
  const out: HostMount[] = []
  for (const line of text.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    const fields = line.split(' ')
    const dash = fields.indexOf('-')
    const mountPoint = fields[4]
    if (mountPoint === undefined || dash === -1) continue
    const options = (fields[5] ?? '').split(',')
    out.push({
      mountPoint: unescapeMountField(mountPoint),
      fstype: fields[dash + 1] ?? '',
      source: unescapeMountField(fields[dash + 2] ?? ''),
      readonly: options.includes('ro'),
      options: options.filter((o) => o !== 'ro' && o !== 'rw').join(','),
    })
  }
  return out
}

const hostMountPoints = (): string[] => hostMounts().map((m) => m.mountPoint)

/**
 * The host mounts strictly under a host directory (symlinks resolved), outermost first: what a
 * recursive bind of it (CRI's rbind) takes along as its submounts. The last of two at one path wins.
 */
export function hostSubmounts(root: string): HostMount[] {
  const byPoint = new Map<string, HostMount>()
  for (const m of hostMounts()) {
    if (m.mountPoint === root || (root !== '/' && !m.mountPoint.startsWith(`${root}/`))) continue
    byPoint.delete(m.mountPoint)
    byPoint.set(m.mountPoint, m)
  }
  return [...byPoint.values()].sort((a, b) => a.mountPoint.split('/').length - b.mountPoint.split('/').length)
}

/**
 * The host mounts under a host path (symlinks resolved) now: what a recursive bind of it made now
 * takes along, and all a private one ever shows (MountInput.submounts). None when it is not there.
 */
export function submountsOf(hostPath: string): HostMount[] {
  let root: string
  try {
    root = fs.realpathSync(hostPath)
  } catch {
    return []
  }
  return hostSubmounts(root)
}

export class HostBind implements Backend {
  /** The host path (symlinks resolved), or undefined when it does not exist. */
  readonly root: string | undefined
  /**
   * A private mount (CRI's default propagation) does not receive the host's later mounts: the
   * mount points under it that were there when it was made. Undefined: host mounts show through
   * (rslave, rshared).
   */
  readonly #initialMounts: Set<string> | undefined

  /** `initial`: the host's mounts under it when it was mounted (the container started); read now when not given. */
  constructor(
    readonly hostPath: string,
    readonly propagation: 'private' | 'receive' = 'receive',
    initial?: readonly HostMount[],
  ) {
    try {
      this.root = fs.realpathSync(hostPath)
    } catch {
      this.root = undefined
    }
    if (propagation === 'private' && this.root !== undefined)
      this.#initialMounts = new Set(initial ? initial.map((m) => m.mountPoint).filter((p) => this.#isUnder(p)) : this.#mountsUnder())
  }

  #isUnder(p: string): boolean {
    const root = this.root as string
    return p !== root && (root === '/' || p.startsWith(`${root}/`))
  }

  #mountsUnder(): string[] {
    return hostMountPoints().filter((p) => this.#isUnder(p))
  }

  /**
   * What a private mount shows of a host path that a later host mount covers: the mount point as
   * the empty directory it was (what is beneath a mount cannot be read), nothing below it.
   */
  #hidden(abs: string): 'mountpoint' | 'below' | undefined {
    if (this.#initialMounts === undefined) return undefined
    // Read each time (a few KB): a cached copy would make what the container sees depend on timing.
    for (const p of this.#mountsUnder()) {
      if (this.#initialMounts.has(p)) continue
      if (abs === p) return 'mountpoint'
      if (abs.startsWith(`${p}/`)) return 'below'
    }
    return undefined
  }

  /** The host path of a backend path; never outside the mounted path (paths here are normalised). */
  #abs(p: string): string {
    if (this.root === undefined) throw new FsError('ENOENT', p)
    if (p.split('/').includes('..')) throw new FsError('EINVAL', p)
    return p === '/' ? this.root : `${this.root === '/' ? '' : this.root}${p}`
  }

  lstat(p: string): Entry | undefined {
    if (this.root === undefined) {
      // A host path that is not there: containerd would make it; the mount point shows an empty directory.
      return p === '/' ? { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 4096, mtimeMs: 0, nlink: 2 } : undefined
    }
    const abs = this.#abs(p)
    const hidden = this.#hidden(abs)
    if (hidden === 'below') return undefined
    if (hidden === 'mountpoint') return { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 4096, mtimeMs: 0, nlink: 2 }
    const st = fs.lstatSync(abs, { throwIfNoEntry: false })
    if (!st) return undefined
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : 'file'
    const entry: Entry = {
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      mtimeMs: st.mtimeMs,
      nlink: st.nlink,
    }
    if (type === 'symlink') entry.target = attempt(p, () => fs.readlinkSync(abs))
    if (type === 'char') {
      entry.rdev = [Math.floor(st.rdev / 256) & 0xfff, st.rdev & 0xff]
      if (st.rdev === 0x103) entry.device = 'null'
    }
    return entry
  }

  readdir(p: string): string[] {
    if (this.root === undefined) return []
    const abs = this.#abs(p)
    const hidden = this.#hidden(abs)
    if (hidden === 'mountpoint') return []
    if (hidden === 'below') throw new FsError('ENOENT', p)
    return attempt(p, () => fs.readdirSync(abs))
  }

  read(p: string): Buffer {
    const abs = this.#abs(p)
    const hidden = this.#hidden(abs)
    if (hidden) throw new FsError(hidden === 'mountpoint' ? 'EISDIR' : 'ENOENT', p)
    return attempt(p, () => fs.readFileSync(abs))
  }

  write(p: string, data: Buffer, append: boolean, attrs: Attrs): void {
    const abs = this.#abs(p)
    attempt(p, () => {
      // O_NOFOLLOW: the container filesystem resolved the path; a symlink put there since is not followed.
      const flags =
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | (append ? fs.constants.O_APPEND : fs.constants.O_TRUNC)
      const fd = fs.openSync(abs, flags, attrs.mode)
      try {
        fs.writeSync(fd, data)
      } finally {
        fs.closeSync(fd)
      }
    })
  }

  mkdir(p: string, attrs: Attrs): void {
    attempt(p, () => fs.mkdirSync(this.#abs(p), { mode: attrs.mode }))
  }

  symlink(target: string, p: string): void {
    attempt(p, () => fs.symlinkSync(target, this.#abs(p)))
  }

  remove(p: string): void {
    const abs = this.#abs(p)
    attempt(p, () => (fs.lstatSync(abs).isDirectory() ? fs.rmdirSync(abs) : fs.unlinkSync(abs)))
  }

  rename(from: string, to: string): void {
    attempt(from, () => fs.renameSync(this.#abs(from), this.#abs(to)))
  }

  setattr(p: string, attrs: { mode?: number; mtimeMs?: number }): void {
    const abs = this.#abs(p)
    attempt(p, () => {
      if (attrs.mode !== undefined) fs.chmodSync(abs, attrs.mode)
      if (attrs.mtimeMs !== undefined) fs.utimesSync(abs, new Date(), new Date(attrs.mtimeMs))
    })
  }
}
