// Reading commands from stdin as they arrive (`sh` without -c or a file), each run once it is
// complete, as ash reads a script from a pipe or a terminal. Interactive (a terminal, or -i), the
// shell prompts with PS1/PS2 on stderr, ^C stops the line it runs, and an error ends the command,
// not the shell. Apart from the interpreter; what it needs of the shell is InteractiveHost.
import type { List } from './ast.js'
import { Interrupted, ShellFatal } from './errors.js'
import type { Io } from './io.js'
import { parseScript, type ShellSyntaxError } from './parser.js'
import { SIGINT, SIGQUIT, SIGTERM } from '../signals.js'
import type { ShellProcess, ShellSystem } from './types.js'

/** Syntax errors that only mean the command goes on in the next line of input. */
const INCOMPLETE = /end of file|unterminated quoted string|EOF in backquote|missing '\)\)'|missing '\}'/

/** What reading commands from input needs of the shell. */
export interface InteractiveHost {
  /** Its process; while an interactive shell runs a line, one whose signal ^C also aborts. */
  proc: ShellProcess
  readonly io: Io
  readonly sys: ShellSystem
  readonly cwd: string
  status: number
  /** Reading from a terminal: messages leave out line numbers. */
  interactive: boolean
  /** ^C at an interactive shell: aborts the line it runs. */
  interrupt: (() => void) | undefined
  readonly jobs: { readonly process: { watching: boolean } }
  getVar(name: string): string | undefined
  write(io: Io, fd: number, text: string): void
  runList(list: List, io: Io): Promise<number>
  syntaxError(err: ShellSyntaxError): void
  /** Runs the body as the shell's whole run: then the EXIT trap; the exit status. */
  top(body: () => Promise<void>): Promise<number>
}

/**
 * Runs commands as they arrive on stdin (`sh` without -c or a file), each once it is complete, as
 * ash reads a script from a pipe or a terminal. Interactive (a terminal, or -i), it prompts with
 * PS1/PS2 on stderr and an error ends the command, not the shell.
 */
export async function runInputCommands(sh: InteractiveHost, interactive: boolean): Promise<number> {
  const input = sh.io.input(0)
  sh.interactive = interactive
  if (interactive) {
    // As ash: an interactive shell is not ended by TERM or QUIT, and INT stops the line it runs.
    sh.proc.trap(SIGTERM, () => {})
    sh.proc.trap(SIGQUIT, () => {})
    // At the prompt (the terminal has dropped the line typed so far) it prompts again.
    sh.proc.trap(SIGINT, () => (sh.interrupt ? sh.interrupt() : sh.write(sh.io, 2, prompt(sh, 'PS1'))))
  }
  let buffered = ''
  /** The next line of input with its newline; at end of input what is left (maybe ''), then undefined. */
  const nextLine = async (): Promise<string | undefined> => {
    for (;;) {
      const nl = buffered.indexOf('\n')
      if (nl !== -1) {
        const line = buffered.slice(0, nl + 1)
        buffered = buffered.slice(nl + 1)
        return line
      }
      const chunk = await input.read()
      if (chunk === undefined) {
        const rest = buffered
        buffered = ''
        return rest === '' ? undefined : rest
      }
      buffered += chunk
    }
  }
  return sh.top(async () => {
    let pending = ''
    for (;;) {
      if (interactive) sh.write(sh.io, 2, prompt(sh, pending === '' ? 'PS1' : 'PS2'))
      const line = await nextLine()
      if (line === undefined) {
        if (pending !== '') await runInput(sh, pending, interactive)
        if (interactive) sh.write(sh.io, 2, '\n')
        return
      }
      pending += line
      const script = parseScript(pending)
      if (script.error && INCOMPLETE.test(script.error.message) && line.endsWith('\n')) continue
      const text = pending
      pending = ''
      await runInput(sh, text, interactive)
    }
  })
}

/** One complete piece of input: its commands, then its syntax error if it has one. */
async function runInput(sh: InteractiveHost, text: string, interactive: boolean): Promise<void> {
  const script = parseScript(text)
  // While the line runs, the shell's process signal is one ^C can abort too (the foreground job).
  const outer = sh.proc
  const line = new AbortController()
  const onEnd = (): void => line.abort(outer.signal.reason)
  if (interactive) {
    outer.signal.addEventListener('abort', onEnd, { once: true })
    sh.proc = { ...outer, signal: line.signal }
    sh.interrupt = () => line.abort(new Interrupted())
    // The children this line starts are its job: they go with it.
    sh.jobs.process.watching = false
  }
  try {
    for (const l of script.lines) await sh.runList(l, sh.io)
    if (script.error) {
      sh.syntaxError(script.error)
      throw new ShellFatal(2)
    }
  } catch (err) {
    // An interactive shell survives its commands' errors (not `exit`) and ^C; a script does not.
    if (!interactive || outer.signal.aborted) throw err
    if (err instanceof Interrupted || line.signal.reason instanceof Interrupted) sh.status = 130
    else if (err instanceof ShellFatal) sh.status = err.status
    else throw err
  } finally {
    if (interactive) {
      outer.signal.removeEventListener('abort', onEnd)
      sh.proc = outer
      sh.interrupt = undefined
    }
  }
}

/** PS1 or PS2 as busybox ash expands it: \w (working directory), \W, \u, \h, \$ (# for root). */
function prompt(sh: InteractiveHost, which: 'PS1' | 'PS2'): string {
  const root = sh.sys.identity.uid === 0
  const value = sh.getVar(which) ?? (which === 'PS1' ? '\\w \\$ ' : '> ')
  const home = sh.getVar('HOME')
  const cwd = home && (sh.cwd === home || sh.cwd.startsWith(`${home}/`)) ? `~${sh.cwd.slice(home.length)}` : sh.cwd
  const escapes: Record<string, string> = {
    w: cwd,
    W: cwd.split('/').pop() || '/',
    u: sh.sys.identity.user ?? String(sh.sys.identity.uid),
    h: sh.sys.hostname.split('.')[0] ?? '',
    $: root ? '#' : '$',
    '\\': '\\',
  }
  return value.replace(/\\([wWuh$\\])/g, (_m, c: string) => escapes[c] ?? '')
}
