// Reading a file a client names (hosts.toml, its `ca` and `client` files, a certs.d directory's
// files): a Transfer client can point host_dir anywhere, so a FIFO must not block the event loop
// and a device such as /dev/zero must not exhaust memory. The file is opened without blocking,
// refused unless it is a regular file of at most READ_CAP bytes, and read from that descriptor.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'

/** The most read from one such file: a CA bundle or a hosts.toml is a few hundred KiB at most. */
export const READ_CAP = 4 * 1024 * 1024

/** Go's os.ReadFile error text for a Node fs error. */
function goReadError(path: string, err: unknown): string {
  const code = (err as { code?: string }).code
  if (code === 'ENOENT') return `open ${path}: no such file or directory`
  if (code === 'EACCES') return `open ${path}: permission denied`
  if (code === 'EISDIR') return `read ${path}: is a directory`
  if (code === 'ENOTDIR') return `open ${path}: not a directory`
  if (code === 'ELOOP') return `open ${path}: too many levels of symbolic links`
  return `open ${path}: ${(err as Error).message}`
}

/** A read that failed, with Go's words (or ours for a file that is not one to read); `missing` for ENOENT. */
export class FileReadError extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message)
  }
}

/** The text of a regular file of at most READ_CAP bytes; FileReadError otherwise. */
export function readRegularFile(path: string): string {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw new FileReadError(goReadError(path, err), (err as { code?: string }).code === 'ENOENT')
  }
  try {
    const st = fstatSync(fd)
    if (st.isDirectory()) throw new FileReadError(`read ${path}: is a directory`, false)
    if (!st.isFile()) throw new FileReadError('not a regular file', false)
    if (st.size > READ_CAP) throw new FileReadError(`the file is larger than ${READ_CAP} bytes (4 MiB), the most read from it`, false)
    // Read to the end, but never past the cap even if the file grows meanwhile.
    let buf = Buffer.alloc(Math.min(st.size, READ_CAP) + 1)
    let got = 0
    for (;;) {
      if (got === buf.length) {
        if (got > READ_CAP) throw new FileReadError(`the file is larger than ${READ_CAP} bytes (4 MiB), the most read from it`, false)
        buf = Buffer.concat([buf, Buffer.alloc(Math.min(buf.length * 2, READ_CAP + 1) - buf.length)])
      }
      const n = readSync(fd, buf, got, buf.length - got, null)
      if (n === 0) break
      got += n
    }
    return buf.subarray(0, got).toString('utf8')
  } catch (err) {
    if (err instanceof FileReadError) throw err
    throw new FileReadError(goReadError(path, err), false)
  } finally {
    closeSync(fd)
  }
}
