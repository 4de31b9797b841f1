// Entry points for running commands outside a shell: the CommandContext a simulated process's
// program gives its commands, with the Exec (EXEC) that finds programs in the command table and
// starts them. The root of the simulator's imports: it reaches the table through the lookup;
// nothing the table holds imports this module.
import { emptyInput, type CommandContext, type Exec, type Executable, type Identity, type Input, type ProcessTable } from '../context.js'
import { FS_MESSAGES, FsError, resolvePath, type Fs } from '../fs/types.js'
import type { Net } from '../net.js'
import { execContext, type Kernel } from '../kernel.js'
import type { Program, ProgramContext } from '../process.js'
import { FALLBACK_COMMAND, imageProgram, lookupCommand, resolveExecutable } from './lookup.js'
import { runArgv } from './run.js'
import { shellFromContext } from './start.js'

export { findExecutable, runArgv, runShell } from './run.js'

/** Runs what resolveExecutable found, with ctx.args as its argv (the command's own promise: no frame of its own). */
function startExecutable(found: Executable, ctx: CommandContext): Promise<number> {
  switch (found.kind) {
    case 'command':
      return found.command(ctx.args, ctx)
    case 'script':
      return runScriptFile(found.path, ctx.args, ctx)
    case 'binary': {
      const program = (found.program !== undefined ? imageProgram(found.program)?.command : undefined) ?? FALLBACK_COMMAND
      return program(ctx.args, execContext(ctx, found.file))
    }
    case 'denied':
      return Promise.resolve(126)
    case 'unrunnable':
      // runc's init fails its execve after the container started: the error on its stderr, exit 1.
      ctx.write('stderr', `exec ${found.path}: ${found.errno === 'ENOEXEC' ? 'exec format error' : 'no such file or directory'}\n`)
      return Promise.resolve(1)
  }
}

/** Runs a shell script file (a `#!/bin/sh` file, or a text file without `#!`) as a new shell process would. */
export async function runScriptFile(path: string, argv: readonly string[], ctx: CommandContext): Promise<number> {
  let text: string
  try {
    text = ctx.fs.readFile(resolvePath(ctx.cwd, path)).toString('utf8')
  } catch (err) {
    if (!(err instanceof FsError)) throw err
    ctx.write('stderr', `sh: can't open '${path}': ${FS_MESSAGES[err.code]}\n`)
    return 2
  }
  const shell = shellFromContext(ctx, { name: path, script: path, params: argv.slice(1) })
  return shell.main(text)
}

/** Finding programs in the command table and the container's files, and starting them. */
export const EXEC: Exec = { command: lookupCommand, resolve: resolveExecutable, invoke: startExecutable }

export interface ContextOptions {
  fs: Fs
  identity: Identity
  hostname: string
  processes: ProcessTable
  /** The network namespace; none when absent. */
  net?: Net
  /** The container's capabilities, seccomp filter and UTS namespace; containerd's defaults when absent. */
  kernel?: Kernel
  /** Default "/". */
  cwd?: string
  /** Default: empty input. */
  stdin?: Input
  /** The process's PID ($$); default 1. */
  pid?: number
  /** PID 1 of its PID namespace; default false. */
  isInit?: boolean
  memory?: CommandContext['memory']
}

/** The CommandContext for the program of a simulated process. */
export function makeCommandContext(program: ProgramContext, o: ContextOptions): CommandContext {
  return {
    args: program.args,
    env: program.env,
    clock: program.clock,
    signal: program.signal,
    write: (stream, text) => program.write(stream, text),
    trap: (signo, handler) => program.trap(signo, handler),
    terminate: (exit) => program.terminate(exit),
    cwd: o.cwd ?? '/',
    fs: o.fs,
    stdin: o.stdin ?? program.stdin ?? emptyInput,
    terminal: program.terminal ?? false,
    ...(program.winsize ? { winsize: program.winsize } : {}),
    ...(program.drain ? { drain: program.drain } : {}),
    identity: o.identity,
    hostname: o.hostname,
    processes: o.processes,
    ...(o.net ? { net: o.net } : {}),
    ...(o.kernel ? { kernel: o.kernel } : {}),
    pid: o.pid ?? 1,
    isInit: o.isInit ?? false,
    ...(o.memory ? { memory: o.memory } : {}),
    exec: EXEC,
  }
}

/** A Program that runs argv (see runArgv) in a context built from the process's own and `o`. */
export function argvProgram(argv: readonly string[], o: ContextOptions): Program {
  return (program) => runArgv(argv, makeCommandContext(program, o), program.sleepThenExit)
}
