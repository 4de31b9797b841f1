import * as grpc from '@grpc/grpc-js'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { EXEC_SYNC_STREAM_BYTES } from '../../src/model/cri/exec-sync.js'
import { packagePath } from '../../src/paths.js'
import { loadGroup, serviceConstructor } from '../../src/service-descriptors.cjs'
import { containerdClients } from '../../src/client.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
let pod: string
let config: PodSandboxConfig
let running: string
beforeEach(async () => {
  h = await harness()
  config = podConfig('exec-pod')
  pod = await runPod(h, config)
  running = await runContainer(
    h,
    pod,
    config,
    containerConfig('app', { command: ['sleep', '3600'], envs: [{ key: 'GREETING', value: Buffer.from('hi there') }] }),
  )
})
afterEach(() => h.close())

const exec = async (cmd: string[], timeout = 0) => {
  const r = await h.runtime.ExecSync({ container_id: running, cmd, timeout })
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exit: r.exit_code }
}

describe('ExecSync', () => {
  test("each stream keeps containerd's 16 MiB; the rest is dropped", async () => {
    // kubelet's client takes 16 MiB messages; this one takes any, to see all the server sends.
    const Runtime = serviceConstructor(loadGroup('cri', packagePath('proto')), 'runtime.v1.RuntimeService')
    const raw = new Runtime(h.fake.address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 })
    try {
      const r = await new Promise<{ stdout: Buffer; stderr: Buffer; exit_code: number }>((resolve, reject) =>
        (raw as unknown as Record<string, (req: unknown, cb: (e: Error | null, r: never) => void) => void>).ExecSync!(
          { container_id: running, cmd: ['sh', '-c', 'yes | head -c 20000000; echo err >&2'], timeout: 60 },
          (e, res) => (e ? reject(e) : resolve(res)),
        ),
      )
      expect(EXEC_SYNC_STREAM_BYTES).toBe(16 * 1024 * 1024)
      expect(r.stdout.length).toBe(EXEC_SYNC_STREAM_BYTES)
      expect(r.stdout.subarray(0, 4).toString()).toBe('y\ny\n')
      expect([r.stderr.toString(), r.exit_code]).toEqual(['err\n', 0])
    } finally {
      raw.close()
    }
  })

  test('echo, true, false, exit N', async () => {
    expect(await exec(['echo', 'hello', 'world'])).toEqual({ stdout: 'hello world\n', stderr: '', exit: 0 })
    expect(await exec(['/bin/echo', '-n', 'x'])).toEqual({ stdout: 'x', stderr: '', exit: 0 })
    expect((await exec(['true'])).exit).toBe(0)
    expect((await exec(['false'])).exit).toBe(1)
    expect((await exec(['sh', '-c', 'exit 7'])).exit).toBe(7)
  })

  test('sh -c with lists, quoting, variables from the container env, and $?', async () => {
    expect(await exec(['sh', '-c', 'echo "$GREETING"; false || echo "status $?"; true && echo \'single $GREETING\''])).toEqual({
      stdout: 'hi there\nstatus 1\nsingle $GREETING\n',
      stderr: '',
      exit: 0,
    })
    expect(await exec(['sh', '-c', 'echo to-err >&2; nope'])).toEqual({ stdout: '', stderr: 'to-err\nsh: nope: not found\n', exit: 127 })
  })

  test('sleep N finishes within the timeout', async () => {
    expect((await exec(['sleep', '0.05'], 5)).exit).toBe(0)
  })

  test('the timeout kills the process and fails with DeadlineExceeded, as containerd reports it', async () => {
    const err = await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['sleep', '30'], timeout: 1 }))
    expect(err.code).toBe(4)
    expect(err.details).toBe('timeout 1s exceeded: context deadline exceeded')
  })

  test('an unknown executable fails as the OCI runtime reports it', async () => {
    const err = await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['kubectl', 'version'], timeout: 0 }))
    expect(err.code).toBe(2)
    expect(err.details).toMatch(/exec: "kubectl": executable file not found in \$PATH/)
  })

  test('a missing or stopped container is refused', async () => {
    expect((await grpcError(h.runtime.ExecSync({ container_id: 'nope', cmd: ['true'], timeout: 0 }))).code).toBe(5)
    await h.runtime.StopContainer({ container_id: running, timeout: 0 })
    expect((await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['true'], timeout: 0 }))).details).toBe(
      'container is in CONTAINER_EXITED state',
    )
  })

  test('a paused container is refused by the shim, and a failed exec leaves no process behind in the task', async () => {
    const ctr = containerdClients(h.fake.address, 'k8s.io')
    try {
      await ctr.tasks.Pause({ container_id: running })
      const paused = await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['true'], timeout: 0 }))
      expect([paused.code, paused.details]).toEqual([
        2,
        expect.stringMatching(/^failed to exec in container: failed to create exec "[0-9a-f]{64}": cannot exec in a paused state/),
      ])
      await ctr.tasks.Resume({ container_id: running })
      await grpcError(h.runtime.ExecSync({ container_id: running, cmd: ['kubectl'], timeout: 0 }))
      expect((await ctr.tasks.ListPids({ container_id: running })).processes).toHaveLength(1)
      expect(Object.keys(h.fake.node.containers.get(running).task?.execs ?? {})).toEqual([])
    } finally {
      ctr.close()
    }
  })

  test('an empty command is InvalidArgument', async () => {
    expect((await grpcError(h.runtime.ExecSync({ container_id: running, cmd: [], timeout: 0 }))).code).toBe(3)
  })
})

describe('Exec, Attach, PortForward (streaming comes in a later issue)', () => {
  test('answer Unimplemented with a message that says so', async () => {
    for (const err of [
      await grpcError(h.runtime.Exec({ container_id: running, cmd: ['sh'], stdout: true })),
      await grpcError(h.runtime.Attach({ container_id: running, stdout: true })),
      await grpcError(h.runtime.PortForward({ pod_sandbox_id: pod, port: [80] })),
    ]) {
      expect(err.code).toBe(12)
      expect(err.details).toMatch(/not implemented yet in fake-containerd/)
    }
  })

  test('still validate like containerd first', async () => {
    const both = await grpcError(h.runtime.Exec({ container_id: running, cmd: ['sh'], tty: true, stdout: true, stderr: true }))
    expect([both.code, both.details]).toEqual([3, 'tty and stderr cannot both be true'])
    const none = await grpcError(h.runtime.Attach({ container_id: running }))
    expect(none.code).toBe(3)
    expect((await grpcError(h.runtime.Exec({ container_id: 'nope', cmd: ['sh'], stdout: true }))).code).toBe(5)
  })
})
