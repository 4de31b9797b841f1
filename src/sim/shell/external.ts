// Running what is neither a builtin nor a function: finding it (one of ash's builtins that are
// commands of the table, else a file on $PATH) and starting it as a command in the shell's
// process, with the messages and statuses ash gives (not found 127, not executable 126). Apart
// from the interpreter; what it needs of the shell is ExternalHost.
import { type CommandContext, type Executable } from '../context.js'
import { SyscallKilled } from '../kernel.js'
import { BuiltinError, EpipeError, OutOfMemory, ShellExit } from './errors.js'
import type { Io } from './io.js'
import { execFailure } from './search.js'
import type { ShellProcess, ShellSystem } from './types.js'

/** Commands of the table that busybox ash has as builtins: their errors begin with the shell's name. */
const ASH_BUILTINS = new Set(['echo', 'printf', 'test', '[', '[[', 'kill', 'true', 'false', 'pwd'])

/** What running a program needs of the shell. */
export interface ExternalHost {
  readonly sys: ShellSystem
  readonly cwd: string
  /** $0: what error messages begin with. */
  readonly name: string
  readonly proc: ShellProcess
  /** Updates the ps line of the process the shell runs as (a forked shell's); undefined in its own process. */
  readonly setProcessArgs: ((args: readonly string[]) => void) | undefined
  getVar(name: string): string | undefined
  error(message: string, builtin?: string, io?: Io): void
  write(io: Io, fd: number, text: string): void
  commandContext(argv: string[], io: Io, env: Record<string, string>, o?: { exec?: boolean; applet?: string }): CommandContext
  exportedEnv(extra?: ReadonlyArray<[string, string]>): Record<string, string>
}

/** Finds what a name runs outside the shell: one of ash's builtins, else a file on PATH (or a command of the table). */
export function resolveExternal(sh: ExternalHost, name: string): Executable | undefined {
  const exec = sh.sys.exec
  const builtin = ASH_BUILTINS.has(name) ? exec.command(name) : undefined
  if (builtin) return { kind: 'command', name, command: builtin }
  const env = { fs: sh.sys.fs, cwd: sh.cwd, path: sh.getVar('PATH'), identity: sh.sys.identity }
  return exec.resolve(name, env, { shell: true })
}

/** Runs a command that is not a builtin or function: not found is 127, not executable 126 (or 127, see Executable). */
export async function runExternal(
  sh: ExternalHost,
  argv: string[],
  io: Io,
  assigns: [string, string][],
  exec: boolean,
  replaces: boolean,
): Promise<number> {
  const name = argv[0] as string
  const found = resolveExternal(sh, name)
  const failure = execFailure(found)
  if (failure || found === undefined) {
    // ash reports exec's ENOENT as "not found".
    const why = { ENOENT: 'not found', EACCES: 'Permission denied', ENOEXEC: 'Exec format error' }[failure?.errno ?? 'ENOENT']
    const message = `${name}: ${why}`
    const status = failure?.status ?? 127
    if (exec) throw new BuiltinError(message, status)
    sh.error(message, undefined, io)
    return status
  }
  const applet = found.kind === 'command' && !name.includes('/') && ASH_BUILTINS.has(name) ? sh.name : undefined
  const ctx = sh.commandContext(argv, io, sh.exportedEnv(assigns), { exec: replaces, ...(applet ? { applet } : {}) })
  sh.setProcessArgs?.(argv)
  // The shell's own process execs the program (exec, or the last command of `sh -c`): ps shows it.
  if (replaces && !sh.setProcessArgs) sh.sys.processes.exec?.(sh.proc.pid, argv)
  try {
    return (await sh.sys.exec.invoke(found, ctx)) & 0xff
  } catch (err) {
    if (sh.proc.signal.aborted) throw err
    if (err instanceof ShellExit) return err.code
    if (err instanceof EpipeError) return 1
    if (err instanceof SyscallKilled) return 128 + err.signo
    if (err instanceof OutOfMemory) throw err
    sh.write(io, 2, `${found.kind === 'command' ? found.name : name}: ${(err as Error)?.message ?? String(err)}\n`)
    return 1
  } finally {
    sh.setProcessArgs?.([sh.name])
  }
}
