// The shape of a node state (store/schema.ts), checked before a state is loaded: a state file, a
// seed state, or one given to restore() or RestoreState. The model trusts the state it runs on, so
// a malformed one is refused here with the field that is wrong, before anything of the running
// node is touched. Hand-written over schema.ts's types with the kit of validate/shape.ts: no schema
// library is a dependency, and the state is plain JSON with a handful of record kinds. Fields are
// checked as far as the model reads them; what came from a client's request as it was (an OCI
// spec, a CRI config) is checked to be an object, not field by field. Fields the schema does not
// name are left alone.
import { parseCidr } from '../model/cri/ipam.js'
import {
  ShapeError,
  arr,
  bool,
  either,
  fail,
  field,
  int,
  isObject,
  key,
  num,
  obj,
  oneOf,
  rec,
  str,
  tuple,
  type Check,
} from '../validate/shape.js'
import type { NodeState } from './schema.js'

/** Any JSON object (a spec, a CRI config): the model reads it as the client sent it. */
const anyObject: Check = (v, p) => void (isObject(v) || fail(p, 'an object', v))
/** A protobuf message field kept as it came: an object, or null when the client left it out. */
const message: Check = (v, p) => void (v === null || isObject(v) || fail(p, 'an object or null', v))

const labels = rec(str)
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
  'networkDown?': bool,
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

const containerRecord = obj({
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
  'utsHostname?': str,
})

/** Each record under its own id: one check for all of them (rec's), the key compared after. */
const containers: Check = (v, p) => {
  rec(containerRecord)(v, p)
  const records = v as Record<string, Record<string, unknown>>
  for (const id in records) {
    const record = records[id]!
    if (record.id !== id) fail(field(key(p, id), 'id'), `its key ${JSON.stringify(id)}`, record.id)
  }
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

const sandboxStoreRecord = obj({
  runtime: obj({ name: str, 'options?': storedAny }),
  'spec?': storedAny,
  labels,
  extensions: rec(storedAny),
  sandboxer: str,
  createdAt: str,
  updatedAt: str,
  pid: int,
  ready: bool,
  'exitedAt?': str,
})

const podCidr: Check = (v, p) => {
  str(v, p)
  try {
    parseCidr(v as string)
  } catch (err) {
    throw new ShapeError(`${p}: ${(err as Error).message}`)
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
  sandboxes: rec(rec(sandboxStoreRecord)),
  layers: rec(savedLayer),
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
    if (err instanceof ShapeError) throw new Error(`${where} is not a valid node state: ${err.message}`)
    throw err
  }
}
