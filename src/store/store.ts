// The state store: the node's plain data, in memory, optionally persisted to a JSON file with lowdb.
// Mutations mark the store dirty. Without sync, a burst of them is coalesced into one write a moment
// later (a temp file renamed over the state, so the file is never torn, but nothing is fsynced: a
// crash loses the changes of the last moments). With sync, a call's answer waits for durable(): the
// state is written to a temp file, fsynced, renamed and the directory fsynced; calls waiting at the
// same time share one write (group commit). A lock file (<state>.lock, the owner's pid) keeps a second
// server off the same file.
import { Low, Memory, type Adapter } from 'lowdb'
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { open, readFile, rename, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { migrate } from './migrate.js'
import { SCHEMA_VERSION, type NodeState } from './schema.js'
import { validateState } from './validate.js'

/** How long mutations may pile up before they are written together (when no call waits for them). */
const COALESCE_MS = 20

/** Where the state is written before it is renamed over the file (lowdb's steno used the same name). */
const tempOf = (path: string): string => join(dirname(path), `.${basename(path)}.tmp`)

/**
 * The state as the file holds it: JSON without indentation, which takes a third less time to make
 * and to write than indented JSON, and is written once for every group of calls with --state-sync
 * (`jq . state.json` shows it indented).
 */
const serialise = (state: NodeState): string => JSON.stringify(state)

/**
 * The state file as lowdb reads and writes it: JSON, written whole to a temp file and renamed. With
 * `sync` the temp file is fsynced before the rename and the directory after it (the rename is durable
 * only then); the directory stays open between writes, which saves two system calls a write.
 */
class StateFile implements Adapter<NodeState> {
  #dir: FileHandle | undefined

  constructor(
    readonly path: string,
    readonly sync: boolean,
  ) {}

  async read(): Promise<NodeState | null> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    return JSON.parse(text) as NodeState
  }

  async write(data: NodeState): Promise<void> {
    await this.writeText(serialise(data))
  }

  async writeText(text: string): Promise<void> {
    const temp = tempOf(this.path)
    const handle = await open(temp, 'w')
    try {
      await handle.writeFile(text)
      if (this.sync) await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, this.path)
    if (this.sync) await (this.#dir ??= await open(dirname(this.path), 'r')).sync()
  }

  async close(): Promise<void> {
    await this.#dir?.close()
    this.#dir = undefined
  }
}

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
 * Takes `<state>.lock` for this process: refused while the pid written in it runs; a lock left by a
 * process that is gone (a crash) is taken over. Returns the lock file's path.
 */
function lockState(path: string): string {
  const lock = `${path}.lock`
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o644)
      writeFileSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return lock
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err
    }
    let owner = NaN
    try {
      owner = Number.parseInt(readFileSync(lock, 'utf8'), 10)
    } catch {
      // Gone meanwhile, or unreadable: try again once.
    }
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
      throw new Error(
        `state file ${path} is in use by another fake-containerd (pid ${owner}, lock ${lock}); stop it or choose another --state`,
      )
    }
    rmSync(lock, { force: true })
  }
}

export interface StoreOptions {
  /** Acknowledge changes only once they are on disk (durable() waits for an fsynced write). */
  sync?: boolean
}

export class StateStore {
  /** How many times the state has been written to the file; lets tests see coalescing. */
  writes = 0
  /** Acknowledged changes wait for durable() (the server's --state-sync). */
  readonly sync: boolean
  #db: Low<NodeState>
  #file: StateFile | undefined
  #lock: string | undefined
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
  /** Where write failures are reported (the server's logger). */
  onError: (message: string) => void = () => {}
  /**
   * Runs just before each write (not to be a change itself): a part puts into the state what it keeps
   * in memory (model/runtime/views.ts: the writable layers changed since the last write).
   */
  beforeWrite: () => void = () => {}

  private constructor(db: Low<NodeState>, file: StateFile | undefined, lock: string | undefined) {
    this.#db = db
    this.#file = file
    this.#lock = lock
    this.sync = file?.sync ?? false
  }

  get file(): string | undefined {
    return this.#file?.path
  }

  /**
   * Opens the store: a file when `file` is given (created on first write), otherwise memory only.
   * The file is locked for this process; a temp file a crash left behind is removed.
   */
  static async open(file: string | undefined, initial: () => NodeState, options: StoreOptions = {}): Promise<StateStore> {
    if (file === undefined) {
      const db = new Low<NodeState>(new Memory<NodeState>(), initial())
      return new StateStore(db, undefined, undefined)
    }
    const path = resolve(file)
    mkdirSync(dirname(path), { recursive: true })
    const lock = lockState(path)
    try {
      // A write cut short by a crash: the state file itself is whole (the temp file is renamed over it).
      rmSync(tempOf(path), { force: true })
      const adapter = new StateFile(path, options.sync === true)
      const fresh = initial()
      const db = new Low<NodeState>(adapter, fresh)
      try {
        await db.read()
      } catch (err) {
        throw new Error(`cannot read state file ${path}: ${(err as Error).message}; fix or remove the file`)
      }
      // Only a state read from the file is checked: the initial one is new, or a seed state its reader
      // has checked. Collections added after a file was written start empty; then the whole state is checked.
      if (db.data !== fresh) {
        migrate(db.data)
        if (typeof db.data === 'object' && db.data !== null && (db.data as { version?: unknown }).version === SCHEMA_VERSION)
          fillMissing(db.data, fresh)
        checkState(db.data, path)
      }
      return new StateStore(db, adapter, lock)
    } catch (err) {
      rmSync(lock, { force: true })
      throw err
    }
  }

  get data(): NodeState {
    return this.#db.data
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
    this.#db.data = state
    this.changed()
  }

  /** Records that the state changed; the file is written shortly, once for the whole burst. */
  changed(): void {
    if (this.#file === undefined || this.#closed) return
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

  /** Writes until the file holds every change, one write at a time. */
  async #kick(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#soon !== undefined) clearImmediate(this.#soon)
    this.#soon = undefined
    if (this.#writing || !this.#file) return
    while (this.#written < this.#version) {
      this.beforeWrite()
      const version = this.#version
      const text = serialise(this.#db.data)
      this.writes++
      let failure: Error | undefined
      this.#writing = this.#file.writeText(text).catch((err: unknown) => {
        failure = err as Error
      })
      await this.#writing
      this.#writing = undefined
      const waiting = this.#waiters
      if (failure) {
        this.onError(`writing state to ${this.#file.path} failed: ${failure.message}`)
        this.#waiters = []
        for (const w of waiting) w.fail(new Error(`the change was made but not saved to ${this.#file.path}: ${failure.message}`))
        return
      }
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

  async close(): Promise<void> {
    await this.flush()
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#soon !== undefined) clearImmediate(this.#soon)
    await this.#file?.close()
    if (this.#lock !== undefined) rmSync(this.#lock, { force: true })
    this.#lock = undefined
  }
}

/** Collections added to version 1 after it was first written start empty in older files. */
function fillMissing(state: NodeState, fresh: NodeState): void {
  const target = state as unknown as Record<string, unknown>
  for (const [key, value] of Object.entries(fresh)) if (!(key in target)) target[key] = value
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
