// ExecSync: runs a command in a running container through the same simulated-process machinery as
// the container's own process, captures its output, and honours the timeout as containerd does
// (the process is killed and the call fails with "timeout ... exceeded").
import { lookupCommand } from '../sim/commands.js'
import { commandProgram } from '../sim/program.js'
import { SimProcess } from '../sim/process.js'
import { SIGKILL } from '../sim/signals.js'
import { RuntimeError, unknown } from './errors.js'
import { newId } from './ids.js'
import { criState } from './containers.js'
import type { Node } from './node.js'

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
  const exe = argv[0] as string
  if (lookupCommand(exe) === undefined) {
    throw unknown(
      `failed to exec in container: failed to start exec ${JSON.stringify(execId)}: OCI runtime exec failed: exec failed: ` +
        `unable to start container process: exec: ${JSON.stringify(exe)}: executable file not found in $PATH: unknown`,
    )
  }
  const env: Record<string, string> = {}
  for (const e of (c.spec.process as { env: string[] }).env) {
    const eq = e.indexOf('=')
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1)
  }
  const out = { stdout: '', stderr: '' }
  const proc = new SimProcess({
    pid: node.state.nextPid++,
    program: commandProgram(argv),
    args: argv,
    env,
    clock: node.clock,
    isInit: false,
    onOutput: (stream, text) => (out[stream] += text),
  })
  proc.start()
  const abort = new AbortController()
  const onCancel = (): void => void proc.kill(SIGKILL)
  signal?.addEventListener('abort', onCancel, { once: true })
  try {
    if (timeoutSeconds > 0) {
      const timedOut = await Promise.race([
        proc.exited.then(() => false),
        node.clock.sleep(timeoutSeconds * 1000, abort.signal).then(
          () => true,
          () => false,
        ),
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
  }
}
