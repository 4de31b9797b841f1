// Searching $PATH and the rules of exec(2) that need no command table: which file a name finds,
// whether an identity may execute it, and why an exec fails. Apart from src/sim/shell/lookup.ts
// (which also knows the command table and image programs) so that the shell's builtins and
// commands such as `which` can use it without depending on the table that holds them.
import type { Executable, Identity, LookupEnv } from '../context.js'
import { resolvePath, type FileStat, type Fs } from '../fs/types.js'

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** Why exec(2) of what a lookup found fails, and the status a shell gives it; undefined when it runs. */
export function execFailure(found: Executable | undefined): { errno: 'ENOENT' | 'EACCES' | 'ENOEXEC'; status: number } | undefined {
  if (found === undefined) return { errno: 'ENOENT', status: 127 }
  if (found.kind === 'denied') return { errno: 'EACCES', status: found.status }
  // A missing loader is ENOENT, as a missing file.
  if (found.kind === 'unrunnable') return found.errno === 'ENOEXEC' ? { errno: 'ENOEXEC', status: 126 } : { errno: 'ENOENT', status: 127 }
  return undefined
}

export function statOrUndefined(fs: Fs, path: string): FileStat | undefined {
  try {
    return fs.stat(path)
  } catch {
    return undefined
  }
}

export function canExecute(st: FileStat, id: Identity): boolean {
  if (st.type !== 'file') return false
  if (id.uid === 0) return (st.mode & 0o111) !== 0
  if (st.uid === id.uid) return (st.mode & 0o100) !== 0
  if (st.gid === id.gid || id.groups.includes(st.gid)) return (st.mode & 0o010) !== 0
  return (st.mode & 0o001) !== 0
}

/** What $PATH holds for a name: the first executable file, else why nothing runs; undefined when no entry exists. */
export type PathHit = { kind: 'found'; path: string; file: FileStat } | { kind: 'denied'; status: 126 | 127 }

export function searchPath(name: string, env: LookupEnv): PathHit | undefined {
  let denied: 126 | 127 | undefined
  for (const dir of (env.path ?? DEFAULT_PATH).split(':')) {
    const p = resolvePath(env.cwd, `${dir === '' ? '.' : dir}/${name}`)
    const st = statOrUndefined(env.fs, p)
    if (st === undefined) continue
    if (st.type !== 'file') denied ??= 127
    else if (canExecute(st, env.identity)) return { kind: 'found', path: p, file: st }
    else denied = 126
  }
  return denied === undefined ? undefined : { kind: 'denied', status: denied }
}

/** The first executable file called `name` in a PATH directory; 'denied' when only unexecutable files are. */
export function findInPath(name: string, env: LookupEnv): string | 'denied' | undefined {
  const hit = searchPath(name, env)
  if (hit?.kind === 'found') return hit.path
  return hit?.status === 126 ? 'denied' : undefined
}
