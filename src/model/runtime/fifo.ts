// Stdio for containerd tasks: the FIFOs (or files) a client such as ctr names in Tasks.Create and
// Tasks.Exec. Like the shim, the server opens a FIFO read-write and non-blocking, so opening never
// waits for the client and writes never fail for want of a reader; it is driven by the event loop
// as a pipe, so a slow reader cannot stall the server. The client sees EOF once the process has
// exited and the sink is closed. A regular file is appended to. Other stdout URIs: outputTarget.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { Socket } from 'node:net'
import type { Stream } from '../../sim/process.js'
import { unknown } from '../errors.js'

export interface OutputSink {
  write(stream: Stream, text: string): void
  close(): Promise<void>
}

interface Endpoint {
  write(text: string): void
  close(): Promise<void>
  /** Data written into the FIFO by the client (stdin). */
  onData?(listener: (chunk: Buffer) => void): void
  /** Stops reading and returns what the client wrote that has not been handed to the listener yet. */
  drain?(): Buffer[]
}

/**
 * Opens one stdio path. The FIFO is opened read-write so opening never waits, but the server uses
 * only one direction: reading from an output FIFO would take bytes meant for the client.
 */
function openEndpoint(path: string, direction: 'in' | 'out', onError: (message: string) => void): Endpoint | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_CREAT, 0o600)
  } catch (err) {
    onError(`cannot open ${path}: ${(err as Error).message}`)
    return undefined
  }
  if (!fstatSync(fd).isFIFO()) {
    return {
      write: (text) => void writeSync(fd, text),
      close: async () => closeSync(fd),
    }
  }
  const pipe = new Socket({ fd, readable: direction === 'in', writable: direction === 'out' })
  pipe.on('error', (err) => onError(`${path}: ${err.message}`))
  return {
    write: (text) => void pipe.write(text),
    close: () =>
      new Promise<void>((resolve) => {
        if (direction === 'in') return resolve(void pipe.destroy())
        pipe.end(() => {
          pipe.destroy()
          resolve()
        })
      }),
    onData: (listener) => void pipe.on('data', listener),
    drain: () => {
      pipe.pause()
      const rest: Buffer[] = []
      for (let chunk = pipe.read() as Buffer | null; chunk !== null; chunk = pipe.read() as Buffer | null) rest.push(chunk)
      const buf = Buffer.alloc(65536)
      for (;;) {
        let n = 0
        try {
          n = readSync(fd, buf, 0, buf.length, null)
        } catch {
          break // EAGAIN: the FIFO is empty
        }
        if (n <= 0) break
        rest.push(Buffer.from(buf.subarray(0, n)))
      }
      return rest
    },
  }
}

/**
 * Where a task's output goes, as the runc shim reads its stdout URI: a plain path or `fifo://` is
 * the client's FIFO (or file); `file:///path` appends stdout and stderr to that one file;
 * `binary:///path?args` would start a logging program on the host (nerdctl's, dockerd's plugins),
 * which the fake never does, so that output is dropped.
 */
export type OutputTarget = { kind: 'paths'; stdout: string; stderr: string } | { kind: 'file'; path: string } | { kind: 'binary' }

export function outputTarget(io: { stdout: string; stderr: string }): OutputTarget {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(io.stdout)?.[1]
  if (scheme === undefined) return { kind: 'paths', stdout: io.stdout, stderr: io.stderr }
  let url: URL
  try {
    url = new URL(io.stdout)
  } catch {
    throw unknown(`unable to parse stdout uri: parse ${JSON.stringify(io.stdout)}: invalid URI`)
  }
  switch (scheme) {
    case 'fifo':
      return { kind: 'paths', stdout: decodeURIComponent(url.pathname), stderr: io.stderr }
    case 'file':
      return { kind: 'file', path: decodeURIComponent(url.pathname) }
    case 'binary':
      return { kind: 'binary' }
    default:
      throw unknown(`unknown STDIO scheme ${scheme}`)
  }
}

/** Output to the stdout/stderr a client gave (see outputTarget); with a terminal, everything goes to stdout. */
export function fifoSink(io: { stdout: string; stderr: string; terminal: boolean }, onError: (message: string) => void): OutputSink {
  const target = outputTarget(io)
  if (target.kind === 'binary') return { write: () => {}, close: async () => {} }
  if (target.kind === 'file') {
    // The shim makes the file's directory and sends both streams to it.
    try {
      mkdirSync(dirname(target.path), { recursive: true })
    } catch (err) {
      onError(`cannot create the directory of ${target.path}: ${(err as Error).message}`)
    }
    const file = openEndpoint(target.path, 'out', onError)
    return { write: (_stream, text) => file?.write(text), close: async () => file?.close() }
  }
  const stdout = target.stdout ? openEndpoint(target.stdout, 'out', onError) : undefined
  const stderr = !io.terminal && target.stderr ? openEndpoint(target.stderr, 'out', onError) : undefined
  return {
    write: (stream, text) => {
      const target = stream === 'stderr' && !io.terminal ? stderr : stdout
      target?.write(io.terminal ? text.replace(/(?<!\r)\n/g, '\r\n') : text)
    },
    close: async () => {
      await Promise.all([stdout?.close(), stderr?.close()])
    },
  }
}

/**
 * Opens a stdin FIFO so the client's writer is never left blocked, and hands what arrives to
 * `onData`; CloseIO (or the exit) closes it and calls `onEnd`.
 */
export function openStdin(
  path: string,
  onError: (message: string) => void,
  onData: (chunk: Buffer) => void,
  onEnd: () => void,
): () => Promise<void> {
  const endpoint = openEndpoint(path, 'in', onError)
  endpoint?.onData?.(onData)
  if (!endpoint) onEnd()
  return async () => {
    // The client has closed its end (CloseIO): what it wrote before is still read, then end of input.
    for (const chunk of endpoint?.drain?.() ?? []) onData(chunk)
    onEnd()
    await endpoint?.close()
  }
}
