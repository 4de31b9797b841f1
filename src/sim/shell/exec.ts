// Entry points for running commands outside a shell: an argv as an exec would run it, and the
// CommandContext a simulated process's program gives its commands.
import { emptyInput, type CommandContext, type Identity, type Input, type ProcessTable } from '../context.js'
import type { Fs } from '../fs/types.js'
import type { Net } from '../net.js'
import { SyscallKilled, type Kernel } from '../kernel.js'
import type { Program, ProgramContext } from '../process.js'
import { invokeExecutable, ShellExit } from './interpreter.js'
import { resolveExecutable, type Executable, type ResolveOptions } from './lookup.js'

export { invokeExecutable }

/** What a name runs for this context: an executable file on its $PATH (or a command of the table). */
export function findExecutable(name: string, ctx: CommandContext, o: ResolveOptions = {}): Executable | undefined {
  return resolveExecutable(name, { fs: ctx.fs, cwd: ctx.cwd, path: ctx.env.PATH, identity: ctx.identity }, o)
}

/**
 * Runs an argv as exec(2) would: a command of the table (by name, or by a path whose file exists or
 * that is in a standard bin directory), a shell script file, `sh -c …`, or any other executable file
 * (the fallback, see registerFallback). A name that resolves to nothing prints runc's message and
 * returns 127; call findExecutable first to fail the way the runtime does instead.
 */
export async function runArgv(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const name = argv[0]
  if (name === undefined || name === '') return 0
  const found = findExecutable(name, ctx)
  if (found === undefined || found.kind === 'denied') {
    const why = found ? 'permission denied' : 'executable file not found in $PATH'
    ctx.write('stderr', `exec: ${JSON.stringify(name)}: ${why}\n`)
    return found ? found.status : 127
  }
  try {
    return await invokeExecutable(found, { ...ctx, args: argv })
  } catch (err) {
    if (err instanceof ShellExit) return err.code
    // A seccomp filter killed the process (SIGSYS).
    if (err instanceof SyscallKilled) return 128 + err.signo
    throw err
  }
}

/** Runs a script with `sh -c` semantics in the context's process. */
export async function runShell(script: string, ctx: CommandContext): Promise<number> {
  return runArgv(['sh', '-c', script], ctx)
}

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
  }
}

/** A Program that runs argv (see runArgv) in a context built from the process's own and `o`. */
export function argvProgram(argv: readonly string[], o: ContextOptions): Program {
  return (program) => runArgv(argv, makeCommandContext(program, o))
}
