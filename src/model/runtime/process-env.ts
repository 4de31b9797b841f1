// The environment a container's processes run in: the CommandContext options (filesystem view,
// identity, hostname, process table, network namespace, working directory) built from the
// container record and its view, and the check that an executable exists before a task starts.
import { lstatSync, realpathSync } from 'node:fs'
import { normalize } from 'node:path'
import { findExecutable, makeCommandContext, type ContextOptions } from '../../sim/shell/index.js'
import { ForkFailed, type ProcessTable as SimProcessTable } from '../../sim/context.js'
import type { ProgramContext } from '../../sim/process.js'
import type { ContainerRecord, NodeState } from '../../store/schema.js'
import { RuntimeError } from '../errors.js'
import { parsePasswd } from '../../sim/fs/users.js'
import { followingView, type ContainerFs } from '../../sim/fs/index.js'
import type { Kernel } from '../../sim/kernel.js'
import { profileError, type SeccompProfile } from '../../sim/seccomp.js'
import type { Clock } from '../../sim/clock.js'
import type { NodeNetwork } from '../../sim/net-namespaces.js'
import type { SandboxLookup } from '../cri/records.js'
import type { MemoryCgroups } from './memory.js'
import { networkNamespace } from './network.js'
import type { PidTable } from './pids.js'
import type { ContainerViews } from './views.js'
import { PIDS_MAX, pidNamespaceOf } from './pids.js'
import { givenHostname, hostRootfsOf } from './views.js'

/** The part of an OCI process spec a simulated process is made from. */
export interface ProcessSpec {
  args?: string[]
  env?: string[]
  cwd?: string
  user?: { uid: number; gid: number; additionalGids?: number[] }
}

/** An OCI env list ("K=V") as a map. */
export function envMap(env: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of env ?? []) {
    const eq = e.indexOf('=')
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1)
  }
  return out
}

/** What a container's processes are made from: the node's parts their context reads (Node has them all). */
export interface ProcessHost {
  readonly state: NodeState
  readonly clock: Clock
  readonly pids: PidTable
  readonly views: ContainerViews
  readonly network: NodeNetwork
  readonly sandboxes: SandboxLookup
  readonly memory: MemoryCgroups
}

const processOf = (r: ContainerRecord): ProcessSpec => (r.spec.process ?? {}) as ProcessSpec

/**
 * The processes a container's commands can see (ps) and signal (kill): its PID namespace. Children
 * a shell starts (pipeline stages, background jobs) join it with PIDs of their own. One object per
 * process, its methods on the prototype: every sleeping container's init process holds one.
 */
class ContainerProcesses implements SimProcessTable {
  readonly #ns: string

  constructor(
    private readonly node: ProcessHost,
    private readonly record: ContainerRecord,
    private readonly user: ProcessSpec['user'] & {},
  ) {
    this.#ns = pidNamespaceOf(node.pids, record)
  }

  list(): ReturnType<SimProcessTable['list']> {
    return this.node.pids.list(this.#ns).map(({ pid, ppid, node: p }) => ({
      pid,
      ppid,
      user: p.uid === 0 ? 'root' : String(p.uid),
      args: [...p.args],
      ...(p.comm ? { comm: p.comm } : {}),
    }))
  }

  kill(pid: number, signo: number): boolean {
    const target = this.node.pids.find(this.#ns, pid)
    // Without CAP_KILL a process may signal only its own user's processes (EPERM reads as "no").
    if (!target || (this.user.uid !== 0 && target.uid !== this.user.uid)) return false
    return target.signal(signo)
  }

  spawn(child: Parameters<NonNullable<SimProcessTable['spawn']>>[0]): ReturnType<NonNullable<SimProcessTable['spawn']>> {
    const { node, record, user } = this
    if (node.pids.countOf(record.id) >= PIDS_MAX) throw new ForkFailed()
    const ns = this.#ns
    const hostPid = node.state.nextPid++
    const entry = node.pids.add({
      hostPid,
      ns,
      hostPpid: node.pids.find(ns, child.ppid)?.hostPid ?? 0,
      containerId: record.id,
      args: child.args,
      uid: user.uid,
      gid: user.gid,
      ...(user.additionalGids ? { groups: user.additionalGids } : {}),
      signal: child.signal,
    })
    return {
      pid: entry.pid,
      setArgs: (args) => void (entry.args = [...args]),
      exit: () => node.pids.remove(hostPid),
    }
  }

  exec(pid: number, args: readonly string[]): boolean {
    const target = this.node.pids.find(this.#ns, pid)
    if (!target) return false
    delete target.comm
    target.args = [...args]
    return true
  }

  setArgs(pid: number, args: readonly string[]): boolean {
    // A process retitling itself (nginx: master process …): its comm stays its program's name.
    const target = this.node.pids.find(this.#ns, pid)
    if (!target) return false
    target.comm ??= (target.args[0] ?? '').split('/').pop() ?? ''
    target.args = [...args]
    return true
  }
}

/**
 * What the kernel decides for a container's processes, read from the container's view at each use
 * (as followingView reads its files): a sleeping process holds neither the view nor its kernel.
 */
class ContainerKernel implements Kernel {
  constructor(private readonly current: () => ContainerFs) {}
  get capabilities(): Kernel['capabilities'] {
    return this.current().kernel.capabilities
  }
  get noNewPrivs(): boolean {
    return this.current().kernel.noNewPrivs
  }
  get seccomp(): Kernel['seccomp'] {
    return this.current().kernel.seccomp
  }
  get uts(): Kernel['uts'] {
    return this.current().kernel.uts
  }
  get net(): Kernel['net'] {
    return this.current().kernel.net
  }
}

/** The context options for a process of `record` with this spec, in the process `program` (`isInit`: the container's init process, not an exec). */
export function contextOptions(
  node: ProcessHost,
  record: ContainerRecord,
  spec: ProcessSpec,
  program: ProgramContext,
  isInit: boolean,
): ContextOptions {
  const user = spec.user ?? processOf(record).user ?? { uid: 0, gid: 0 }
  // From the view shared by the containers made alike when the container's own adds nothing: a
  // process starting builds no view (model/runtime/views.ts shared()).
  const identity = node.views.identity(record)
  // The container's user has the groups the container's identity lists (the image's memberships too).
  const groups = user.uid === identity.uid && user.gid === identity.gid ? identity.groups : (user.additionalGids ?? [user.gid])
  const args = spec.args ?? []
  // A task's process is in the node's process table under its host PID; a probe has none.
  const pid = (program.pid !== undefined ? node.pids.byHostPid(program.pid)?.pid : undefined) ?? 1
  const hostPidOf = (nsPid: number): number => node.pids.find(pidNamespaceOf(node.pids, record), nsPid)?.hostPid ?? program.pid ?? 0
  return {
    // Through the container's view as it is at each call: an unchanged one is not kept for a process that sleeps.
    fs: followingView(
      () => node.views.fs(record),
      {
        pid,
        uid: user.uid,
        gid: user.gid,
        groups,
        args,
        output: (stream, text) => program.write(stream, text),
      },
      () => node.views.shared(record),
    ),
    identity,
    hostname: givenHostname(record, node.sandboxes),
    processes: new ContainerProcesses(node, record, user),
    net: node.network.view(networkNamespace(node.sandboxes, record)),
    kernel: new ContainerKernel(() => node.views.fs(record)),
    cwd: spec.cwd || processOf(record).cwd || '/',
    memory: {
      allocate: (nsPid, bytes) => node.memory.charge(record, hostPidOf(nsPid), bytes),
      free: (nsPid, bytes) => node.memory.uncharge(record.id, hostPidOf(nsPid), bytes),
    },
    pid,
    isInit: isInit && pid === 1,
  }
}

/**
 * Fails as runc fails to start a process whose executable is not there, before anything runs:
 * the message containerd reports for StartContainer, Tasks.Start and exec.
 */
export function checkExecutable(node: ProcessHost, record: ContainerRecord, spec: ProcessSpec, phase: 'create' | 'exec' = 'create'): void {
  const prefix = phase === 'create' ? 'OCI runtime create failed: runc create failed' : 'OCI runtime exec failed: exec failed'
  const name = spec.args?.[0]
  if (name === undefined || name === '') throw new RuntimeError('Unknown', `${prefix}: args must not be empty: unknown`)
  const probe: ProgramContext = {
    args: spec.args ?? [],
    env: envMap(spec.env ?? processOf(record).env),
    clock: node.clock,
    signal: new AbortController().signal,
    write: () => {},
    trap: () => {},
    terminate: () => {},
  }
  const ctx = makeCommandContext(probe, contextOptions(node, record, spec, probe, false))
  const found = findExecutable(name, ctx)
  if (found === undefined || found.kind === 'denied') {
    const why = found ? 'permission denied' : 'executable file not found in $PATH'
    throw new RuntimeError(
      'Unknown',
      `${prefix}: unable to start container process: ${phase === 'create' ? 'error during container init: ' : ''}exec: ${JSON.stringify(name)}: ${why}: unknown`,
    )
  }
}

/** Fails as runc fails to create a container whose seccomp profile it cannot use (an unknown action or operator). */
export function checkSeccomp(record: ContainerRecord): void {
  const profile = (record.spec.linux as { seccomp?: SeccompProfile } | undefined)?.seccomp
  const problem = profile ? profileError(profile) : undefined
  if (problem) throw new RuntimeError('Unknown', `OCI runtime create failed: runc create failed: ${problem}: unknown`)
}

/**
 * Fails as runc's config validation fails for a root directory the spec names on the host
 * (model/runtime/views.ts hostRootfsOf) that is not there, or is a symlink.
 */
export function checkRootfs(record: ContainerRecord): void {
  const path = hostRootfsOf(record)
  if (path === undefined) return
  const fail = (why: string): never => {
    throw new RuntimeError('Unknown', `OCI runtime create failed: runc create failed: invalid rootfs: ${why}: unknown`)
  }
  const st = lstatSync(path, { throwIfNoEntry: false })
  if (!st) fail(`stat ${path}: no such file or directory`)
  else if (st.isSymbolicLink() || realpathSync(path) !== normalize(path).replace(/(.)\/+$/, '$1'))
    fail('not an absolute path, or a symlink')
}

/** The image's /etc/passwd entries (with those the runtime adds), as the container would see them. */
function passwdOf(node: ProcessHost, record: ContainerRecord): { name: string; uid: number; gid: number }[] {
  return node.views.read(record, 'passwd', (fs) => {
    try {
      return parsePasswd(fs.readFile('/etc/passwd').toString('utf8'))
    } catch {
      return []
    }
  })
}

/** Sets the spec's uid and primary gid (the latter replacing the old one among the additional gids). */
function setUser(node: ProcessHost, record: ContainerRecord, uid: number, gid: number): void {
  const user = (processOf(record).user ?? { uid: 0, gid: 0 }) as { uid: number; gid: number; additionalGids?: number[] }
  if (user.uid === uid && user.gid === gid) return
  user.additionalGids = [gid, ...(user.additionalGids ?? []).filter((g) => g !== user.gid && g !== gid)]
  user.uid = uid
  user.gid = gid
  ;(record.spec.process as ProcessSpec).user = user
  // The view was made for the old ids.
  node.views.drop(record.id)
}

/** Sets the spec's uid and primary gid from the image's /etc/passwd entry for `name`. */
export function resolveUserName(node: ProcessHost, record: ContainerRecord, name: string): void {
  const entry = passwdOf(node, record).find((e) => e.name === name)
  node.views.drop(record.id)
  if (!entry) {
    throw new RuntimeError(
      'InvalidArgument',
      `failed to generate spec opts: unable to find user ${name}: no matching entries in passwd file`,
    )
  }
  const sc = (record.cri?.kind === 'container' ? record.cri.config.linux?.security_context : undefined) ?? undefined
  setUser(node, record, entry.uid, sc?.run_as_group ? Number(sc.run_as_group.value) : entry.gid)
}

/**
 * A uid given without a group (RunAsUser, or an image USER "1000") takes the primary gid the image's
 * /etc/passwd gives it, 0 when it has no entry (containerd's WithUserID).
 */
export function resolveUserGid(node: ProcessHost, record: ContainerRecord): void {
  const user = processOf(record).user ?? { uid: 0, gid: 0 }
  const entry = passwdOf(node, record).find((e) => e.uid === user.uid)
  setUser(node, record, user.uid, entry?.gid ?? 0)
}
