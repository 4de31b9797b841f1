// The shell simulator's entry points (see src/sim/shell/exec.ts): runShell, runArgv, the context a
// program gives its commands, and the command table to extend.
import '../commands/index.js'

export { argvProgram, findExecutable, makeCommandContext, runArgv, runShell, type ContextOptions } from './exec.js'
export { Shell, ShellExit, shellFromContext } from './interpreter.js'
export { ShellSyntaxError, parse, parseScript } from './parser.js'
export { commands, registerCommands, registerFallback } from '../commands/index.js'
