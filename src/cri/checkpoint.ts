// CheckpointContainer: writes a tar archive of the container's state to the location the client
// names (as CRIU-based runtimes do), holding the CRI config, the OCI spec and the status. The file is
// opened as containerd opens it (os.OpenFile(location, O_RDWR|O_CREATE, 0600)): an existing file is
// written over, as kubelet's checkpoint API expects; a missing directory is not created (kubelet
// makes its checkpoint directory itself) and a directory there is refused, with the error Go's
// os.OpenFile gives.
import { closeSync, constants, ftruncateSync, openSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import type { AppContainerRecord } from '../model/cri/records.js'
import { unknown } from '../model/errors.js'

export async function checkpointArchive(c: AppContainerRecord, location: string): Promise<void> {
  const files: [string, string][] = [
    ['config.dump', JSON.stringify({ id: c.id, name: c.cri.name, rootfsImageRef: c.cri.imageId, createdTime: c.cri.createdAt }, null, 2)],
    ['spec.dump', JSON.stringify(c.spec, null, 2)],
    ['container.dump', JSON.stringify(c.cri.config, null, 2)],
    ['status.dump', JSON.stringify({ pid: c.task?.pid, startedAt: c.task?.startedAt }, null, 2)],
  ]
  const path = resolve(location)
  let fd: number
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600)
  } catch (err) {
    throw unknown(`open ${location}: ${goErrno(err as NodeJS.ErrnoException)}`)
  }
  try {
    const archive = tar(files)
    writeSync(fd, archive, 0, archive.length, 0)
    ftruncateSync(fd, archive.length)
  } finally {
    closeSync(fd)
  }
}

/** A Node file error as Go's syscall.Errno prints it ("no such file or directory"). */
function goErrno(err: NodeJS.ErrnoException): string {
  const text = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1]
  return text ?? err.message
}

/** A minimal ustar archive of regular files. */
function tar(files: [string, string][]): Buffer {
  const blocks: Buffer[] = []
  const mtime = Math.floor(Date.now() / 1000)
  for (const [name, text] of files) {
    const body = Buffer.from(text)
    const header = Buffer.alloc(512)
    header.write(name, 0, 100)
    header.write('0000644\0', 100)
    header.write('0000000\0', 108)
    header.write('0000000\0', 116)
    header.write(body.length.toString(8).padStart(11, '0') + '\0', 124)
    header.write(mtime.toString(8).padStart(11, '0') + '\0', 136)
    header.write('        ', 148)
    header.write('0', 156)
    header.write('ustar\0', 257)
    header.write('00', 263)
    let sum = 0
    for (const byte of header) sum += byte
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}
