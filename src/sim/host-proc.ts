// Reading the real host's /proc: what a container sharing one of the node's namespaces (network,
// IPC) sees there. Only ever read; on a host without these files (not Linux) the container sees
// what an empty node would show.
import { readFileSync } from 'node:fs'

/** The text of a host /proc file (a path under /proc), or undefined when the host has none. */
export function readHostProc(path: string): string | undefined {
  try {
    return readFileSync(`/proc/${path}`, 'latin1')
  } catch {
    return undefined
  }
}

/** The kernel's header lines of /proc/sysvipc files. */
const SYSVIPC_HEADERS: Readonly<Record<string, string>> = {
  shm: '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n',
  msg: '       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n',
  sem: '       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n',
}

/**
 * /proc/sysvipc/<file> for an IPC namespace: the host's (ipcmk on the node shows there) or a pod's
 * own, which has no segments, queues or arrays (nothing in the simulator makes them).
 */
export function sysvipc(file: string, host: boolean): string | undefined {
  const header = SYSVIPC_HEADERS[file]
  if (header === undefined) return undefined
  return (host ? readHostProc(`sysvipc/${file}`) : undefined) ?? header
}
