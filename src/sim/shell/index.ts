// The shell simulator's entry points (see src/sim/shell/exec.ts): runShell, runArgv, the context a
// program gives its commands, and the command table.
export { argvProgram, findExecutable, makeCommandContext, runArgv, runShell, type ContextOptions } from './exec.js'
export { Shell, ShellExit } from './interpreter.js'
export { shellFromContext } from './start.js'
export { ShellSyntaxError, parse, parseScript } from './parser.js'
export { COMMANDS } from '../commands/table.js'
