// The builtins that act on the shell itself (variables, options, traps, jobs, the directory, control
// flow). Commands that only need a CommandContext (echo, printf, test, kill, …) are in the command
// table (src/sim/commands/) instead. Messages and statuses follow busybox ash.
import { FS_MESSAGES, FsError, resolvePath } from '../fs/types.js'
import { SIGNALS, parseSignal, signalName } from '../signals.js'
import type { Io } from './io.js'
import { canExecute, findInPath } from './search.js'
import { KEYWORDS, parseScript } from './parser.js'
import { BuiltinError, FunctionReturn, ShellExit, ShellFatal } from './errors.js'
import type { Builtin, Shell, ShellOpts } from './interpreter.js'

export type { Builtin }

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const LONG_OPTIONS: Record<string, keyof ShellOpts> = {
  errexit: 'errexit',
  nounset: 'nounset',
  xtrace: 'xtrace',
  noglob: 'noglob',
  noclobber: 'noclobber',
  allexport: 'allexport',
  pipefail: 'pipefail',
}

function number(s: string): number {
  if (!/^\d+$/.test(s)) throw new BuiltinError(`Illegal number: ${s}`)
  return Number(s)
}

const quote = (s: string): string => `'${s.replace(/'/g, `'"'"'`)}'`

function out(sh: Shell, io: Io, text: string): void {
  sh.write(io, 1, text)
}

const exportLike =
  (flag: 'export' | 'readonly'): Builtin =>
  async (sh, argv, io) => {
    const args = argv.slice(1).filter((a) => a !== '--')
    if (args.length === 0 || (args.length === 1 && args[0] === '-p')) {
      const names = [...sh.vars.map.entries()].filter(([, v]) => (flag === 'export' ? v.exported : v.readonly)).map(([k]) => k)
      for (const name of names.sort()) {
        const v = sh.getVar(name)
        out(sh, io, v === undefined ? `${flag} ${name}\n` : `${flag} ${name}=${quote(v)}\n`)
      }
      return 0
    }
    for (const arg of args) {
      const eq = arg.indexOf('=')
      const name = eq === -1 ? arg : arg.slice(0, eq)
      if (!NAME.test(name)) throw new BuiltinError(`${name}: bad variable name`)
      sh.setVar(name, eq === -1 ? undefined : arg.slice(eq + 1), { [flag]: true })
    }
    return 0
  }

const dot: Builtin = async (sh, argv, io) => {
  const file = argv[1]
  if (file === undefined) return 0
  let path = file
  if (!file.includes('/')) {
    const found = (sh.getVar('PATH') ?? '').split(':').map((d) => resolvePath(sh.cwd, `${d || '.'}/${file}`))
    const hit = found.find((p) => sh.sys.fs.stat(p)?.type === 'file')
    if (hit === undefined) throw new BuiltinError(`${file}: not found`)
    path = hit
  }
  return source(sh, path, argv.slice(2), io)
}

/** `.`: runs a file's commands in the shell. */
async function source(sh: Shell, path: string, args: string[], io: Io): Promise<number> {
  let text: string
  try {
    text = sh.sys.fs.readFile(resolvePath(sh.cwd, path)).toString('utf8')
  } catch (err) {
    if (err instanceof FsError) throw new BuiltinError(`can't open '${path}': ${FS_MESSAGES[err.code]}`)
    throw err
  }
  const script = parseScript(text)
  const saved = { params: sh.params, script: sh.script, line: sh.line, builtin: sh.builtinName }
  if (args.length > 0) sh.params = args
  // Messages from the file's commands name the file, as ash's `.` does.
  sh.script = path
  sh.builtinName = path
  sh.status = 0
  try {
    for (const line of script.lines) await sh.runList(line, io)
    if (script.error) {
      sh.syntaxError(script.error)
      throw new ShellFatal(2)
    }
    return sh.status
  } catch (err) {
    if (err instanceof FunctionReturn) return err.code
    throw err
  } finally {
    if (args.length > 0) sh.params = saved.params
    sh.script = saved.script
    sh.line = saved.line
    sh.builtinName = saved.builtin
  }
}

const loop =
  (kind: 'break' | 'continue'): Builtin =>
  async (sh, argv) => {
    const n = argv[1] === undefined ? 1 : number(argv[1])
    if (n <= 0) throw new BuiltinError(`Illegal number: ${argv[1]}`)
    sh.loopControl(kind, n)
    return 0
  }

const set: Builtin = async (sh, argv, io) => {
  if (argv.length === 1) {
    for (const name of [...sh.vars.map.keys()].sort()) {
      const v = sh.getVar(name)
      if (v !== undefined) out(sh, io, `${name}=${quote(v)}\n`)
    }
    return 0
  }
  let i = 1
  for (; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      i++
      sh.params = argv.slice(i)
      return 0
    }
    if (arg === '-') {
      sh.opts.xtrace = false
      continue
    }
    if (!/^[-+]/.test(arg)) break
    const on = arg[0] === '-'
    for (const letter of arg.slice(1)) {
      if (letter === 'o') {
        const name = argv[++i]
        if (name === undefined) {
          for (const [long, key] of Object.entries(LONG_OPTIONS)) out(sh, io, `${long.padEnd(16)}${sh.opts[key] ? 'on' : 'off'}\n`)
          continue
        }
        const key = LONG_OPTIONS[name]
        if (key === undefined) throw new BuiltinError(`illegal option ${on ? '-' : '+'}o ${name}`)
        sh.opts[key] = on
      } else if (!sh.setOption(letter, on)) throw new BuiltinError(`illegal option ${on ? '-' : '+'}${letter}`)
    }
  }
  if (i < argv.length) sh.params = argv.slice(i)
  return 0
}

const trap: Builtin = async (sh, argv, io) => {
  let args = argv.slice(1)
  if (args[0] === '--') args = args.slice(1)
  if (args.length === 0) {
    for (const [signo, action] of [...sh.traps.actions].sort((a, b) => a[0] - b[0])) {
      out(sh, io, `trap -- ${quote(action)} ${signo === 0 ? 'EXIT' : signalName(signo).slice(3)}\n`)
    }
    return 0
  }
  if (args[0] === '-l') {
    const names = Object.entries(SIGNALS).map(([n, s]) => `${String(s).padStart(2)}) ${n.slice(3)}`)
    out(sh, io, `${names.join('\n')}\n`)
    return 0
  }
  let action: string | undefined
  if (args.length > 1 && !/^\d+$/.test(args[0] as string)) action = args.shift()
  let status = 0
  for (const spec of args) {
    const signo = spec === 'EXIT' || spec === '0' ? 0 : parseSignal(spec)
    if (signo === undefined) {
      sh.error(`${spec}: invalid signal specification`, 'trap', io)
      status = 1
      continue
    }
    sh.traps.set(signo, action === undefined || action === '-' ? undefined : action)
  }
  return status
}

const unset: Builtin = async (sh, argv) => {
  let functions = false
  for (const arg of argv.slice(1)) {
    if (arg === '-f') functions = true
    else if (arg === '-v') functions = false
    else if (functions) sh.funcs.delete(arg)
    else sh.unsetVar(arg)
  }
  return 0
}

const cd: Builtin = async (sh, argv, io) => {
  const args = argv.slice(1).filter((a) => a !== '-L' && a !== '-P')
  let dest = args[0]
  let print = false
  if (dest === undefined) dest = sh.getVar('HOME') ?? '/'
  else if (dest === '-') {
    dest = sh.getVar('OLDPWD') ?? sh.cwd
    print = true
  }
  const target = resolvePath(sh.cwd, dest === '' ? '.' : dest)
  const st = sh.sys.fs.stat(target)
  if (st === undefined) throw new BuiltinError(`can't cd to ${dest}: No such file or directory`)
  if (st.type !== 'dir') throw new BuiltinError(`can't cd to ${dest}: Not a directory`)
  sh.setVar('OLDPWD', sh.cwd, { export: true })
  sh.cwd = target
  sh.setVar('PWD', target, { export: true })
  if (print) out(sh, io, `${target}\n`)
  return 0
}

const read: Builtin = async (sh, argv, io) => {
  let raw = false
  let delim = '\n'
  let max = Infinity
  let timeout: number | undefined
  let fd = 0
  const names: string[] = []
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string
    if (names.length > 0 || !arg.startsWith('-') || arg === '-') {
      names.push(arg)
      continue
    }
    for (let j = 1; j < arg.length; j++) {
      const o = arg[j] as string
      const value = (): string => {
        const v = arg.slice(j + 1) || argv[++i]
        j = arg.length
        if (v === undefined) throw new BuiltinError(`-${o}: option requires an argument`)
        return v
      }
      if (o === 'r') raw = true
      else if (o === 's') continue
      else if (o === 'p') value()
      else if (o === 'd') delim = value().slice(0, 1)
      else if (o === 'n') max = number(value())
      else if (o === 't') timeout = Number(value())
      else if (o === 'u') fd = number(value())
      else throw new BuiltinError(`-${o}: invalid option`)
    }
  }
  for (const n of names) if (!NAME.test(n)) throw new BuiltinError(`'${n}': not a valid identifier`)
  if (names.length === 0) names.push('REPLY')
  const reader = io.input(fd)
  let text = ''
  let complete = true
  for (;;) {
    // A trapped signal or the -t timeout ends the read (status 1); what arrives later stays unread.
    const signal = sh.traps.nextSignal()
    const ac = new AbortController()
    const cancel = Promise.race([
      signal.promise,
      ...(timeout === undefined ? [] : [sh.sys.clock.sleep(timeout * 1000, ac.signal).catch(() => undefined)]),
    ])
    let got: Awaited<ReturnType<typeof reader.readLine>>
    try {
      got = await sh.abortable(reader.readLine(delim, max === Infinity ? Infinity : max - text.length, cancel))
    } finally {
      signal.cancel()
      ac.abort()
    }
    if (got === 'cancelled') return 1
    if (got === undefined) {
      if (text === '') {
        for (const n of names) sh.setVar(n, '')
        return 1
      }
      complete = false
      break
    }
    text += got.line
    complete = got.complete
    if (!raw && text.endsWith('\\') && !text.endsWith('\\\\') && got.complete && delim === '\n') {
      text = text.slice(0, -1)
      continue
    }
    break
  }
  if (!raw) text = text.replace(/\\(.)/g, '$1')
  assignFields(sh, names, text)
  return complete ? 0 : 1
}

/** Splits a line read by `read` on IFS: one field per name, the rest to the last. */
function assignFields(sh: Shell, names: string[], text: string): void {
  const ifs = sh.ifs
  const white = [...ifs].filter((c) => ' \t\n'.includes(c)).join('')
  const isWhite = (c: string | undefined): boolean => c !== undefined && white.includes(c)
  const isIfs = (c: string | undefined): boolean => c !== undefined && ifs.includes(c)
  let i = 0
  while (isWhite(text[i])) i++
  names.forEach((name, n) => {
    if (n === names.length - 1) {
      let rest = text.slice(i)
      let end = rest.length
      while (end > 0 && isWhite(rest[end - 1])) end--
      rest = rest.slice(0, end)
      // A single trailing non-white IFS character after the last field is dropped.
      if (rest.length > 0 && isIfs(rest[rest.length - 1]) && !isWhite(rest[rest.length - 1]) && !isIfs(rest[rest.length - 2]))
        rest = rest.slice(0, -1)
      sh.setVar(name, rest)
      return
    }
    const start = i
    while (i < text.length && !isIfs(text[i])) i++
    sh.setVar(name, text.slice(start, i))
    while (isWhite(text[i])) i++
    if (isIfs(text[i]) && !isWhite(text[i])) {
      i++
      while (isWhite(text[i])) i++
    }
  })
}

const wait: Builtin = async (sh, argv) => {
  const args = argv.slice(1)
  if (args.length === 0) return sh.jobs.wait()
  const pids = args.map((a) => (a.startsWith('%') ? (sh.jobs.jobPid(a) ?? -1) : number(a)))
  return sh.jobs.wait(pids)
}

type Description = { kind: 'keyword' | 'function' | 'special' | 'builtin' | 'command'; path?: undefined } | { kind: 'file'; path: string }

/** What a name would run, as `command -v` and `type` tell it. */
export function describe(sh: Shell, name: string): Description | undefined {
  if (KEYWORDS.has(name)) return { kind: 'keyword' }
  if (sh.funcs.has(name)) return { kind: 'function' }
  if (Object.hasOwn(SPECIAL_BUILTINS, name)) return { kind: 'special' }
  if (Object.hasOwn(REGULAR_BUILTINS, name) || ['echo', 'printf', 'test', '[', '[[', 'true', 'false', 'pwd'].includes(name))
    return { kind: 'builtin' }
  const env = { fs: sh.sys.fs, cwd: sh.cwd, path: sh.getVar('PATH'), identity: sh.sys.identity }
  if (name.includes('/')) {
    const abs = resolvePath(sh.cwd, name)
    const st = sh.sys.fs.stat(abs)
    return st && canExecute(st, sh.sys.identity) ? { kind: 'file', path: name } : undefined
  }
  const found = findInPath(name, env)
  if (found !== undefined && found !== 'denied') return { kind: 'file', path: found }
  const exe = sh.resolve(name)
  return exe?.kind === 'command' ? { kind: 'command' } : undefined
}

function describeVerbose(name: string, d: Description): string {
  switch (d.kind) {
    case 'keyword':
      return `${name} is a shell keyword`
    case 'function':
      return `${name} is a function`
    case 'special':
      return `${name} is a special shell builtin`
    case 'builtin':
    case 'command':
      return `${name} is a shell builtin`
    case 'file':
      return `${name} is ${d.path}`
  }
}

const command: Builtin = async (sh, argv, io) => {
  let i = 1
  let mode: 'v' | 'V' | undefined
  for (; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--') {
      i++
      break
    }
    if (!/^-[vVp]+$/.test(a)) break
    if (a.includes('V')) mode = 'V'
    else if (a.includes('v')) mode = 'v'
  }
  const rest = argv.slice(i)
  if (rest.length === 0) return 0
  if (mode !== undefined) {
    let status = 0
    for (const name of rest) {
      const d = describe(sh, name)
      if (d === undefined) {
        if (mode === 'V') sh.error(`${name}: not found`, 'command', io)
        status = 127
        continue
      }
      out(sh, io, mode === 'V' ? `${describeVerbose(name, d)}\n` : `${d.kind === 'file' ? d.path : name}\n`)
    }
    return status === 0 ? 0 : mode === 'v' ? 1 : status
  }
  const name = rest[0] as string
  const builtin = SPECIAL_BUILTINS[name] ?? REGULAR_BUILTINS[name]
  if (builtin) return builtin(sh, rest, io, io)
  return sh.runExternal(rest, io)
}

const type: Builtin = async (sh, argv, io) => {
  let status = 0
  for (const name of argv.slice(1).filter((a) => !a.startsWith('-'))) {
    const d = describe(sh, name)
    if (d === undefined) {
      out(sh, io, `${name}: not found\n`)
      status = 127
    } else out(sh, io, `${describeVerbose(name, d)}\n`)
  }
  return status
}

const umasks = new WeakMap<Shell, number>()

const umask: Builtin = async (sh, argv, io) => {
  const arg = argv[1]
  if (arg === undefined) {
    out(sh, io, `${(umasks.get(sh) ?? 0o022).toString(8).padStart(4, '0')}\n`)
    return 0
  }
  if (!/^[0-7]{1,4}$/.test(arg)) throw new BuiltinError(`Illegal mode: ${arg}`)
  umasks.set(sh, parseInt(arg, 8))
  return 0
}

const kill: Builtin = async (sh, argv, io) => {
  const args = argv.map((a, i) => (i > 0 && a.startsWith('%') ? String(sh.jobs.jobPid(a) ?? a) : a))
  return sh.runExternal(args, io)
}

const getopts: Builtin = async (sh, argv, io) => {
  const spec = argv[1]
  const name = argv[2]
  if (spec === undefined || name === undefined) throw new BuiltinError('usage: getopts optstring var [arg]')
  const args = argv.length > 3 ? argv.slice(3) : sh.params
  let optind = Number(sh.getVar('OPTIND') ?? '1') || 1
  const state = sh as unknown as { getoptsPos?: number }
  let pos = state.getoptsPos ?? 1
  const arg = args[optind - 1]
  const silent = spec.startsWith(':')
  const done = (): number => {
    sh.setVar(name, '?')
    sh.setVar('OPTIND', String(optind))
    state.getoptsPos = 1
    return 1
  }
  if (arg === undefined || !arg.startsWith('-') || arg === '-') return done()
  if (arg === '--') {
    optind++
    return done()
  }
  const letter = arg[pos] as string
  pos++
  const at = spec.indexOf(letter)
  const advance = (): void => {
    if (pos >= arg.length) {
      optind++
      pos = 1
    }
  }
  if (at === -1 || letter === ':') {
    advance()
    sh.setVar(name, '?')
    if (silent) sh.setVar('OPTARG', letter)
    else sh.write(io, 2, `Illegal option -${letter}\n`)
  } else if (spec[at + 1] === ':') {
    let value: string | undefined
    if (pos < arg.length) value = arg.slice(pos)
    else value = args[optind]
    optind += pos < arg.length ? 1 : 2
    pos = 1
    if (value === undefined) {
      sh.setVar(name, silent ? ':' : '?')
      if (silent) sh.setVar('OPTARG', letter)
      else sh.write(io, 2, `No arg for -${letter} option\n`)
    } else {
      sh.setVar(name, letter)
      sh.setVar('OPTARG', value)
    }
  } else {
    advance()
    sh.setVar(name, letter)
  }
  state.getoptsPos = pos
  sh.setVar('OPTIND', String(optind))
  return 0
}

export const SPECIAL_BUILTINS: Record<string, Builtin> = {
  '.': dot,
  source: dot,
  ':': async () => 0,
  break: loop('break'),
  continue: loop('continue'),
  eval: async (sh, argv, io) => sh.evalString(argv.slice(1).join(' '), io),
  exec: async (sh, argv, io, outer) => {
    const args = argv.slice(1)
    if (args[0] === '--') args.shift()
    if (args.length === 0) {
      outer.replace(io)
      return 0
    }
    sh.execd = true
    try {
      throw new ShellExit(await sh.runExternal(args, io, [], true))
    } catch (err) {
      if (err instanceof BuiltinError) sh.execd = false
      throw err
    }
  },
  exit: async (sh, argv) => {
    throw new ShellExit(argv[1] === undefined ? sh.status : number(argv[1]) & 0xff)
  },
  export: exportLike('export'),
  readonly: exportLike('readonly'),
  return: async (sh, argv) => sh.functionReturn(argv[1] === undefined ? sh.status : number(argv[1]) & 0xff),
  set,
  shift: async (sh, argv) => {
    const n = argv[1] === undefined ? 1 : number(argv[1])
    if (n > sh.params.length) return 1
    sh.params = sh.params.slice(n)
    return 0
  },
  trap,
  unset,
  local: async (sh, argv) => {
    for (const arg of argv.slice(1)) {
      const eq = arg.indexOf('=')
      const name = eq === -1 ? arg : arg.slice(0, eq)
      if (!NAME.test(name)) throw new BuiltinError(`${name}: bad variable name`)
      sh.makeLocal(name)
      if (eq !== -1) sh.setVar(name, arg.slice(eq + 1))
    }
    return 0
  },
}

export const REGULAR_BUILTINS: Record<string, Builtin> = {
  cd,
  chdir: cd,
  read,
  wait,
  command,
  type,
  umask,
  hash: async () => 0,
  kill,
  getopts,
}
