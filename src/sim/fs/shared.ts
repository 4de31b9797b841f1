// Answers one container's view gives for every container made alike. The containers of one image,
// user and security context see the same files wherever none of their own mounts is: a PATH search
// or /etc/passwd read on one of them (ContainerFs.shared) holds for another unless one of that
// container's mount targets is on a path the answer read. So a container needs no view of its own
// (its mount table, /dev, /sys, /proc: tens of KB and most of CreateContainer's and StartContainer's
// time) until something of its own is read (model/runtime/views.ts).
import { isUnder } from './backend.js'

/** The paths an answer read: each resolved path (whether it was a directory), and the directories listed. */
export interface ReadPaths {
  readonly paths: Map<string, boolean>
  readonly listed: Set<string>
}

/**
 * Whether mounts at `targets` leave what was read as it is: none is on or above a path read, none is
 * below a path that was not a directory (the runtime makes a mount point's missing parents), none
 * is on, above or in a directory listed (it adds a name to it).
 */
export function mountsMiss(read: ReadPaths, targets: readonly string[]): boolean {
  for (const t of targets) {
    for (const [p, dir] of read.paths) if (isUnder(p, t) || (!dir && isUnder(t, p))) return false
    for (const d of read.listed) if (isUnder(t, d) || isUnder(d, t)) return false
  }
  return true
}
