// Runs a parsed script with busybox ash semantics. One Shell is one shell process (or an in-process
// subshell: `( … )`, `$( … )`); pipeline stages and background jobs are child SimProcesses running
// a forked Shell, so each can be signalled (SIGPIPE, kill $!) and exits on its own.
import { fallbackCommand, lookupCommand } from '../commands/table.js'
import { imageProgram } from '../programs/index.js'
import {
  ForkFailed,
  type CommandContext,
  type Identity,
  type Input,
  type ProcessInfo,
  type ProcessTable,
  type SpawnedProcess,
} from '../context.js'
import type { Clock } from '../clock.js'
import { SyscallKilled, execContext, type Kernel } from '../kernel.js'
import { FS_MESSAGES, FsError, resolvePath, type Fs } from '../fs/types.js'
import type { Net } from '../net.js'
import { SimProcess, type ExitInfo } from '../process.js'
import { SIGINT, SIGKILL, SIGQUIT, SIGTERM } from '../signals.js'
import { ArithError, evaluate } from './arith.js'
import type { AndOr, Command, List, ParamPart, Part, Pipeline, Redir, SimpleCommand, Word } from './ast.js'
import { REGULAR_BUILTINS, SPECIAL_BUILTINS, type Builtin } from './builtins.js'
import {
  BuiltinError,
  EpipeError,
  FunctionReturn,
  Interrupted,
  LoopControl,
  OutOfMemory,
  RedirError,
  ShellExit,
  ShellFatal,
} from './errors.js'
import { Fields } from './fields.js'
import {
  CaptureSink,
  Io,
  MAX_SHELL_STRING,
  Pipe,
  Reader,
  emptyReader,
  nextTurn,
  nullSink,
  textReader,
  FileSink,
  type Fd,
  type Sink,
} from './io.js'
import { execFailure, resolveExecutable, type Executable } from './lookup.js'
import { ShellSyntaxError, parse, parseScript } from './parser.js'
import { globPaths, matchPattern, removeAffix, substitute } from './pattern.js'

const SIGPIPE = 13
/** On the stdin a shell gives a command: the shell's buffered reader behind it. */
const READER = Symbol('reader')
/** Signals whose default action is to do nothing. */
const IGNORED_BY_DEFAULT = new Set([17, 18, 23, 28])
/** Commands of the table that busybox ash has as builtins: their errors begin with the shell's name. */
const ASH_BUILTINS = new Set(['echo', 'printf', 'test', '[', '[[', 'kill', 'true', 'false', 'pwd'])
const MAX_FUNCTION_DEPTH = 1000

/** A foreground command's trap: signals sent to the shell do not reach it. */
const ignoreTrap = (): void => {}

/** The functions of a command context that depend on the descriptors (Shell#streams). */
interface CommandStreams {
  io: Io
  reader: Reader
  write: CommandContext['write']
  terminate: CommandContext['terminate']
  stdin: Input
  drain: () => Promise<void>
}

const GLOB_CHARS = /[*?[]/

/** A word that expands to itself: one quoted or plain part without glob characters. */
function literalOf(w: Word): string | undefined {
  const only = w.length === 1 ? (w[0] as Part) : undefined
  return only?.t === 'q' || (only?.t === 'lit' && !GLOB_CHARS.test(only.v)) ? only.v : undefined
}

/** The words as arguments when every one is literal (most commands), without an async expansion. */
function literalWords(words: Word[]): string[] | undefined {
  const out = new Array<string>(words.length)
  for (let i = 0; i < words.length; i++) {
    const literal = literalOf(words[i] as Word)
    if (literal === undefined) return undefined
    out[i] = literal
  }
  return out
}

/** The process a shell runs as. */
export interface ShellProcess {
  readonly pid: number
  readonly isInit: boolean
  readonly signal: AbortSignal
  trap(signo: number, handler: () => void): void
  terminate(exit: ExitInfo): void
}

/** What a shell's commands see of their container. */
export interface ShellSystem {
  readonly clock: Clock
  readonly fs: Fs
  readonly identity: Identity
  readonly hostname: string
  readonly processes: ProcessTable
  readonly net?: Net
  readonly kernel?: Kernel | undefined
  /** The container's memory cgroup, which what the shell's commands allocate is charged to. */
  readonly memory?: CommandContext['memory']
  /** The size of the process's terminal, when it has one (stty size). */
  readonly winsize?: CommandContext['winsize']
}

export interface ShellOptions {
  proc: ShellProcess
  sys: ShellSystem
  io: Io
  env: Readonly<Record<string, string>>
  cwd: string
  /** $0, and what error messages begin with. */
  name: string
  /** The script file being run (error messages then name it and the line). */
  script?: string
  params?: string[]
}

interface Var {
  value: string | undefined
  exported: boolean
  readonly: boolean
}

interface Child {
  pid: number
  job: number
  args: readonly string[]
  proc: SimProcess
  exit?: ExitInfo
  /** Its entry in the container's process table, when the table gave it its PID. */
  handle?: SpawnedProcess | undefined
  /** Set when the command it runs retitled it (ProcessTable.setArgs). */
  comm?: string | undefined
}

export interface ShellOpts {
  errexit: boolean
  nounset: boolean
  xtrace: boolean
  noglob: boolean
  noclobber: boolean
  allexport: boolean
  pipefail: boolean
}

const OPTION_LETTERS: Record<string, keyof ShellOpts> = {
  e: 'errexit',
  u: 'nounset',
  x: 'xtrace',
  f: 'noglob',
  C: 'noclobber',
  a: 'allexport',
}

/** Shared by a shell and its subshells: child PIDs when the process table cannot give them. */
interface Tree {
  nextPid: number
  nextJob: number
}

/** The command ash would exec in place of the shell: the last of a script, alone in its pipeline, in the foreground. */
function tailCommand(list: List | undefined): Command | undefined {
  const item = list?.at(-1)
  if (!item || item.background || item.andOr.rest.length > 0) return undefined
  const p = item.andOr.first
  const cmd = p.commands[0]
  return !p.negate && p.commands.length === 1 && cmd?.type === 'simple' ? cmd : undefined
}

/** Syntax errors that only mean the command goes on in the next line of input. */
const INCOMPLETE = /end of file|unterminated quoted string|EOF in backquote|missing '\)\)'|missing '\}'/

export class Shell {
  /** Its process; while an interactive shell runs a line, one whose signal ^C also aborts. */
  proc: ShellProcess
  readonly sys: ShellSystem
  io: Io
  name: string
  script: string | undefined
  vars = new Map<string, Var>()
  params: string[]
  funcs = new Map<string, Command>()
  cwd: string
  opts: ShellOpts = { errexit: false, nounset: false, xtrace: false, noglob: false, noclobber: false, allexport: false, pipefail: false }
  /** Signal number → action ('' ignores); 0 is EXIT. */
  traps = new Map<number, string>()
  /** $? */
  status = 0
  lastBg: number | undefined
  /** Background jobs not yet waited for. */
  jobs = new Map<number, Child>()
  /** Running child processes (jobs and pipeline stages). */
  children = new Map<number, Child>()
  loopDepth = 0
  funcDepth = 0
  locals: Map<string, Var | undefined>[] = []
  /** The builtin running, for error messages. */
  builtinName: string | undefined
  line = 0
  /** $$: the PID of the top shell (subshells keep it). */
  rootPid: number
  /** Set by `exec CMD`: the shell's traps no longer apply. */
  execd = false
  /** Subshells in the same process cannot receive signals: their trap only records. */
  #canTrap: boolean
  #installed = new Set<number>()
  #pending: number[] = []
  #signalWaiters = new Set<(signo: number) => void>()
  #inTrap = false
  #noErrexit = 0
  #cmdsubStatus: number | undefined
  #spins = 0
  #tree: Tree
  /** Updates the ps line of the process this shell runs as (forked shells). */
  #setArgs: ((args: readonly string[]) => void) | undefined
  /** The script's last command when it is a plain simple command (ash execs it instead of forking). */
  #tail: Command | undefined
  #interactive = false
  /** ^C at an interactive shell: aborts the line it runs. */
  #interrupt: (() => void) | undefined
  /** What the last command context's functions closed over (#streams). */
  #lastStreams: CommandStreams | undefined

  constructor(o: ShellOptions) {
    this.proc = o.proc
    this.sys = o.sys
    this.io = o.io
    this.name = o.name
    this.script = o.script
    this.params = o.params ?? []
    this.cwd = o.cwd
    this.rootPid = o.proc.pid
    this.#canTrap = true
    this.#tree = { nextPid: 0, nextJob: 1 }
    // Commands that start processes of their own (a daemon, nginx's workers) reach the container's table.
    const spawn = o.sys.processes.spawn
    if (spawn) this.table.spawn = (child) => spawn.call(o.sys.processes, child)
    for (const [k, v] of Object.entries(o.env)) this.vars.set(k, { value: v, exported: true, readonly: false })
    if (!this.vars.has('IFS')) this.vars.set('IFS', { value: ' \t\n', exported: false, readonly: false })
    if (!this.vars.has('PATH'))
      this.vars.set('PATH', { value: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', exported: false, readonly: false })
    this.vars.set('PWD', { value: this.cwd, exported: true, readonly: false })
    this.vars.set('SHLVL', { value: String((Number(o.env.SHLVL) || 0) + 1), exported: true, readonly: false })
  }

  // ---- entry points

  /** Runs a script to its end (or `exit`), then the EXIT trap; returns the exit status. */
  async main(text: string): Promise<number> {
    const script = parseScript(text)
    this.#tail = script.error ? undefined : tailCommand(script.lines.at(-1))
    return this.#top(async () => {
      for (const line of script.lines) await this.runList(line, this.io)
      if (script.error) {
        this.#syntaxError(script.error)
        throw new ShellExit(2)
      }
    })
  }

  /**
   * Runs commands as they arrive on stdin (`sh` without -c or a file), each once it is complete, as
   * ash reads a script from a pipe or a terminal. Interactive (a terminal, or -i), it prompts with
   * PS1/PS2 on stderr and an error ends the command, not the shell.
   */
  async mainInput(interactive: boolean): Promise<number> {
    const input = this.io.input(0)
    this.#interactive = interactive
    if (interactive) {
      // As ash: an interactive shell is not ended by TERM or QUIT, and INT stops the line it runs.
      this.proc.trap(SIGTERM, () => {})
      this.proc.trap(SIGQUIT, () => {})
      // At the prompt (the terminal has dropped the line typed so far) it prompts again.
      this.proc.trap(SIGINT, () => (this.#interrupt ? this.#interrupt() : this.write(this.io, 2, this.#prompt('PS1'))))
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
    return this.#top(async () => {
      let pending = ''
      for (;;) {
        if (interactive) this.write(this.io, 2, this.#prompt(pending === '' ? 'PS1' : 'PS2'))
        const line = await nextLine()
        if (line === undefined) {
          if (pending !== '') await this.#runInput(pending, interactive)
          if (interactive) this.write(this.io, 2, '\n')
          return
        }
        pending += line
        const script = parseScript(pending)
        if (script.error && INCOMPLETE.test(script.error.message) && line.endsWith('\n')) continue
        const text = pending
        pending = ''
        await this.#runInput(text, interactive)
      }
    })
  }

  /** One complete piece of input: its commands, then its syntax error if it has one. */
  async #runInput(text: string, interactive: boolean): Promise<void> {
    const script = parseScript(text)
    // While the line runs, the shell's process signal is one ^C can abort too (the foreground job).
    const outer = this.proc
    const line = new AbortController()
    const onEnd = (): void => line.abort(outer.signal.reason)
    if (interactive) {
      outer.signal.addEventListener('abort', onEnd, { once: true })
      this.proc = { ...outer, signal: line.signal }
      this.#interrupt = () => line.abort(new Interrupted())
      // The children this line starts are its job: they go with it.
      this.#process.watching = false
    }
    try {
      for (const l of script.lines) await this.runList(l, this.io)
      if (script.error) {
        this.#syntaxError(script.error)
        throw new ShellFatal(2)
      }
    } catch (err) {
      // An interactive shell survives its commands' errors (not `exit`) and ^C; a script does not.
      if (!interactive || outer.signal.aborted) throw err
      if (err instanceof Interrupted || line.signal.reason instanceof Interrupted) this.status = 130
      else if (err instanceof ShellFatal) this.status = err.status
      else throw err
    } finally {
      if (interactive) {
        outer.signal.removeEventListener('abort', onEnd)
        this.proc = outer
        this.#interrupt = undefined
      }
    }
  }

  /** PS1 or PS2 as busybox ash expands it: \w (working directory), \W, \u, \h, \$ (# for root). */
  #prompt(which: 'PS1' | 'PS2'): string {
    const root = this.sys.identity.uid === 0
    const value = this.vars.get(which)?.value ?? (which === 'PS1' ? '\\w \\$ ' : '> ')
    const home = this.vars.get('HOME')?.value
    const cwd = home && (this.cwd === home || this.cwd.startsWith(`${home}/`)) ? `~${this.cwd.slice(home.length)}` : this.cwd
    const escapes: Record<string, string> = {
      w: cwd,
      W: cwd.split('/').pop() || '/',
      u: this.sys.identity.user ?? String(this.sys.identity.uid),
      h: this.sys.hostname.split('.')[0] ?? '',
      $: root ? '#' : '$',
      '\\': '\\',
    }
    return value.replace(/\\([wWuh$\\])/g, (_m, c: string) => escapes[c] ?? '')
  }

  async #top(body: () => Promise<void>): Promise<number> {
    let status: number
    try {
      await body()
      await this.runPendingTraps()
      status = this.status
    } catch (err) {
      status = this.#exitStatus(err)
    }
    return this.#exitTrap(status)
  }

  #exitStatus(err: unknown): number {
    if (err instanceof ShellExit) return err.code
    if (err instanceof ShellFatal) return err.status
    if (err instanceof FunctionReturn) return err.code
    if (err instanceof LoopControl) return this.status
    throw err
  }

  async #exitTrap(status: number): Promise<number> {
    const action = this.traps.get(0)
    if (action === undefined || action === '' || this.execd || this.proc.signal.aborted) return status
    this.traps.delete(0)
    this.status = status
    try {
      await this.evalString(action, this.io)
    } catch (err) {
      return this.#exitStatus(err)
    }
    return status
  }

  // ---- messages

  /**
   * Prints an error as ash does: "sh: [command: ][line N: ]message", where the command is the
   * builtin running (eval and . included, for what runs inside them) or the script file.
   */
  error(message: string, builtin?: string, io: Io = this.io): void {
    const command = builtin ?? this.builtinName ?? this.script
    let text = `${this.name}: `
    if (command !== undefined) {
      if (command !== this.name) text += `${command}: `
      // ash leaves out the line number when it reads commands from a terminal.
      if (!this.#interactive) text += `line ${this.line}: `
    }
    this.write(io, 2, `${text}${message}\n`)
  }

  #syntaxError(err: ShellSyntaxError): void {
    this.line = err.line
    this.error(`syntax error: ${err.message}`)
  }

  #fatal(message: string): never {
    this.error(message)
    throw new ShellFatal(2)
  }

  /** Writes to a descriptor; a broken pipe delivers SIGPIPE to this process. */
  write(io: Io, fd: number, text: string): void {
    if (this.proc.signal.aborted) throw this.proc.signal.reason
    const sink = io.out(fd)
    if (sink === undefined) return
    if (!sink.write(text)) {
      this.#deliver(SIGPIPE)
      throw new EpipeError()
    }
  }

  // ---- variables

  getVar(name: string): string | undefined {
    return this.vars.get(name)?.value
  }

  setVar(name: string, value: string | undefined, flags: { export?: boolean; readonly?: boolean } = {}): void {
    if (value !== undefined && value.length > MAX_SHELL_STRING) this.#fatal('out of memory')
    const v = this.vars.get(name)
    if (v?.readonly && value !== undefined) throw new BuiltinError(`${name}: is read only`)
    if (v) {
      if (value !== undefined) v.value = value
      if (flags.export) v.exported = true
      if (flags.readonly) v.readonly = true
      if (this.opts.allexport) v.exported = true
    } else {
      this.vars.set(name, { value, exported: !!flags.export || this.opts.allexport, readonly: !!flags.readonly })
    }
  }

  unsetVar(name: string): void {
    const v = this.vars.get(name)
    if (v?.readonly) throw new BuiltinError(`${name}: is read only`)
    this.vars.delete(name)
  }

  /** Makes a variable local to the running function (its value is kept until assigned). */
  makeLocal(name: string): void {
    const frame = this.locals[this.locals.length - 1]
    if (frame === undefined) throw new BuiltinError('not in a function')
    if (frame.has(name)) return
    const v = this.vars.get(name)
    frame.set(name, v && { ...v })
  }

  exportedEnv(extra?: ReadonlyArray<[string, string]>): Record<string, string> {
    const env: Record<string, string> = {}
    this.vars.forEach((v, k) => {
      if (v.exported && v.value !== undefined) env[k] = v.value
    })
    if (extra) for (const [k, v] of extra) env[k] = v
    return env
  }

  get ifs(): string {
    return this.getVar('IFS') ?? ' \t\n'
  }

  optionFlags(): string {
    return Object.entries(OPTION_LETTERS)
      .filter(([, o]) => this.opts[o])
      .map(([l]) => l)
      .join('')
  }

  setOption(letter: string, on: boolean): boolean {
    const o = OPTION_LETTERS[letter]
    if (o === undefined) return false
    this.opts[o] = on
    return true
  }

  #paramValue(name: string): string | undefined {
    switch (name) {
      case '?':
        return String(this.status)
      case '$':
        return String(this.rootPid)
      case '!':
        return this.lastBg === undefined ? undefined : String(this.lastBg)
      case '#':
        return String(this.params.length)
      case '-':
        return this.optionFlags()
      case '@':
      case '*':
        return this.params.length === 0 ? undefined : this.params.join(' ')
      case '0':
        return this.name
      case 'RANDOM':
        return String(Math.floor(Math.random() * 32768))
      case 'LINENO':
        return String(this.line)
      case 'PPID':
        if (!this.vars.has('PPID')) return String(this.sys.processes.list().find((p) => p.pid === this.rootPid)?.ppid ?? 0)
    }
    if (/^\d+$/.test(name)) return this.params[Number(name) - 1]
    return this.getVar(name)
  }

  // ---- signals

  /** Sets a trap action ('' ignores, undefined restores the default); 0 is EXIT. */
  setTrap(signo: number, action: string | undefined): void {
    if (action === undefined) this.traps.delete(signo)
    else this.traps.set(signo, action)
    if (signo !== 0 && signo !== SIGKILL && this.#canTrap && !this.#installed.has(signo)) {
      this.#installed.add(signo)
      this.proc.trap(signo, () => this.#deliver(signo))
    }
  }

  /** A signal arrived for this shell's process (through the handler a trap installed). */
  #deliver(signo: number): void {
    const action = this.execd ? undefined : this.traps.get(signo)
    if (action === undefined) {
      if (signo === SIGKILL) return this.proc.terminate({ code: 128 + signo, signal: signo })
      if (IGNORED_BY_DEFAULT.has(signo) || this.proc.isInit) return
      return this.proc.terminate({ code: 128 + signo, signal: signo })
    }
    if (action === '') return
    // Run at the next safe point: after the foreground command, or at once in `wait`.
    this.#pending.push(signo)
    for (const w of this.#signalWaiters) w(signo)
    this.#signalWaiters.clear()
  }

  /** Sends a signal to this shell's own process, as the kernel would. */
  signalSelf(signo: number): void {
    if (this.#installed.has(signo) || signo === SIGKILL) this.#deliver(signo)
    else if (!IGNORED_BY_DEFAULT.has(signo) && !this.proc.isInit) this.proc.terminate({ code: 128 + signo, signal: signo })
  }

  async runPendingTraps(): Promise<void> {
    if (this.#inTrap) return
    while (this.#pending.length > 0) {
      const signo = this.#pending.shift() as number
      const action = this.traps.get(signo)
      if (!action) continue
      const saved = this.status
      this.#inTrap = true
      try {
        await this.evalString(action, this.io)
      } finally {
        this.#inTrap = false
      }
      this.status = saved
    }
  }

  // ---- processes

  /** The process table commands see: the container's, plus this shell's children. */
  readonly table: ProcessTable = {
    list: () => {
      const base = this.sys.processes.list()
      const seen = new Set(base.map((p) => p.pid))
      const user = this.sys.identity.user ?? String(this.sys.identity.uid)
      const mine: ProcessInfo[] = [...this.children.values()]
        .filter((c) => c.exit === undefined && !seen.has(c.pid))
        .map((c) => ({ pid: c.pid, ppid: this.proc.pid, user, args: [...c.args], ...(c.comm ? { comm: c.comm } : {}) }))
      return [...base, ...mine].sort((a, b) => a.pid - b.pid)
    },
    kill: (pid, signo) => {
      const child = this.children.get(pid) ?? this.jobs.get(pid)
      if (child && child.exit === undefined) return child.proc.kill(signo)
      if (this.sys.processes.kill(pid, signo)) return true
      if (pid === this.proc.pid) {
        this.signalSelf(signo)
        return true
      }
      return false
    },
    setArgs: (pid, args) => {
      const child = this.children.get(pid)
      if (child && child.exit === undefined) {
        child.comm ??= (child.args[0] ?? '').split('/').pop()
        child.args = [...args]
        child.handle?.setArgs(args)
        return true
      }
      return this.sys.processes.setArgs?.(pid, args) ?? false
    },
  }

  #allocPid(): number {
    if (this.#tree.nextPid === 0) {
      this.#tree.nextPid = Math.max(this.proc.pid, ...this.sys.processes.list().map((p) => p.pid)) + 1
    }
    return this.#tree.nextPid++
  }

  /** Starts a child process running `body` in a forked shell. */
  spawn(io: Io, body: (sub: Shell) => Promise<number>): Child {
    const args = [this.name]
    const spawnHook = this.sys.processes.spawn
    let proc!: SimProcess
    let handle: SpawnedProcess | undefined
    try {
      handle = spawnHook?.call(this.sys.processes, { ppid: this.proc.pid, args, signal: (signo) => proc.kill(signo) })
    } catch (err) {
      if (err instanceof ForkFailed) this.#fatal(`can't fork: ${err.message}`)
      throw err
    }
    const pid = handle?.pid ?? this.#allocPid()
    const child: Child = { pid, job: 0, args, proc: undefined as unknown as SimProcess, handle }
    const ignored = new Set([...this.traps].filter(([s, a]) => s !== 0 && a === '').map(([s]) => s))
    proc = new SimProcess({
      pid,
      args,
      env: {},
      clock: this.sys.clock,
      isInit: false,
      ignored,
      program: async (pctx) => {
        const sub = this.#fork({ pid, isInit: false, signal: pctx.signal, trap: pctx.trap, terminate: pctx.terminate }, io, (a) => {
          child.args = a
          child.comm = undefined
          handle?.setArgs(a)
        })
        return sub.#top(async () => {
          sub.status = await body(sub)
        })
      },
      onOutput: (_stream, text) => io.out(2)?.write(text),
    })
    child.proc = proc
    this.#killChildrenOnExit()
    this.children.set(pid, child)
    void proc.exited.then((exit) => {
      child.exit = exit
      this.children.delete(pid)
      handle?.exit()
    })
    proc.start()
    return child
  }

  /** Shared by the subshells that run in this shell's process. */
  #process = { watching: false }

  /** When this shell's process ends, its children (jobs, pipeline stages) are killed. */
  #killChildrenOnExit(): void {
    if (this.#process.watching) return
    this.#process.watching = true
    const children = this.children
    this.proc.signal.addEventListener(
      'abort',
      () => {
        for (const child of children.values()) child.proc.kill(SIGKILL)
      },
      { once: true },
    )
  }

  /** A copy of this shell for a child process. */
  #fork(proc: ShellProcess, io: Io, setArgs: (args: readonly string[]) => void): Shell {
    const sub = this.#copy(proc, io, true)
    sub.#setArgs = setArgs
    return sub
  }

  /** A subshell in this process: `( … )` and `$( … )`. */
  #subshell(io: Io): Shell {
    return this.#copy(this.proc, io, false)
  }

  #copy(proc: ShellProcess, io: Io, canTrap: boolean): Shell {
    const sub = new Shell({
      proc,
      sys: { ...this.sys, processes: this.table },
      io,
      env: {},
      cwd: this.cwd,
      name: this.name,
      ...(this.script !== undefined ? { script: this.script } : {}),
      params: [...this.params],
    })
    sub.vars = new Map([...this.vars].map(([k, v]) => [k, { ...v }]))
    sub.funcs = new Map(this.funcs)
    sub.opts = { ...this.opts }
    // A subshell keeps ignored signals ignored; other traps are reset.
    for (const [s, a] of this.traps) if (a === '' && s !== 0) sub.traps.set(s, '')
    sub.status = this.status
    sub.lastBg = this.lastBg
    sub.loopDepth = this.loopDepth
    sub.funcDepth = this.funcDepth
    sub.line = this.line
    sub.rootPid = this.rootPid
    sub.#canTrap = canTrap
    sub.#tree = this.#tree
    if (!canTrap) {
      // The same process: one table of children, one watch on its end.
      sub.children = this.children
      sub.#process = this.#process
    }
    sub.#noErrexit = this.#noErrexit
    return sub
  }

  async #inSubshell(sub: Shell, body: () => Promise<number>): Promise<number> {
    return sub.#top(async () => {
      sub.status = await body()
    })
  }

  /** Resolves with the next trapped signal that arrives (or one already pending); cancel when done. */
  nextSignal(): { promise: Promise<number>; cancel(): void } {
    let waiter: ((signo: number) => void) | undefined
    const pending = this.#pending[0]
    const promise =
      pending !== undefined
        ? Promise.resolve(pending)
        : new Promise<number>((resolve) => {
            waiter = resolve
            this.#signalWaiters.add(resolve)
          })
    return { promise, cancel: () => void (waiter && this.#signalWaiters.delete(waiter)) }
  }

  /** Waits for background jobs (all, or these PIDs). A trapped signal interrupts: 128+signo. */
  async wait(pids?: number[]): Promise<number> {
    const waitFor = async (child: Child): Promise<{ status: number; interrupted: boolean }> => {
      if (child.exit) return { status: child.exit.code, interrupted: false }
      const signal = this.nextSignal()
      try {
        return await this.abortable(
          Promise.race([
            child.proc.exited.then((e) => ({ status: e.code, interrupted: false })),
            signal.promise.then((s) => ({ status: 128 + s, interrupted: true })),
          ]),
        )
      } finally {
        signal.cancel()
      }
    }
    if (this.#pending.length > 0) return 128 + (this.#pending[0] as number)
    if (pids === undefined) {
      for (const [pid, child] of this.jobs) {
        const r = await waitFor(child)
        if (r.interrupted) return r.status
        this.jobs.delete(pid)
      }
      return 0
    }
    let status = 127
    for (const pid of pids) {
      const child = this.jobs.get(pid)
      if (child === undefined) {
        status = 127
        continue
      }
      const r = await waitFor(child)
      if (r.interrupted) return r.status
      this.jobs.delete(pid)
      status = r.status
    }
    return status
  }

  /** A script that starts jobs forever and never waits: forget the oldest finished ones. */
  #pruneJobs(): void {
    if (this.jobs.size < 256) return
    for (const [pid, job] of this.jobs) {
      if (this.jobs.size < 128) break
      if (job.exit !== undefined) this.jobs.delete(pid)
    }
  }

  /** The PID of a job spec (%1, %%, %+, %-). */
  jobPid(spec: string): number | undefined {
    const jobs = [...this.jobs.values()].sort((a, b) => a.job - b.job)
    if (spec === '%%' || spec === '%+' || spec === '%') return jobs[jobs.length - 1]?.pid
    if (spec === '%-') return jobs[jobs.length - 2]?.pid
    const n = Number(spec.slice(1))
    return jobs.find((j) => j.job === n)?.pid
  }

  // ---- execution

  runList(list: List, io: Io): Promise<number> {
    // One command in the foreground (most lists): its status is the list's, without a frame here.
    // A looping shell keeps its chain of async frames alive while its command runs (a sleep's whole
    // second), at some 400 bytes a frame, so the common path has as few as it can.
    const only = list.length === 1 ? (list[0] as List[number]) : undefined
    if (only !== undefined && !only.background) return this.runAndOr(only.andOr, io)
    return this.#runItems(list, io)
  }

  async #runItems(list: List, io: Io): Promise<number> {
    for (const item of list) {
      if (item.background) this.#background(item.andOr, io)
      else await this.runAndOr(item.andOr, io)
    }
    return this.status
  }

  /** `cmd &`: a job with empty stdin. (Its own method: a closure in runList's loop would cost every turn a context.) */
  #background(ao: AndOr, io: Io): void {
    const bio = io.with(0, { kind: 'in', reader: emptyReader() })
    const child = this.spawn(bio, (sub) => sub.runAndOr(ao, bio))
    child.job = this.#tree.nextJob++
    this.#pruneJobs()
    this.jobs.set(child.pid, child)
    this.lastBg = child.pid
    this.status = 0
  }

  runAndOr(ao: AndOr, io: Io): Promise<number> {
    // One pipeline (most): no frame of its own.
    if (ao.rest.length === 0) return this.#pipeline(ao.first, io, false)
    return this.#andOr(ao, io)
  }

  async #andOr(ao: AndOr, io: Io): Promise<number> {
    const n = ao.rest.length
    let status = await this.#pipeline(ao.first, io, n > 0)
    for (let i = 0; i < n; i++) {
      const { op, pipeline } = ao.rest[i] as AndOr['rest'][number]
      if ((op === '&&') !== (status === 0)) continue
      status = await this.#pipeline(pipeline, io, i < n - 1)
    }
    return status
  }

  #pipeline(p: Pipeline, io: Io, notLast: boolean): Promise<number> {
    // One command that nothing guards (most): the command's own frame does the pipeline's part.
    if (!notLast && !p.negate && p.commands.length === 1) return this.#command(p.commands[0] as Command, io, true)
    return this.#guardedPipeline(p, io, notLast)
  }

  async #guardedPipeline(p: Pipeline, io: Io, notLast: boolean): Promise<number> {
    const guarded = notLast || p.negate
    if (guarded) this.#noErrexit++
    let status: number
    try {
      status = p.commands.length === 1 ? await this.runCommand(p.commands[0] as Command, io) : await this.#pipe(p.commands, io)
    } finally {
      if (guarded) this.#noErrexit--
    }
    if (p.negate) status = status === 0 ? 1 : 0
    this.status = status
    if (!guarded) this.#errexit(status)
    return status
  }

  /** set -e: a command that fails where nothing guards it ends the shell. */
  #errexit(status: number): void {
    if (status !== 0 && this.opts.errexit && this.#noErrexit === 0) throw new ShellExit(status)
  }

  async #pipe(commands: Command[], io: Io): Promise<number> {
    const n = commands.length
    const pipes = Array.from({ length: n - 1 }, () => new Pipe())
    const children = commands.map((cmd, i) => {
      let sio = io
      if (i > 0) sio = sio.with(0, { kind: 'in', reader: (pipes[i - 1] as Pipe).reader })
      if (i < n - 1) sio = sio.with(1, { kind: 'out', sink: (pipes[i] as Pipe).sink })
      const child = this.spawn(sio, (sub) => sub.runCommand(cmd, sio))
      void child.proc.exited.then(() => {
        if (i < n - 1) (pipes[i] as Pipe).closeWrite()
        if (i > 0) (pipes[i - 1] as Pipe).closeRead()
      })
      return child
    })
    const exits = await Promise.all(children.map((c) => c.proc.exited))
    this.#checkAlive()
    if (this.opts.pipefail) return [...exits].reverse().find((e) => e.code !== 0)?.code ?? 0
    return (exits[n - 1] as ExitInfo).code
  }

  #checkAlive(): void {
    if (this.proc.signal.aborted) throw this.proc.signal.reason
  }

  runCommand(cmd: Command, io: Io): Promise<number> {
    return this.#command(cmd, io, false)
  }

  /** Runs one command; `lone`: it is a whole pipeline nothing guards, so set -e applies here (#pipeline). */
  async #command(cmd: Command, io: Io, lone: boolean): Promise<number> {
    this.#checkAlive()
    let status: number
    if (cmd.type === 'simple') status = await this.#simple(cmd, io)
    else if (cmd.type === 'function') {
      this.funcs.set(cmd.name, cmd.body)
      status = 0
    } else {
      let rio: Io
      try {
        rio = await this.#redirect(cmd.redirs, io)
      } catch (err) {
        if (!(err instanceof RedirError)) throw err
        this.line = cmd.line
        this.error(err.message, undefined, io)
        this.status = 1
        if (lone) this.#errexit(1)
        return 1
      }
      status = await this.#compound(cmd, rio)
    }
    this.status = status
    if (this.#pending.length > 0) await this.runPendingTraps()
    if (lone) this.#errexit(status)
    return status
  }

  /** A compound command: the ones that await before their body runs have methods of their own. */
  #compound(cmd: Exclude<Command, SimpleCommand | { type: 'function' }>, io: Io): Promise<number> {
    switch (cmd.type) {
      case 'group':
        return this.runList(cmd.body, io)
      case 'subshell': {
        const sio = io.copy()
        const sub = this.#subshell(sio)
        return this.#inSubshell(sub, () => sub.runList(cmd.body, sio))
      }
      case 'if':
        return this.#if(cmd, io)
      case 'loop':
        return this.#loop(cmd.body, io, async () => ((await this.#condition(cmd.cond, io)) === 0) !== cmd.until)
      case 'for':
        return this.#for(cmd, io)
      case 'case':
        return this.#case(cmd, io)
    }
  }

  async #if(cmd: Extract<Command, { type: 'if' }>, io: Io): Promise<number> {
    for (const clause of cmd.clauses) {
      if ((await this.#condition(clause.cond, io)) === 0) return this.runList(clause.body, io)
    }
    return cmd.else ? this.runList(cmd.else, io) : 0
  }

  async #for(cmd: Extract<Command, { type: 'for' }>, io: Io): Promise<number> {
    const items = cmd.items ? await this.expandWords(cmd.items, io) : [...this.params]
    let next = 0
    return this.#loop(cmd.body, io, async () => {
      if (next >= items.length) return false
      this.setVar(cmd.name, items[next++] as string)
      return true
    })
  }

  async #case(cmd: Extract<Command, { type: 'case' }>, io: Io): Promise<number> {
    const subject = await this.expandString(cmd.word, io)
    for (const item of cmd.items) {
      for (const pattern of item.patterns) {
        if (matchPattern(await this.#expandPattern(pattern, io), subject)) return this.runList(item.body, io)
      }
    }
    return 0
  }

  async #condition(list: List, io: Io): Promise<number> {
    this.#noErrexit++
    try {
      return await this.runList(list, io)
    } finally {
      this.#noErrexit--
    }
  }

  /** Runs a loop body while `more()` says so (while/until/for), honouring break and continue. */
  async #loop(body: List, io: Io, more: () => Promise<boolean>): Promise<number> {
    let status = 0
    this.loopDepth++
    try {
      while (await more()) {
        const r = await this.#loopBody(body, io)
        if (r === 'break') break
        status = this.status
        if (++this.#spins % 64 === 0) await this.#breathe()
      }
    } finally {
      this.loopDepth--
    }
    return status
  }

  async #loopBody(body: List, io: Io): Promise<'break' | 'continue' | undefined> {
    try {
      await this.runList(body, io)
      return undefined
    } catch (err) {
      if (!(err instanceof LoopControl)) throw err
      if (err.n > 1) {
        err.n--
        throw err
      }
      return err.kind
    }
  }

  /** An endless loop of builtins would never give the event loop a turn: every 64th turn of a loop yields. */
  async #breathe(): Promise<void> {
    await nextTurn()
    this.#checkAlive()
  }

  loopControl(kind: 'break' | 'continue', n: number): void {
    const levels = Math.min(n, this.loopDepth)
    if (levels > 0) throw new LoopControl(levels, kind)
  }

  functionReturn(code: number): never {
    throw new FunctionReturn(code)
  }

  // ---- simple commands

  /**
   * A simple command. One of plain words without assignments or redirections (most commands) has
   * nothing to await before it runs: it is dispatched at once, without an async frame of its own.
   */
  #simple(cmd: SimpleCommand, io: Io): Promise<number> {
    const argv = cmd.assigns.length === 0 && cmd.redirs.length === 0 ? literalWords(cmd.words) : undefined
    if (argv === undefined || argv.length === 0) return this.#expandThenDispatch(cmd, io)
    this.line = cmd.line
    this.#cmdsubStatus = undefined
    if (this.opts.xtrace) this.#trace([], argv, io)
    return this.#dispatch(cmd, argv, [], io, io)
  }

  async #expandThenDispatch(cmd: SimpleCommand, io: Io): Promise<number> {
    this.line = cmd.line
    this.#cmdsubStatus = undefined
    const argv = await this.expandWords(cmd.words, io)
    const assigns: [string, string][] = []
    for (const a of cmd.assigns) assigns.push([a.name, await this.expandString(a.value, io)])
    if (this.opts.xtrace) this.#trace(assigns, argv, io)
    if (argv.length === 0) {
      for (const [k, v] of assigns) {
        try {
          this.setVar(k, v)
        } catch (err) {
          if (err instanceof BuiltinError) this.#fatal(err.message)
          throw err
        }
      }
      if (cmd.redirs.length > 0) {
        try {
          await this.#redirect(cmd.redirs, io)
        } catch (err) {
          if (!(err instanceof RedirError)) throw err
          this.error(err.message, undefined, io)
          return 1
        }
      }
      return this.#cmdsubStatus ?? 0
    }
    const name = argv[0] as string
    const special = SPECIAL_BUILTINS[name]
    let rio: Io
    try {
      rio = await this.#redirect(cmd.redirs, io)
    } catch (err) {
      if (!(err instanceof RedirError)) throw err
      this.error(err.message, undefined, io)
      if (special) throw new ShellFatal(1)
      return 1
    }
    return this.#dispatch(cmd, argv, assigns, rio, io)
  }

  /** Runs expanded words as a special builtin, a function, a regular builtin or a program, in that order. */
  #dispatch(cmd: SimpleCommand, argv: string[], assigns: [string, string][], rio: Io, io: Io): Promise<number> {
    const name = argv[0] as string
    const special = SPECIAL_BUILTINS[name]
    if (special) {
      for (const [k, v] of assigns) this.setVar(k, v)
      return this.#builtin(name, special, argv, rio, io, true)
    }
    const fn = this.funcs.get(name)
    if (fn) return this.#withVars(assigns, true, () => this.callFunction(fn, argv, rio))
    const regular = REGULAR_BUILTINS[name]
    if (regular) return this.#withVars(assigns, false, () => this.#builtin(name, regular, argv, rio, io, false))
    // ash's last command of `sh -c` (no traps set) replaces the shell: it gets the shell's signals.
    const tail = this.#tail === cmd && this.traps.size === 0
    if (tail) this.execd = true
    return this.runExternal(argv, rio, assigns, false, tail)
  }

  #trace(assigns: [string, string][], argv: string[], io: Io): void {
    const q = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`)
    const words = [...assigns.map(([k, v]) => `${k}=${q(v)}`), ...argv.map(q)]
    this.write(io, 2, `+ ${words.join(' ')}\n`)
  }

  async #withVars<T>(assigns: [string, string][], exported: boolean, body: () => Promise<T>): Promise<T> {
    if (assigns.length === 0) return body()
    const saved = assigns.map(([k]) => [k, this.vars.get(k)] as const)
    for (const [k, v] of assigns) {
      const old = this.vars.get(k)
      this.vars.set(k, { value: v, exported: exported || !!old?.exported, readonly: false })
    }
    try {
      return await body()
    } finally {
      for (const [k, old] of saved) {
        if (old === undefined) this.vars.delete(k)
        else this.vars.set(k, old)
      }
    }
  }

  async #builtin(name: string, fn: Builtin, argv: string[], io: Io, outer: Io, special: boolean): Promise<number> {
    const prev = this.builtinName
    this.builtinName = name
    try {
      return await fn(this, argv, io, outer)
    } catch (err) {
      if (!(err instanceof BuiltinError)) throw err
      this.error(err.message, name, io)
      if (special) throw new ShellFatal(err.status)
      return err.status
    } finally {
      this.builtinName = prev
    }
  }

  async callFunction(body: Command, argv: string[], io: Io): Promise<number> {
    if (this.funcDepth >= MAX_FUNCTION_DEPTH) this.#fatal(`${argv[0]}: function nesting too deep`)
    const savedParams = this.params
    this.params = argv.slice(1)
    this.funcDepth++
    const frame = new Map<string, Var | undefined>()
    this.locals.push(frame)
    const savedLoops = this.loopDepth
    this.loopDepth = 0
    try {
      return await this.runCommand(body, io)
    } catch (err) {
      if (err instanceof FunctionReturn) return err.code
      throw err
    } finally {
      this.loopDepth = savedLoops
      this.locals.pop()
      for (const [k, old] of frame) {
        if (old === undefined) this.vars.delete(k)
        else this.vars.set(k, old)
      }
      this.funcDepth--
      this.params = savedParams
    }
  }

  /** Finds what a name runs outside the shell: one of ash's builtins, else a file on PATH (or a command of the table). */
  resolve(name: string): Executable | undefined {
    const builtin = ASH_BUILTINS.has(name) ? lookupCommand(name) : undefined
    if (builtin) return { kind: 'command', name, command: builtin }
    const env = { fs: this.sys.fs, cwd: this.cwd, path: this.getVar('PATH'), identity: this.sys.identity }
    return resolveExecutable(name, env, { shell: true })
  }

  /** Runs a command that is not a builtin or function: not found is 127, not executable 126 (or 127, see Executable). */
  async runExternal(argv: string[], io: Io, assigns: [string, string][] = [], exec = false, replaces = exec): Promise<number> {
    const name = argv[0] as string
    const found = this.resolve(name)
    const failure = execFailure(found)
    if (failure || found === undefined) {
      // ash reports exec's ENOENT as "not found".
      const why = { ENOENT: 'not found', EACCES: 'Permission denied', ENOEXEC: 'Exec format error' }[failure?.errno ?? 'ENOENT']
      const message = `${name}: ${why}`
      const status = failure?.status ?? 127
      if (exec) throw new BuiltinError(message, status)
      this.error(message, undefined, io)
      return status
    }
    const applet = found.kind === 'command' && !name.includes('/') && ASH_BUILTINS.has(name) ? this.name : undefined
    const ctx = this.commandContext(argv, io, this.exportedEnv(assigns), { exec: replaces, ...(applet ? { applet } : {}) })
    this.#setArgs?.(argv)
    // The shell's own process execs the program (exec, or the last command of `sh -c`): ps shows it.
    if (replaces && !this.#setArgs) this.sys.processes.exec?.(this.proc.pid, argv)
    try {
      return (await this.invoke(found, ctx)) & 0xff
    } catch (err) {
      if (this.proc.signal.aborted) throw err
      if (err instanceof ShellExit) return err.code
      if (err instanceof EpipeError) return 1
      if (err instanceof SyscallKilled) return 128 + err.signo
      if (err instanceof OutOfMemory) throw err
      this.write(io, 2, `${found.kind === 'command' ? found.name : name}: ${(err as Error)?.message ?? String(err)}\n`)
      return 1
    } finally {
      this.#setArgs?.([this.name])
    }
  }

  invoke(found: Executable, ctx: CommandContext): Promise<number> {
    return invokeExecutable(found, ctx)
  }

  /** The context a command runs with: this shell's descriptors, variables and directory. */
  commandContext(argv: string[], io: Io, env: Record<string, string>, o: { exec?: boolean; applet?: string } = {}): CommandContext {
    const streams = this.#streams(io)
    return {
      args: argv,
      env,
      clock: this.sys.clock,
      signal: this.proc.signal,
      write: streams.write,
      // A foreground command is another process: signals sent to the shell do not reach it.
      trap: o.exec ? this.proc.trap : ignoreTrap,
      terminate: streams.terminate,
      cwd: this.cwd,
      fs: this.sys.fs,
      stdin: streams.stdin,
      identity: this.sys.identity,
      hostname: this.sys.hostname,
      processes: this.table,
      ...(this.sys.net ? { net: this.sys.net } : {}),
      ...(this.sys.kernel ? { kernel: this.sys.kernel } : {}),
      ...(this.sys.memory ? { memory: this.sys.memory } : {}),
      ...(this.sys.winsize ? { winsize: this.sys.winsize } : {}),
      pid: this.proc.pid,
      isInit: o.exec ? this.proc.isInit : false,
      drain: streams.drain,
      ...(o.applet !== undefined ? { applet: o.applet } : {}),
    }
  }

  /**
   * What a command context's functions close over is only this shell and its descriptors: a loop's
   * commands (the same Io, the same stdin) share one set instead of making seven closures each.
   */
  #streams(io: Io): CommandStreams {
    const stdin = io.input(0)
    const last = this.#lastStreams
    if (last?.io === io && last.reader === stdin) return last
    return (this.#lastStreams = this.#newStreams(io, stdin))
  }

  #newStreams(io: Io, stdin: Reader): CommandStreams {
    const abortable = <T>(p: Promise<T>): Promise<T> => this.abortable(p)
    return {
      io,
      reader: stdin,
      write: (stream, text) => this.write(io, stream === 'stdout' ? 1 : 2, text),
      terminate: (exit) => this.proc.terminate(exit),
      stdin: { read: () => abortable(stdin.read()), readAll: () => abortable(stdin.readAll()), [READER]: stdin } as Input,
      drain: () => abortable((io.out(1) ?? nullSink).drain()),
    }
  }

  /** The promise, or its rejection with the process's end when that comes first. */
  abortable<T>(p: Promise<T>): Promise<T> {
    const signal = this.proc.signal
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort)
          resolve(v)
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(e)
        },
      )
    })
  }

  /** Runs text as shell commands in this shell (eval, trap actions). */
  async evalString(text: string, io: Io): Promise<number> {
    let list: List
    try {
      list = parse(text)
    } catch (err) {
      if (!(err instanceof ShellSyntaxError)) throw err
      this.#syntaxError(err)
      throw new ShellFatal(2)
    }
    const line = this.line
    try {
      this.status = 0
      return await this.runList(list, io)
    } finally {
      this.line = line
    }
  }

  /** `.`: runs a file's commands in this shell. */
  async source(path: string, args: string[], io: Io): Promise<number> {
    let text: string
    try {
      text = this.sys.fs.readFile(resolvePath(this.cwd, path)).toString('utf8')
    } catch (err) {
      if (err instanceof FsError) throw new BuiltinError(`can't open '${path}': ${FS_MESSAGES[err.code]}`)
      throw err
    }
    const script = parseScript(text)
    const saved = { params: this.params, script: this.script, line: this.line, builtin: this.builtinName }
    if (args.length > 0) this.params = args
    // Messages from the file's commands name the file, as ash's `.` does.
    this.script = path
    this.builtinName = path
    this.status = 0
    try {
      for (const line of script.lines) await this.runList(line, io)
      if (script.error) {
        this.#syntaxError(script.error)
        throw new ShellFatal(2)
      }
      return this.status
    } catch (err) {
      if (err instanceof FunctionReturn) return err.code
      throw err
    } finally {
      if (args.length > 0) this.params = saved.params
      this.script = saved.script
      this.line = saved.line
      this.builtinName = saved.builtin
    }
  }

  // ---- redirections

  async #redirect(redirs: Redir[], io: Io): Promise<Io> {
    if (redirs.length === 0) return io
    let r = io
    for (const red of redirs) {
      const fd = red.fd ?? (red.op.startsWith('<') ? 0 : 1)
      switch (red.op) {
        case '<<':
        case '<<-': {
          const doc = red.heredoc as NonNullable<Redir['heredoc']>
          const text = doc.quoted ? doc.body.map((p) => (p.t === 'q' ? p.v : '')).join('') : await this.#expandHeredoc(doc.body, io)
          r = r.with(fd, { kind: 'in', reader: textReader(text) })
          break
        }
        case '<':
        case '<>':
          r = r.with(fd, this.#openRead(await this.expandString(red.target, io), r))
          break
        case '>':
        case '>|':
        case '>>':
          r = r.with(fd, this.#openWrite(await this.expandString(red.target, io), red.op === '>>', r))
          break
        case '&>': {
          const out = this.#openWrite(await this.expandString(red.target, io), false, r)
          r = r.with(1, out).with(2, out)
          break
        }
        case '>&':
        case '<&': {
          const target = await this.expandString(red.target, io)
          if (target === '-') r = r.with(fd, undefined)
          else if (/^\d+$/.test(target)) {
            const src = r.get(Number(target))
            if (src === undefined) throw new RedirError(`${target}: Bad file descriptor`)
            r = r.with(fd, src)
          } else if (red.op === '>&' && red.fd === undefined) {
            const out = this.#openWrite(target, false, r)
            r = r.with(1, out).with(2, out)
          } else throw new RedirError(`${target}: Bad file descriptor`)
          break
        }
      }
    }
    return r
  }

  #device(path: string, io: Io): Fd | undefined | null {
    if (path === '/dev/null') return null
    const m = /^\/dev\/(?:std(in|out|err)|fd\/(\d))$/.exec(path)
    if (!m) return undefined
    const fd = m[1] === 'in' ? 0 : m[1] === 'out' ? 1 : m[1] === 'err' ? 2 : Number(m[2])
    return io.get(fd) ?? null
  }

  #openWrite(path: string, append: boolean, io: Io): Fd {
    const dev = this.#device(path, io)
    if (dev === null) return { kind: 'out', sink: nullSink }
    if (dev !== undefined) return dev
    const abs = resolvePath(this.cwd, path)
    try {
      if (this.opts.noclobber && !append && this.sys.fs.stat(abs)?.type === 'file') throw new FsError('EEXIST', abs)
      this.sys.fs.writeFile(abs, '', append ? { append: true } : undefined)
    } catch (err) {
      if (!(err instanceof FsError)) throw err
      throw new RedirError(
        `can't create ${path}: ${err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'nonexistent directory' : FS_MESSAGES[err.code]}`,
      )
    }
    const sink: Sink = new FileSink(this.sys.fs, abs)
    return { kind: 'out', sink }
  }

  #openRead(path: string, io: Io): Fd {
    const dev = this.#device(path, io)
    if (dev === null) return { kind: 'in', reader: emptyReader() }
    if (dev !== undefined) return dev
    try {
      const text = this.sys.fs.readFile(resolvePath(this.cwd, path)).toString('utf8')
      return { kind: 'in', reader: textReader(text) }
    } catch (err) {
      if (!(err instanceof FsError)) throw err
      throw new RedirError(
        `can't open ${path}: ${err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'no such file' : FS_MESSAGES[err.code]}`,
      )
    }
  }

  // ---- expansion

  /** Words to arguments: expansions, field splitting, pathname expansion. */
  async expandWords(words: Word[], io: Io): Promise<string[]> {
    const out: string[] = []
    for (const w of words) {
      const literal = literalOf(w)
      if (literal !== undefined) {
        out.push(literal)
        continue
      }
      const b = new Fields(this.ifs)
      await this.#expandParts(w, b, false, false, io)
      for (const f of b.finish()) {
        if (f.glob && !this.opts.noglob) {
          const matches = globPaths(f.p, this.sys.fs, this.cwd)
          if (matches.length > 0) {
            out.push(...matches)
            continue
          }
        }
        out.push(f.v)
      }
    }
    return out
  }

  /** A word to one string: no splitting, no globbing (assignments, redirection targets, case). */
  async expandString(w: Word, io: Io): Promise<string> {
    const only = w.length === 1 ? (w[0] as Part) : undefined
    if (only?.t === 'q' || only?.t === 'lit') return only.v
    const b = new Fields(this.ifs, true)
    await this.#expandParts(w, b, false, false, io)
    return b.finish()[0]?.v ?? ''
  }

  /** A word as a pattern: quoted characters escaped. */
  async #expandPattern(w: Word, io: Io): Promise<string> {
    const b = new Fields(this.ifs, true)
    await this.#expandParts(w, b, false, false, io)
    return b.finish()[0]?.p ?? ''
  }

  async #expandHeredoc(body: Part[], io: Io): Promise<string> {
    const b = new Fields(this.ifs, true)
    await this.#expandParts(body, b, true, false, io)
    return b.finish()[0]?.v ?? ''
  }

  async #expandParts(parts: Part[], b: Fields, quoted: boolean, inArg: boolean, io: Io): Promise<void> {
    for (const part of parts) {
      switch (part.t) {
        case 'lit':
          if (quoted) b.quoted(part.v)
          else if (inArg) b.split(part.v)
          else b.literal(part.v)
          break
        case 'q':
          b.quoted(part.v)
          break
        case 'dq': {
          const onlyAt =
            part.parts.length === 1 &&
            part.parts[0]?.t === 'param' &&
            part.parts[0].name === '@' &&
            !part.parts[0].op &&
            !part.parts[0].length
          if (!onlyAt) b.touch()
          await this.#expandParts(part.parts, b, true, inArg, io)
          break
        }
        case 'param':
          await this.#expandParam(part, b, quoted, io)
          break
        case 'cmd': {
          const text = await this.commandSubstitution(part.body, io)
          if (quoted) b.quoted(text)
          else b.split(text)
          break
        }
        case 'arith': {
          const text = String(this.arith(await this.#expandArithText(part.expr, io)))
          if (quoted) b.quoted(text)
          else b.split(text)
          break
        }
        case 'tilde': {
          const home = part.user === '' ? this.getVar('HOME') : this.#homeOf(part.user)
          b.quoted(home ?? `~${part.user}`)
          break
        }
      }
    }
  }

  async #expandArithText(parts: Part[], io: Io): Promise<string> {
    const b = new Fields(this.ifs, true)
    await this.#expandParts(parts, b, true, false, io)
    return b.finish()[0]?.v ?? ''
  }

  /** Evaluates an arithmetic expression; an error ends the shell (as in ash). */
  arith(text: string): bigint {
    try {
      return evaluate(text, {
        get: (name) => this.#paramValue(name),
        set: (name, value) => this.setVar(name, value),
      })
    } catch (err) {
      if (err instanceof ArithError) this.#fatal(err.message)
      if (err instanceof BuiltinError) this.#fatal(err.message)
      throw err
    }
  }

  #homeOf(user: string): string | undefined {
    try {
      const passwd = this.sys.fs.readFile('/etc/passwd').toString('utf8')
      for (const line of passwd.split('\n')) {
        const f = line.split(':')
        if (f[0] === user) return f[5]
      }
    } catch {
      // no /etc/passwd
    }
    return undefined
  }

  async #expandParam(part: ParamPart, b: Fields, quoted: boolean, io: Io): Promise<void> {
    const name = part.name
    const emit = (s: string): void => (quoted ? b.quoted(s) : b.split(s))
    if ((name === '@' || name === '*') && !part.op && !part.length) {
      if (name === '*' && quoted) {
        const ifs = this.getVar('IFS')
        b.quoted(this.params.join(ifs === undefined ? ' ' : ifs.slice(0, 1)))
        return
      }
      this.params.forEach((p, i) => {
        if (i > 0) b.brk(quoted)
        emit(p)
      })
      return
    }
    const value = this.#paramValue(name)
    if (part.length) {
      if (name === '@' || name === '*') return emit(String(this.params.length))
      if (value === undefined && this.opts.nounset) this.#fatal(`${name}: parameter not set`)
      return emit(String([...(value ?? '')].length))
    }
    const unset = value === undefined || (part.colon === true && value === '')
    switch (part.op) {
      case undefined:
        if (value === undefined && this.opts.nounset && name !== '@' && name !== '*' && name !== '!')
          this.#fatal(`${name}: parameter not set`)
        return emit(value ?? '')
      case '-':
        if (unset) return this.#expandParts(part.arg ?? [], b, quoted, true, io)
        return emit(value)
      case '+':
        if (!unset) return this.#expandParts(part.arg ?? [], b, quoted, true, io)
        return
      case '=': {
        if (!unset) return emit(value)
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) this.#fatal(`${name}: bad variable name`)
        const v = await this.expandString(part.arg ?? [], io)
        try {
          this.setVar(name, v)
        } catch (err) {
          if (err instanceof BuiltinError) this.#fatal(err.message)
          throw err
        }
        return emit(v)
      }
      case '?': {
        if (!unset) return emit(value)
        const msg =
          part.arg && part.arg.length > 0
            ? await this.expandString(part.arg, io)
            : part.colon
              ? 'parameter null or not set'
              : 'parameter not set'
        this.#fatal(`${name}: ${msg}`)
        return
      }
      case '#':
      case '##':
      case '%':
      case '%%':
        return emit(removeAffix(value ?? '', await this.#expandPattern(part.arg ?? [], io), part.op))
      case '/':
      case '//':
      case '/#':
      case '/%': {
        const pattern = await this.#expandPattern(part.arg ?? [], io)
        const replacement = await this.expandString(part.arg2 ?? [], io)
        return emit(pattern === '' ? (value ?? '') : substitute(value ?? '', pattern, replacement, part.op))
      }
      case ':': {
        const chars = [...(value ?? '')]
        let offset = Number(this.arith(await this.expandString(part.arg ?? [], io)))
        if (offset < 0) offset = Math.max(0, chars.length + offset)
        let end = chars.length
        if (part.arg2) {
          const len = Number(this.arith(await this.expandString(part.arg2, io)))
          end = len < 0 ? chars.length + len : offset + len
        }
        return emit(chars.slice(offset, Math.max(offset, end)).join(''))
      }
    }
  }

  /** $(…): runs the commands in a subshell; their output without trailing newlines. */
  async commandSubstitution(body: List, io: Io): Promise<string> {
    const capture = new CaptureSink()
    const cio = io.with(1, { kind: 'out', sink: capture })
    const sub = this.#subshell(cio)
    let status: number
    try {
      status = await this.#inSubshell(sub, () => sub.runList(body, cio))
    } catch (err) {
      if (err instanceof OutOfMemory) this.#fatal(err.message)
      throw err
    }
    this.#checkAlive()
    this.#cmdsubStatus = status
    this.status = status
    return capture.text.replace(/\n+$/, '')
  }
}

/** Runs what resolveExecutable found, with ctx.args as its argv (the command's own promise: no frame of its own). */
export function invokeExecutable(found: Executable, ctx: CommandContext): Promise<number> {
  switch (found.kind) {
    case 'command':
      return found.command(ctx.args, ctx)
    case 'script':
      return runScriptFile(found.path, ctx.args, ctx)
    case 'binary': {
      const program = (found.program !== undefined ? imageProgram(found.program)?.command : undefined) ?? fallbackCommand()
      return program(ctx.args, execContext(ctx, found.file))
    }
    case 'denied':
      return Promise.resolve(126)
    case 'unrunnable':
      // runc's init fails its execve after the container started: the error on its stderr, exit 1.
      ctx.write('stderr', `exec ${found.path}: ${found.errno === 'ENOEXEC' ? 'exec format error' : 'no such file or directory'}\n`)
      return Promise.resolve(1)
  }
}

/** Runs a shell script file (a `#!/bin/sh` file, or a text file without `#!`) as a new shell process would. */
export async function runScriptFile(path: string, argv: readonly string[], ctx: CommandContext): Promise<number> {
  let text: string
  try {
    text = ctx.fs.readFile(resolvePath(ctx.cwd, path)).toString('utf8')
  } catch (err) {
    if (!(err instanceof FsError)) throw err
    ctx.write('stderr', `sh: can't open '${path}': ${FS_MESSAGES[err.code]}\n`)
    return 2
  }
  const shell = shellFromContext(ctx, { name: path, script: path, params: argv.slice(1) })
  return shell.main(text)
}

/** A sink over a command context's output stream. */
export function contextSink(ctx: CommandContext, stream: 'stdout' | 'stderr'): Sink {
  return {
    write: (text) => {
      ctx.write(stream, text)
      return true
    },
    drain: () => (ctx.drain ? ctx.drain() : nextTurn()),
  }
}

/** A top-level shell running in the process (and with the descriptors) of a command context. */
export function shellFromContext(ctx: CommandContext, o: { name: string; script?: string; params?: string[] }): Shell {
  return new Shell({
    proc: { pid: ctx.pid ?? 1, isInit: ctx.isInit ?? false, signal: ctx.signal, trap: ctx.trap, terminate: ctx.terminate },
    sys: {
      clock: ctx.clock,
      fs: ctx.fs,
      identity: ctx.identity,
      hostname: ctx.hostname,
      processes: ctx.processes,
      ...(ctx.net ? { net: ctx.net } : {}),
      kernel: ctx.kernel,
      ...(ctx.memory ? { memory: ctx.memory } : {}),
      ...(ctx.winsize ? { winsize: ctx.winsize } : {}),
    },
    // A shell started by another shell reads through the same buffer, so no input is lost between them.
    io: Io.of(
      (ctx.stdin as { [READER]?: Reader })[READER] ?? new Reader(ctx.stdin),
      contextSink(ctx, 'stdout'),
      contextSink(ctx, 'stderr'),
    ),
    env: ctx.env,
    cwd: ctx.cwd,
    name: o.name,
    ...(o.script !== undefined ? { script: o.script } : {}),
    ...(o.params ? { params: o.params } : {}),
  })
}

export { BuiltinError, EpipeError, ShellExit, ShellFatal }
