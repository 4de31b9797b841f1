// ExecSync: runs a command in a running container through the same simulated-process machinery as
// the container's own process (the shell simulator over the container's view), captures its
// output, and honours the timeout as containerd does (the process is killed and the call fails
// with "timeout ... exceeded"). Each stream keeps at most containerd's 16 MiB (its cappedWriter):
// the rest is read and dropped, never held.
import { SIGKILL } from '../../sim/signals.js'
import { RuntimeError, wrap } from '../errors.js'
import { newId } from '../ids.js'
import type { ProcessSpec } from '../runtime/process-env.js'
import type { TaskService } from '../runtime/task-service.js'
import type { AttachedIO, ProcessOutput, Tasks } from '../runtime/tasks.js'
import type { SimProcess } from '../../sim/process.js'
import type { Containers } from './containers.js'
import { requireRunning } from './records.js'

/** What ExecSync uses of the node (Node has it all). */
export interface ExecSyncHost {
  readonly containers: Pick<Containers, 'get'>
  readonly tasks: Pick<Tasks, 'process'>
  readonly taskService: TaskService
}

export interface ExecResult {
  stdout: Buffer
  stderr: Buffer
  exitCode: number
}

/** How much of each stream ExecSync keeps (containerd's maxStreamSize, container_execsync.go); the rest is dropped. */
export const EXEC_SYNC_STREAM_BYTES = 16 * 1024 * 1024

/** One stream's output up to the cap: what comes past it is dropped without a trace, as containerd does. */
class CappedOutput {
  #chunks: Buffer[] = []
  #remain = EXEC_SYNC_STREAM_BYTES

  write(text: string): void {
    if (this.#remain <= 0 || text === '') return
    // A character is at least a byte: no more than `remain` characters are encoded.
    let bytes = Buffer.from(text.length > this.#remain ? text.slice(0, this.#remain) : text)
    if (bytes.length > this.#remain) bytes = bytes.subarray(0, this.#remain)
    this.#chunks.push(bytes)
    this.#remain -= bytes.length
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks)
  }
}

/**
 * Creates and starts an exec process in a running CRI container, as containerd's execInContainer
 * does: the container's environment, an exec process of its task (seen by `ctr tasks ps` and in
 * the events), deleted once it has ended. ExecSync and the streaming exec both come here.
 */
export function startCriExec(
  node: ExecSyncHost,
  containerId: string,
  argv: string[],
  output: ProcessOutput,
  attached?: Omit<AttachedIO, 'output'>,
): { execId: string; proc: SimProcess } {
  const c = node.containers.get(containerId)
  requireRunning(c)
  const execId = newId()
  if (argv.length === 0) throw new RuntimeError('InvalidArgument', 'exec command must not be empty')
  const process: ProcessSpec = {
    args: argv,
    env: (c.spec.process as ProcessSpec | undefined)?.env ?? [],
    ...(attached?.terminal ? { terminal: true } : {}),
  }
  try {
    node.taskService.addExec(c, execId, process)
  } catch (err) {
    throw wrap(err, `failed to exec in container: failed to create exec ${JSON.stringify(execId)}`)
  }
  try {
    node.taskService.startExec(c, execId, output, attached)
  } catch (err) {
    node.taskService.deleteExec(c, execId)
    throw wrap(err, `failed to exec in container: failed to start exec ${JSON.stringify(execId)}`)
  }
  const proc = node.tasks.process(c.id, execId)!
  void proc.exited.then(() => {
    if (c.task?.execs?.[execId]) node.taskService.deleteExec(c, execId)
  })
  return { execId, proc }
}

export async function execSync(
  node: ExecSyncHost,
  containerId: string,
  argv: string[],
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<ExecResult> {
  const out = { stdout: new CappedOutput(), stderr: new CappedOutput() }
  const { proc } = startCriExec(node, containerId, argv, { write: (stream, text) => out[stream].write(text), close: () => {} })
  const abort = new AbortController()
  const onCancel = (): void => void proc.kill(SIGKILL)
  signal?.addEventListener('abort', onCancel, { once: true })
  try {
    if (timeoutSeconds > 0) {
      const timedOut = await Promise.race([
        proc.exited.then(() => false),
        // The timeout is the client's deadline: real time, not the simulated clock.
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), timeoutSeconds * 1000)
          abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve(false)), { once: true })
        }),
      ])
      if (timedOut) {
        proc.kill(SIGKILL)
        throw new RuntimeError('DeadlineExceeded', `timeout ${timeoutSeconds}s exceeded: context deadline exceeded`)
      }
    }
    const exit = await proc.exited
    return { stdout: out.stdout.bytes(), stderr: out.stderr.bytes(), exitCode: exit.code }
  } finally {
    abort.abort()
    signal?.removeEventListener('abort', onCancel)
  }
}
