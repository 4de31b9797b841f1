// A task's terminal over containerd's API (what `ctr run -t`, `ctr task exec -t` and `ctr task
// attach` rely on): ResizePty as the runc shim answers it. A size set between Create and Start is
// the one the process starts with (runc made the console at create); a process without a terminal
// ignores it; a stopped exec'd process refuses it.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import { ociSpec, processSpec } from '../containerd.js'
import { eventually, grpcError, harness, type Harness } from '../helpers.js'

let h: Harness
let ctr: ContainerdClients
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address, 'default')
})
afterEach(async () => {
  ctr.close()
  await h.close()
})

/** A container whose process runs `script` in sh, with a terminal or not; its output goes to a file. */
async function task(id: string, script: string, terminal: boolean): Promise<string> {
  const args = ['sh', '-c', script]
  await ctr.containers.Create({
    container: {
      id,
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(args, { process: { args, env: ['PATH=/bin'], cwd: '/', terminal } }),
      snapshotter: 'overlayfs',
      snapshot_key: id,
    },
  })
  const out = join(h.logDir, `${id}.out`)
  writeFileSync(out, '')
  await ctr.tasks.Create({ container_id: id, stdout: out, terminal })
  return out
}
const output = (path: string, want: string) =>
  eventually(() => (readFileSync(path, 'utf8').includes(want) ? readFileSync(path, 'utf8') : undefined), `"${want}" in ${path}`)

test('a size set before Start is the one the process starts with; output has terminal line ends', async () => {
  const out = await task('tty', 'stty size; sleep 3600', true)
  await ctr.tasks.ResizePty({ container_id: 'tty', width: 101, height: 33 })
  await ctr.tasks.Start({ container_id: 'tty' })
  expect(await output(out, '\n')).toBe('33 101\r\n')
})

test('a resize reaches a running exec with a terminal (stty size); a stopped one refuses it', async () => {
  await task('host', 'sleep 3600', false)
  await ctr.tasks.Start({ container_id: 'host' })
  const out = join(h.logDir, 'exec.out')
  writeFileSync(out, '')
  await ctr.tasks.Exec({
    container_id: 'host',
    exec_id: 'e1',
    spec: processSpec(['sh', '-c', 'while [ "$(stty size)" = "0 0" ]; do sleep 0.1; done; stty size']),
    stdout: out,
    terminal: true,
  })
  await ctr.tasks.Start({ container_id: 'host', exec_id: 'e1' })
  await ctr.tasks.ResizePty({ container_id: 'host', exec_id: 'e1', width: 90, height: 20 })
  const waited = await ctr.tasks.Wait({ container_id: 'host', exec_id: 'e1' })
  expect(waited.exit_status).toBe(0)
  expect(await output(out, '\n')).toBe('20 90\r\n')
  const stopped = await grpcError(ctr.tasks.ResizePty({ container_id: 'host', exec_id: 'e1', width: 1, height: 1 }))
  expect([stopped.code, stopped.details]).toEqual([2, 'cannot resize a stopped container'])
})

test('a process without a terminal ignores a resize, as the shim does', async () => {
  const out = await task('plain', 'stty size 2>&1; echo done', false)
  await ctr.tasks.ResizePty({ container_id: 'plain', width: 80, height: 24 })
  await ctr.tasks.Start({ container_id: 'plain' })
  expect(await output(out, 'done')).toBe('stty: standard input: Not a tty\ndone\n')
})
