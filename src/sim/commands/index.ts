// The commands a simulated process can run by name: the shell and the non-filesystem commands are
// registered here; another table (the filesystem commands) joins with registerCommands(table).
import { sh } from '../shell/command.js'
import { infoCommands } from './info.js'
import { netCommands } from './ping-brctl.js'
import { processCommands } from './process.js'
import { commands, registerCommands } from './table.js'
import { testCommands } from './test.js'
import { textCommands } from './text.js'
import { fsCommands } from './fs-commands.js'
import { base64, checksums, dd, expr, free, tee } from './data.js'
import { nohup, timeout, xargs } from './runners.js'
import { httpd } from './httpd.js'
import { ipcs } from './ipcs.js'
import { nc } from './nc.js'
import { netstat, nslookup } from './netinfo.js'
import { wget } from './wget.js'
import { stty } from './stty.js'

/** The shell's own commands (without any registered later). */
export const builtins: Readonly<Record<string, import('../context.js').Command>> = {
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

registerCommands(builtins)
registerCommands(fsCommands)

export { commands, registerCommands }
export { fallbackCommand, lookupCommand, registerFallback } from './table.js'
