// A small kit for checking the shape of plain JSON-like values (a node state, a fault rule) by hand:
// each Check looks at a value at a path and throws ShapeError with a sentence naming that path.
// Hand-written rather than a schema library: the project has no such dependency, the shapes are
// few, and the messages are ours to word ("faults[2].times must be …, not "2"").

/** Checks a value at a path; throws ShapeError when it does not fit. */
export type Check = (value: unknown, path: string) => void

/** What a Check throws: its message names the path and what was wrong there. */
export class ShapeError extends Error {}

/** A value as a message shows it: short, and never a whole object. */
export const show = (value: unknown): string => {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

export const fail = (path: string, want: string, value: unknown): never => {
  throw new ShapeError(`${path} must be ${want}, not ${show(value)}`)
}

/** A field of the object at path: state.containers (or just the name at the root, path ""). */
export const field = (path: string, name: string): string => (path ? `${path}.${name}` : name)
/** A key of a map: containers["id"]. */
export const key = (path: string, k: string): string => `${path}[${JSON.stringify(k)}]`

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export const str: Check = (v, p) => void (typeof v === 'string' || fail(p, 'a string', v))
export const num: Check = (v, p) => void ((typeof v === 'number' && Number.isFinite(v)) || fail(p, 'a number', v))
export const int: Check = (v, p) => void ((typeof v === 'number' && Number.isSafeInteger(v)) || fail(p, 'an integer', v))
export const bool: Check = (v, p) => void (typeof v === 'boolean' || fail(p, 'true or false', v))

/** A whole number of at least `min` (and at most `max`). */
export const wholeNumber =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v, p) => {
    const ok = typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max
    if (!ok) fail(p, max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`, v)
  }

/** A finite number from `min` to `max`. */
export const between =
  (min: number, max: number): Check =>
  (v, p) =>
    void ((typeof v === 'number' && v >= min && v <= max) || fail(p, `a number from ${min} to ${max}`, v))

export const oneOf =
  (...values: string[]): Check =>
  (v, p) =>
    void (values.includes(v as string) || fail(p, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v))

/** An item of an array: list[2]. */
const index = (path: string, i: number): string => `${path}[${i}]`

/**
 * Checks the value at `k` of the value at `parent`, under a path made only when it fails: the check
 * runs first at the root path "", so that the hundred thousand fields of a node state build no path
 * strings, and only a failure is checked again under its path (`name(parent, k)`) for its message.
 * Checks are pure: the same value fails the same way.
 */
function under<K>(check: Check, v: unknown, parent: string, k: K, name: (path: string, k: K) => string): void {
  try {
    check(v, '')
  } catch (err) {
    if (!(err instanceof ShapeError)) throw err
    check(v, name(parent, k))
    throw err
  }
}

export const arr =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'an array', v)
    for (let i = 0; i < v.length; i++) under(item, v[i], p, i, index)
  }

/** An object used as a map: any keys, each value checked; `name` names a key's path. */
export const rec =
  (value: Check, name: (path: string, k: string) => string = key): Check =>
  (v, p) => {
    if (!isObject(v)) return fail(p, 'an object', v)
    for (const k in v) if (Object.hasOwn(v, k)) under(value, v[k], p, k, name)
  }

export interface ObjOptions {
  /** Checks what the fields alone cannot (a field that depends on another). */
  extra?: (v: Record<string, unknown>, path: string) => void
  /**
   * Refuse fields the object does not name, with this function's sentence (given the field's path
   * and name); without it, unknown fields are left alone.
   */
  unknown?: (path: string, name: string, known: readonly string[]) => string
}

/**
 * An object with these fields; a field whose name ends in "?" may be left out. The fields are
 * read once, when the check is made: a node state's records are checked by the ten thousand.
 */
export const obj = (fields: Record<string, Check>, options: ObjOptions = {}): Check => {
  const specs = Object.entries(fields).map(([spec, check]) => {
    const optional = spec.endsWith('?')
    return { name: optional ? spec.slice(0, -1) : spec, optional, check }
  })
  const names = specs.map((s) => s.name)
  return (v, p) => {
    if (!isObject(v)) return fail(p, 'an object', v)
    if (options.unknown) {
      for (const name of Object.keys(v)) if (!names.includes(name)) throw new ShapeError(options.unknown(field(p, name), name, names))
    }
    for (const { name, optional, check } of specs) {
      const x = v[name]
      if (x === undefined) {
        if (!optional) fail(field(p, name), 'present', x)
        continue
      }
      check(x, field(p, name))
    }
    options.extra?.(v, p)
  }
}

export const tuple = (what: string, required: Check[], optional: Check[] = []): Check => {
  const checks = [...required, ...optional]
  return (v, p) => {
    if (!Array.isArray(v) || v.length < required.length || v.length > checks.length) return fail(p, what, v)
    for (let i = 0; i < v.length; i++) under(checks[i]!, v[i], p, i, index)
  }
}

/** The first of the checks the value passes; if none, "must be `what`". */
export const either =
  (what: string, ...checks: Check[]): Check =>
  (v, p) => {
    for (const check of checks) {
      try {
        check(v, p)
        return
      } catch (err) {
        if (!(err instanceof ShapeError)) throw err
      }
    }
    fail(p, what, v)
  }

/** Levenshtein distance, case-insensitive: "pullimage" is as close to PullImage as can be. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const row = [i]
    for (let j = 1; j <= t.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[t.length]!
}

/**
 * The candidates closest to a word a user typed, best first: near enough to be a slip (a third of
 * the word's letters, at least two), at most three, so that "did you mean" never lists everything.
 */
export function closest(word: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor(word.length / 3))
  const scored = [...new Set(candidates)].map((c) => ({ c, d: distance(word, c) })).filter((x) => x.d <= limit)
  scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
  const best = scored[0]?.d
  return scored
    .filter((x) => x.d === best || x.d <= 1)
    .map((x) => x.c)
    .slice(0, 3)
}

/** "; did you mean A?" or "; did you mean A or B?", or "" when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const near = closest(word, candidates)
  if (near.length === 0) return ''
  return `; did you mean ${near.length === 1 ? near[0] : `${near.slice(0, -1).join(', ')} or ${near[near.length - 1]}`}?`
}
