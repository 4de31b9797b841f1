// What a container's log file may turn into under the server's feet: a FIFO a user put at the path
// (never a frozen server), a failed ReopenContainerLog (the old file goes on), a new file that is given
// the inode number of the removed log (it never gets that container's lines).
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { CriLogFile, OPEN_LOGS } from '../../src/model/runtime/logs.js'
import {
  containerConfig,
  eventually,
  grpcError,
  harness,
  logLines,
  podConfig,
  runContainer,
  runPod,
  waitForState,
  type Harness,
} from '../helpers.js'

const mkfifo = (path: string) => execFileSync('mkfifo', [path])

describe('over CRI', () => {
  let h: Harness
  beforeEach(async () => {
    h = await harness()
    await h.image.PullImage({ image: { image: 'busybox' } })
  })
  afterEach(() => h.close())

  test('a FIFO at the log path is not opened as a log: the container starts and the server goes on answering', async () => {
    const dir = join(h.logDir, 'fifo')
    const config = podConfig('fifo', { log_directory: dir })
    const pod = await runPod(h, config)
    mkdirSync(dir, { recursive: true })
    mkfifo(join(dir, 'c.log'))
    const id = await runContainer(h, pod, config, containerConfig('c', { command: ['sh', '-c', 'echo hi; sleep 60'], log_path: 'c.log' }))
    await waitForState(h, id, 'CONTAINER_RUNNING')
    expect((await h.runtime.Version({})).runtime_name).toBe('containerd')
    expect(lstatSync(join(dir, 'c.log')).isFIFO()).toBe(true)
  })

  test('ReopenContainerLog that cannot open the new file fails in containerd words and the old file goes on', async () => {
    h.fake.clock.freeze(true)
    const dir = join(h.logDir, 'reopen')
    const config = podConfig('reopen', { log_directory: dir })
    const pod = await runPod(h, config)
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('r', { command: ['sh', '-c', 'echo one; sleep 10; echo two'], log_path: 'r.log' }),
    )
    const path = join(dir, 'r.log')
    await eventually(() => (existsSync(path) && logLines(path).length === 1 ? true : undefined), 'first line')
    renameSync(path, `${path}.1`)
    mkfifo(path)
    const err = await grpcError(h.runtime.ReopenContainerLog({ container_id: id }))
    expect(err.details).toBe(`failed to create and open log file: open ${path}: no such device or address`)
    h.fake.clock.advance(10_000)
    await waitForState(h, id, 'CONTAINER_EXITED')
    expect(logLines(`${path}.1`)).toEqual(['stdout F one', 'stdout F two'])
  })
})

describe('a log whose descriptor was given up', () => {
  let dir: string
  const logs: CriLogFile[] = []
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fc-logfiles-'))
  })
  afterEach(() => {
    for (const log of logs.splice(0)) log.close()
    rmSync(dir, { recursive: true, force: true })
  })
  /** A log, then enough others written after it that its descriptor is closed. */
  const evicted = (): { log: CriLogFile; path: string } => {
    const path = join(dir, 'first.log')
    const log = new CriLogFile(path)
    logs.push(log)
    log.write('stdout', 'before\n')
    for (let i = 0; i < OPEN_LOGS; i++) {
      const other = new CriLogFile(join(dir, `other-${i}.log`))
      logs.push(other)
      other.write('stdout', 'x\n')
    }
    return { log, path }
  }

  test('a FIFO put where the removed log was is left alone, and writing does not block', () => {
    const { log, path } = evicted()
    rmSync(path)
    mkfifo(path)
    log.write('stdout', 'after\n')
    expect(lstatSync(path).isFIFO()).toBe(true)
  })

  test('a new file given the removed log inode number gets none of its lines', () => {
    const { log, path } = evicted()
    const ino = statSync(path).ino
    rmSync(path)
    // ext4 and tmpfs give a freed inode number to the next file made: look for it among a few new ones.
    let reused: string | undefined
    for (let i = 0; i < 50 && reused === undefined; i++) {
      const candidate = i === 0 ? path : join(dir, `new-${i}.log`)
      writeFileSync(candidate, '')
      if (statSync(candidate).ino === ino) reused = candidate
    }
    expect(reused, 'no new file was given the removed inode number; this file system cannot show the case').toBeDefined()
    log.write('stdout', 'after\n')
    expect(readFileSync(reused!, 'utf8')).toBe('')
  })
})
