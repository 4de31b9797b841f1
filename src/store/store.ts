// The state store: the node's plain data, in memory, optionally persisted to a JSON file with lowdb.
// Mutations mark the store dirty; a burst of them is coalesced into one write a moment later, and
// lowdb's writer (steno) writes a temp file and renames it, so the file is never torn.
import { Low, Memory } from 'lowdb'
import { JSONFile } from 'lowdb/node'
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { migrate } from './migrate.js'
import { SCHEMA_VERSION, type NodeState } from './schema.js'
import { validateState } from './validate.js'

/** How long mutations may pile up before they are written together. */
const COALESCE_MS = 20

export class StateStore {
  /** How many times the state has been written to the file; lets tests see coalescing. */
  writes = 0
  #db: Low<NodeState>
  #timer: NodeJS.Timeout | undefined
  #pending: Promise<void> = Promise.resolve()
  #closed = false
  /** Where write failures are reported (the server's logger). */
  onError: (message: string) => void = () => {}

  private constructor(
    db: Low<NodeState>,
    readonly file: string | undefined,
  ) {
    this.#db = db
  }

  /** Opens the store: a file when `file` is given (created on first write), otherwise memory only. */
  static async open(file: string | undefined, initial: () => NodeState): Promise<StateStore> {
    if (file === undefined) {
      const db = new Low<NodeState>(new Memory<NodeState>(), initial())
      return new StateStore(db, undefined)
    }
    const path = resolve(file)
    mkdirSync(dirname(path), { recursive: true })
    // Constructed explicitly: lowdb's presets silently switch to memory when NODE_ENV=test.
    const fresh = initial()
    const db = new Low<NodeState>(new JSONFile<NodeState>(path), fresh)
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
    return new StateStore(db, path)
  }

  get data(): NodeState {
    return this.#db.data
  }

  /** Replaces the whole state (restore from a snapshot); the caller has checked it (Node.replaceState: checkState). */
  replace(state: NodeState): void {
    this.#db.data = state
    this.changed()
  }

  /** Records that the state changed; the file is written shortly, once for the whole burst. */
  changed(): void {
    if (this.file === undefined || this.#closed || this.#timer !== undefined) return
    this.#timer = setTimeout(() => void this.flush(), COALESCE_MS)
    this.#timer.unref()
  }

  /** Writes any pending change now; resolves when it is on disk. */
  flush(): Promise<void> {
    if (this.#timer === undefined) return this.#pending
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.writes++
    this.#pending = this.#db.write().catch((err: unknown) => {
      this.onError(`writing state to ${this.file} failed: ${(err as Error).message}`)
    })
    return this.#pending
  }

  async close(): Promise<void> {
    await this.flush()
    this.#closed = true
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
