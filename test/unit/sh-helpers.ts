// Test helpers for the shell: a tiny in-memory Fs (not the real container filesystem), a process
// table over SimProcesses, and a harness that runs a script as a SimProcess and collects its output.
import type { Clock } from '../../src/sim/clock.js'
import { realClock } from '../../src/sim/clock.js'
import type { Identity, Input, ProcessInfo, ProcessTable, SpawnedProcess } from '../../src/sim/context.js'
import { FsError, resolvePath, type FileStat, type Fs } from '../../src/sim/fs/types.js'
import type { Net } from '../../src/sim/net.js'
import type { Kernel } from '../../src/sim/kernel.js'
import { SimProcess, type ExitInfo } from '../../src/sim/process.js'
import { argvProgram } from '../../src/sim/shell/index.js'

interface Node {
  type: 'file' | 'dir' | 'symlink' | 'char'
  mode: number
  uid: number
  gid: number
  data: Buffer
  target?: string
  mtimeMs: number
}

export type FileSpec = string | { content?: string; mode?: number; uid?: number; gid?: number; symlink?: string; dir?: boolean }

/** An in-memory filesystem: files, directories, symlinks, and read-only prefixes (EROFS). */
export class MemFs implements Fs {
  nodes = new Map<string, Node>()
  readOnly: string[] = []
  #time = 1_700_000_000_000

  constructor(files: Record<string, FileSpec> = {}) {
    this.nodes.set('/', this.#node('dir', 0o755))
    for (const [path, spec] of Object.entries(files)) this.add(path, spec)
  }

  #node(type: Node['type'], mode: number, data = Buffer.alloc(0)): Node {
    return { type, mode, uid: 0, gid: 0, data, mtimeMs: this.#time++ }
  }

  add(path: string, spec: FileSpec): void {
    const parts = path.split('/').filter(Boolean)
    for (let i = 1; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`
      if (!this.nodes.has(dir)) this.nodes.set(dir, this.#node('dir', 0o755))
    }
    if (typeof spec === 'string') {
      this.nodes.set(path, this.#node('file', 0o644, Buffer.from(spec)))
      return
    }
    const node =
      spec.symlink !== undefined
        ? this.#node('symlink', 0o777)
        : spec.dir
          ? this.#node('dir', spec.mode ?? 0o755)
          : this.#node('file', spec.mode ?? 0o644, Buffer.from(spec.content ?? ''))
    if (spec.symlink !== undefined) node.target = spec.symlink
    node.uid = spec.uid ?? 0
    node.gid = spec.gid ?? 0
    this.nodes.set(path, node)
  }

  text(path: string): string | undefined {
    return this.nodes.get(path)?.data.toString('utf8')
  }

  #resolve(path: string, followLast: boolean, depth = 0): string {
    if (depth > 20) throw new FsError('ELOOP', path)
    const parts = path.split('/').filter(Boolean)
    let cur = '/'
    for (let i = 0; i < parts.length; i++) {
      const next = resolvePath(cur, parts[i] as string)
      const node = this.nodes.get(next)
      const last = i === parts.length - 1
      if (node?.type === 'symlink' && (!last || followLast)) {
        cur = this.#resolve(resolvePath(cur, node.target as string), true, depth + 1)
      } else {
        if (!last && node !== undefined && node.type !== 'dir') throw new FsError('ENOTDIR', path)
        cur = next
      }
    }
    return cur
  }

  #stat(node: Node): FileStat {
    return {
      type: node.type,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      size: node.data.length,
      mtimeMs: node.mtimeMs,
      ...(node.target ? { target: node.target } : {}),
    }
  }

  #checkWritable(path: string): void {
    if (this.readOnly.some((p) => path === p || path.startsWith(`${p === '/' ? '' : p}/`))) throw new FsError('EROFS', path)
  }

  stat(path: string): FileStat | undefined {
    try {
      const node = this.nodes.get(this.#resolve(path, true))
      return node && this.#stat(node)
    } catch {
      return undefined
    }
  }

  lstat(path: string): FileStat | undefined {
    try {
      const node = this.nodes.get(this.#resolve(path, false))
      return node && this.#stat(node)
    } catch {
      return undefined
    }
  }

  readFile(path: string): Buffer {
    const node = this.nodes.get(this.#resolve(path, true))
    if (node === undefined) throw new FsError('ENOENT', path)
    if (node.type === 'dir') throw new FsError('EISDIR', path)
    return node.data
  }

  writeFile(path: string, data: Buffer | string, options: { append?: boolean; mode?: number } = {}): void {
    const real = this.#resolve(path, true)
    this.#checkWritable(real)
    const parent = this.nodes.get(resolvePath(real, '..'))
    if (parent === undefined) throw new FsError('ENOENT', path)
    if (parent.type !== 'dir') throw new FsError('ENOTDIR', path)
    const old = this.nodes.get(real)
    if (old?.type === 'dir') throw new FsError('EISDIR', path)
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    const node = old ?? this.#node('file', options.mode ?? 0o644)
    node.data = options.append && old ? Buffer.concat([old.data, buf]) : buf
    node.mtimeMs = this.#time++
    this.nodes.set(real, node)
  }

  readdir(path: string): string[] {
    const real = this.#resolve(path, true)
    const node = this.nodes.get(real)
    if (node === undefined) throw new FsError('ENOENT', path)
    if (node.type !== 'dir') throw new FsError('ENOTDIR', path)
    const prefix = real === '/' ? '/' : `${real}/`
    return [...this.nodes.keys()]
      .filter((k) => k !== real && k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length))
      .sort()
  }

  mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): void {
    this.#checkWritable(path)
    if (this.nodes.has(path)) {
      if (options.recursive) return
      throw new FsError('EEXIST', path)
    }
    if (options.recursive) (this.add(`${path}/.x`, 'x'), this.nodes.delete(`${path}/.x`))
    else {
      if (!this.nodes.has(resolvePath(path, '..'))) throw new FsError('ENOENT', path)
      this.nodes.set(path, this.#node('dir', options.mode ?? 0o755))
    }
  }

  rm(path: string, options: { recursive?: boolean } = {}): void {
    this.#checkWritable(path)
    if (!this.nodes.has(path)) throw new FsError('ENOENT', path)
    const children = [...this.nodes.keys()].filter((k) => k.startsWith(`${path}/`))
    if (children.length > 0 && !options.recursive) throw new FsError('ENOTEMPTY', path)
    for (const k of children) this.nodes.delete(k)
    this.nodes.delete(path)
  }

  rename(from: string, to: string): void {
    const node = this.nodes.get(from)
    if (node === undefined) throw new FsError('ENOENT', from)
    this.nodes.delete(from)
    this.nodes.set(to, node)
  }

  symlink(target: string, path: string): void {
    const node = this.#node('symlink', 0o777)
    node.target = target
    this.nodes.set(path, node)
  }

  readlink(path: string): string {
    const node = this.nodes.get(path)
    if (node?.type !== 'symlink') throw new FsError('EINVAL', path)
    return node.target as string
  }

  realpath(path: string): string {
    const real = this.#resolve(path, true)
    if (!this.nodes.has(real)) throw new FsError('ENOENT', path)
    return real
  }
}

/** A process table over SimProcesses, with the optional spawn hook when `withSpawn`. */
export class FakeTable implements ProcessTable {
  procs = new Map<number, { info: ProcessInfo; kill: (signo: number) => boolean }>()
  nextPid = 100
  spawn?: ProcessTable['spawn']

  constructor(withSpawn = false) {
    if (withSpawn) {
      this.spawn = (child): SpawnedProcess => {
        const pid = this.nextPid++
        const info: ProcessInfo = { pid, ppid: child.ppid, user: 'root', args: [...child.args] }
        this.procs.set(pid, { info, kill: child.signal })
        return { pid, setArgs: (args) => (info.args = [...args]), exit: () => this.procs.delete(pid) }
      }
    }
  }

  add(proc: SimProcess, args: readonly string[], ppid = 0, user = 'root'): void {
    this.procs.set(proc.pid, { info: { pid: proc.pid, ppid, user, args: [...args] }, kill: (s) => proc.kill(s) })
    void proc.exited.then(() => this.procs.delete(proc.pid))
  }

  list(): ProcessInfo[] {
    return [...this.procs.values()].map((p) => p.info).sort((a, b) => a.pid - b.pid)
  }

  kill(pid: number, signo: number): boolean {
    return this.procs.get(pid)?.kill(signo) ?? false
  }

  setArgs(pid: number, args: readonly string[]): boolean {
    const p = this.procs.get(pid)
    if (!p) return false
    p.info.comm ??= (p.info.args[0] ?? '').split('/').pop() as string
    p.info.args = [...args]
    return true
  }
}

export interface RunOptions {
  env?: Record<string, string>
  fs?: MemFs
  clock?: Clock
  stdin?: string | Input
  isInit?: boolean
  pid?: number
  identity?: Identity
  hostname?: string
  /** The container's kernel (a ContainerFs's); containerd's defaults when absent. */
  kernel?: Kernel
  table?: FakeTable
  cwd?: string
  /** The network namespace (none when absent). */
  net?: Net
  /** Called with every piece of output as it is written. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void
}

export interface Running {
  proc: SimProcess
  out: { stdout: string; stderr: string }
  fs: MemFs
  table: FakeTable
  exited: Promise<ExitInfo>
}

export const root: Identity = { uid: 0, gid: 0, groups: [0, 10], user: 'root', group: 'root' }

/** Starts argv as a SimProcess with a shell context. */
export function startArgv(argv: string[], o: RunOptions = {}): Running {
  const fs = o.fs ?? new MemFs()
  const table = o.table ?? new FakeTable()
  const out = { stdout: '', stderr: '' }
  const stdin: Input | undefined =
    typeof o.stdin === 'string'
      ? (() => {
          let done = false
          const text = o.stdin as string
          return { read: async () => (done ? undefined : ((done = true), text)), readAll: async () => (done ? '' : ((done = true), text)) }
        })()
      : o.stdin
  const pid = o.pid ?? 1
  const proc = new SimProcess({
    pid,
    program: argvProgram(argv, {
      fs,
      identity: o.identity ?? root,
      hostname: o.hostname ?? 'testhost',
      ...(o.kernel ? { kernel: o.kernel } : {}),
      processes: table,
      cwd: o.cwd ?? '/',
      ...(stdin ? { stdin } : {}),
      ...(o.net ? { net: o.net } : {}),
      pid,
      isInit: o.isInit ?? false,
    }),
    args: argv,
    env: o.env ?? { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' },
    clock: o.clock ?? realClock,
    isInit: o.isInit ?? false,
    onOutput: (s, t) => {
      out[s] += t
      o.onOutput?.(s, t)
    },
  })
  table.add(proc, argv)
  proc.start()
  return { proc, out, fs, table, exited: proc.exited }
}

export function start(script: string, o: RunOptions = {}): Running {
  return startArgv(['sh', '-c', script], o)
}

/** Runs a script to its end: its output and exit code. */
export async function sh(script: string, o: RunOptions = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  const r = start(script, o)
  const exit = await r.exited
  return { ...r.out, code: exit.code }
}

/** Resolves once `cond` holds, checking after each turn of the event loop (no timing assumptions). */
export async function until(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition not reached')
}
