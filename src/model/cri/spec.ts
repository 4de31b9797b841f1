// The OCI runtime spec a container gets: the image config merged with the CRI config, as
// containerd's CRI builds it (command: entrypoint/cmd rules; env: image first, then config).
import { readFileSync, realpathSync, statSync } from 'node:fs'
import type { PodSandboxConfig__Output } from '../../generated/runtime/v1/PodSandboxConfig.js'
import type { ImageConfig, StoredContainerConfig } from '../../store/schema.js'
import { invalidArgument, unknown } from '../errors.js'
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  capabilitySets,
  seccompChoice,
  type SecurityContextInput,
} from '../../sim/fs/security.js'
import { decodeProfile, type SeccompProfile } from '../../sim/seccomp.js'

/** Kubernetes' rule: command replaces the entrypoint (and drops image cmd); args replace cmd. */
export function effectiveArgs(image: ImageConfig, command: string[], args: string[]): string[] {
  if (command.length > 0) return [...command, ...args]
  return [...image.entrypoint, ...(args.length > 0 ? args : image.cmd)]
}

/** Image env first, then the config's, a later value for a key replacing an earlier one. */
/** The PATH containerd's default spec gives every process (oci.populateDefaultUnixSpec's defaultUnixEnv). */
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/**
 * A CRI container's environment as containerd builds it: the default spec's PATH, HOSTNAME= the
 * pod's hostname (its config's, else the node's), then the image's and the config's, each replacing
 * a variable of the same name in place.
 */
export function containerEnv(image: string[], hostname: string, config: { key: string; value: string }[]): string[] {
  return mergeEnv([DEFAULT_PATH, `HOSTNAME=${hostname}`, ...image], config)
}

export function mergeEnv(image: string[], config: { key: string; value: string }[]): string[] {
  const out = new Map<string, string>()
  for (const e of image) {
    const eq = e.indexOf('=')
    out.set(eq === -1 ? e : e.slice(0, eq), e)
  }
  for (const { key, value } of config) out.set(key, `${key}=${value}`)
  return [...out.values()]
}

export interface ProcessUser {
  uid: number
  gid: number
  username?: string
  /** Supplemental groups from the security context. */
  groups?: number[]
}

/** The user a container runs as: security context first, then the image's USER. */
export function containerUser(config: StoredContainerConfig, image: ImageConfig): ProcessUser {
  const sc = config.linux?.security_context
  const runAsUser = sc?.run_as_user ? Number(sc.run_as_user.value) : undefined
  const runAsGroup = sc?.run_as_group ? Number(sc.run_as_group.value) : undefined
  if (runAsGroup !== undefined && runAsUser === undefined && !sc?.run_as_username) {
    throw invalidArgument(`failed to generate user string: user group "${runAsGroup}" is specified without user`)
  }
  const [imageUser = '', imageGroup] = image.user.split(':')
  const numeric = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined)
  const uid = runAsUser ?? numeric(imageUser) ?? 0
  const gid = runAsGroup ?? numeric(imageGroup) ?? 0
  const username =
    runAsUser === undefined && numeric(imageUser) === undefined && imageUser !== '' ? imageUser : sc?.run_as_username || undefined
  const groups = (sc?.supplemental_groups ?? []).map(Number).filter((g) => g !== gid)
  return { uid, gid, ...(username ? { username } : {}), ...(groups.length ? { groups } : {}) }
}

export interface SpecInput {
  id: string
  sandboxId: string
  args: string[]
  env: string[]
  cwd: string
  user: ProcessUser
  hostname: string
  annotations: Record<string, string>
  readonlyRootfs: boolean
  pidNamespace: 'pod' | 'container' | 'node'
  /** The pod shares the node's network (no network namespace entry) or IPC (no ipc entry). */
  hostNetwork?: boolean
  hostIpc?: boolean
  cgroupParent: string
  resources?: unknown
  /** The container's security context: its capabilities and no_new_privs go into the process. */
  security?: SecurityContextInput | null
  /** A Localhost seccomp profile, as loaded (see loadSeccomp). */
  seccomp?: SeccompProfile
  /** The CRI mounts as OCI bind mounts (criBindMounts). */
  mounts?: OciMount[]
}

/** An OCI runtime spec mount. */
export interface OciMount {
  destination: string
  type: string
  source: string
  options: string[]
}

/** The fields of a CRI Mount that make its OCI mount (runtime.v1 Mount). */
export interface CriMountInput {
  container_path: string
  host_path: string
  readonly?: boolean
  recursive_read_only?: boolean
  propagation?: string | number
}

const PROPAGATIONS = ['PROPAGATION_PRIVATE', 'PROPAGATION_HOST_TO_CONTAINER', 'PROPAGATION_BIDIRECTIONAL'] as const

/**
 * A host path with its symlinks resolved, as containerd 2.1's WithMounts writes the mount's source
 * (internal/cri/opts/spec_linux_opts.go, osi.ResolveSymbolicLink); as given when it cannot be
 * resolved (it does not exist on this host).
 */
function resolvedHostPath(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/**
 * A container's CRI mounts as containerd 2's WithMounts makes them: rbind, the propagation
 * (rprivate, rslave, rshared), then rw, ro, or rro (read-only all the way down, the host's mounts
 * under host_path included). A recursive read-only mount must be read-only and private; the
 * failure is CreateContainer's, in containerd's words.
 */
export function criBindMounts(id: string, mounts: readonly CriMountInput[]): OciMount[] {
  const fail = (why: string) => unknown(`failed to generate container ${JSON.stringify(id)} spec: failed to apply OCI options: ${why}`)
  return mounts.map((m) => {
    const propagation =
      typeof m.propagation === 'number' ? (PROPAGATIONS[m.propagation] ?? String(m.propagation)) : (m.propagation ?? PROPAGATIONS[0])
    const options = [
      'rbind',
      propagation === 'PROPAGATION_BIDIRECTIONAL' ? 'rshared' : propagation === 'PROPAGATION_HOST_TO_CONTAINER' ? 'rslave' : 'rprivate',
    ]
    const where = `(hostPath=${JSON.stringify(m.host_path)})`
    if (m.readonly !== true) {
      if (m.recursive_read_only === true) throw fail(`recursive read-only mount conflicts with RW mount ${where}`)
      options.push('rw')
    } else if (m.recursive_read_only === true) {
      // Every runtime handler of the fake reports recursive_read_only_mounts (cri/info.ts).
      if (propagation !== 'PROPAGATION_PRIVATE') {
        throw fail(`recursive read-only mount needs private propagation, got ${JSON.stringify(propagation)} ${where}`)
      }
      options.push('rro')
    } else options.push('ro')
    return { destination: m.container_path, type: 'bind', source: resolvedHostPath(m.host_path), options }
  })
}

/** How many shared parts are kept before the table starts over (a bound, whatever the configs). */
const SHARED_MAX = 4096
/** A part longer than this as JSON is its container's own (its key would cost what sharing saves). */
const SHARED_KEY_MAX = 1024
let sharedParts = new Map<string, unknown>()

/**
 * A part of a spec that many containers have alike (a capability set, a namespace entry, the root,
 * a command line): one frozen value for all that are equal, so that twenty thousand
 * sleeping containers hold one copy, not twenty thousand. Frozen, so that code changing one in place
 * (and with it every container's) fails at once: the model replaces a spec's parts instead
 * (process.user, linux.resources).
 */
function shared<T>(value: T): T {
  const key = JSON.stringify(value)
  if (key.length > SHARED_KEY_MAX) return value
  const found = sharedParts.get(key)
  if (found !== undefined) return found as T
  if (sharedParts.size >= SHARED_MAX) sharedParts = new Map()
  sharedParts.set(key, deepFreeze(value))
  return value
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  for (const v of Object.values(value)) deepFreeze(v)
  return Object.freeze(value)
}

/** A plausible OCI runtime spec (JSON), what `ctr containers info` and verbose status show. */
export function ociSpec(input: SpecInput): Record<string, unknown> {
  const namespaces = [
    ...(input.pidNamespace === 'node'
      ? []
      : [
          {
            type: 'pid',
            ...(input.pidNamespace === 'pod' && input.sandboxId !== input.id ? { path: `/proc/sandbox/${input.sandboxId}/ns/pid` } : {}),
          },
        ]),
    ...(input.hostIpc ? [] : [{ type: 'ipc' }]),
    { type: 'uts' },
    { type: 'mount' },
    ...(input.hostNetwork ? [] : [{ type: 'network', path: `/var/run/netns/cni-${input.sandboxId.slice(0, 8)}` }]),
    // An entry with a path names its pod: shared by that pod's containers alone, it would stay in the
    // table after the pod is gone (and fill it, one entry a pod).
  ].map((entry) => ('path' in entry ? entry : shared(entry)))
  return {
    ociVersion: '1.2.1',
    process: {
      // The model sets the user's groups once the image's /etc/group is read: each container's own.
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: [input.user.gid, ...(input.user.groups ?? [])] },
      args: shared(input.args),
      // Not shared: it names the pod's hostname (HOSTNAME=), so it is alike only within a pod.
      env: input.env,
      cwd: input.cwd || '/',
      capabilities: shared(capabilitySets(input.security)),
      noNewPrivileges: input.security?.no_new_privs === true,
      oomScoreAdj: 0,
    },
    root: shared({ path: 'rootfs', readonly: input.readonlyRootfs }),
    hostname: input.hostname,
    ...(input.mounts?.length ? { mounts: input.mounts } : {}),
    annotations: input.annotations,
    linux: {
      // A config's resources are its own (also in the CRI config); none is one empty object for all.
      resources: input.resources ?? shared({}),
      cgroupsPath: `${input.cgroupParent || 'kubepods-besteffort.slice'}:cri-containerd:${input.id}`,
      namespaces,
      maskedPaths: DEFAULT_MASKED_PATHS,
      readonlyPaths: DEFAULT_READONLY_PATHS,
      // containerd writes its RuntimeDefault profile out here too; the simulator derives that one
      // from the security context instead (src/sim/seccomp.ts), to keep each spec small.
      ...(input.seccomp ? { seccomp: input.seccomp } : {}),
    },
  }
}

/** The node namespaces a pod shares (CRI's NamespaceOption network and ipc set to NODE). */
export function hostNamespaces(pod: PodSandboxConfig__Output): { hostNetwork: boolean; hostIpc: boolean } {
  const options = pod.linux?.security_context?.namespace_options
  return { hostNetwork: options?.network === 'NODE', hostIpc: options?.ipc === 'NODE' }
}

/** Go's os.ReadFile error text for a Node error. */
function readError(path: string, err: NodeJS.ErrnoException): string {
  const why: Readonly<Record<string, string>> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOTDIR: 'not a directory',
    ELOOP: 'too many levels of symbolic links',
  }
  if (err.code === 'EISDIR') return `read ${path}: is a directory`
  if (err.code === 'ENOTREG') return `read ${path}: not a regular file`
  return `open ${path}: ${why[err.code ?? ''] ?? err.message}`
}

/**
 * The seccomp profile containerd loads into a container's spec when it is created: a Localhost
 * profile, read from the host file the security context names (a privileged container, or any
 * other profile type, loads none). Fails as CreateContainer fails: a profile type that does not fit
 * its fields, a file that cannot be read or decoded.
 */
export function loadSeccomp(sc: SecurityContextInput | null | undefined): SeccompProfile | undefined {
  const seccomp = sc?.seccomp
  const type = seccomp?.profile_type ?? 'RuntimeDefault'
  const optsError = (message: string) => unknown(`failed to get container spec opts: failed to generate seccomp spec opts: ${message}`)
  if (seccomp && !sc?.privileged && type !== 'Localhost' && type !== 2 && (seccomp.localhost_ref ?? '') !== '') {
    throw optsError('seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost')
  }
  // The deprecated seccomp_profile_path is checked even for a privileged container.
  const named = seccompChoice(sc ? { ...sc, privileged: false } : sc)
  if (named.type === 'invalid') throw optsError(`invalid profile ${JSON.stringify(named.profile)}`)
  const choice = seccompChoice(sc)
  if (choice.type !== 'localhost') return undefined
  const path = choice.path
  let text: string
  try {
    // Only a regular file is read: a FIFO or a device the client names would block the server.
    const st = statSync(path)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' })
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw unknown(
      `failed to create containerd container: cannot load seccomp profile ${JSON.stringify(path)}: ${readError(path, err as NodeJS.ErrnoException)}`,
    )
  }
  try {
    return decodeProfile(text)
  } catch (err) {
    // Go names the offending character; a host file's bytes are not the client's to read, so it is left out.
    const reason = (err as Error).message.replace(/^invalid character '(?:[^'\\]|\\.)*'/, 'invalid character')
    throw unknown(`failed to create containerd container: decoding seccomp profile failed ${JSON.stringify(path)}: ${reason}`)
  }
}

/** The PID namespace a container joins, from CRI's NamespaceMode (POD=0, CONTAINER=1, NODE=2, TARGET=3). */
export function pidNamespace(config: StoredContainerConfig | PodSandboxConfig__Output): 'pod' | 'container' | 'node' {
  const mode = config.linux?.security_context?.namespace_options?.pid
  if (mode === 'CONTAINER') return 'container'
  if (mode === 'NODE') return 'node'
  return 'pod'
}
