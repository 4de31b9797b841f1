// The state store: the node's plain data, in memory, optionally persisted to a state file and its
// log (store/state-log.ts: the format). Model code says what it changed (changed(['containers', id]));
// a write appends one line to <state>.log with the current values of the paths changed since the
// last one, so it costs what changed, not the size of the node. The state file itself (the
// snapshot) is rewritten whole only now and then: by the first write of a new or migrated file (at
// close, when nothing changed), when the log has grown past half the snapshot's size (and 1 MiB),
// after a whole-state change (replace) and at close, which leaves the file complete on its own.
// Without sync, a burst of changes is coalesced into one write a moment later (nothing is fsynced:
// a crash loses the changes of the last moments). With sync, a call's answer waits for durable():
// the line is appended and fdatasynced (a snapshot: written to a temp file, fsynced, renamed, the
// directory fsynced); calls waiting at the same time share one write (group commit). Never a torn
// state: the snapshot is renamed into place whole, and a torn last log line is ignored on read. A
// failed write is tried again with backoff, whether or not another change comes. A lock file
// (<state>.lock, the owner's pid) keeps a second server off the same file.
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { open, rename, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { migrate } from './migrate.js'
import { SCHEMA_VERSION, type NodeState, type StatePath } from './schema.js'
import { loadState, logHeader, logLine, logOf, newSnapshotId, snapshotText, type LoadedState } from './state-log.js'
import { validateState } from './validate.js'

/** How long mutations may pile up before they are written together (when no call waits for them). */
const COALESCE_MS = 20

/** The log is folded into a new snapshot once it is this share of the snapshot's size… */
const COMPACT_FRACTION = 0.5
/** …and at least this big: a small state is not rewritten every few changes. */
const COMPACT_MIN_BYTES = 1024 * 1024

/** A failed write is tried again after this long, doubling up to the most (a full disk may take a while to clear). */
const RETRY_FIRST_MS = 100
const RETRY_MOST_MS = 5000

/** Where the snapshot is written before it is renamed over the file. */
const tempOf = (path: string): string => join(dirname(path), `.${basename(path)}.tmp`)

/**
 * The state file and its log on disk. With `sync` a snapshot's temp file is fsynced before the
 * rename and the directory after it, and each appended line is fdatasynced (the directory once,
 * when the log is made); the directory and the log stay open between writes.
 */
class StateFiles {
  #dir: FileHandle | undefined
  #log: FileHandle | undefined
  /** Bytes of the snapshot and of the log as they are on disk. */
  snapshotBytes: number
  logBytes: number
  /** The snapshot's id, which heads the log (undefined for a snapshot written before ids). */
  id: string | undefined
  /** True when the last snapshot could not empty the log: the next write must be a snapshot. */
  #unemptied = false

  /** Called only once the loaded state has been accepted: nothing on disk changes for a state refused. */
  constructor(
    readonly path: string,
    readonly sync: boolean,
    loaded: LoadedState | undefined,
    /** Where a problem that loses nothing is told (the store's onError). */
    readonly warn: (message: string) => void,
  ) {
    this.snapshotBytes = loaded?.snapshotBytes ?? 0
    this.logBytes = loaded?.logBytes ?? 0
    this.id = loaded?.id
    // A torn last line is cut off, so that the next line starts on a line of its own; a log of
    // another snapshot (a crash before it was emptied) is emptied; a log with no state file is left
    // from a state that was removed, and goes with it.
    if (loaded?.cut || (!loaded && existsSync(logOf(path)))) truncateSync(logOf(path), this.logBytes)
  }

  /** True when the log holds lines the snapshot does not. */
  get logged(): boolean {
    return this.logBytes > 0
  }

  /** True when the log has grown enough to be folded into a new snapshot. */
  get due(): boolean {
    return this.#unemptied || this.logBytes >= Math.max(COMPACT_MIN_BYTES, this.snapshotBytes * COMPACT_FRACTION)
  }

  async #syncDir(): Promise<void> {
    await (this.#dir ??= await open(dirname(this.path), 'r')).sync()
  }

  async append(line: string): Promise<void> {
    if (!this.#log) {
      const made = !existsSync(logOf(this.path))
      this.#log = await open(logOf(this.path), 'a')
      if (made && this.sync) await this.#syncDir()
    }
    // An empty log starts with the id of the snapshot its lines follow (state-log.ts: logHeader).
    const bytes = Buffer.from(this.logBytes === 0 && this.id !== undefined ? logHeader(this.id) + line : line)
    await this.#log.write(bytes)
    if (this.sync) await this.#log.datasync()
    this.logBytes += bytes.length
  }

  /** Writes a new snapshot (of this id) over the state file, then empties the log (its lines are in the snapshot now). */
  async snapshot(text: string, id: string): Promise<void> {
    const temp = tempOf(this.path)
    const bytes = Buffer.from(text)
    const handle = await open(temp, 'w')
    try {
      await handle.writeFile(bytes)
      if (this.sync) await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, this.path)
    if (this.sync) await this.#syncDir()
    this.snapshotBytes = bytes.length
    this.id = id
    // The snapshot is saved now, whatever follows. Emptying the log is not needed durably: a log a
    // crash leaves is headed by the previous snapshot's id, and ignored on read.
    try {
      if (this.#log) await this.#log.truncate(0)
      else if (this.logBytes > 0 || existsSync(logOf(this.path))) truncateSync(logOf(this.path), 0)
      this.logBytes = 0
    } catch (err) {
      // The old lines stay, under the old snapshot's id: a line appended after them would be ignored
      // on read with them, so the next write is a snapshot again (and tries to empty the log again).
      this.#unemptied = true
      this.warn(`state saved to ${this.path}, but emptying its log ${logOf(this.path)} failed: ${(err as Error).message}`)
      return
    }
    this.#unemptied = false
  }

  async close(): Promise<void> {
    await this.#dir?.close()
    await this.#log?.close()
    this.#dir = undefined
    this.#log = undefined
  }
}

/** The lock files this process holds: a second open of one in this process is refused, not taken as stale. */
const held = new Set<string>()

/** True while a process with this pid runs (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<state>.lock` for this process: refused while another process with the pid written in it
 * runs, or while this process has the file open already; a lock left by a process that is gone (a
 * crash) is taken over, even one with our own pid (PID 1 in a restarted container). Returns the
 * lock file's path.
 */
function lockState(path: string): string {
  const lock = `${path}.lock`
  if (held.has(lock)) {
    throw new Error(`state file ${path} is already open in this process (lock ${lock}); close that server first or choose another --state`)
  }
  // The pid and a token of this open: a stale lock is told from a new one that has the same pid.
  const mine = `${process.pid} ${randomBytes(8).toString('hex')}\n`
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o644)
      try {
        writeFileSync(fd, mine)
      } finally {
        closeSync(fd)
      }
      held.add(lock)
      return lock
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let stale: string
    try {
      stale = readFileSync(lock, 'utf8')
    } catch {
      continue // Gone meanwhile: try again.
    }
    const owner = Number.parseInt(stale, 10)
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new Error(
        `state file ${path} is in use by another fake-containerd (pid ${owner}, lock ${lock}); stop it or choose another --state`,
      )
    }
    // Two servers may find the same stale lock: each moves the lock aside and keeps going only when
    // what it moved is the lock it judged stale; one that moved the other's new lock puts it back
    // (link: never over a lock made meanwhile) and, on its next turn, finds that lock's owner running.
    const aside = `${lock}.${process.pid}-${randomBytes(4).toString('hex')}`
    try {
      renameSync(lock, aside)
    } catch {
      continue
    }
    try {
      if (readFileSync(aside, 'utf8') !== stale) linkSync(aside, lock)
    } catch {
      // A lock made meanwhile is in place: the next turn finds it.
    } finally {
      rmSync(aside, { force: true })
    }
  }
  throw new Error(`cannot take the lock ${lock} of state file ${path}: other servers keep taking it; start one server at a time`)
}

/** Lets go of a lock lockState took. */
function unlockState(lock: string): void {
  rmSync(lock, { force: true })
  held.delete(lock)
}

export interface StoreOptions {
  /** Acknowledge changes only once they are on disk (durable() waits for an fsynced write). */
  sync?: boolean
}

/** A path as a map key: its keys joined by a character no key of the state holds. */
const pathKey = (path: StatePath): string => path.join('\0')

export class StateStore {
  /** How many times the state has been written to the file or its log; lets tests see coalescing. */
  writes = 0
  /** Acknowledged changes wait for durable() (the server's --state-sync). */
  readonly sync: boolean
  #data: NodeState
  #file: StateFiles | undefined
  #lock: string | undefined
  /** The paths changed since the last write, and whether the whole state must be written (a new snapshot). */
  #dirty = new Map<string, StatePath>()
  #whole = false
  /** The seq of the last log line written (or the snapshot's logSeq), and the nextPid written. */
  #seq: number
  #pid: number
  /** The coalescing timer of writes nobody waits for. */
  #timer: NodeJS.Timeout | undefined
  /** A write about to start for calls waiting on it (the next turn of the event loop). */
  #soon: NodeJS.Immediate | undefined
  /** Changes made so far, and how many of them the file holds. */
  #version = 0
  #written = 0
  #writing: Promise<void> | undefined
  #waiters: { version: number; done: () => void; fail: (err: Error) => void }[] = []
  #closed = false
  /** How long until a failed write is tried again; doubles with each failure in a row. */
  #retryMs = RETRY_FIRST_MS
  /** Where write failures are reported (the server's logger). */
  onError: (message: string) => void = () => {}
  /**
   * Runs just before each write (not to be a change itself): a part puts into the state what it keeps
   * in memory (model/runtime/views.ts: the writable layers changed since the last write), and says
   * which paths that changed.
   */
  beforeWrite: () => void = () => {}

  private constructor(data: NodeState, file: StateFiles | undefined, lock: string | undefined, seq = 0, whole = false) {
    this.#data = data
    this.#file = file
    this.#lock = lock
    this.#seq = seq
    this.#pid = data.nextPid
    this.sync = file?.sync ?? false
    // A state the file does not hold as it is (new, migrated, filled in) is written whole by the first write.
    this.#whole = whole
  }

  get file(): string | undefined {
    return this.#file?.path
  }

  /**
   * Opens the store: a file when `file` is given (created on first write), otherwise memory only.
   * The file is locked for this process; a temp file a crash left behind is removed; the log's
   * lines are applied to the snapshot.
   */
  static async open(file: string | undefined, initial: () => NodeState, options: StoreOptions = {}): Promise<StateStore> {
    if (file === undefined) return new StateStore(initial(), undefined, undefined)
    const path = resolve(file)
    mkdirSync(dirname(path), { recursive: true })
    const lock = lockState(path)
    try {
      // A snapshot cut short by a crash: the state file itself is whole (the temp file is renamed over it).
      rmSync(tempOf(path), { force: true })
      let loaded: LoadedState | undefined
      try {
        loaded = loadState(path)
      } catch (err) {
        throw new Error(`cannot read state file ${path}: ${(err as Error).message}; fix or remove the file`)
      }
      // The store's onError is set by its owner after open: StateFiles reports through it when it is.
      let store: StateStore | undefined
      const warn = (message: string): void => store?.onError(message)
      if (!loaded) return (store = new StateStore(initial(), new StateFiles(path, options.sync === true, undefined, warn), lock, 0, true))
      // Only a state read from the file is checked: the initial one is new, or a seed state its reader
      // has checked. Collections added after a file was written start empty; then the whole state is checked.
      const data = loaded.state
      const version = (data as { version?: unknown } | null)?.version
      migrate(data)
      const current = typeof data === 'object' && data !== null && (data as { version?: unknown }).version === SCHEMA_VERSION
      const filled = current && fillMissing(data as NodeState, initial())
      checkState(data, path)
      // Accepted: only now is a torn tail cut off the log.
      const files = new StateFiles(path, options.sync === true, loaded, warn)
      // A migrated or filled-in state is written whole before any line goes to the log: lines are of
      // this version; so is a snapshot without an id (older files), so that the log is headed by one.
      const whole = version !== SCHEMA_VERSION || filled || loaded.id === undefined
      return (store = new StateStore(data, files, lock, loaded.seq, whole))
    } catch (err) {
      unlockState(lock)
      throw err
    }
  }

  get data(): NodeState {
    return this.#data
  }

  /** How many changes have been made; durable(version) waits for the file to hold them. */
  get version(): number {
    return this.#version
  }

  /** True when the file holds every change made so far (always, in memory). */
  get clean(): boolean {
    return this.#written === this.#version
  }

  /** Replaces the whole state (restore from a snapshot); the caller has checked it (Node.replaceState: checkState). */
  replace(state: NodeState): void {
    this.#data = state
    this.changed()
  }

  /**
   * Records that the state changed at these paths; the file is written shortly, once for the whole
   * burst. Without a path the change may be anywhere: the whole state is written, as a new snapshot.
   */
  changed(...paths: StatePath[]): void {
    if (this.#file === undefined || this.#closed) return
    if (paths.length === 0) this.#whole = true
    for (const path of paths) this.#dirty.set(pathKey(path), path)
    this.#version++
    if (this.#timer !== undefined || this.#writing !== undefined) return
    this.#timer = setTimeout(() => void this.#kick(), COALESCE_MS)
    this.#timer.unref()
  }

  /**
   * Resolves when the file holds every change made up to `version` (default: all so far), fsynced
   * with sync; rejects when that write failed. Calls waiting together share one write.
   */
  durable(version = this.#version): Promise<void> {
    if (this.#file === undefined || this.#written >= version) return Promise.resolve()
    const wait = new Promise<void>((done, fail) => this.#waiters.push({ version, done, fail }))
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    // Start once the calls whose requests came in with this one have run, so that they join the
    // write; setImmediate, not setTimeout(0), which waits a millisecond more for each group.
    if (this.#writing === undefined && this.#soon === undefined) this.#soon = setImmediate(() => void this.#kick())
    return wait
  }

  /** Writes any pending change now; resolves when it is on disk (write failures are reported, not thrown). */
  flush(): Promise<void> {
    return this.durable().catch(() => {})
  }

  /**
   * The next write: a log line of the changed paths, or the whole state as a new snapshot. Async
   * throughout, so that a failure to build the text (a state past V8's longest string) rejects
   * like a failed write does; the text is built before the first await, of the state as it is now.
   */
  async #write(file: StateFiles): Promise<void> {
    const whole = this.#whole || file.due
    const paths = [...this.#dirty.values()]
    this.#dirty.clear()
    this.#whole = false
    const pid = this.#data.nextPid
    if (whole) {
      const id = newSnapshotId()
      const text = snapshotText(this.#data, this.#seq, id)
      this.#pid = pid
      return file.snapshot(text, id)
    }
    // PIDs are taken without a change of their own; the counter goes with the next line.
    if (pid !== this.#pid) paths.push(['nextPid'])
    this.#pid = pid
    const line = logLine(this.#seq + 1, this.#data, paths)
    this.#seq++
    return file.append(line)
  }

  /** Writes until the file holds every change, one write at a time. */
  async #kick(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#soon !== undefined) clearImmediate(this.#soon)
    this.#soon = undefined
    const file = this.#file
    if (this.#writing || !file) return
    while (this.#written < this.#version) {
      const version = this.#version
      this.writes++
      let failure: Error | undefined
      // beforeWrite too: what it puts into the state is part of the write, and so is its failure.
      this.#writing = (async () => {
        this.beforeWrite()
        await this.#write(file)
      })().catch((err: unknown) => {
        failure = err instanceof Error ? err : new Error(String(err))
      })
      await this.#writing
      this.#writing = undefined
      const waiting = this.#waiters
      if (failure) {
        // What did not reach the disk (and a line perhaps half appended) is put right by writing the whole state next.
        this.#whole = true
        this.onError(`writing state to ${file.path} failed: ${failure.message}`)
        this.#waiters = []
        for (const w of waiting) w.fail(new Error(`the change was made but not saved to ${file.path}: ${failure.message}`))
        // Tried again without waiting for another change: the disk may have room again.
        if (!this.#closed && this.#timer === undefined) {
          this.#timer = setTimeout(() => void this.#kick(), this.#retryMs)
          this.#timer.unref()
          this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MOST_MS)
        }
        return
      }
      this.#retryMs = RETRY_FIRST_MS
      this.#written = version
      this.#waiters = waiting.filter((w) => w.version > version)
      for (const w of waiting) if (w.version <= version) w.done()
      // Changes made while writing with nobody waiting for them go with the next burst.
      if (this.#waiters.length === 0 && this.#written < this.#version && !this.#closed) {
        this.#timer = setTimeout(() => void this.#kick(), COALESCE_MS)
        this.#timer.unref()
        return
      }
    }
  }

  /** Writes what is pending and folds the log into the snapshot, so that the state file alone holds the state. */
  async close(): Promise<void> {
    // A new or migrated file not yet written (#whole) is written too: a server closed with no change leaves its file.
    if (this.#file && !this.#closed && (this.#file.logged || !this.clean || this.#whole)) this.changed()
    await this.flush()
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#soon !== undefined) clearImmediate(this.#soon)
    await this.#file?.close()
    if (this.#lock !== undefined) unlockState(this.#lock)
    this.#lock = undefined
  }
}

/** Collections added to version 1 after it was first written start empty in older files; true when one did. */
function fillMissing(state: NodeState, fresh: NodeState): boolean {
  const target = state as unknown as Record<string, unknown>
  let filled = false
  for (const [key, value] of Object.entries(fresh)) {
    if (key in target) continue
    target[key] = value
    filled = true
  }
  return filled
}

/**
 * Checks a state's schema version, first migrating an older one in place (store/migrate.ts), and
 * then its shape (store/validate.ts): throws an Error saying which field is wrong.
 */
export function checkState(state: unknown, where: string): asserts state is NodeState {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) validateState(state, where)
  migrate(state)
  const version = (state as { version?: unknown } | null)?.version
  if (version !== SCHEMA_VERSION) {
    throw new Error(
      `${where} has state schema version ${JSON.stringify(version)}, but this fake-containerd reads version ${SCHEMA_VERSION}; ` +
        'start with a new state file or use the fake-containerd version that wrote it',
    )
  }
  validateState(state, where)
}
