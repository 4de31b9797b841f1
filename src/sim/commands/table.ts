// The one table of commands a simulated process can run by name. The shell's own commands
// (src/sim/commands/{text,process,info,test}.ts, sh) are registered by src/sim/commands/index.ts;
// other tables (the filesystem commands) are merged in with registerCommands. Programs that only
// some images hold (an image's own binary) are image programs (src/sim/programs/): they run only
// where a file names them (its bytes, src/sim/binary.ts, or its name).
import type { Command, CommandContext } from '../context.js'

export const commands: Record<string, Command> = {}

/** Adds (or replaces) commands by name. */
export function registerCommands(table: Readonly<Record<string, Command>>): void {
  Object.assign(commands, table)
}

export function lookupCommand(name: string): Command | undefined {
  return Object.hasOwn(commands, name) ? commands[name] : undefined
}

/**
 * What runs an executable file that is no command of the table (an image's /usr/sbin/nginx, a
 * python script): by default a long-running service that exits 0 on the TERM, INT or QUIT it is
 * sent, as src/sim/program.ts does for unknown executables.
 */
let fallback: Command = async (_args, ctx: CommandContext) =>
  new Promise<number>((resolve) => {
    for (const signo of [2, 3, 15]) ctx.trap(signo, () => resolve(0))
  })

export function registerFallback(command: Command): void {
  fallback = command
}

export function fallbackCommand(): Command {
  return fallback
}
