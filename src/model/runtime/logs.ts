// Container log files in the CRI format kubelet and crictl read:
//   <RFC3339Nano time> <stdout|stderr> <F|P> <content>
// As containerd's logger writes them (internal/cri/io/logger.go, redirectLogs): one line per line the
// process wrote, its "\n" (or "\r\n") dropped; a line longer than MAX_LINE bytes (containerd's
// max_container_log_line_size, 16 KiB) is split into P(artial) lines of MAX_LINE bytes and a last
// F(ull) one; what is left unterminated when the stream ends is a P line. At most MAX_LINE bytes
// of a stream wait for their newline, so a process that never writes one holds no more than that.
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Stream } from '../../sim/process.js'
import { nowNs, rfc3339Nano } from '../time.js'

export const MAX_LINE = 16 * 1024
const NEWLINE = 0x0a
const RETURN = 0x0d
const EMPTY = Buffer.alloc(0)

export class CriLogFile {
  #fd: number | undefined
  #partial: Record<Stream, Buffer> = { stdout: EMPTY, stderr: EMPTY }

  constructor(readonly path: string) {
    this.#open()
  }

  #open(): void {
    mkdirSync(dirname(this.path), { recursive: true })
    // Not through a symlink at the last component: the file is the container's, under its pod's log directory.
    this.#fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o640)
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
    if (out.length > 0 && this.#fd !== undefined) writeSync(this.#fd, out.join(''), null, 'latin1')
  }

  /** Opens a new file at the same path (the old one was renamed away by a log rotator). */
  reopen(): void {
    this.#closeFd()
    this.#open()
  }

  /** Writes what is left of unterminated lines (as partial lines, as containerd does) and closes the file. */
  close(): void {
    const stamp = rfc3339Nano(nowNs())
    const out: string[] = []
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream].length > 0) out.push(entry(stamp, stream, 'P', this.#partial[stream]))
      this.#partial[stream] = EMPTY
    }
    if (out.length > 0 && this.#fd !== undefined) writeSync(this.#fd, out.join(''), null, 'latin1')
    this.#closeFd()
  }

  #closeFd(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
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
