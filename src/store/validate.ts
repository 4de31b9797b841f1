// The shape of a node state (store/schema.ts), checked before a state is loaded: a state file, a
// seed state, or one given to restore() or RestoreState. The model trusts the state it runs on, so
// a malformed one is refused here with the field that is wrong, before anything of the running
// node is touched. Hand-written over schema.ts's types: no schema library is a dependency, and the
// state is plain JSON with a handful of record kinds. Fields are checked as far as the model reads
// them; what came from a client's request as it was (an OCI spec, a CRI config) is checked to be
// an object, not field by field. Fields the schema does not name are left alone.
import { parseCidr } from '../model/cri/ipam.js'
import type { NodeState } from './schema.js'

/** Checks a value at a path; throws StateShapeError when it does not fit. */
type Check = (value: unknown, path: string) => void

export class StateShapeError extends Error {}

const show = (value: unknown): string => {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const fail = (path: string, want: string, value: unknown): never => {
  throw new StateShapeError(`${path} must be ${want}, not ${show(value)}`)
}

/** A schema field: state.containers; a key of a map: containers["id"]. */
const field = (path: string, name: string): string => `${path}.${name}`
const key = (path: string, k: string): string => `${path}[${JSON.stringify(k)}]`

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const str: Check = (v, p) => void (typeof v === 'string' || fail(p, 'a string', v))
const num: Check = (v, p) => void ((typeof v === 'number' && Number.isFinite(v)) || fail(p, 'a number', v))
const int: Check = (v, p) => void ((typeof v === 'number' && Number.isSafeInteger(v)) || fail(p, 'an integer', v))
const bool: Check = (v, p) => void (typeof v === 'boolean' || fail(p, 'true or false', v))
/** Any JSON object (a spec, a CRI config): the model reads it as the client sent it. */
const anyObject: Check = (v, p) => void (isObject(v) || fail(p, 'an object', v))
/** A protobuf message field kept as it came: an object, or null when the client left it out. */
const message: Check = (v, p) => void (v === null || isObject(v) || fail(p, 'an object or null', v))

const oneOf =
  (...values: string[]): Check =>
  (v, p) =>
    void (values.includes(v as string) || fail(p, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v))

const arr =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'an array', v)
    v.forEach((x, i) => item(x, `${p}[${i}]`))
  }

/** An object used as a map: any keys, each value checked. */
const rec =
  (value: Check): Check =>
  (v, p) => {
    if (!isObject(v)) return fail(p, 'an object', v)
    for (const [k, x] of Object.entries(v)) value(x, key(p, k))
  }

/** An object with these fields; a field whose name ends in "?" may be left out. */
const obj =
  (fields: Record<string, Check>, extra?: (v: Record<string, unknown>, path: string) => void): Check =>
  (v, p) => {
    if (!isObject(v)) return fail(p, 'an object', v)
    for (const [spec, check] of Object.entries(fields)) {
      const optional = spec.endsWith('?')
      const name = optional ? spec.slice(0, -1) : spec
      const x = v[name]
      if (x === undefined) {
        if (!optional) fail(field(p, name), 'present', x)
        continue
      }
      check(x, field(p, name))
    }
    extra?.(v, p)
  }

const tuple =
  (what: string, required: Check[], optional: Check[] = []): Check =>
  (v, p) => {
    if (!Array.isArray(v) || v.length < required.length || v.length > required.length + optional.length) return fail(p, what, v)
    ;[...required, ...optional].forEach((check, i) => i < v.length && check(v[i], `${p}[${i}]`))
  }

const labels = rec(str)
const either =
  (what: string, ...checks: Check[]): Check =>
  (v, p) => {
    for (const check of checks) {
      try {
        check(v, p)
        return
      } catch (err) {
        if (!(err instanceof StateShapeError)) throw err
      }
    }
    fail(p, what, v)
  }

const status = oneOf('created', 'running', 'paused', 'stopped')
const stdio = obj({ stdin: str, stdout: str, stderr: str, terminal: bool })
const storedAny = obj({ type_url: str, value: str })

const execRecord = obj({
  pid: int,
  status,
  createdAt: str,
  'startedAt?': str,
  'exitedAt?': str,
  'exitStatus?': int,
  process: anyObject,
  'io?': stdio,
})

const taskRecord = obj({
  pid: int,
  'nsPid?': int,
  status,
  createdAt: str,
  'startedAt?': str,
  'exitedAt?': str,
  'exitStatus?': int,
  'exitReason?': str,
  'io?': stdio,
  'execs?': rec(execRecord),
  'resources?': anyObject,
  'injected?': obj({ 'exitCode?': int, 'exitAfterMs?': num, 'oomAfterMs?': num }),
})

const sandboxMeta = obj({
  kind: oneOf('sandbox'),
  config: obj({ metadata: anyObject }),
  name: str,
  runtimeHandler: str,
  ready: bool,
  createdAt: str,
  ip: str,
  additionalIps: arr(str),
  hostname: str,
  netnsPath: str,
  'overhead?': message,
  'resources?': message,
})

const containerMeta = obj({
  kind: oneOf('container'),
  sandboxId: str,
  config: obj({ metadata: anyObject, envs: arr(obj({ key: str, value: str })) }),
  name: str,
  imageId: str,
  logPath: str,
  createdAt: str,
  stopSignal: str,
  'resources?': message,
  'exit?': obj({ startedAt: str, finishedAt: str, exitCode: int, reason: str, message: str }),
  'started?': bool,
})

const criMeta: Check = (v, p) => {
  if (!isObject(v)) return fail(p, 'an object', v)
  if (v.kind === 'sandbox') return sandboxMeta(v, p)
  if (v.kind === 'container') return containerMeta(v, p)
  fail(field(p, 'kind'), 'one of "sandbox", "container"', v.kind)
}

const savedNode = obj({
  type: oneOf('file', 'dir', 'symlink', 'char'),
  mode: int,
  uid: int,
  gid: int,
  mtimeMs: num,
  'data?': str,
  'nlink?': int,
  'target?': str,
  'rdev?': tuple('[major, minor]', [int, int]),
  'device?': str,
})

const savedLayer = obj({
  entries: arr(tuple('[path, file]', [str, savedNode])),
  whiteouts: arr(str),
  opaque: arr(str),
})

const containerRecord = (id: string): Check =>
  obj(
    {
      namespace: str,
      id: str,
      image: str,
      labels,
      runtime: obj({ name: str, 'options?': storedAny }),
      'extensions?': rec(storedAny),
      'sandbox?': str,
      snapshotter: str,
      snapshotKey: str,
      spec: anyObject,
      createdAt: str,
      updatedAt: str,
      'task?': taskRecord,
      'cri?': criMeta,
      'writableLayer?': savedLayer,
      'utsHostname?': str,
    },
    (v, p) => void (v.id === id || fail(field(p, 'id'), `its key ${JSON.stringify(id)}`, v.id)),
  )

const containers: Check = (v, p) => {
  if (!isObject(v)) return fail(p, 'an object', v)
  for (const [id, record] of Object.entries(v)) containerRecord(id)(record, key(p, id))
}

const imageRecord = obj({
  namespace: str,
  name: str,
  manifestDigest: str,
  mediaType: str,
  size: num,
  'annotations?': labels,
  configDigest: str,
  labels,
  createdAt: str,
  updatedAt: str,
})

const imageContent = obj({
  configDigest: str,
  manifestDigest: str,
  size: num,
  os: str,
  architecture: str,
  config: obj({
    user: str,
    entrypoint: arr(str),
    cmd: arr(str),
    env: arr(str),
    workingDir: str,
    exposedPorts: arr(str),
    stopSignal: str,
    labels,
    volumes: arr(str),
  }),
})

const contentRecord = obj({ size: num, labels, createdAt: str, updatedAt: str })

const layerEntry = tuple(
  '[path, kind, mode, uid, gid, mtime, size, where?]',
  [str, oneOf('f', 'd', 'l', 'h', 'c', 'b', 'p', 'w', 'o'), int, int, int, num, num],
  [either('a number or a string', num, str)],
)

const snapshotRecord = obj({
  kind: oneOf('active', 'view', 'committed'),
  parent: str,
  labels,
  createdAt: str,
  updatedAt: str,
  'layers?': arr(obj({ tar: str, entries: arr(layerEntry) })),
  'usageBytes?': num,
})

const leaseRecord = obj({ labels, createdAt: str, resources: arr(obj({ id: str, type: str })) })

const podCidr: Check = (v, p) => {
  str(v, p)
  try {
    parseCidr(v as string)
  } catch (err) {
    throw new StateShapeError(`${p}: ${(err as Error).message}`)
  }
}

const nodeState = obj({
  version: int,
  uuid: str,
  namespaces: rec(obj({ labels })),
  images: arr(imageRecord),
  imageContent: rec(imageContent),
  containers,
  content: rec(rec(contentRecord)),
  snapshots: rec(rec(rec(snapshotRecord))),
  leases: rec(rec(leaseRecord)),
  podCidr,
  nextPid: int,
})

/**
 * Checks that a state (of the current schema version) has the shape store/schema.ts gives it;
 * throws an Error naming `where` and the first field that is wrong.
 */
export function validateState(state: unknown, where: string): asserts state is NodeState {
  try {
    nodeState(state, 'state')
  } catch (err) {
    if (err instanceof StateShapeError) throw new Error(`${where} is not a valid node state: ${err.message}`)
    throw err
  }
}
