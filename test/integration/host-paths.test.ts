// Host paths as a real runtime treats them, and no further: what the server refuses to write, replace
// or reveal on the host when a client (or its configuration) names a path.
import { status as Code } from '@grpc/grpc-js'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { startFakeContainerd } from '../../src/server.js'
import { ctrHarness, writeSession } from '../containerd.js'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

const dirs: string[] = []
const temp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'fc-host-'))
  dirs.push(dir)
  return dir
}
let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('--socket', () => {
  test('a regular file, a directory or a symlink at the socket path is refused and left as it was', async () => {
    const dir = temp()
    const file = join(dir, 'precious.txt')
    writeFileSync(file, 'keep me')
    await expect(startFakeContainerd({ socket: file })).rejects.toThrow(
      `${file} is a regular file, not a socket; refusing to replace it: remove it or choose another --socket`,
    )
    expect(readFileSync(file, 'utf8')).toBe('keep me')
    await expect(startFakeContainerd({ socket: dir })).rejects.toThrow(`${dir} is a directory, not a socket`)
    const link = join(dir, 'link.sock')
    symlinkSync(file, link)
    await expect(startFakeContainerd({ socket: link })).rejects.toThrow(`${link} is a symlink, not a socket`)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
  })
})

describe('CRI log files', () => {
  test('a log path that climbs out of the pod log directory is refused', async () => {
    h = await harness()
    const logDir = join(temp(), 'pod')
    const pod = podConfig('escape', { log_directory: logDir })
    const podId = await runPod(h, pod)
    const err = await grpcError(runContainer(h, podId, pod, containerConfig('out', { log_path: '../../x.log' })))
    expect([err.code, err.details]).toEqual([
      Code.INVALID_ARGUMENT,
      `container log path "../../x.log" is outside the sandbox log directory "${logDir}"`,
    ])
    expect(existsSync(join(logDir, '..', '..', 'x.log'))).toBe(false)
    // Inside it, any depth is fine.
    await runContainer(h, podId, pod, containerConfig('in', { log_path: 'in/../in/0.log', command: ['echo', 'hi'] }))
  })

  test('a log file that is a symlink is not followed: the file it points at stays as it was', async () => {
    h = await harness()
    const dir = temp()
    const target = join(dir, 'elsewhere.txt')
    writeFileSync(target, 'untouched\n')
    const logDir = join(dir, 'pod')
    mkdirSync(logDir)
    symlinkSync(target, join(logDir, 'c.log'))
    const pod = podConfig('symlinked', { log_directory: logDir })
    const podId = await runPod(h, pod)
    const id = await runContainer(h, podId, pod, containerConfig('c', { log_path: 'c.log', command: ['echo', 'written'] }))
    await waitForState(h, id, 'CONTAINER_EXITED')
    expect(readFileSync(target, 'utf8')).toBe('untouched\n')
  })
})

describe('CheckpointContainer', () => {
  test('writes over an existing file as containerd does; a missing directory is not created', async () => {
    h = await harness()
    const dir = temp()
    const pod = podConfig('ck')
    const podId = await runPod(h, pod)
    const id = await runContainer(h, podId, pod, containerConfig('ck', { command: ['sleep', '60'] }))
    const location = join(dir, 'ck.tar')
    writeFileSync(location, 'x'.repeat(100_000))
    await h.runtime.CheckpointContainer({ container_id: id, location, timeout: 0 })
    const archive = readFileSync(location)
    expect(archive.subarray(257, 262).toString()).toBe('ustar')
    expect(archive.length).toBeLessThan(100_000)
    const missing = join(dir, 'no-such-dir', 'ck.tar')
    const err = await grpcError(h.runtime.CheckpointContainer({ container_id: id, location: missing, timeout: 0 }))
    expect([err.code, err.details]).toEqual([Code.UNKNOWN, `open ${missing}: no such file or directory`])
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false)
  })
})

describe('Content.Write', () => {
  test('a malformed expected digest is InvalidArgument, with or without --state', async () => {
    for (const state of [undefined, join(temp(), 'state.json')]) {
      const c = await ctrHarness(state ? { state } : {})
      try {
        const first = await writeSession(c.ctr, [{ action: 'STAT', ref: 'r1', expected: 'sha256:../../etc/passwd' }])
        expect([first.error?.code, first.error?.details]).toEqual([
          Code.INVALID_ARGUMENT,
          'invalid digest "sha256:../../etc/passwd": invalid checksum digest length: invalid argument',
        ])
        const later = await writeSession(c.ctr, [
          { action: 'STAT', ref: 'r2' },
          { action: 'WRITE', offset: 0, data: Buffer.from('x'), expected: 'nope' },
        ])
        expect(later.error?.code).toBe(Code.INVALID_ARGUMENT)
      } finally {
        await c.close()
      }
    }
  })
})
