// CheckpointContainer: writes a tar archive of the container's state to the location the client
// names (as CRIU-based runtimes do), holding the CRI config, the OCI spec and the status.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { AppContainerRecord } from '../model/cri/records.js'

export async function checkpointArchive(c: AppContainerRecord, location: string): Promise<void> {
  const files: [string, string][] = [
    ['config.dump', JSON.stringify({ id: c.id, name: c.cri.name, rootfsImageRef: c.cri.imageId, createdTime: c.cri.createdAt }, null, 2)],
    ['spec.dump', JSON.stringify(c.spec, null, 2)],
    ['container.dump', JSON.stringify(c.cri.config, null, 2)],
    ['status.dump', JSON.stringify({ pid: c.task?.pid, startedAt: c.task?.startedAt }, null, 2)],
  ]
  const path = resolve(location)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, tar(files))
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
