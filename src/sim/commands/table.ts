// The one table of commands a simulated process can run by name (busybox's applets and the shell):
// a constant built from the command modules' exports, read only through the lookup
// (src/sim/shell/lookup.ts). Nothing registers itself on import, so what the table holds is what
// this file says. Commands that run others (sh, xargs, find -exec) do not import this table:
// they reach it through their context's exec (src/sim/context.ts Exec), which keeps the modules
// free of import cycles. Programs that only some images hold (an image's own binary) are image
// programs (src/sim/programs/): they run only where a file names them (its bytes,
// src/sim/binary.ts, or its name).
import type { Command, CommandContext } from '../context.js'
import { sh } from '../shell/command.js'
import { base64, checksums, dd, expr, free, tee } from './data.js'
import { fsCommands } from './fs-commands.js'
import { httpd } from './httpd.js'
import { infoCommands } from './info.js'
import { ipcs } from './ipcs.js'
import { nc } from './nc.js'
import { netstat, nslookup } from './netinfo.js'
import { netCommands } from './ping-brctl.js'
import { processCommands } from './process.js'
import { nohup, timeout, xargs } from './runners.js'
import { testCommands } from './test.js'
import { textCommands } from './text.js'
import { wget } from './wget.js'
import { stty } from './stty.js'

/** The shell's own commands and the other non-filesystem ones. */
const SHELL_COMMANDS: Readonly<Record<string, Command>> = {
  ...textCommands,
  ...processCommands,
  ...infoCommands,
  ...netCommands,
  ...testCommands,
  ...checksums,
  base64,
  dd,
  expr,
  free,
  nohup,
  tee,
  timeout,
  xargs,
  wget,
  nc,
  nslookup,
  netstat,
  httpd,
  ipcs,
  stty,
  sh,
  ash: sh,
  bash: sh,
}

/** Every command by name; a filesystem command wins over a shell one of the same name. */
export const COMMANDS: Readonly<Record<string, Command>> = { ...SHELL_COMMANDS, ...fsCommands }

export function lookupCommand(name: string): Command | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
}

/**
 * What runs an executable file that is no command of the table (an image's /usr/sbin/nginx, a
 * python script): a long-running service that exits 0 on the TERM, INT or QUIT it is sent, as
 * src/sim/program.ts does for unknown executables.
 */
export const FALLBACK_COMMAND: Command = async (_args, ctx: CommandContext) =>
  new Promise<number>((resolve) => {
    for (const signo of [2, 3, 15]) ctx.trap(signo, () => resolve(0))
  })
