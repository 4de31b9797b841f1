// The commands a simulated process can run by name: the shell and the non-filesystem commands are
// registered here; another table (the filesystem commands) joins with registerCommands(table).
import { sh } from '../shell/command.js'
import { infoCommands } from './info.js'
import { netCommands } from './net.js'
import { processCommands } from './process.js'
import { programs } from './programs.js'
import { commands, registerCommands, registerPrograms } from './table.js'
import { testCommands } from './test.js'
import { textCommands } from './text.js'
import { fsCommands } from './fs-commands.js'

/** The shell's own commands (without any registered later). */
export const builtins: Readonly<Record<string, import('../context.js').Command>> = {
  ...textCommands,
  ...processCommands,
  ...infoCommands,
  ...netCommands,
  ...testCommands,
  sh,
  ash: sh,
  bash: sh,
}

registerCommands(builtins)
registerCommands(fsCommands)
registerPrograms(programs)

export { commands, registerCommands }
export { fallbackCommand, lookupCommand, registerFallback } from './table.js'
