// Stdio for containerd tasks: the FIFOs (or files) a client such as ctr names in Tasks.Create and
// Tasks.Exec. Like the shim, the server opens a FIFO read-write and non-blocking, so opening never
// waits for the client and writes never fail for want of a reader; it is driven by the event loop
// as a pipe, so a slow reader cannot stall the server. The client sees EOF once the process has
// exited and the sink is closed. A regular file is appended to.
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs'
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
}

function openEndpoint(path: string, onError: (message: string) => void): Endpoint | undefined {
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
  const pipe = new Socket({ fd, readable: true, writable: true })
  pipe.on('error', (err) => onError(`${path}: ${err.message}`))
  return {
    write: (text) => void pipe.write(text),
    close: () =>
      new Promise<void>((resolve) => {
        pipe.end(() => {
          pipe.destroy()
          resolve()
        })
      }),
    onData: (listener) => void pipe.on('data', listener),
  }
}

/** Output to the stdout/stderr paths a client gave; with a terminal, everything goes to stdout. */
export function fifoSink(io: { stdout: string; stderr: string; terminal: boolean }, onError: (message: string) => void): OutputSink {
  const stdout = io.stdout ? openEndpoint(io.stdout, onError) : undefined
  const stderr = !io.terminal && io.stderr ? openEndpoint(io.stderr, onError) : undefined
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
 * Opens a stdin FIFO so the client's writer is never left blocked. The simulated commands do not
 * read input yet, so what arrives is drained; CloseIO (or the exit) closes it.
 */
export function openStdin(path: string, onError: (message: string) => void): () => Promise<void> {
  const endpoint = openEndpoint(path, onError)
  endpoint?.onData?.(() => {})
  return async () => {
    await endpoint?.close()
  }
}
