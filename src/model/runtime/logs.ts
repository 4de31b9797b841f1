// Container log files in the CRI format kubelet and crictl read:
//   <RFC3339Nano time> <stdout|stderr> <F|P> <content>
// As containerd's logger writes them (internal/cri/io/logger.go, redirectLogs): one line per line the
// process wrote, its "\n" (or "\r\n") dropped; a line longer than MAX_LINE bytes (containerd's
// max_container_log_line_size, 16 KiB) is split into P(artial) lines of MAX_LINE bytes and a last
// F(ull) one; what is left unterminated when the stream ends is a P line. At most MAX_LINE bytes
// of a stream wait for their newline, so a process that never writes one holds no more than that.
//
// Open files stay bounded whatever the number of containers: at most OPEN_LOGS log files of the
// process keep a descriptor (the ones written last); another is opened again when it is written.
// It is the same file: found by its inode at its path, or, when a log rotator renamed it away and
// ReopenContainerLog has not come yet, in its directory under its new name, as containerd (whose
// descriptor stays open) would go on writing to the renamed file. A file is known by its device, inode
// and birth time, so that a new file given a removed one's inode number never gets this log's lines.
//
// Only a regular file is a log: whatever a user put at the path (a FIFO, a device) is refused, and is
// opened without blocking to find out, so a FIFO nobody reads never stops the server.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Stream } from '../../sim/process.js'
import { unknown } from '../errors.js'
import { nowNs, rfc3339Nano } from '../time.js'

export const MAX_LINE = 16 * 1024
const NEWLINE = 0x0a
const RETURN = 0x0d
const EMPTY = Buffer.alloc(0)

/** How many log files keep a descriptor open at once, in the whole process. */
export const OPEN_LOGS = 128

/** Log files holding a descriptor, least recently written first. */
const holding = new Set<CriLogFile>()

// Not through a symlink at the last component: the file is the container's, under its pod's log directory.
// Non-blocking: opening a FIFO for writing otherwise waits for a reader (forever, the whole server); on a
// regular file the flag changes nothing.
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK

/** Which file: its inode number alone may be given again to a new file once this one is removed. */
interface FileId {
  dev: bigint
  ino: bigint
  birth: bigint
}

/** The file at a descriptor, or undefined when it is not a regular file. */
function regularFile(fd: number): FileId | undefined {
  const st = fstatSync(fd, { bigint: true })
  return st.isFile() ? { dev: st.dev, ino: st.ino, birth: st.birthtimeNs } : undefined
}

const sameFile = (a: FileId, b: FileId): boolean => a.dev === b.dev && a.ino === b.ino && a.birth === b.birth

/** Go's *PathError text for a failed open ("open /p: no such device or address"), as containerd reports it. */
function openError(path: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return `open ${path}: ${/^[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message}`
}

/** Opens (creating) the file, its directory made first when it is not there (a pod's containers share one: made once). */
function openInDir(path: string): number {
  try {
    return openSync(path, APPEND | constants.O_CREAT, 0o640)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(dirname(path), { recursive: true })
  return openSync(path, APPEND | constants.O_CREAT, 0o640)
}

/** Creates (or opens) the regular file at a path, as containerd's openLogFile; throws containerd's text. */
function createLogFile(path: string): { fd: number; file: FileId } {
  let fd: number
  try {
    fd = openInDir(path)
  } catch (err) {
    throw unknown(`failed to create and open log file: ${openError(path, err)}`)
  }
  const file = regularFile(fd)
  if (file) return { fd, file }
  closeSync(fd)
  throw unknown(`failed to create and open log file: open ${path}: not a regular file`)
}

export class CriLogFile {
  #fd: number | undefined
  /** The file this log writes to (a rename keeps it; ReopenContainerLog makes a new one). */
  #file: FileId | undefined
  #closed = false
  #partial: Record<Stream, Buffer> = { stdout: EMPTY, stderr: EMPTY }

  constructor(readonly path: string) {
    const { fd, file } = createLogFile(path)
    this.#file = file
    this.#hold(fd)
  }

  #hold(fd: number): void {
    this.#fd = fd
    holding.add(this)
    if (holding.size <= OPEN_LOGS) return
    const oldest = holding.values().next().value!
    oldest.#closeFd()
  }

  /** A descriptor of this log's file, opened again if it was given up; undefined when the file is gone. */
  #descriptor(): number | undefined {
    if (this.#fd !== undefined) {
      // Most recently written last.
      holding.delete(this)
      holding.add(this)
      return this.#fd
    }
    const fd = this.#reopenSame()
    if (fd !== undefined) this.#hold(fd)
    return fd
  }

  /** Opens the file this log wrote to: at its path, or renamed within its directory; undefined when removed. */
  #reopenSame(): number | undefined {
    const want = this.#file
    if (want === undefined) return undefined
    const same = (path: string): number | undefined => {
      let fd: number
      try {
        fd = openSync(path, APPEND)
      } catch {
        return undefined
      }
      const file = regularFile(fd)
      if (file && sameFile(file, want)) return fd
      closeSync(fd)
      return undefined
    }
    const atPath = same(this.path)
    if (atPath !== undefined) return atPath
    const dir = dirname(this.path)
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return undefined
    }
    for (const name of names) {
      const st = lstatSync(join(dir, name), { throwIfNoEntry: false, bigint: true })
      if (st?.isFile() && st.dev === want.dev && st.ino === want.ino) return same(join(dir, name))
    }
    // Removed: what containerd writes to an unlinked file nobody sees either (until ReopenContainerLog).
    this.#file = undefined
    return undefined
  }

  write(stream: Stream, text: string): void {
    const pending = this.#partial[stream].length > 0 ? Buffer.concat([this.#partial[stream], Buffer.from(text)]) : Buffer.from(text)
    const stamp = rfc3339Nano(nowNs())
    const out: string[] = []
    let start = 0
    for (let nl = pending.indexOf(NEWLINE, start); nl !== -1; nl = pending.indexOf(NEWLINE, start)) {
      const end = nl > start && pending[nl - 1] === RETURN ? nl - 1 : nl
      entries(out, stamp, stream, pending.subarray(start, end), 'F')
      start = nl + 1
    }
    let rest = pending.subarray(start)
    while (rest.length > MAX_LINE) {
      out.push(entry(stamp, stream, 'P', rest.subarray(0, MAX_LINE)))
      rest = rest.subarray(MAX_LINE)
    }
    // A copy, so that the bytes of a large write are not kept for the few left over.
    this.#partial[stream] = rest.length === 0 ? EMPTY : Buffer.from(rest)
    this.#append(out)
  }

  #append(out: string[]): void {
    if (out.length === 0 || this.#closed) return
    const fd = this.#descriptor()
    if (fd !== undefined) writeSync(fd, out.join(''), null, 'latin1')
  }

  /**
   * Opens a new file at the same path (the old one was renamed away by a log rotator). The new file
   * first: when it cannot be opened the log goes on with the old one, as containerd keeps its logger.
   */
  reopen(): void {
    const { fd, file } = createLogFile(this.path)
    this.#closeFd()
    this.#file = file
    this.#closed = false
    this.#hold(fd)
  }

  /** Writes what is left of unterminated lines (as partial lines, as containerd does) and closes the file. */
  close(): void {
    const stamp = rfc3339Nano(nowNs())
    const out: string[] = []
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream].length > 0) out.push(entry(stamp, stream, 'P', this.#partial[stream]))
      this.#partial[stream] = EMPTY
    }
    this.#append(out)
    this.#closeFd()
    this.#closed = true
  }

  #closeFd(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
    holding.delete(this)
  }
}

/** One log entry; its bytes as a latin1 string, so that a line cut inside a UTF-8 character is written as it is. */
function entry(stamp: string, stream: Stream, tag: 'F' | 'P', bytes: Buffer): string {
  return `${stamp} ${stream} ${tag} ${bytes.toString('latin1')}\n`
}

/** A whole line: P entries of MAX_LINE bytes while it is longer, then its F entry. */
function entries(out: string[], stamp: string, stream: Stream, line: Buffer, tag: 'F'): void {
  while (line.length > MAX_LINE) {
    out.push(entry(stamp, stream, 'P', line.subarray(0, MAX_LINE)))
    line = line.subarray(MAX_LINE)
  }
  out.push(entry(stamp, stream, tag, line))
}
