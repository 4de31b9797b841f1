// A minimal CommandContext for running filesystem commands in unit tests.
import { SimClock } from '../../src/sim/clock.js'
import { textInput, type Command, type CommandContext, type Input } from '../../src/sim/context.js'
import type { Fs } from '../../src/sim/fs/types.js'
import { createContainerFs, type ContainerFsInput } from '../../src/sim/fs/index.js'
import { EXEC } from '../../src/sim/shell/exec.js'

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  cwd?: string
  stdin?: string | Input
  env?: Record<string, string>
  clock?: SimClock
  signal?: AbortSignal
  /** Called with what is written so far, on each write. */
  onWrite?: (out: RunResult) => void
}

export function commandContext(fs: Fs, argv: readonly string[], opts: RunOptions = {}): { ctx: CommandContext; out: RunResult } {
  const out: RunResult = { code: -1, stdout: '', stderr: '' }
  const ctx: CommandContext = {
    args: argv,
    env: opts.env ?? { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    clock: opts.clock ?? new SimClock(),
    signal: opts.signal ?? new AbortController().signal,
    write: (stream, text) => {
      out[stream] += text
      opts.onWrite?.(out)
    },
    trap: () => undefined,
    terminate: () => undefined,
    cwd: opts.cwd ?? '/',
    fs,
    stdin: typeof opts.stdin === 'string' ? textInput(opts.stdin) : (opts.stdin ?? textInput('')),
    identity: { uid: 0, gid: 0, groups: [0], user: 'root', group: 'root' },
    hostname: 'test-pod',
    processes: { list: () => [{ pid: 1, ppid: 0, user: 'root', args: ['sh'] }], kill: () => false },
    exec: EXEC,
  }
  return { ctx, out }
}

export async function run(command: Command, argv: readonly string[], fs: Fs, opts: RunOptions = {}): Promise<RunResult> {
  const { ctx, out } = commandContext(fs, argv, opts)
  out.code = await command(argv, ctx)
  return out
}

/** A busybox container's filesystem, running as root. */
export function busyboxFs(extra: Partial<ContainerFsInput> = {}) {
  return createContainerFs({
    image: { name: 'docker.io/library/busybox:1.36' },
    hostname: 'test-pod',
    podIp: '10.88.0.7',
    user: { uid: 0, gid: 0 },
    ...extra,
  })
}
