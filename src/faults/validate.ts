// The shape of a fault rule (rule.ts's CallFault and NodeFault), checked wherever a rule enters: a
// --fault spec, a fault file, a seed state's faults, the library's use()/reset() and the control
// service. A rule that does not fit would otherwise be taken and never fire (a misspelled method,
// a field the engine never reads) or misbehave (times: "2"), so it is refused here with a sentence
// naming the field, before any rule of the batch is applied. Built with the kit of validate/shape.ts.
import {
  ShapeError,
  bool,
  didYouMean,
  either,
  fail,
  field,
  isObject,
  num,
  obj,
  oneOf,
  rec,
  str,
  wholeNumber,
  between,
  key,
  type Check,
} from '../validate/shape.js'
import { NODE_KINDS, STATUS_CODES, globMatch, type FaultRule, type RpcNames } from './rule.js'
import { servedServices } from './served.js'

/** A label or request path as a user writes it: match.labels.app, or match.labels["app.kubernetes.io/name"]. */
const entry = (path: string, k: string): string => (/^[A-Za-z_][\w]*$/.test(k) ? field(path, k) : key(path, k))

const ms: Check = (v, p) => void ((typeof v === 'number' && Number.isFinite(v) && v >= 0) || fail(p, 'a number of milliseconds', v))

const span = obj(
  { min: ms, max: ms },
  {
    unknown: (path, name, known) =>
      `${path} is not part of a delay, which is a number of milliseconds or { min, max }${didYouMean(name, known)}`,
    extra: (v, p) => void ((v.min as number) <= (v.max as number) || fail(field(p, 'max'), `at least min (${v.min as number})`, v.max)),
  },
)
const delay: Check = (v, p) =>
  isObject(v) ? span(v, p) : typeof v === 'number' ? ms(v, p) : fail(p, 'a number of milliseconds or { min, max }', v)

/** from / until: ms since the engine started, a Date, or a date string Date can read. */
const time: Check = (v, p) => {
  const at = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN
  if (!Number.isFinite(at)) fail(p, 'a number of milliseconds, a Date or a date such as "2026-01-02T03:04:05Z"', v)
}

const error: Check = (v, p) => {
  if (typeof v === 'number') return wholeNumber(1, 16)(v, p)
  if (typeof v !== 'string') return fail(p, 'a gRPC status name such as UNAVAILABLE or a code from 1 to 16', v)
  const name = v.toUpperCase()
  if (name === 'OK') throw new ShapeError(`${p} must be a failure: OK is not one`)
  const known = Object.keys(STATUS_CODES).filter((s) => s !== 'OK')
  if (!(name in STATUS_CODES))
    throw new ShapeError(`${p}: unknown gRPC status "${v}"${didYouMean(v, known) || '; use a name such as UNAVAILABLE or a number'}`)
}

const strictly =
  (what: string) =>
  (path: string, name: string, known: readonly string[]): string =>
    `${path} is not a field of ${what}${didYouMean(name, known)}`

const match = obj(
  {
    'id?': str,
    'name?': str,
    'image?': str,
    'labels?': rec(str, entry),
    'request?': rec(either('a string, a number or true or false', str, num, bool), entry),
  },
  { unknown: strictly('a match (id, name, image, labels, request)') },
)

const schedule = {
  'times?': wholeNumber(1),
  'after?': wholeNumber(0),
  'probability?': between(0, 1),
  'from?': time,
  'until?': time,
  'once?': bool,
  'match?': match,
}

/** The fields of each kind beyond the schedule and match every rule has, and which kinds read them. */
const ONLY_FOR: Record<string, readonly string[]> = {
  service: ['call'],
  method: ['call'],
  namespace: ['call'],
  error: ['call'],
  trailers: ['call'],
  delay: ['call'],
  hang: ['call'],
  drop: ['call'],
  streamDelay: ['call'],
  truncateAfter: ['call'],
  message: ['call', 'sandboxNetwork', 'runtimeNotReady', 'networkNotReady'],
  exitCode: ['crash'],
  afterMs: ['crash', 'oom'],
  pull: ['pullFailure'],
  durationMs: ['pullFailure'],
}

const KINDS = ['call', ...NODE_KINDS]
const listed = (words: readonly string[]): string =>
  words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`
const kindName = (kind: string): string => `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} fault`

/** For a field the kind has not: whose it is, or the field the user probably meant. */
const notOf =
  (kind: string) =>
  (path: string, name: string, known: readonly string[]): string => {
    const owners = ONLY_FOR[name]
    if (owners) return `${path} is for ${listed(owners)} faults; ${kindName(kind)} has no ${name}`
    return `${path} is not a field of ${kindName(kind)}${didYouMean(name, known)}`
  }

const fieldsOf = (kind: string): Record<string, Check> => {
  const all: Record<string, Check> = {
    service: str,
    method: str,
    namespace: str,
    error,
    message: str,
    trailers: rec(str, entry),
    delay,
    hang: bool,
    drop: bool,
    streamDelay: delay,
    truncateAfter: wholeNumber(0),
    exitCode: wholeNumber(0, 255),
    afterMs: ms,
    pull: oneOf('notFound', 'unauthorized', 'unavailable', 'slow'),
    durationMs: ms,
  }
  const own = Object.entries(all).filter(([name]) => ONLY_FOR[name]!.includes(kind))
  return { 'kind?': oneOf(...KINDS), ...schedule, ...Object.fromEntries(own.map(([name, check]) => [`${name}?`, check])) }
}

/** Service and method must name an RPC the server serves (globs allowed), and together. */
function checkRpc({ service, method }: RpcNames, p: string): void {
  const all = servedServices()
  let services = all
  if (service !== undefined) {
    services = all.filter((s) => globMatch(service, s.name) || globMatch(service, s.short))
    if (services.length === 0) {
      const names = all.map((s) => (service.includes('.') ? s.name : s.short))
      throw new ShapeError(`${field(p, 'service')}: no service is named "${service}"${didYouMean(service, names)}`)
    }
  }
  if (method === undefined || services.some((s) => s.methods.some((m) => globMatch(method, m)))) return
  const elsewhere = all.filter((s) => s.methods.some((m) => globMatch(method, m)))
  if (elsewhere.length > 0) {
    throw new ShapeError(
      `${field(p, 'method')}: ${service} has no RPC named "${method}"; it is an RPC of ${elsewhere.map((s) => s.name).join(', ')}`,
    )
  }
  const which = service === undefined ? '' : ` of ${service}`
  throw new ShapeError(
    `${field(p, 'method')}: no RPC${which} is named "${method}"${didYouMean(
      method,
      services.flatMap((s) => s.methods),
    )}`,
  )
}

const EFFECTS = ['error', 'delay', 'hang', 'drop', 'streamDelay', 'truncateAfter']

const callFault = obj(fieldsOf('call'), {
  unknown: notOf('call'),
  extra: (v, p) => {
    if (!EFFECTS.some((e) => v[e] !== undefined && v[e] !== false)) {
      throw new ShapeError(`${p || 'a rule'}: a call fault needs an effect: error, delay, hang, drop, streamDelay or truncateAfter`)
    }
    checkRpc(v as RpcNames, p)
  },
})

const nodeFaults = Object.fromEntries(NODE_KINDS.map((kind) => [kind, obj(fieldsOf(kind), { unknown: notOf(kind) })]))

/**
 * Rules checked where they entered and frozen then (settleRules: a --fault spec, a fault file, a
 * seed state): the later checks of the same objects (the server's options, the engine) pass them
 * without walking them again, so a rule from the command line is checked once. Frozen, so that
 * nothing changes one after its check.
 */
const settled = new WeakSet<object>()

const rule: Check = (v, p) => {
  if (!isObject(v)) return fail(p || 'a rule', 'an object', v)
  if (settled.has(v)) return
  if (v.kind === undefined || v.kind === 'call') return callFault(v, p)
  const check = nodeFaults[v.kind as string]
  if (!check) {
    const known = didYouMean(String(v.kind), KINDS)
    if (known) throw new ShapeError(`${field(p, 'kind')}: no fault kind is named ${JSON.stringify(v.kind)}${known}`)
    return oneOf(...KINDS)(v.kind, field(p, 'kind'))
  }
  check(v, p)
}

/** The message a refused rule gives: the field path and what is wrong there. */
function refusal(err: unknown, where: string): never {
  if (err instanceof ShapeError) throw new Error(`${where}: ${err.message}`)
  throw err
}

/**
 * Checks one rule and says, in a sentence naming the field, what is wrong with it; `where` says
 * where it came from (a --fault spec, a file).
 */
export function validateRule(value: unknown, where = 'invalid fault rule'): asserts value is FaultRule {
  try {
    rule(value, '')
  } catch (err) {
    refusal(err, where)
  }
}

const deepFreeze = (v: unknown): void => {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return
  Object.freeze(v)
  for (const x of Object.values(v)) deepFreeze(x)
}

const settle = (v: unknown): void => {
  deepFreeze(v)
  settled.add(v as object)
}

/** Checks a rule as validateRule does, then freezes it: checked once, wherever it goes next. */
export function settleRule(value: unknown, where?: string): FaultRule {
  validateRule(value, where)
  settle(value)
  return value
}

/** Checks rules as validateRules does, then freezes them: checked once, wherever they go next. */
export function settleRules(values: readonly unknown[], where?: string): FaultRule[] {
  validateRules(values, where)
  values.forEach(settle)
  return values as FaultRule[]
}

/** Checks a list of rules, each named faults[i], before any of them is used: a batch is taken whole or not at all. */
export function validateRules(values: readonly unknown[], where = 'invalid fault rule'): asserts values is FaultRule[] {
  try {
    values.forEach((v, i) => rule(v, `faults[${i}]`))
  } catch (err) {
    refusal(err, where)
  }
}

/**
 * Checks that a service and a method (globs, as a call fault takes them) name an RPC the server
 * serves, for the other places RPC names enter (journal queries): an Error `where: …` with the
 * closest names when not.
 */
export function validateRpcNames(names: RpcNames, where: string): void {
  try {
    checkRpc(names, '')
  } catch (err) {
    refusal(err, where)
  }
}
