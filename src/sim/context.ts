// What a command sees when it runs inside a simulated process: the process context (arguments,
// clock, signals, output) plus a working directory, the container's filesystem, its input, and
// the identity and process table of its container. The shell creates one per command it runs.
import type { FileStat, Fs } from './fs/types.js'
import type { Net } from './net.js'
import type { Kernel } from './kernel.js'
import type { ProgramContext, Stream } from './process.js'
import type { Identity } from './identity.js'
import type { Input } from './input.js'

export { emptyInput, textInput, StreamInput, type Input } from './input.js'
export type { Identity } from './identity.js'

/** A process as ps shows it. */
export interface ProcessInfo {
  pid: number
  ppid: number
  user: string
  args: string[]
  /** The executable's name (/proc/<pid>/comm) when its args no longer start with it (a retitled process); default: basename of args[0]. */
  comm?: string
}

/** The processes a command can see and signal (its PID namespace). */
export interface ProcessTable {
  list(): ProcessInfo[]
  /** Sends a signal; false when no such process. */
  kill(pid: number, signo: number): boolean
  /**
   * Optional: gives a PID to a child process a shell starts (a pipeline stage, a background job)
   * and lists it (with `args`, updated by `setArgs` when the child runs a command) until `exit()`;
   * `kill` of that PID calls `child.signal`. Without it the shell numbers its children itself
   * (from the highest PID `list()` shows) and only its own commands see them.
   */
  spawn?(child: { ppid: number; args: readonly string[]; signal(signo: number): boolean }): SpawnedProcess
  /**
   * Optional: rewrites what ps and /proc/<pid>/cmdline show for a process of the table, as a program
   * that sets its title does (nginx's "nginx: master process …"); its comm stays its executable's
   * name. False when the table has no such process it can retitle.
   */
  setArgs?(pid: number, args: readonly string[]): boolean
  /** The process execs another program: ps and /proc show its argv and name from now on. */
  exec?(pid: number, args: readonly string[]): boolean
}

/** ProcessTable.spawn refuses a new process: the container holds as many as it may (fork's EAGAIN). */
export class ForkFailed extends Error {
  constructor() {
    super('Resource temporarily unavailable')
  }
}

export interface SpawnedProcess {
  pid: number
  setArgs(args: readonly string[]): void
  exit(): void
}

// Not sleepThenExit: a command's context is copied into the contexts of what it runs (a shell's commands),
// which are not the last of their process; lastCommand() says which context is.
export interface CommandContext extends Omit<ProgramContext, 'sleepThenExit'> {
  /** The process's environment; the shell's exports are added to a copy per command. */
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly fs: Fs
  readonly stdin: Input
  readonly identity: Identity
  /** The hostname the process started with; the UTS namespace's current one is kernel.uts (see hostnameOf). */
  readonly hostname: string
  readonly processes: ProcessTable
  /** The process's network namespace (absent: a process without network, as in a unit test). */
  readonly net?: Net
  /** Capabilities, seccomp and the UTS namespace of the container (src/sim/kernel.ts); containerd's defaults when absent. */
  readonly kernel?: Kernel
  /** Writes to this command's stdout or stderr (after the shell's redirections). */
  write(stream: Stream, text: string): void
  /** The PID of the process the command runs in ($$ of a shell started with this context); 1 when absent. */
  readonly pid?: number
  /** PID 1 of its PID namespace (a shell needs it to restore a signal's default action: `trap - TERM`). */
  readonly isInit?: boolean
  /**
   * Resolves when what the command wrote to stdout has been taken by its reader (a pipe), or after a
   * macrotask turn otherwise; rejects once the command has ended. A command that writes without end
   * (yes, top) awaits it between writes, so it runs only as fast as its reader and is stopped by SIGPIPE.
   */
  drain?(): Promise<void>
  /**
   * Set when a shell runs the command as one of its builtins (echo, printf, test, kill, …): busybox
   * then begins error messages with the shell's name ("sh: …") instead of the command's.
   */
  readonly applet?: string
  /**
   * The container's memory cgroup: `allocate` charges bytes to process `pid` (of this namespace);
   * false when that passed the limit and the OOM killer has ended the container. `free` gives back
   * what a command held when it ends inside a process that goes on (a shell's builtin or child).
   */
  readonly memory?: { allocate(pid: number, bytes: number): boolean; free(pid: number, bytes: number): void }
  /**
   * How the process finds and starts other programs (the command table, image programs, script
   * files: src/sim/shell/exec.ts EXEC). Commands that run others (sh, xargs, find -exec, awk's
   * system()) reach the table through it rather than by importing it, since the table holds them.
   */
  readonly exec: Exec
}

export type Command = (args: readonly string[], ctx: CommandContext) => Promise<number>

/** The context of each command that is all that is left of its process, with its process's sleepThenExit. */
const lastCommands = new WeakMap<CommandContext, (ms: number) => void>()

/**
 * Marks `ctx` (a fresh object, not shared: the command's own) as the context of the last command of a
 * process whose program returns what the command does (see ProgramContext.sleepThenExit).
 */
export function lastCommand(ctx: CommandContext, sleepThenExit: ((ms: number) => void) | undefined): CommandContext {
  if (sleepThenExit) lastCommands.set(ctx, sleepThenExit)
  return ctx
}

/**
 * A command about to wait `ms` and return: true when it can return now and leave the wait to its
 * process (it is the last command of its process, ctx its own context); false when it must wait itself.
 */
export function waitAsLast(ctx: CommandContext, ms: number): boolean {
  const sleepThenExit = lastCommands.get(ctx)
  if (!sleepThenExit) return false
  lastCommands.delete(ctx)
  sleepThenExit(ms)
  return true
}

/** Waits until the process is ended (a signal, the OOM killer): what a command that never finishes on its own does. */
export const untilEnded = (ctx: Pick<CommandContext, 'signal'>): Promise<never> =>
  new Promise<never>((_resolve, reject) => {
    if (ctx.signal.aborted) reject(ctx.signal.reason)
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })
  })

/** What a name runs: the answer of a lookup (src/sim/shell/lookup.ts). */
export type Executable =
  | { kind: 'command'; name: string; command: Command; path?: string; file?: FileStat }
  | { kind: 'script'; path: string; file?: FileStat }
  /** Any other file; `program` when its bytes name a registered program. */
  | { kind: 'binary'; path: string; program?: string; file?: FileStat }
  /**
   * Something is there but may not be executed: "Permission denied". 126 when a regular file is
   * not executable; 127 when the shell found no regular file at all, only a directory or a device
   * (ash's find_command fails then, and its status is 127 whatever the message).
   */
  | { kind: 'denied'; path: string; status: 126 | 127 }
  /** A file exec(2) refuses although it is there and executable: ENOENT (its loader is missing), ENOEXEC. */
  | { kind: 'unrunnable'; path: string; errno: 'ENOENT' | 'ENOEXEC'; file?: FileStat }

/** Where a lookup searches. */
export interface LookupEnv {
  fs: Fs
  cwd: string
  /** $PATH; the default when undefined. */
  path: string | undefined
  identity: Identity
}

export interface ResolveOptions {
  /**
   * Search PATH as a shell (ash) or execvp does: a directory or device by the name counts as
   * "Permission denied". Otherwise as runc's exec.LookPath: only executable files count.
   */
  shell?: boolean
}

/** Finding and starting programs: see CommandContext.exec. */
export interface Exec {
  /** The command of the table by this name (a busybox applet), if any. */
  command(name: string): Command | undefined
  /** What a name runs in this environment: an executable file on its $PATH, or a command of the table. */
  resolve(name: string, env: LookupEnv, o?: ResolveOptions): Executable | undefined
  /** Runs what resolve found, with ctx.args as its argv. */
  invoke(found: Executable, ctx: CommandContext): Promise<number>
}
