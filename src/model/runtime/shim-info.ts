// What the runtime shim tells of itself when containerd 2.x asks (Introspection.PluginInfo on the
// io.containerd.runtime.v2 "task" plugin with a RuntimeRequest: `ctr plugins inspect-runtime`, and
// the check containerd makes before idmapped mounts). containerd resolves the runtime name to a shim
// binary (core/runtime/v2 resolveRuntimePath) and runs `<shim> -info` with the request's options on
// stdin; containerd-shim-runc-v2 answers its name, version, the options it read and the features
// document of `runc features`. The fake has one shim, io.containerd.runc.v2, simulated: its
// features are what the simulation does, not what a runc binary on the host would do.
import { statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { CAPABILITIES } from '../../sim/fs/security.js'
import { SECCOMP_ACTIONS, SECCOMP_ARCHITECTURES, SECCOMP_OPERATORS } from '../../sim/seccomp.js'
import { decodeMessage, goTypeName, knownMessage, typeNameOf } from '../../proto/load.js'
import { RuntimeError } from '../errors.js'

/** An Any as the request carries it. */
export interface AnyValue {
  type_url: string
  value: Buffer
}

export interface RuntimeInfo {
  name: string
  version: { version: string; revision: string }
  /** The options the shim read (runc's Options), as they came; none when none were sent. */
  options?: AnyValue
  /** The runtime-spec features document, JSON (typeurl registers features.Features as JSON). */
  features: { type_url: string; value: Buffer }
  annotations: Record<string, string>
}

const SHIM = 'io.containerd.runc.v2'
const SHIM_BINARY = 'containerd-shim-runc-v2'
/** Where the pretended shim lives, as containerd names it in the errors of running it. */
const SHIM_PATH = `/usr/bin/${SHIM_BINARY}`
const RUNC_OPTIONS = 'containerd.runc.v1.Options'
const FEATURES_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/features/Features'

/**
 * `runc features` for the simulation: the spec versions the fake reads (it writes 1.2.1); no hooks
 * (none are run); the mount options it acts on (bind mounts, read-only and recursively read-only);
 * the namespaces a container gets its own of; every capability it models; cgroup v2 only; seccomp
 * with the actions, operators and (amd64) architectures its filter takes; no AppArmor, SELinux or
 * idmapped mounts. Checkpoints are written (CRI's CheckpointContainer), so runc's checkpoint
 * annotation says so.
 */
const FEATURES = {
  ociVersionMin: '1.0.0',
  ociVersionMax: '1.2.1',
  hooks: [],
  mountOptions: ['bind', 'rbind', 'ro', 'rro', 'rw'],
  linux: {
    namespaces: ['ipc', 'mount', 'network', 'pid', 'uts'],
    capabilities: [...CAPABILITIES],
    cgroup: { v1: false, v2: true, systemd: false, systemdUser: false },
    seccomp: {
      enabled: true,
      actions: [...SECCOMP_ACTIONS].sort(),
      operators: [...SECCOMP_OPERATORS].sort(),
      archs: [...SECCOMP_ARCHITECTURES].sort(),
    },
    apparmor: { enabled: false },
    selinux: { enabled: false },
    mountExtensions: { idmap: { enabled: false } },
  },
  annotations: { 'org.opencontainers.runc.checkpoint.enabled': 'true' },
}

/**
 * The payload packages the runc shim's binary does not link, so its typeurl knows none of their
 * types (checked against containerd 2.1's shim); it knows the others the fake decodes (types,
 * events, runc options, cgroup stats). A proto error's space is U+0020 here; a Go binary picks it or
 * U+00A0 per build (protobuf's detrand), and the 2.1 shim's build happens to use U+00A0.
 */
const NOT_IN_SHIM = ['containerd.types.transfer.', 'containerd.services.streaming.v1.']

/** Go's words for the errno a stat of a custom shim path fails with (syscall.Errno's Error). */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
}

const unknown = (message: string): RuntimeError => new RuntimeError('Unknown', message)

/** shimbinary.BinaryName: "<prefix>.<name>.<version>" → containerd-shim-<name>-<version>, else "". */
function binaryName(runtime: string): string {
  const parts = runtime.split('.')
  if (parts.length < 2 || parts[0] === '') return ''
  return `containerd-shim-${parts.at(-2)}-${parts.at(-1)}`
}

/**
 * The shim's answer to a RuntimeRequest (TaskManager.PluginInfo): the runtime path resolved as
 * containerd resolves it, then the shim's -info. `version` is the shim's build, containerd's own.
 */
export function shimInfo(runtimePath: string, options: AnyValue | undefined, version: RuntimeInfo['version']): RuntimeInfo {
  const resolveFailed = (why: string): RuntimeError => unknown(`failed to resolve runtime path: ${why}`)
  if (runtimePath === '') throw resolveFailed('no runtime name')
  const invalid = `invalid runtime name ${runtimePath}, correct runtime name should be either format like \`io.containerd.runc.v2\` or a full path to the binary`
  if (isAbsolute(runtimePath)) {
    try {
      statSync(runtimePath)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? ''
      throw resolveFailed(`invalid custom binary path: stat ${runtimePath}: ${ERRNO_TEXT[code] ?? code}`)
    }
    // Nothing is run on the host: a shim binary of the client's cannot answer.
    throw unknown(`failed to run [${runtimePath} -info]: fake-containerd runs no shim binary; it simulates ${SHIM} only`)
  }
  if (runtimePath.includes('/')) throw resolveFailed(invalid)
  const name = binaryName(runtimePath)
  if (name === '') throw resolveFailed(invalid)
  if (name !== SHIM_BINARY)
    throw resolveFailed(`runtime ${JSON.stringify(runtimePath)} binary not installed ${JSON.stringify(name)}: file does not exist`)
  // The shim reads runc's Options from stdin, or none (shim.ReadRuntimeOptions: the Any, then its
  // value as the type it names, which must be runc's). Their BinaryName would be the runc the shim
  // asks for its features; the simulation runs no runc, so its features answer whatever it names.
  if (options) {
    const failed = (why: string): RuntimeError => {
      const stderr = `${SHIM}: failed to read runtime options (*options.Options): ${why}`
      return unknown(`failed to run [${SHIM_PATH} -info]: exit status 1 (stderr: ${JSON.stringify(stderr)})`)
    }
    const type = typeNameOf(options.type_url)
    const linked = knownMessage(type) && !NOT_IN_SHIM.some((pkg) => type.startsWith(pkg))
    if (!linked) throw failed(`type with url ${options.type_url}: not found`)
    try {
      decodeMessage(type, options.value)
    } catch (err) {
      throw failed((err as Error).message)
    }
    if (type !== RUNC_OPTIONS) throw failed(`invalid type ${goTypeName(type)}: invalid argument`)
  }
  return {
    name: SHIM,
    version,
    ...(options ? { options } : {}),
    features: { type_url: FEATURES_TYPE, value: Buffer.from(JSON.stringify(FEATURES)) },
    annotations: {},
  }
}
