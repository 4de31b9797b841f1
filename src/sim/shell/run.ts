// Running another program from a command (xargs, find -exec, awk's system(), nc -e) or from the
// runtime (a container's process): find it and start it through the context's exec
// (src/sim/context.ts Exec). Nothing here imports the command table, so the commands that run
// others can use it without an import cycle through the table that holds them.
import { lastCommand, type CommandContext, type Executable, type ResolveOptions } from '../context.js'
import { SyscallKilled } from '../kernel.js'
import { ShellExit } from './errors.js'

/** What a name runs for this context: an executable file on its $PATH (or a command of the table). */
export function findExecutable(name: string, ctx: CommandContext, o: ResolveOptions = {}): Executable | undefined {
  return ctx.exec.resolve(name, { fs: ctx.fs, cwd: ctx.cwd, path: ctx.env.PATH, identity: ctx.identity }, o)
}

/**
 * Runs an argv as exec(2) would: a command of the table (by name, or by a path whose file exists or
 * that is in a standard bin directory), a shell script file, `sh -c …`, or any other executable file
 * (the fallback, FALLBACK_COMMAND in src/sim/commands/table.ts). A name that resolves to nothing
 * prints runc's message and returns 127; call findExecutable first to fail the way the runtime does
 * instead.
 */
export async function runArgv(argv: readonly string[], ctx: CommandContext, sleepThenExit?: (ms: number) => void): Promise<number> {
  const name = argv[0]
  if (name === undefined || name === '') return 0
  const found = findExecutable(name, ctx)
  if (found === undefined || found.kind === 'denied') {
    const why = found ? 'permission denied' : 'executable file not found in $PATH'
    ctx.write('stderr', `exec: ${JSON.stringify(name)}: ${why}\n`)
    return found ? found.status : 127
  }
  try {
    // The command is the rest of the process when the caller passes its process's sleepThenExit.
    return await ctx.exec.invoke(found, lastCommand({ ...ctx, args: argv }, sleepThenExit))
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
