// Stdio for containerd tasks: the FIFOs (or files) a client such as ctr names in Tasks.Create and
// Tasks.Exec. Like the shim, the server opens a FIFO read-write and non-blocking, so opening never
// waits for the client and writes never fail for want of a reader; it is driven by the event loop
// as a pipe, so a slow reader cannot stall the server. The client sees EOF once the process has
// exited and the sink is closed. A regular file is appended to.
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs'
import { Socket } from 'node:net'
import type { Stream } from '../sim/process.js'

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

/** Output to the stdout/stderr paths a client gave; with a terminal, everything goes to stdout. */
export function fifoSink(io: { stdout: string; stderr: string; terminal: boolean }, onError: (message: string) => void): OutputSink {
  const stdout = io.stdout ? openEndpoint(io.stdout, 'out', onError) : undefined
  const stderr = !io.terminal && io.stderr ? openEndpoint(io.stderr, 'out', onError) : undefined
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
