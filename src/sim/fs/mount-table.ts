// The mount table of a container, as the runtime builds it from the spec: the root (the overlay,
// or a host directory), /proc, /dev and its submounts, /sys and the cgroup tree, the pod's /etc
// files and /dev/shm (unless a CRI mount names the same path), the CRI mounts as host bind mounts
// (recursive: with the host's mounts under them), their mount points made in the layer below, then runc's read-only and masked paths. Apart from
// ContainerFs, which only resolves paths through the table once it is built.
import type { Backend } from './backend.js'
import { isUnder, parentOf, pathParts, relativeTo } from './backend.js'
import type { ContainerFsInput, MountEntry } from './container-types.js'
import { sandboxFiles } from './etc.js'
import { HostBind, hostSubmounts } from './host.js'
import { MemLayer, Overlay, Tmpfs, deviceNode, dirNode, fileNode, linkNode, type LowerLayer, type MemNode } from './mem.js'
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './security.js'

export interface MountTableInput {
  input: ContainerFsInput
  /** The root mount's backend: the overlay, or the host directory input.hostRootfs names. */
  root: Backend
  overlay: Overlay
  /** The image's layer and the runtime's layer over it (where mount points are made). */
  image: LowerLayer
  runtime: MemLayer
  /** The container's /proc. */
  proc: Backend
  now: () => number
  /** When the filesystem was made: the time of what the runtime makes. */
  t: number
}

/** A mount table entry; its root defaults to the backend's "/". */
export function mountEntry(m: Omit<MountEntry, 'root'> & { root?: string }): MountEntry {
  // Field by field, not `{ root: '/', ...m }`: a spread's copy keeps its fields out of the object,
  // an extra array for each of a container's some 25 mounts.
  const entry: MountEntry = {
    target: m.target,
    backend: m.backend,
    root: m.root ?? '/',
    readonly: m.readonly,
    fstype: m.fstype,
    source: m.source,
    options: m.options,
  }
  if (m.hostPath !== undefined) entry.hostPath = m.hostPath
  if (m.propagation !== undefined) entry.propagation = m.propagation
  return entry
}

/** The mount under which a path is: the one with the longest target containing it (the last of equals). */
export function mountAt(mounts: readonly MountEntry[], path: string, except?: MountEntry): MountEntry {
  let best: MountEntry | undefined
  for (const m of mounts) {
    if (m === except || !isUnder(path, m.target)) continue
    if (!best || m.target.length >= best.target.length) best = m
  }
  return best as MountEntry
}

/** Where a path under a mount is in the mount's backend. */
export function pathInMount(m: MountEntry, path: string): string {
  const at = relativeTo(path, m.target)
  if (m.root === '/') return at
  return at === '/' ? m.root : `${m.root}${at}`
}

/** The container's mounts, in the order they are mounted. */
export function buildMountTable(o: MountTableInput): MountEntry[] {
  const { input, image, runtime, proc, now, t } = o
  const sc = input.security ?? null
  const privileged = sc?.privileged === true
  const readonlyRootfs = input.readonlyRootfs ?? sc?.readonly_rootfs ?? false
  const mounts: MountEntry[] = []
  const mount = (m: Omit<MountEntry, 'root'> & { root?: string }): void => void mounts.push(mountEntry(m))
  const mountFor = (path: string, except?: MountEntry): MountEntry => mountAt(mounts, path, except)

  const procOptions = 'nosuid,nodev,noexec,relatime'
  if (input.hostRootfs !== undefined) {
    mount({ target: '/', backend: o.root, readonly: readonlyRootfs, fstype: 'ext4', source: '/dev/sda1', options: 'relatime' })
  } else {
    mount({
      target: '/',
      backend: o.overlay,
      readonly: readonlyRootfs,
      fstype: 'overlay',
      source: 'overlay',
      options:
        'relatime,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs,' +
        'upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs,' +
        'workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/work',
    })
  }
  mount({ target: '/proc', backend: proc, readonly: false, fstype: 'proc', source: 'proc', options: procOptions })
  mount({
    target: '/dev',
    backend: devTree(t, privileged, now),
    readonly: false,
    fstype: 'tmpfs',
    source: 'tmpfs',
    options: 'nosuid,size=65536k,mode=755',
  })
  mount({
    target: '/dev/pts',
    backend: new Tmpfs(dirNode(0o755, t), now),
    readonly: false,
    fstype: 'devpts',
    source: 'devpts',
    options: 'nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666',
  })
  mount({
    target: '/dev/mqueue',
    backend: new Tmpfs(dirNode(0o1777, t), now),
    readonly: false,
    fstype: 'mqueue',
    source: 'mqueue',
    options: procOptions,
  })
  const sys = sysTree(t, input.memoryLimitBytes, input.memorySwap, now)
  mount({ target: '/sys', backend: sys, readonly: !privileged, fstype: 'sysfs', source: 'sysfs', options: procOptions })
  mount({
    target: '/sys/fs/cgroup',
    backend: sys,
    root: '/fs/cgroup',
    readonly: !privileged,
    fstype: 'cgroup2',
    source: 'cgroup',
    options: `${procOptions},nsdelegate,memory_recursiveprot`,
  })

  // The pod's files, unless a CRI mount names the same path (the kubelet's /etc/hosts does).
  const sandbox = input.sandbox ?? sandboxFiles({ hostname: input.hostname, podIp: input.podIp ?? '', dns: input.dns ?? null, now: now })
  const criMounts = [...(input.mounts ?? [])]
    .filter((m) => m.container_path !== '')
    .map((m) => ({ ...m, container_path: mountTarget(m.container_path) }))
    .sort((a, b) => pathParts(a.container_path).length - pathParts(b.container_path).length)
  const named = new Set(criMounts.map((m) => m.container_path))
  for (const name of ['hostname', 'hosts', 'resolv.conf']) {
    const target = `/etc/${name}`
    if (named.has(target)) continue
    mount({
      target,
      backend: sandbox,
      root: `/${name}`,
      readonly: readonlyRootfs,
      fstype: 'ext4',
      source: '/dev/sda1',
      options: 'relatime',
    })
  }
  if (!named.has('/dev/shm')) {
    mount({
      target: '/dev/shm',
      backend: sandbox,
      root: '/shm',
      readonly: false,
      fstype: 'tmpfs',
      source: 'shm',
      options: `${procOptions},size=65536k`,
    })
  }
  for (const m of criMounts) {
    const propagation =
      typeof m.propagation === 'number'
        ? ['PROPAGATION_PRIVATE', 'PROPAGATION_HOST_TO_CONTAINER', 'PROPAGATION_BIDIRECTIONAL'][m.propagation]
        : m.propagation
    const backend = new HostBind(m.host_path, !propagation || propagation === 'PROPAGATION_PRIVATE' ? 'private' : 'receive', m.submounts)
    mount({
      target: m.container_path,
      backend,
      readonly: m.readonly === true,
      fstype: 'ext4',
      source: '/dev/sda1',
      options:
        propagation === 'PROPAGATION_BIDIRECTIONAL'
          ? 'relatime,shared'
          : propagation === 'PROPAGATION_HOST_TO_CONTAINER'
            ? 'relatime,slave'
            : 'relatime',
      hostPath: m.host_path,
      ...(propagation ? { propagation } : {}),
    })
    // An rbind takes the host's mounts under host_path along; each keeps its own read-only flag
    // unless the bind is recursively read-only (containerd 2's rro, mount_setattr AT_RECURSIVE).
    if (backend.root === undefined) continue
    const submounts = m.submounts ?? hostSubmounts(backend.root)
    for (const sub of submounts) {
      const target = `${m.container_path === '/' ? '' : m.container_path}${sub.mountPoint.slice(backend.root === '/' ? 0 : backend.root.length)}`
      mount({
        target,
        backend: new HostBind(sub.mountPoint, backend.propagation, submounts),
        readonly: sub.readonly || (m.readonly === true && m.recursive_read_only === true),
        fstype: sub.fstype,
        source: sub.source,
        options: sub.options,
        hostPath: sub.mountPoint,
        ...(propagation ? { propagation } : {}),
      })
    }
  }
  // Mount points: made in the layer below, as runc makes them in the root before mounting.
  for (const m of mounts) {
    if (m.target === '/') continue
    const under = mountFor(parentOf(m.target), m)
    const type = m.backend.lstat(m.root)?.type === 'dir' ? 'dir' : 'file'
    const node = type === 'dir' ? dirNode(0o755, t) : fileNode('', 0o644, t)
    const at = relativeTo(m.target, under.target)
    const rel = under.root === '/' ? at : `${under.root}${at === '/' ? '' : at}`
    if (under.backend === o.overlay) {
      if (!image.has(rel)) setWithParents(runtime, [image], rel, node)
    } else if (under.backend instanceof Tmpfs && !under.backend.layer.has(rel)) under.backend.layer.set(rel, node)
    else if (under.backend === o.root && under.backend instanceof HostBind && m.hostPath !== undefined)
      makeHostMountPoint(under.backend, rel, type, t)
  }

  // runc: read-only paths are remounted read-only, then masked paths hidden (none when privileged).
  const pick = (given: readonly string[] | undefined, fromSc: readonly string[] | undefined, dflt: readonly string[]): readonly string[] =>
    privileged ? [] : (given ?? (fromSc && fromSc.length > 0 ? fromSc : dflt))
  for (const p of pick(input.readonlyPaths, sc?.readonly_paths, DEFAULT_READONLY_PATHS)) {
    const target = mountTarget(p)
    const under = mountFor(target)
    const rel = pathInMount(under, target)
    if (!under.backend.lstat(rel)) continue
    mount({ ...under, target, root: rel, readonly: true })
  }
  for (const p of pick(input.maskedPaths, sc?.masked_paths, DEFAULT_MASKED_PATHS)) {
    const target = mountTarget(p)
    const under = mountFor(target)
    const entry = under.backend.lstat(pathInMount(under, target))
    if (!entry) continue
    if (entry.type === 'dir') {
      mount({
        target,
        backend: new Tmpfs(dirNode(0o555, t), now),
        readonly: true,
        fstype: 'tmpfs',
        source: 'tmpfs',
        options: 'relatime,size=0k',
      })
    } else {
      mount({
        target,
        backend: new Tmpfs(deviceNode('null', [1, 3], 0o666, t), now),
        readonly: false,
        fstype: 'devtmpfs',
        source: 'udev',
        options: 'nosuid,relatime,size=8147676k,nr_inodes=2036919,mode=755',
      })
    }
  }
  return mounts
}

/**
 * A bind mount's mount point in a host rootfs, made there as runc makes it (its missing parent
 * directories, then an empty directory or file, 0755): the rootfs is the container's writable
 * layer. A component that is not a directory there (a symlink, a file) stops it: nothing is made
 * through a link.
 */
function makeHostMountPoint(root: HostBind, rel: string, type: 'dir' | 'file', t: number): void {
  const parts = rel.split('/').filter((s) => s !== '')
  let p = ''
  for (const [i, name] of parts.entries()) {
    p = `${p}/${name}`
    const entry = root.lstat(p)
    const last = i === parts.length - 1
    if (entry) {
      if (entry.type !== 'dir') return
      continue
    }
    const attrs = { mode: 0o755, uid: 0, gid: 0, mtimeMs: t }
    try {
      if (last && type === 'file') root.write(p, Buffer.alloc(0), false, attrs)
      else root.mkdir(p, attrs)
    } catch {
      return
    }
  }
}

/** Sets an entry in a layer, its missing parents copied from the layers below (or new 0755 directories). */
export function setWithParents(layer: MemLayer, below: readonly LowerLayer[], p: string, node: MemNode): void {
  const parents: string[] = []
  for (let a = parentOf(p); !layer.has(a); a = parentOf(a)) {
    parents.unshift(a)
    if (a === '/') break
  }
  for (const a of parents) {
    const existing = below.map((l) => l.get(a)).find((n) => n !== undefined)
    layer.set(a, existing?.type === 'dir' ? { ...existing } : dirNode(0o755, node.mtimeMs))
  }
  layer.set(p, node)
}

/** /dev: the devices a container gets (runc's defaults; a privileged container sees a few more). */
function devTree(t: number, privileged: boolean, now: () => number): Tmpfs {
  const dev = new Tmpfs(dirNode(0o755, t), now)
  const l = dev.layer
  l.set('/null', deviceNode('null', [1, 3], 0o666, t))
  l.set('/zero', deviceNode('zero', [1, 5], 0o666, t))
  l.set('/full', deviceNode('full', [1, 7], 0o666, t))
  l.set('/random', deviceNode('random', [1, 8], 0o666, t))
  l.set('/urandom', deviceNode('urandom', [1, 9], 0o666, t))
  l.set('/tty', deviceNode('tty', [5, 0], 0o666, t))
  l.set('/stdin', deviceNode('stdin', [136, 0], 0o666, t))
  l.set('/stdout', deviceNode('stdout', [136, 0], 0o666, t))
  l.set('/stderr', deviceNode('stderr', [136, 0], 0o666, t))
  l.set('/ptmx', linkNode('pts/ptmx', t))
  l.set('/fd', linkNode('/proc/self/fd', t))
  l.set('/core', linkNode('/proc/kcore', t))
  for (const d of ['/pts', '/mqueue']) l.set(d, dirNode(0o755, t))
  l.set('/shm', dirNode(0o1777, t))
  if (privileged) l.set('/kmsg', deviceNode('null', [1, 11], 0o644, t))
  return dev
}

/** /sys: a few directories and the container's cgroup (v2, its own cgroup namespace) files. */
function sysTree(
  t: number,
  memoryLimitBytes: number | (() => number) | undefined,
  memorySwap: (() => string) | undefined,
  now: () => number,
): Tmpfs {
  const sys = new Tmpfs(dirNode(0o555, t), now)
  const l = sys.layer
  for (const d of ['/block', '/bus', '/class', '/class/net', '/dev', '/devices', '/firmware', '/fs', '/kernel', '/module', '/power'])
    l.set(d, dirNode(0o755, t))
  l.set('/fs/cgroup', dirNode(0o755, t))
  const files: Record<string, string> = {
    'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc',
    'cgroup.procs': '',
    'cpu.max': 'max 100000',
    'memory.current': '1040384',
    'pids.max': 'max',
  }
  for (const [name, value] of Object.entries(files)) l.set(`/fs/cgroup/${name}`, fileNode(value === '' ? '' : `${value}\n`, 0o644, t))
  // The limits follow the container's updates (Tasks.Update, UpdateContainerResources): read when asked.
  const limit = typeof memoryLimitBytes === 'function' ? memoryLimitBytes : () => memoryLimitBytes ?? 0
  const live = (name: string, value: () => string): void => {
    const node = fileNode('', 0o644, t)
    Object.defineProperty(node, 'data', { get: () => Buffer.from(`${value()}\n`), set: () => undefined, enumerable: true })
    l.set(`/fs/cgroup/${name}`, node)
  }
  live('memory.max', () => {
    const bytes = limit()
    return bytes > 0 ? String(bytes) : 'max'
  })
  live('memory.swap.max', memorySwap ?? (() => 'max'))
  return sys
}

/** A mount target as the table holds it: absolute, without empty or trailing components. */
export const mountTarget = (p: string): string => `/${pathParts(p).join('/')}`
