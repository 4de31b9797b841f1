// Container log files in the CRI format kubelet and crictl read:
//   <RFC3339Nano time> <stdout|stderr> <F|P> <content>
// One line per line the process wrote; text longer than MAX_LINE is split into P(artial) lines.
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Stream } from '../../sim/process.js'
import { nowNs, rfc3339Nano } from '../time.js'

const MAX_LINE = 16 * 1024

export class CriLogFile {
  #fd: number | undefined
  #partial: Record<Stream, string> = { stdout: '', stderr: '' }

  constructor(readonly path: string) {
    this.#open()
  }

  #open(): void {
    mkdirSync(dirname(this.path), { recursive: true })
    // Not through a symlink at the last component: the file is the container's, under its pod's log directory.
    this.#fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o640)
  }

  write(stream: Stream, text: string): void {
    let pending = this.#partial[stream] + text
    let out = ''
    const stamp = rfc3339Nano(nowNs())
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      out += format(stamp, stream, pending.slice(0, nl))
      pending = pending.slice(nl + 1)
    }
    while (pending.length > MAX_LINE) {
      out += `${stamp} ${stream} P ${pending.slice(0, MAX_LINE)}\n`
      pending = pending.slice(MAX_LINE)
    }
    this.#partial[stream] = pending
    if (out !== '' && this.#fd !== undefined) writeSync(this.#fd, out)
  }

  /** Opens a new file at the same path (the old one was renamed away by a log rotator). */
  reopen(): void {
    this.#closeFd()
    this.#open()
  }

  /** Writes what is left of unterminated lines and closes the file. */
  close(): void {
    const stamp = rfc3339Nano(nowNs())
    let out = ''
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream] !== '') out += format(stamp, stream, this.#partial[stream])
      this.#partial[stream] = ''
    }
    if (out !== '' && this.#fd !== undefined) writeSync(this.#fd, out)
    this.#closeFd()
  }

  #closeFd(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
  }
}

function format(stamp: string, stream: Stream, line: string): string {
  let out = ''
  while (line.length > MAX_LINE) {
    out += `${stamp} ${stream} P ${line.slice(0, MAX_LINE)}\n`
    line = line.slice(MAX_LINE)
  }
  return `${out}${stamp} ${stream} F ${line}\n`
}
