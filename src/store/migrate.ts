// Older state files, brought up to the current schema when they are read (a state file, a seed
// state, a snapshot given to restore()). Each step takes one version to the next, in place.
import { FIRST_HOST_PID, type LayerEntry } from './schema.js'

type Json = Record<string, unknown>

/** Version 1 showed a file in these directories as executable. */
const BIN_DIRS = ['/bin/', '/sbin/', '/usr/bin/', '/usr/sbin/', '/usr/local/bin/', '/usr/local/sbin/']

/**
 * Version 1 → 2: a snapshot's `files` (the paths its layers added, no bytes) become one layer
 * index whose bytes were not kept: a path with others under it is a directory, any other an
 * empty file (0755 in a bin directory), a `.wh.` name a whiteout, as version 1 showed them.
 * New host PIDs start above the kernel's (version 1 counted from 1000, where real processes are).
 */
function v1to2(state: Json): void {
  if (typeof state.nextPid === 'number') state.nextPid = Math.max(state.nextPid, FIRST_HOST_PID)
  const snapshots = (state.snapshots ?? {}) as Record<string, Record<string, Record<string, Json>>>
  for (const byNamespace of Object.values(snapshots)) {
    for (const table of Object.values(byNamespace)) {
      for (const record of Object.values(table)) {
        const files = record.files
        delete record.files
        if (!Array.isArray(files) || files.length === 0) continue
        const paths = files.filter((p): p is string => typeof p === 'string')
        const dirs = new Set<string>()
        for (const p of paths) for (let i = p.indexOf('/', 1); i !== -1; i = p.indexOf('/', i + 1)) dirs.add(p.slice(0, i))
        const entries = paths.map((p): LayerEntry => {
          const slash = p.lastIndexOf('/')
          const base = p.slice(slash + 1)
          const dir = p.slice(0, slash) || '/'
          if (base === '.wh..wh..opq') return [dir, 'o', 0, 0, 0, 0, 0]
          if (base.startsWith('.wh.')) return [`${dir === '/' ? '' : dir}/${base.slice(4)}`, 'w', 0, 0, 0, 0, 0]
          if (dirs.has(p)) return [p, 'd', 0o755, 0, 0, 0, 0]
          return [p, 'f', BIN_DIRS.some((d) => p.startsWith(d)) ? 0o755 : 0o644, 0, 0, 0, 0]
        })
        record.layers = [{ tar: '', entries }]
      }
    }
  }
}

/** Version 2 → 3: the Sandbox Store's records, kept only in memory before, start with none. */
function v2to3(state: Json): void {
  state.sandboxes ??= {}
}

/** Version 3 → 4: each container's writable layer moves out of its record into `layers`, by container id. */
function v3to4(state: Json): void {
  const layers: Json = {}
  for (const [id, record] of Object.entries((state.containers ?? {}) as Record<string, Json>)) {
    if (record === null || typeof record !== 'object' || !('writableLayer' in record)) continue
    layers[id] = record.writableLayer
    delete record.writableLayer
  }
  state.layers = layers
}

const STEPS: Readonly<Record<number, (state: Json) => void>> = { 1: v1to2, 2: v2to3, 3: v3to4 }

/** Migrates a state of an older version in place; leaves any other value as it is (checkState judges it). */
export function migrate(state: unknown): void {
  if (state === null || typeof state !== 'object') return
  const s = state as Json
  for (let step = STEPS[s.version as number]; step; step = STEPS[s.version as number]) {
    step(s)
    s.version = (s.version as number) + 1
  }
}
