// A container's filesystem: the overlay root (image layers under a writable layer), the mounts a
// runtime adds (/proc, /dev, /dev/shm, /sys, the pod's /etc/hostname, /etc/hosts and
// /etc/resolv.conf, the CRI mounts as host bind mounts), then runc's read-only and masked paths.
// Paths resolve as the kernel resolves them: component by component, symlinks followed inside the
// container's root (an absolute target starts again at the container's "/"), at most 40 links
// (ELOOP), each directory searched with the caller's permissions. One ContainerFs per container,
// shared by its processes; view() gives the Fs one process sees (its /proc/self, its identity).
import { randomBytes } from 'node:crypto'
import { inspectBinary, type BinaryInfo } from '../binary.js'
import type { Identity } from '../context.js'
import { SyscallKilled, type Kernel } from '../kernel.js'
import type { Stream } from '../process.js'
import { SeccompFilter, defaultProfile, type SeccompProfile } from '../seccomp.js'
import type { Attrs, Backend, Entry } from './backend.js'
import { baseOf, isUnder, joinPath, parentOf, pathParts } from './backend.js'
import type { ContainerFsInput, MountEntry } from './container-types.js'
import { buildMountTable, mountAt, mountEntry, pathInMount, setWithParents } from './mount-table.js'
import { HostBind } from './host.js'
import { DEFAULT_APPLETS, imageLayer } from './image.js'
import { MemLayer, Overlay, Tmpfs, bytesOf, dirNode, fileNode, type Change } from './mem.js'
import { DEFAULT_SYSCTLS, ProcFs, sysctlPath, type ProcCaller, type ProcessEntry } from './procfs.js'
import {
  CAP,
  capabilitySets,
  hasCap,
  processCapabilities,
  seccompChoice,
  type CapabilitySets,
  type SecurityContextInput,
} from './security.js'
import { escapeMountField } from './mount-escape.js'
import { mountsMiss, type ReadPaths } from './shared.js'
import type { FileStat, Fs, FsErrorCode } from './types.js'
import { FsError, errnoCode } from './types.js'
import { addMissingIds, containerGroups, containerIdentity, type ContainerUser } from './users.js'

export type { ContainerFsInput, MountEntry, MountInput } from './container-types.js'

/** The process an Fs view acts for. */
export interface FsCaller {
  pid: number
  uid?: number
  gid?: number
  groups?: readonly number[]
  args?: readonly string[]
  /** Where writes to /dev/stdout and /dev/stderr go. */
  output?: (stream: Stream, text: string) => void
}

/** A process as the filesystem checks it: its ids, effective capabilities and seccomp filter. */
export interface Caller extends ProcCaller {
  caps: bigint
  /** The container's filter, for a process's view; the runtime's own reads (ContainerFs's methods) have none. */
  seccomp?: SeccompFilter | undefined
  output?: (stream: Stream, text: string) => void
}

interface Resolved {
  /** The container path, symlinks resolved (the final one only when followed). */
  path: string
  mount: MountEntry
  rel: string
  entry: Entry | undefined
}

const R = 4
const W = 2
const X = 1
const UMASK = 0o022
const MAX_LINKS = 40
/** What reading an endless device (/dev/zero, /dev/urandom) gives in one read. */
export const DEVICE_READ_BYTES = 65536

const toStat = (e: Entry): FileStat => ({
  type: e.type,
  mode: e.mode,
  uid: e.uid,
  gid: e.gid,
  size: e.size,
  mtimeMs: e.mtimeMs,
  nlink: e.nlink ?? 1,
  ...(e.target !== undefined ? { target: e.target } : {}),
  ...(e.rdev ? { rdev: e.rdev } : {}),
})

export class ContainerFs implements Fs {
  readonly mounts: MountEntry[] = []
  readonly overlay: Overlay
  readonly capabilities: CapabilitySets
  /** What the kernel decides for the container's processes: capabilities, no_new_privs, seccomp, the UTS namespace. */
  readonly kernel: Kernel
  readonly sysctls = new Map<string, string>()
  readonly user: ContainerUser
  readonly now: () => number
  readonly #processes: () => readonly ProcessEntry[]
  readonly #init: Caller
  #current: Caller
  /** The root mount's backend: the overlay, or a host directory the spec names (hostRootfs). */
  #root: Backend
  #groupText = ''
  /** Which mount each path resolved so far is on (the mount table is fixed once built). */
  readonly #mountOf = new Map<string, MountEntry>()
  /** Bumped by every change made through this filesystem; memoFor() answers are kept for one generation. */
  #generation = 0
  /** It started with a writable layer saved before. */
  readonly #loaded: boolean
  /** When it was made: the times of what the runtime added (ContainerFsInput.madeAtMs). */
  readonly madeAtMs: number
  /** Set when a lookup reads a mount other than the overlay root (see memoFor()). */
  #volatile = false
  readonly #memo = new Map<string, { generation: number; value: unknown }>()
  /** While shared() computes: the paths read. */
  #reading: ReadPaths | undefined
  /** shared()'s answers, with the paths each read; null: the answer read a mount other than the root. */
  readonly #shared = new Map<string, { value: unknown; read: ReadPaths } | null>()

  constructor(input: ContainerFsInput) {
    this.now = input.now ?? Date.now
    const t = input.madeAtMs ?? this.now()
    this.madeAtMs = t
    this.#loaded = input.writable !== undefined
    const sc = input.security ?? null
    this.user = input.user
    this.#processes = input.processes ?? (() => [])
    this.capabilities = input.capabilities ?? capabilitySets(sc)
    this.kernel = {
      capabilities: this.capabilities,
      noNewPrivs: input.noNewPrivs ?? sc?.no_new_privs === true,
      seccomp: seccompFilter(sc, input.seccomp, this.capabilities.bounding),
      uts: input.uts ?? { hostname: input.hostname },
      net: input.net ?? { addresses: input.podIp ? [input.podIp] : [], bridges: new Map() },
    }

    // The root: the image's layer, a layer of what the runtime adds to it (users, mount points), a writable layer.
    const image = imageLayer(input.image, input.applets ?? DEFAULT_APPLETS)
    const runtime = new MemLayer()
    this.overlay = new Overlay([runtime, image], this.now)
    this.#root = this.overlay
    if (input.writable) this.overlay.load(input.writable)
    const text = (p: string): string => {
      const node = image.get(p)
      return node?.type === 'file' ? bytesOf(node).toString('utf8') : ''
    }
    const files = addMissingIds(text('/etc/passwd'), text('/etc/group'), input.user)
    this.#groupText = files.group
    setWithParents(runtime, [image], '/etc/passwd', fileNode(files.passwd, 0o644, t))
    setWithParents(runtime, [image], '/etc/group', fileNode(files.group, 0o644, t))

    if (input.hostRootfs !== undefined) {
      this.#root = new HostBind(input.hostRootfs)
      this.#groupText = hostText(this.#root, '/etc/group')
    }
    for (const [name, value] of Object.entries({
      ...DEFAULT_SYSCTLS,
      'kernel.hostname': input.hostname,
      'kernel.domainname': '(none)',
      ...input.sysctls,
    })) {
      this.sysctls.set(sysctlPath(name), value)
    }
    // /proc reads the filesystem's state as it is when read: the caller, the process table, the mounts.
    const proc = new ProcFs({
      caller: () => this.#current,
      processes: () => this.#processes(),
      defaultGroups: (uid, gid) => this.#defaultGroups(uid, gid),
      capabilities: this.capabilities,
      noNewPrivs: this.kernel.noNewPrivs,
      seccomp: this.kernel.seccomp ? 2 : 0,
      uts: this.kernel.uts,
      mounts: () => this.procMounts(),
      sysctls: this.sysctls,
      now: this.now,
      bootTimeMs: input.bootTimeMs ?? t - 3_600_000,
      ...(input.procNet ? { net: input.procNet } : {}),
      ...(input.sysvipc ? { sysvipc: input.sysvipc } : {}),
    })
    this.mounts.push(...buildMountTable({ input, root: this.#root, overlay: this.overlay, image, runtime, proc, now: this.now, t }))
    this.#mountOf.clear()

    const groups = containerGroups(this.#groupText, input.user, this.#userName(input.user.uid) ?? input.user.username)
    this.#init = this.#caller({ pid: 1, uid: input.user.uid, gid: input.user.gid, groups })
    this.#current = this.#init
  }

  #mount(m: Omit<MountEntry, 'root'> & { root?: string }): void {
    this.mounts.push(mountEntry(m))
    this.#mountOf.clear()
  }

  #userName(uid: number): string | undefined {
    const passwd = this.#root === this.overlay ? this.overlay.read('/etc/passwd').toString('utf8') : hostText(this.#root, '/etc/passwd')
    for (const line of passwd.split('\n')) {
      const f = line.split(':')
      if (f[2] === String(uid)) return f[0]
    }
    return undefined
  }

  #defaultGroups(uid: number, gid: number): readonly number[] {
    return uid === this.user.uid && gid === this.user.gid ? this.#init.groups : [gid]
  }

  #caller(c: FsCaller): Caller {
    // The process table is asked only for what the caller does not say (listing it can be long).
    const told = c.uid !== undefined && c.gid !== undefined && c.groups !== undefined && c.args !== undefined
    const entry = told ? undefined : this.#processes().find((p) => p.pid === c.pid)
    const uid = c.uid ?? entry?.uid ?? this.user.uid
    const gid = c.gid ?? entry?.gid ?? this.user.gid
    const groups = c.groups ?? entry?.groups ?? (this.#init ? this.#defaultGroups(uid, gid) : [gid])
    return {
      pid: c.pid,
      uid,
      gid,
      groups,
      args: c.args ?? entry?.args ?? [],
      caps: processCapabilities(this.capabilities, uid).effective,
      ...(c.output ? { output: c.output } : {}),
    }
  }

  /**
   * Nothing was ever changed through it (no write, mount, chmod, sysctl; no saved layer loaded): the
   * same input (madeAtMs included) builds it again as it is, so an idle container need not keep it.
   */
  get pristine(): boolean {
    return this.#generation === 0 && !this.#loaded
  }

  /** The filesystem as one process sees it: its /proc/self, its identity for permissions, its stdout. */
  view(caller: FsCaller): Fs {
    const c = this.#caller(caller)
    return new FsView(this, { ...c, seccomp: this.kernel.seccomp })
  }

  /** The identity of the container's processes, with names from its /etc/passwd and /etc/group. */
  identity(): Identity {
    // Asked at every process start: /etc/passwd and /etc/group are parsed again only after a change.
    return this.memoFor(this.#init, 'identity', () => containerIdentity(this, this.user))
  }

  /** memoFor() as the container's init process (what the runtime reads: model/runtime/views.ts read()). */
  memo<T>(key: string, compute: () => T): T {
    return this.memoFor(this.#init, key, compute)
  }

  /** What the container changed in its writable layer. */
  changes(): Change[] {
    return this.overlay.changes()
  }

  /** /proc/mounts. */
  procMounts(): string {
    const esc = escapeMountField
    return this.mounts.map((m) => `${esc(m.source)} ${esc(m.target)} ${m.fstype} ${m.readonly ? 'ro' : 'rw'},${m.options} 0 0\n`).join('')
  }

  // ---- the Fs interface, as the container's init process ----

  stat(path: string): FileStat | undefined {
    return this.run(this.#init, (c) => this.doStat(path, true, c))
  }
  lstat(path: string): FileStat | undefined {
    return this.run(this.#init, (c) => this.doStat(path, false, c))
  }
  readFile(path: string): Buffer {
    return this.run(this.#init, (c) => this.doReadFile(path, c))
  }
  inspect(path: string): BinaryInfo {
    return this.run(this.#init, (c) => this.doInspect(path, c))
  }
  writeFile(path: string, data: Buffer | string, options?: { append?: boolean; mode?: number }): void {
    this.run(this.#init, (c) => this.doWriteFile(path, data, options ?? {}, c))
  }
  readdir(path: string): string[] {
    return this.run(this.#init, (c) => this.doReaddir(path, c))
  }
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): void {
    this.run(this.#init, (c) => this.doMkdir(path, options ?? {}, c))
  }
  rm(path: string, options?: { recursive?: boolean }): void {
    this.run(this.#init, (c) => this.doRm(path, options?.recursive === true, c))
  }
  rename(from: string, to: string): void {
    this.run(this.#init, (c) => this.doRename(from, to, c))
  }
  symlink(target: string, path: string): void {
    this.run(this.#init, (c) => this.doSymlink(target, path, c))
  }
  readlink(path: string): string {
    return this.run(this.#init, (c) => this.doReadlink(path, c))
  }
  realpath(path: string): string {
    return this.run(this.#init, (c) => this.doRealpath(path, c))
  }
  chmod(path: string, mode: number): void {
    this.run(this.#init, (c) => this.doChmod(path, mode, c))
  }
  utimes(path: string, mtimeMs: number): void {
    this.run(this.#init, (c) => this.doUtimes(path, mtimeMs, c))
  }

  /**
   * Memoises `compute`, a function of what the caller sees of the filesystem (a PATH search), until
   * the next change through this filesystem. Only an answer read from the container's own root
   * (the overlay) is kept: other mounts can change behind its back (a host bind mount, the pod's
   * shared files, /proc).
   */
  memoFor<T>(c: Caller, key: string, compute: () => T): T {
    const full = `${c.uid}:${c.gid}:${c.groups.join(',')}\0${key}`
    const hit = this.#memo.get(full)
    if (hit && hit.generation === this.#generation) return hit.value as T
    const outer = this.#volatile
    this.#volatile = false
    try {
      const value = this.run(c, compute)
      if (!this.#volatile) {
        if (this.#memo.size >= 1024) this.#memo.clear()
        this.#memo.set(full, { generation: this.#generation, value })
      }
      return value
    } finally {
      this.#volatile = outer || this.#volatile
    }
  }

  /**
   * `compute`'s answer as `caller` sees this filesystem (its init process when undefined), for any
   * container this one stands for (sim/fs/shared.ts): kept with the paths it read, and given when
   * `fits` them. Undefined when it does not fit, or read a mount other than the root (/proc, the
   * pod's files: not the same for another container), or changed something.
   */
  shared<T>(
    caller: FsCaller | undefined,
    key: string,
    fits: (read: ReadPaths) => boolean,
    compute: (fs: Fs) => T,
  ): { value: T } | undefined {
    const who = caller ?? this.#init
    const full = `${who.uid ?? ''}:${who.gid ?? ''}:${who.groups?.join(',') ?? ''}:${caller ? 'view' : 'init'}\0${key}`
    let kept = this.#shared.get(full)
    if (kept === undefined) {
      const c = caller ? { ...this.#caller(caller), seccomp: this.kernel.seccomp } : this.#init
      const outer = { reading: this.#reading, volatile: this.#volatile }
      const read: ReadPaths = { paths: new Map(), listed: new Set() }
      const generation = this.#generation
      this.#reading = read
      this.#volatile = false
      try {
        const value = this.run(c, () => compute(caller ? new FsView(this, c) : this))
        kept = this.#volatile || this.#generation !== generation ? null : { value, read }
      } finally {
        this.#reading = outer.reading
        this.#volatile = outer.volatile || this.#volatile
      }
      if (this.#shared.size >= 1024) this.#shared.clear()
      this.#shared.set(full, kept)
    }
    return kept && fits(kept.read) ? { value: kept.value as T } : undefined
  }

  /** Runs one operation for a caller (whose /proc/self /proc shows while it runs; operations are synchronous). */
  run<T>(c: Caller, f: (c: Caller) => T): T {
    const before = this.#current
    this.#current = c
    try {
      return f(c)
    } finally {
      this.#current = before
    }
  }

  // ---- resolution ----

  #mountFor(path: string, except?: MountEntry): MountEntry {
    const cached = except ? undefined : this.#mountOf.get(path)
    if (cached) return cached
    const best = mountAt(this.mounts, path, except)
    if (!except) {
      if (this.#mountOf.size >= 4096) this.#mountOf.clear()
      this.#mountOf.set(path, best)
    }
    return best
  }

  #rel(m: MountEntry, path: string): string {
    return pathInMount(m, path)
  }

  #lookup(path: string): Omit<Resolved, 'path'> {
    const mount = this.#mountFor(path)
    if (mount.backend !== this.overlay) this.#volatile = true
    const rel = this.#rel(mount, path)
    const entry = mount.backend.lstat(rel)
    if (this.#reading && !this.#reading.paths.get(path)) this.#reading.paths.set(path, entry?.type === 'dir')
    return { mount, rel, entry }
  }

  #resolve(input: string, follow: boolean, c: Caller): Resolved {
    const r = this.#walk(input, follow, c)
    if (typeof r === 'string') throw new FsError(r, input)
    return r
  }

  /** Resolves a path, or tells why it cannot be (without throwing: a PATH search stats many missing paths). */
  #walk(input: string, follow: boolean, c: Caller): Resolved | FsErrorCode {
    let todo = pathParts(input)
    let cur = '/'
    let links = 0
    while (todo.length > 0) {
      const name = todo.shift() as string
      if (name === '.') continue
      const here = this.#lookup(cur).entry
      if (!here) return 'ENOENT'
      if (here.type !== 'dir') return 'ENOTDIR'
      if (!this.#may(here, X, c)) return 'EACCES'
      if (name === '..') {
        cur = parentOf(cur)
        continue
      }
      const next = joinPath(cur, name)
      const found = this.#lookup(next).entry
      if (found?.type === 'symlink' && (todo.length > 0 || follow)) {
        if (++links > MAX_LINKS) return 'ELOOP'
        const target = found.target ?? ''
        if (target === '') return 'ENOENT'
        todo = [...pathParts(target), ...todo]
        if (target.startsWith('/')) cur = '/'
        continue
      }
      if (!found && todo.length > 0) return 'ENOENT'
      cur = next
    }
    return { path: cur, ...this.#lookup(cur) }
  }

  #may(e: Entry, want: number, c: Caller): boolean {
    if (hasCap(c.caps, CAP.DAC_OVERRIDE)) {
      if ((want & X) === 0 || e.type === 'dir' || (e.mode & 0o111) !== 0) return true
    }
    if (hasCap(c.caps, CAP.DAC_READ_SEARCH) && (want & W) === 0 && (want === R || e.type === 'dir')) return true
    const bits = e.uid === c.uid ? (e.mode >> 6) & 7 : e.gid === c.gid || c.groups.includes(e.gid) ? (e.mode >> 3) & 7 : e.mode & 7
    return (bits & want) === want
  }

  /** Permission to add or remove `name` in the directory `dir` (write and search; the sticky bit's owner rule). */
  #mayChange(dirPath: string, victim: Entry | undefined, c: Caller, path: string): void {
    const dir = this.#lookup(dirPath).entry
    if (!dir) throw new FsError('ENOENT', path)
    if (!this.#may(dir, W | X, c)) throw new FsError('EACCES', path)
    if (victim && (dir.mode & 0o1000) !== 0 && victim.uid !== c.uid && dir.uid !== c.uid && !hasCap(c.caps, CAP.FOWNER))
      throw new FsError('EACCES', path)
  }

  /**
   * The system call an operation makes, as the caller's seccomp filter sees it (before any other
   * check, as the kernel does). Each libc names some calls differently (musl's chmod, glibc's
   * fchmodat): a filter that refuses any of the names refuses the operation.
   */
  #sys(c: Caller, names: readonly string[], path: string): void {
    if (!c.seccomp) return
    for (const name of names) {
      const v = c.seccomp.check(name)
      if (v.action === 'kill') throw new SyscallKilled(name)
      if (v.action === 'errno') throw new FsError(errnoCode(v.errno), path)
    }
  }

  #writable(r: { mount: MountEntry }, path: string): void {
    if (r.mount.readonly) throw new FsError('EROFS', path)
  }

  #isMountPoint(path: string): boolean {
    return path !== '/' && this.mounts.some((m) => m.target === path)
  }

  #attrs(c: Caller, mode: number, parentPath: string): Attrs {
    const parent = this.#lookup(parentPath).entry
    const gid = parent && (parent.mode & 0o2000) !== 0 ? parent.gid : c.gid
    return { mode: mode & ~UMASK & 0o7777, uid: c.uid, gid, mtimeMs: this.now() }
  }

  /** Runs a backend call; its errors name the container path. */
  #call<T>(path: string, f: () => T): T {
    try {
      return f()
    } catch (err) {
      if (err instanceof FsError) throw new FsError(err.code, path)
      throw err
    }
  }

  // ---- operations ----

  doStat(path: string, follow: boolean, c: Caller): FileStat | undefined {
    const r = this.#walk(path, follow, c)
    if (typeof r === 'string') return undefined
    const entry = r.entry?.type === 'dir' ? r.mount.backend.lstat(r.rel, true) : r.entry
    return entry ? toStat(entry) : undefined
  }

  doReadFile(path: string, c: Caller): Buffer {
    this.#sys(c, OPEN, path)
    const r = this.#resolve(path, true, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    if (r.entry.type === 'dir') throw new FsError('EISDIR', path)
    if (!this.#may(r.entry, R, c)) throw new FsError('EACCES', path)
    if (r.entry.type === 'char') {
      switch (r.entry.device) {
        case 'zero':
        case 'full':
          return Buffer.alloc(DEVICE_READ_BYTES)
        case 'random':
        case 'urandom':
          return randomBytes(DEVICE_READ_BYTES)
        default:
          return Buffer.alloc(0)
      }
    }
    return this.#call(path, () => r.mount.backend.read(r.rel))
  }

  doInspect(path: string, c: Caller): BinaryInfo {
    const r = this.#resolve(path, true, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    if (r.entry.type !== 'file') return inspectBinary(Buffer.alloc(0))
    const backend = r.mount.backend
    return this.#call(path, () => (backend.inspect ? backend.inspect(r.rel) : inspectBinary(backend.read(r.rel))))
  }

  doWriteFile(path: string, data: Buffer | string, options: { append?: boolean; mode?: number }, c: Caller): void {
    this.#generation++
    this.#sys(c, OPEN, path)
    const r = this.#resolve(path, true, c)
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    if (r.entry) {
      if (r.entry.type === 'dir') throw new FsError('EISDIR', path)
      if (r.entry.type === 'char') {
        // A device node writes to the device, whatever the filesystem it sits on.
        if (!this.#may(r.entry, W, c)) throw new FsError('EACCES', path)
        if (r.entry.device === 'stdout' || r.entry.device === 'stderr') c.output?.(r.entry.device, buf.toString('utf8'))
        return
      }
      this.#writable(r, path)
      if (!this.#may(r.entry, W, c)) throw new FsError('EACCES', path)
    } else {
      this.#writable(r, path)
      this.#mayChange(parentOf(r.path), undefined, c, path)
    }
    const attrs = this.#attrs(c, options.mode ?? 0o666, parentOf(r.path))
    this.#call(path, () => r.mount.backend.write(r.rel, buf, options.append === true, attrs))
  }

  doReaddir(path: string, c: Caller): string[] {
    const r = this.#resolve(path, true, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    if (r.entry.type !== 'dir') throw new FsError('ENOTDIR', path)
    if (!this.#may(r.entry, R, c)) throw new FsError('EACCES', path)
    this.#reading?.listed.add(r.path)
    return this.#names(r)
  }

  #names(r: Resolved): string[] {
    const names = new Set(this.#call(r.path, () => r.mount.backend.readdir(r.rel)))
    for (const m of this.mounts) if (m.target !== '/' && parentOf(m.target) === r.path) names.add(baseOf(m.target))
    return [...names].sort()
  }

  doMkdir(path: string, options: { recursive?: boolean; mode?: number }, c: Caller): void {
    this.#generation++
    if (!options.recursive) return this.#mkdirOne(path, options.mode ?? 0o777, c)
    const parts = pathParts(path)
    let cur = ''
    parts.forEach((part, i) => {
      cur = `${cur}/${part}`
      const st = this.doStat(cur, true, c)
      if (st) {
        if (st.type !== 'dir') throw new FsError(i === parts.length - 1 ? 'EEXIST' : 'ENOTDIR', path)
        return
      }
      this.#mkdirOne(cur, options.mode ?? 0o777, c, path)
    })
  }

  #mkdirOne(path: string, mode: number, c: Caller, reported = path): void {
    this.#sys(c, ['mkdir', 'mkdirat'], reported)
    const r = this.#resolve(path, false, c)
    if (r.entry) throw new FsError('EEXIST', reported)
    this.#writable(r, reported)
    this.#mayChange(parentOf(r.path), undefined, c, reported)
    const attrs = this.#attrs(c, mode, parentOf(r.path))
    this.#call(reported, () => r.mount.backend.mkdir(r.rel, attrs))
  }

  doRm(path: string, recursive: boolean, c: Caller): void {
    this.#generation++
    const r = this.#resolve(path, false, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    this.#sys(c, r.entry.type === 'dir' ? ['rmdir', 'unlinkat'] : ['unlink', 'unlinkat'], path)
    if (r.path === '/' || this.#isMountPoint(r.path)) throw new FsError('EBUSY', path)
    this.#writable(r, path)
    if (r.entry.type === 'dir') {
      const names = this.#names(r)
      if (names.length > 0 && !recursive) throw new FsError('ENOTEMPTY', path)
      if (names.length > 0 && !this.#may(r.entry, R | W | X, c)) throw new FsError('EACCES', path)
      for (const name of names) this.doRm(joinPath(r.path, name), true, c)
    }
    this.#mayChange(parentOf(r.path), r.entry, c, path)
    this.#call(path, () => r.mount.backend.remove(r.rel))
  }

  doRename(from: string, to: string, c: Caller): void {
    this.#generation++
    this.#sys(c, ['rename', 'renameat', 'renameat2'], from)
    const a = this.#resolve(from, false, c)
    if (!a.entry) throw new FsError('ENOENT', from)
    const b = this.#resolve(to, false, c)
    if (a.path === b.path) return
    if (isUnder(b.path, a.path)) throw new FsError('EINVAL', to)
    if (this.#isMountPoint(a.path)) throw new FsError('EBUSY', from)
    if (this.#isMountPoint(b.path)) throw new FsError('EBUSY', to)
    this.#writable(a, from)
    this.#writable(b, to)
    this.#mayChange(parentOf(a.path), a.entry, c, from)
    this.#mayChange(parentOf(b.path), b.entry, c, to)
    if (b.entry) {
      if (a.entry.type === 'dir') {
        if (b.entry.type !== 'dir') throw new FsError('ENOTDIR', to)
        if (this.#names(b).length > 0) throw new FsError('ENOTEMPTY', to)
      } else if (b.entry.type === 'dir') throw new FsError('EISDIR', to)
      this.#call(to, () => b.mount.backend.remove(b.rel))
    }
    if (a.mount.backend === b.mount.backend) {
      this.#call(from, () => a.mount.backend.rename(a.rel, b.rel))
      return
    }
    // Across mounts rename(2) fails with EXDEV and mv copies; here the copy is made and the source removed.
    this.#copyTree(a.path, b.path, c)
    this.#removeTree(a.path)
  }

  #copyTree(from: string, to: string, c: Caller): void {
    const src = this.#lookup(from)
    const dst = this.#lookup(to)
    const e = src.entry
    if (!e) return
    const attrs: Attrs = { mode: e.mode, uid: c.uid, gid: c.gid, mtimeMs: e.mtimeMs }
    if (e.type === 'dir') {
      this.#call(to, () => dst.mount.backend.mkdir(dst.rel, attrs))
      for (const name of this.#names({ path: from, ...src })) this.#copyTree(joinPath(from, name), joinPath(to, name), c)
    } else if (e.type === 'symlink') {
      this.#call(to, () => dst.mount.backend.symlink(e.target ?? '', dst.rel, attrs))
    } else {
      const data = e.type === 'file' ? this.#call(from, () => src.mount.backend.read(src.rel)) : Buffer.alloc(0)
      this.#call(to, () => dst.mount.backend.write(dst.rel, data, false, attrs))
    }
  }

  #removeTree(path: string): void {
    const r = this.#lookup(path)
    if (r.entry?.type === 'dir') for (const name of this.#names({ path, ...r })) this.#removeTree(joinPath(path, name))
    this.#call(path, () => r.mount.backend.remove(r.rel))
  }

  doSymlink(target: string, path: string, c: Caller): void {
    this.#generation++
    this.#sys(c, ['symlink', 'symlinkat'], path)
    const r = this.#resolve(path, false, c)
    if (r.entry) throw new FsError('EEXIST', path)
    this.#writable(r, path)
    this.#mayChange(parentOf(r.path), undefined, c, path)
    const attrs = this.#attrs(c, 0o777, parentOf(r.path))
    this.#call(path, () => r.mount.backend.symlink(target, r.rel, attrs))
  }

  doReadlink(path: string, c: Caller): string {
    const r = this.#resolve(path, false, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    if (r.entry.type !== 'symlink') throw new FsError('EINVAL', path)
    return r.entry.target ?? ''
  }

  doRealpath(path: string, c: Caller): string {
    const r = this.#resolve(path, true, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    return r.path
  }

  /**
   * mount(2) in the container's mount namespace: a bind of one of its paths (the same backend from
   * that point, as MS_BIND does) or a new tmpfs. Needs CAP_SYS_ADMIN. Nothing reaches the host: a
   * bind under a bidirectional (rshared) mount is not propagated out.
   */
  doMount(o: { source: string; target: string; type: 'bind' | 'tmpfs'; readonly: boolean }, c: Caller): void {
    this.#sys(c, ['mount'], o.target)
    if (!hasCap(c.caps, CAP.SYS_ADMIN)) throw new FsError('EPERM', o.target)
    const target = this.#resolve(o.target, true, c)
    if (!target.entry) throw new FsError('ENOENT', o.target)
    if (o.type === 'tmpfs') {
      this.#mount({
        target: target.path,
        backend: new Tmpfs(dirNode(0o1777, this.now()), this.now),
        readonly: o.readonly,
        fstype: 'tmpfs',
        source: o.source,
        options: 'relatime',
      })
    } else {
      const source = this.#resolve(o.source, true, c)
      if (!source.entry) throw new FsError('ENOENT', o.source)
      if ((source.entry.type === 'dir') !== (target.entry.type === 'dir'))
        throw new FsError(target.entry.type === 'dir' ? 'ENOTDIR' : 'EISDIR', o.target)
      const from = source.mount
      this.#mount({
        target: target.path,
        backend: from.backend,
        root: this.#rel(from, source.path),
        readonly: o.readonly,
        fstype: from.fstype,
        source: from.source,
        options: from.options.replace(/,?(shared|slave)/g, ''),
      })
    }
    this.#generation++
  }

  /** umount(2): the topmost mount at `target` goes (EINVAL when nothing is mounted there). */
  doUmount(target: string, c: Caller): void {
    this.#sys(c, ['umount2'], target)
    if (!hasCap(c.caps, CAP.SYS_ADMIN)) throw new FsError('EPERM', target)
    const path = this.#resolve(target, true, c).path
    const i = this.mounts.findLastIndex((m) => m.target === path)
    if (i <= 0) throw new FsError('EINVAL', target)
    this.mounts.splice(i, 1)
    this.#mountOf.clear()
    this.#generation++
  }

  doChmod(path: string, mode: number, c: Caller): void {
    this.#generation++
    this.#sys(c, ['chmod', 'fchmodat', 'fchmodat2'], path)
    const r = this.#resolve(path, true, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    this.#writable(r, path)
    if (r.entry.uid !== c.uid && !hasCap(c.caps, CAP.FOWNER)) throw new FsError('EPERM', path)
    this.#call(path, () => r.mount.backend.setattr(r.rel, { mode: mode & 0o7777 }))
  }

  doUtimes(path: string, mtimeMs: number, c: Caller): void {
    this.#generation++
    this.#sys(c, ['utimensat'], path)
    const r = this.#resolve(path, true, c)
    if (!r.entry) throw new FsError('ENOENT', path)
    this.#writable(r, path)
    if (r.entry.uid !== c.uid && !hasCap(c.caps, CAP.FOWNER) && !this.#may(r.entry, W, c)) throw new FsError('EACCES', path)
    if (r.entry.type === 'char') return
    this.#call(path, () => r.mount.backend.setattr(r.rel, { mtimeMs }))
  }
}

/** The filesystem one process sees. */
class FsView implements Fs {
  constructor(
    private readonly fs: ContainerFs,
    private readonly c: Caller,
  ) {}

  stat(path: string): FileStat | undefined {
    return this.fs.run(this.c, (c) => this.fs.doStat(path, true, c))
  }
  lstat(path: string): FileStat | undefined {
    return this.fs.run(this.c, (c) => this.fs.doStat(path, false, c))
  }
  readFile(path: string): Buffer {
    return this.fs.run(this.c, (c) => this.fs.doReadFile(path, c))
  }
  inspect(path: string): BinaryInfo {
    return this.fs.run(this.c, (c) => this.fs.doInspect(path, c))
  }
  writeFile(path: string, data: Buffer | string, options?: { append?: boolean; mode?: number }): void {
    this.fs.run(this.c, (c) => this.fs.doWriteFile(path, data, options ?? {}, c))
  }
  readdir(path: string): string[] {
    return this.fs.run(this.c, (c) => this.fs.doReaddir(path, c))
  }
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): void {
    this.fs.run(this.c, (c) => this.fs.doMkdir(path, options ?? {}, c))
  }
  rm(path: string, options?: { recursive?: boolean }): void {
    this.fs.run(this.c, (c) => this.fs.doRm(path, options?.recursive === true, c))
  }
  rename(from: string, to: string): void {
    this.fs.run(this.c, (c) => this.fs.doRename(from, to, c))
  }
  symlink(target: string, path: string): void {
    this.fs.run(this.c, (c) => this.fs.doSymlink(target, path, c))
  }
  readlink(path: string): string {
    return this.fs.run(this.c, (c) => this.fs.doReadlink(path, c))
  }
  realpath(path: string): string {
    return this.fs.run(this.c, (c) => this.fs.doRealpath(path, c))
  }
  chmod(path: string, mode: number): void {
    this.fs.run(this.c, (c) => this.fs.doChmod(path, mode, c))
  }
  utimes(path: string, mtimeMs: number): void {
    this.fs.run(this.c, (c) => this.fs.doUtimes(path, mtimeMs, c))
  }
  mount(o: { source: string; target: string; type: 'bind' | 'tmpfs'; readonly: boolean }): void {
    this.fs.run(this.c, (c) => this.fs.doMount(o, c))
  }
  umount(target: string): void {
    this.fs.run(this.c, (c) => this.fs.doUmount(target, c))
  }
  memo<T>(key: string, compute: () => T): T {
    return this.fs.memoFor(this.c, key, compute)
  }
  as(identity: { uid: number; gid: number; groups: readonly number[] }): Fs {
    const { pid, args, output } = this.c
    return this.fs.view({ pid, args, uid: identity.uid, gid: identity.gid, groups: identity.groups, ...(output ? { output } : {}) })
  }
}

/** The view that stands in for a container's own (sim/fs/shared.ts), and the targets of the container's own mounts. */
export interface SharedView {
  readonly fs: ContainerFs
  readonly targets: readonly string[]
}

/**
 * The filesystem one process sees, through whichever ContainerFs `current` gives at each call: a
 * container's views keep an unchanged ContainerFs only while it is in use (model/runtime/views.ts),
 * so a long-lived process (a sleep) must not hold one, or what it wrote would go to a copy nobody reads.
 * `shared` gives, while the container has no view of its own, the view that stands in for it: what
 * memo() computes (a PATH search) is asked of that one first (sim/fs/shared.ts).
 */
export function followingView(current: () => ContainerFs, caller: FsCaller, shared?: () => SharedView | undefined): Fs {
  return new FollowingView(current, caller, shared)
}

/** followingView's Fs: one object per process (its methods on the prototype), as a sleeping process has one. */
class FollowingView implements Fs {
  // Weakly: the view this process has of a ContainerFs lives as long as the ContainerFs is kept.
  #views: WeakMap<ContainerFs, Fs> | undefined
  /** While a memo() is computed on the shared view: that view, read instead of the container's own. */
  #standIn: ContainerFs | undefined

  constructor(
    private readonly current: () => ContainerFs,
    private readonly caller: FsCaller,
    private readonly sharedView?: () => SharedView | undefined,
  ) {}

  #v(): Fs {
    const fs = this.#standIn ?? this.current()
    this.#views ??= new WeakMap()
    let view = this.#views.get(fs)
    if (!view) this.#views.set(fs, (view = fs.view(this.caller)))
    return view
  }

  stat(path: string): FileStat | undefined {
    return this.#v().stat(path)
  }
  lstat(path: string): FileStat | undefined {
    return this.#v().lstat(path)
  }
  readFile(path: string): Buffer {
    return this.#v().readFile(path)
  }
  inspect(path: string): BinaryInfo {
    return (this.#v() as FsView).inspect(path)
  }
  writeFile(path: string, data: Buffer | string, options?: { append?: boolean; mode?: number }): void {
    this.#v().writeFile(path, data, options)
  }
  readdir(path: string): string[] {
    return this.#v().readdir(path)
  }
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): void {
    this.#v().mkdir(path, options)
  }
  rm(path: string, options?: { recursive?: boolean }): void {
    this.#v().rm(path, options)
  }
  rename(from: string, to: string): void {
    this.#v().rename(from, to)
  }
  symlink(target: string, path: string): void {
    this.#v().symlink(target, path)
  }
  readlink(path: string): string {
    return this.#v().readlink(path)
  }
  realpath(path: string): string {
    return this.#v().realpath(path)
  }
  chmod(path: string, mode: number): void {
    ;(this.#v() as FsView).chmod(path, mode)
  }
  utimes(path: string, mtimeMs: number): void {
    ;(this.#v() as FsView).utimes(path, mtimeMs)
  }
  mount(o: { source: string; target: string; type: 'bind' | 'tmpfs'; readonly: boolean }): void {
    ;(this.#v() as FsView).mount(o)
  }
  umount(target: string): void {
    ;(this.#v() as FsView).umount(target)
  }
  memo<T>(key: string, compute: () => T): T {
    const shared = this.#standIn ? undefined : this.sharedView?.()
    if (shared) {
      const answer = shared.fs.shared(
        this.caller,
        key,
        (read) => mountsMiss(read, shared.targets),
        () => {
          // compute reads through this view (it was given it): on the shared view while it runs.
          this.#standIn = shared.fs
          try {
            return compute()
          } finally {
            this.#standIn = undefined
          }
        },
      )
      if (answer) return answer.value
    }
    return (this.#v() as FsView).memo(key, compute)
  }
  as(identity: { uid: number; gid: number; groups: readonly number[] }): Fs {
    const { pid, args, output } = this.caller
    return new FollowingView(
      this.current,
      {
        pid,
        ...(args ? { args } : {}),
        uid: identity.uid,
        gid: identity.gid,
        groups: identity.groups,
        ...(output ? { output } : {}),
      },
      this.sharedView,
    )
  }
}

/** Builds a container's filesystem. */
export function createContainerFs(input: ContainerFsInput): ContainerFs {
  return new ContainerFs(input)
}

const OPEN = ['open', 'openat']

/** containerd's default filter for each bounding set (containers with the same capabilities share one). */
const defaultFilters = new Map<string, SeccompFilter>()

/** The seccomp filter of a container's processes (see ContainerFsInput.seccomp); none when privileged. */
function seccompFilter(
  sc: SecurityContextInput | null,
  given: SeccompProfile | null | undefined,
  bounding: readonly string[],
): SeccompFilter | undefined {
  if (sc?.privileged) return undefined
  if (given !== undefined) return given === null ? undefined : new SeccompFilter(given)
  const choice = seccompChoice(sc)
  if (choice.type === 'localhost') return new SeccompFilter({ defaultAction: 'SCMP_ACT_ALLOW' })
  if (choice.type !== 'default') return undefined
  const key = bounding.join(',')
  let filter = defaultFilters.get(key)
  if (!filter) {
    filter = new SeccompFilter(defaultProfile(bounding))
    defaultFilters.set(key, filter)
  }
  return filter
}

/** A text file of a host root ("" when it is not a file there). */
function hostText(root: Backend, p: string): string {
  try {
    return root.lstat(p)?.type === 'file' ? root.read(p).toString('utf8') : ''
  } catch {
    return ''
  }
}
