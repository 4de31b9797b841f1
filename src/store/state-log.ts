// The state on disk: a snapshot (the state file, the whole NodeState as one JSON object) and a log
// next to it (<state>.log, one JSON line per write: the records changed since, by path). A write
// costs what changed; the snapshot is rewritten (compacted) now and then and the log emptied.
//
// A log line: {"seq":7,"ops":[[["containers","<id>"],{…the record…}],[["content","k8s.io","sha256:…"]]]}
// — each op sets the value at a path into the state (creating the objects on the way) or, without
// a value, deletes it. A line holds the values of its paths at one moment, so the lines applied in
// order give the state of the moment of the last one. The snapshot says which lines it already
// holds ("logSeq": the last one's seq; lines up to it are skipped): a crash between writing a new
// snapshot and emptying the log loses nothing and applies nothing twice. A torn last line (one
// without its newline: a crash in the middle of an append) is ignored and cut off; any other bad
// line, the last one too, refuses the state.
//
// Each snapshot has a random id ("logId"), and a log starts with a header line naming the snapshot
// its lines follow ({"logId":"…"}). A log headed by another id is not this snapshot's: when all its
// lines are at or below the snapshot's logSeq it is the previous snapshot's log a crash left before
// it was emptied (or one of another history that adds nothing), and is ignored and emptied; a log
// with a line beyond logSeq is of another history (a state file copied or restored without its
// log) and refuses the state, naming both files: applying it would mix two histories.
import { randomBytes } from 'node:crypto'
import { isAscii } from 'node:buffer'
import { readFileSync } from 'node:fs'
import type { NodeState, StatePath } from './schema.js'

/** The snapshot's field naming the last log line it holds. */
export const LOG_SEQ = 'logSeq'
/** The snapshot's field with its id, and the log header's. */
export const LOG_ID = 'logId'

/** A new snapshot's id: random, so that no two snapshots of any two histories share one. */
export const newSnapshotId = (): string => randomBytes(12).toString('hex')

/** The first line of a log: the id of the snapshot its lines follow. */
export const logHeader = (id: string): string => `${JSON.stringify({ [LOG_ID]: id })}\n`

export const logOf = (path: string): string => `${path}.log`

/** The snapshot as the state file holds it: JSON without indentation (`jq . state.json` shows it indented). */
export function snapshotText(state: NodeState, seq: number, id: string): string {
  return JSON.stringify({ ...state, [LOG_SEQ]: seq, [LOG_ID]: id })
}

/** The value at a path, or undefined when something on the way is not there. */
function valueAt(state: NodeState, path: StatePath): unknown {
  let value: unknown = state
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

/** One log line (with its newline): the current values of `paths`, a deletion for each one not there. */
export function logLine(seq: number, state: NodeState, paths: Iterable<StatePath>): string {
  const ops: unknown[] = []
  for (const path of paths) {
    const value = valueAt(state, path)
    ops.push(value === undefined ? [path] : [path, value])
  }
  return `${JSON.stringify({ seq, ops })}\n`
}

/** Sets a key of a plain object as JSON.parse would (an own property, even "__proto__"). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
  else target[key] = value
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Applies one parsed line's ops to the state; throws a sentence saying what is wrong with it. */
function apply(state: Record<string, unknown>, ops: unknown): void {
  if (!Array.isArray(ops)) throw new Error('its "ops" is not a list')
  for (const op of ops) {
    if (!Array.isArray(op) || op.length < 1 || op.length > 2) throw new Error('an op is not [path] or [path, value]')
    const path: unknown = op[0]
    if (!Array.isArray(path) || path.length === 0 || !path.every((k) => typeof k === 'string')) {
      throw new Error(`an op's path ${JSON.stringify(path)} is not a list of keys`)
    }
    const keys = path as string[]
    const last = keys.length - 1
    let target: Record<string, unknown> | undefined = state
    for (let i = 0; i < last && target; i++) {
      const next = Object.hasOwn(target, keys[i]!) ? target[keys[i]!] : undefined
      if (next === undefined) {
        // Nothing to delete under a key that is not there; a value is set with the objects on its way.
        if (op.length === 1) target = undefined
        else put(target, keys[i]!, {})
      } else if (!isRecord(next)) throw new Error(`the path ${JSON.stringify(keys)} does not lead through objects`)
      if (target) target = target[keys[i]!] as Record<string, unknown>
    }
    if (!target) continue
    if (op.length === 2) put(target, keys[last]!, op[1])
    else delete target[keys[last]!]
  }
}

export interface LoadedState {
  /** The state the snapshot and the log give (not yet migrated or checked). */
  state: unknown
  /** The seq of the last line it holds: the next line written is seq + 1. */
  seq: number
  /** The snapshot's id (undefined in a file written before snapshots had one). */
  id: string | undefined
  /** The snapshot's size, and the bytes of the log worth keeping (a torn tail or another snapshot's log is not). */
  snapshotBytes: number
  logBytes: number
  /** True when the log is to be cut to logBytes (a torn tail, another snapshot's log), once the state is accepted. */
  cut: boolean
}

/** The header's id, or undefined when the line is not a header (a log written before headers). */
function headerId(line: string): string | undefined {
  if (!line.startsWith(`{"${LOG_ID}"`)) return undefined
  try {
    const parsed: unknown = JSON.parse(line)
    return isRecord(parsed) && typeof parsed[LOG_ID] === 'string' ? parsed[LOG_ID] : undefined
  } catch {
    return undefined
  }
}

/**
 * Reads the state file and replays its log (the lines after the snapshot's logSeq, in order).
 * Returns undefined when there is no state file. Throws a sentence naming the file and the line
 * that is wrong (a torn last line is not: a crash cut it short, and it was never acknowledged).
 */
export function loadState(path: string): LoadedState | undefined {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const snapshotBytes = bytes.length
  // A state file is nearly always ASCII (ids, names, specs; a label in another script makes it
  // UTF-8): then its text is its bytes read as Latin-1, the same string, made several times faster
  // than by UTF-8 decoding, which checks every byte's sequence (100 MB: ~70 ms of CPU, not ~270).
  let text = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')
  bytes = Buffer.alloc(0)
  const state: unknown = JSON.parse(text)
  text = ''
  if (!isRecord(state)) return { state, seq: 0, id: undefined, snapshotBytes, logBytes: 0, cut: false }
  const from = state[LOG_SEQ]
  const rawId = state[LOG_ID]
  delete state[LOG_SEQ]
  delete state[LOG_ID]
  const id = typeof rawId === 'string' ? rawId : undefined
  const snapshotSeq = typeof from === 'number' && Number.isSafeInteger(from) && from >= 0 ? from : 0
  let seq = snapshotSeq
  let log: Buffer
  try {
    log = readFileSync(logOf(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state, seq, id, snapshotBytes, logBytes: 0, cut: false }
    throw err
  }
  let start = 0
  let line = 0
  let good = 0
  // The header: a log headed by another snapshot's id (or none, under a snapshot with one) is read
  // only to see whether it goes past the snapshot.
  const first = log.indexOf(10)
  const header = first === -1 ? undefined : headerId(log.toString('utf8', 0, first))
  const foreign = log.length > 0 && header !== id
  if (header !== undefined) {
    start = first + 1
    line = 1
    good = start
  }
  while (start < log.length) {
    line++
    const end = log.indexOf(10, start)
    const where = `${logOf(path)} line ${line}`
    // A line without its newline was being appended when the server stopped: never acknowledged.
    if (end === -1) return { state, seq, id, snapshotBytes, logBytes: foreign ? 0 : good, cut: true }
    let entry: { seq?: unknown; ops?: unknown }
    try {
      entry = JSON.parse(log.toString('utf8', start, end)) as typeof entry
    } catch (err) {
      throw new Error(`${where} is not a JSON line (${(err as Error).message}); the lines before it hold the state as it was`)
    }
    if (!isRecord(entry) || typeof entry.seq !== 'number' || !Number.isSafeInteger(entry.seq)) {
      throw new Error(`${where} has no "seq" number`)
    }
    if (foreign && entry.seq > snapshotSeq) {
      throw new Error(
        `${logOf(path)} is not the log of ${path}: it follows ${header === undefined ? 'a snapshot without an id' : `snapshot ${header}`}, ` +
          `the state file is snapshot ${id ?? '(no id)'}, and ${where} goes past the state file's logSeq ${snapshotSeq}; ` +
          'put back the state file this log belongs to, or remove the log to start from the state file alone',
      )
    }
    if (foreign) {
      // The previous snapshot's log (or a log adding nothing to this snapshot): skipped whole.
    } else if (entry.seq > seq) {
      if (entry.seq !== seq + 1) throw new Error(`${where} has seq ${entry.seq} where ${seq + 1} was next: lines are missing`)
      try {
        apply(state, entry.ops)
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`)
      }
      seq = entry.seq
    }
    start = end + 1
    good = start
  }
  if (foreign) return { state, seq, id, snapshotBytes, logBytes: 0, cut: true }
  return { state, seq, id, snapshotBytes, logBytes: good, cut: false }
}
