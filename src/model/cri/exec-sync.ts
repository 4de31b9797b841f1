// ExecSync: runs a command in a running container through the same simulated-process machinery as
// the container's own process (the shell simulator over the container's view), captures its
// output, and honours the timeout as containerd does (the process is killed and the call fails
// with "timeout ... exceeded").
import { SIGKILL } from '../../sim/signals.js'
import { RuntimeError, unknown, wrap } from '../errors.js'
import { newId } from '../ids.js'
import { criState } from './containers.js'
import type { Node } from '../node.js'
import { execPlan } from '../runtime/plans.js'
import { checkExecutable, type ProcessSpec } from '../runtime/process-env.js'
import { NO_IO } from '../runtime/tasks.js'

export interface ExecResult {
  stdout: string
  stderr: string
  exitCode: number
}

export async function execSync(
  node: Node,
  containerId: string,
  argv: string[],
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<ExecResult> {
  const c = node.containers.get(containerId)
  const state = criState(c)
  if (state !== 'CONTAINER_RUNNING') throw unknown(`container is in ${state} state`)
  const execId = newId()
  if (argv.length === 0) throw new RuntimeError('InvalidArgument', 'exec command must not be empty')
  // The container's environment, as CRI's exec gives it.
  const process: ProcessSpec = { args: argv, env: (c.spec.process as ProcessSpec | undefined)?.env ?? [] }
  const plan = execPlan(node, c, process)
  try {
    checkExecutable(node, c, process, 'exec')
  } catch (err) {
    throw wrap(err, `failed to exec in container: failed to start exec ${JSON.stringify(execId)}`)
  }
  // As containerd does: an exec process of the task (seen by `ctr tasks ps` and in the events),
  // deleted once it has ended.
  const out = { stdout: '', stderr: '' }
  node.tasks.addExec(c, execId, { ...process }, NO_IO)
  node.tasks.startExec(c, execId, plan, { write: (stream, text) => void (out[stream] += text), close: () => {} })
  const proc = node.tasks.process(c.id, execId)!
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
    return { ...out, exitCode: exit.code }
  } finally {
    abort.abort()
    signal?.removeEventListener('abort', onCancel)
    void proc.exited.then(() => {
      if (c.task?.execs?.[execId]) node.tasks.deleteExec(c, execId)
    })
  }
}
