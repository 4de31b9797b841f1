// Commands about time and processes: sleep, usleep, kill, ps, pgrep, pidof, top. They sleep on the
// simulated clock (ctx.clock) and see and signal the container's processes through ctx.processes.
import { freemem, totalmem, loadavg } from 'node:os'
import { untilEnded, waitAsLast, type Command, type CommandContext, type ProcessInfo } from '../context.js'
import { SIGNALS, parseSignal, signalName } from '../signals.js'
import { basename, fail, pace, usage } from './util.js'
import { PatternTooComplex, compileRegex, type Matcher } from '../../patterns/regex.js'

/** Timers longer than setTimeout's limit are slept in parts. */
const MAX_TIMER = 2 ** 30

/** Sleeps on the simulated clock; Infinity waits until the process ends. */
export function sleepMs(ctx: CommandContext, ms: number): Promise<void> {
  // One timer (a loop's `sleep 1`) is the clock's own promise, without a frame of its own.
  if (ms > 0 && ms <= MAX_TIMER) return ctx.clock.sleep(ms, ctx.signal)
  return sleepLong(ctx, ms)
}

async function sleepLong(ctx: CommandContext, ms: number): Promise<void> {
  if (ms === Infinity) await untilEnded(ctx)
  for (let left = ms; left > 0; left -= MAX_TIMER) await ctx.clock.sleep(Math.min(left, MAX_TIMER), ctx.signal)
  if (ms <= 0) await ctx.clock.sleep(0, ctx.signal)
}

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }

/** "1.5", "2m", "inf": seconds, or undefined when it is not a duration. */
export function parseSeconds(text: string): number | undefined {
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity
  const m = /^\+?(\d+\.?\d*|\.\d+)([smhd]?)$/.exec(text)
  if (!m) return undefined
  return Number(m[1]) * (UNITS[m[2] as string] as number)
}

const sleep: Command = async (args, ctx) => {
  const rest = args.slice(1)
  if (rest.length === 0) return usage(args, ctx, '[N]...')
  let total = 0
  for (const a of rest) {
    const s = parseSeconds(a)
    if (s === undefined) return fail(args, ctx, `invalid number '${a}'`)
    total += s
  }
  // A container's `sleep 3600`: its process waits as an alarm on the clock, not as this frame.
  if (waitAsLast(ctx, total * 1000)) return 0
  await sleepMs(ctx, total * 1000)
  return 0
}

const usleep: Command = async (args, ctx) => {
  const a = args[1]
  if (a === undefined) return usage(args, ctx, '[USECONDS]')
  if (!/^\d+$/.test(a)) return fail(args, ctx, `invalid number '${a}'`)
  await sleepMs(ctx, Number(a) / 1000)
  return 0
}

// ---- kill

const kill: Command = async (args, ctx) => {
  let rest = args.slice(1)
  let signo = 15
  const first = rest[0]
  if (first === '-l' || first === '-L') {
    const names = rest.slice(1)
    if (names.length === 0) {
      ctx.write(
        'stdout',
        Object.entries(SIGNALS)
          .map(([n, s]) => `${String(s).padStart(2)}) ${n.slice(3)}\n`)
          .join(''),
      )
      return 0
    }
    let out = ''
    for (const n of names) {
      if (/^\d+$/.test(n)) out += `${signalName(Number(n) & 0x7f).slice(3)}\n`
      else {
        const s = parseSignal(n)
        if (s === undefined) {
          ctx.write('stdout', out)
          return fail(args, ctx, `unknown signal '${n}'`)
        }
        out += `${s}\n`
      }
    }
    ctx.write('stdout', out)
    return 0
  }
  if (first !== undefined && first.startsWith('-') && first !== '-') {
    let spec = first.slice(1)
    rest = rest.slice(1)
    if (spec === '-') spec = ''
    else if ((spec === 's' || spec === 'n') && rest.length > 0) {
      spec = rest[0] as string
      rest = rest.slice(1)
    }
    if (spec !== '') {
      const s = spec === '0' ? 0 : parseSignal(spec)
      if (s === undefined) return fail(args, ctx, `bad signal name '${spec}'`)
      signo = s
    }
  }
  if (rest[0] === '--') rest = rest.slice(1)
  if (rest.length === 0) return usage(args, ctx, '[-s SIG | -SIG] PID...')
  let status = 0
  for (const a of rest) {
    if (!/^-?\d+$/.test(a)) {
      status = fail(args, ctx, `invalid number '${a}'`)
      continue
    }
    const pid = Number(a)
    const exists = signo === 0 ? ctx.processes.list().some((p) => p.pid === pid) : ctx.processes.kill(pid, signo)
    if (!exists) status = fail(args, ctx, `can't kill pid ${pid}: No such process`)
  }
  return status
}

// ---- ps, pgrep

const comm = (p: ProcessInfo): string => basename(p.comm ?? p.args[0] ?? '').slice(0, 15)
const cmdline = (p: ProcessInfo): string => (p.args.length > 0 ? p.args.join(' ') : `[${comm(p)}]`)

interface Column {
  header: string
  width: number
  right: boolean
  value: (p: ProcessInfo, ctx: CommandContext) => string
}

const COLUMNS: Record<string, Column> = {
  user: { header: 'USER', width: 8, right: false, value: (p) => p.user },
  group: { header: 'GROUP', width: 8, right: false, value: (p) => p.user },
  comm: { header: 'COMMAND', width: 16, right: false, value: comm },
  args: { header: 'COMMAND', width: 0, right: false, value: cmdline },
  pid: { header: 'PID', width: 5, right: true, value: (p) => String(p.pid) },
  ppid: { header: 'PPID', width: 5, right: true, value: (p) => String(p.ppid) },
  pgid: { header: 'PGID', width: 5, right: true, value: (p) => String(p.pid) },
  etime: { header: 'ELAPSED', width: 7, right: true, value: () => '0:00' },
  time: { header: 'TIME', width: 5, right: true, value: () => '0:00' },
  tty: { header: 'TT', width: 6, right: false, value: () => '?' },
  vsz: { header: 'VSZ', width: 4, right: true, value: () => '0' },
  rss: { header: 'RSS', width: 4, right: true, value: () => '0' },
  nice: { header: 'NI', width: 5, right: true, value: () => '0' },
}

const ps: Command = async (args, ctx) => {
  const cols: { col: Column; header: string }[] = []
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (!a.startsWith('-')) continue
    if (a === '-o' || a.startsWith('-o')) {
      const spec = a === '-o' ? args[++i] : a.slice(2)
      if (spec === undefined) return usage(args, ctx, '[-o COL1,COL2=HEADER] [-T]')
      for (const item of spec.split(',')) {
        const eq = item.indexOf('=')
        const name = eq === -1 ? item : item.slice(0, eq)
        const col = COLUMNS[name]
        if (col === undefined) return fail(args, ctx, `bad -o argument '${name}', supported arguments: ${Object.keys(COLUMNS).join(',')}`)
        cols.push({ col, header: eq === -1 ? col.header : item.slice(eq + 1) })
      }
    }
  }
  if (cols.length === 0)
    for (const n of ['pid', 'user', 'time', 'args']) cols.push({ col: COLUMNS[n] as Column, header: (COLUMNS[n] as Column).header })
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => {
        const c = cols[i] as { col: Column }
        if (i === cells.length - 1) return c.col.right ? cell.padStart(c.col.width) : cell
        const text = c.col.right ? cell.padStart(c.col.width) : cell.slice(0, c.col.width)
        return text + ' '.repeat(Math.max(1, c.col.width - text.length + 1))
      })
      .join('')
  let out = ''
  if (cols.some((c) => c.header !== '')) {
    out += `${cols.map((c, i) => (i === cols.length - 1 ? c.header : `${c.header.padEnd(c.col.width)} `)).join('')}\n`
  }
  for (const p of ctx.processes.list()) out += `${line(cols.map((c) => c.col.value(p, ctx)))}\n`
  ctx.write('stdout', out)
  return 0
}

const pgrep: Command = async (args, ctx) => {
  let full = false
  let list = false
  let exact = false
  let newest = false
  let oldest = false
  let invert = false
  let parent: number | undefined
  let pattern: string | undefined
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (a.startsWith('-') && a.length > 1 && pattern === undefined) {
      for (let j = 1; j < a.length; j++) {
        const o = a[j]
        if (o === 'f') full = true
        else if (o === 'l') list = true
        else if (o === 'x') exact = true
        else if (o === 'n') newest = true
        else if (o === 'o') oldest = true
        else if (o === 'v') invert = true
        else if (o === 'P') {
          parent = Number(a.slice(j + 1) || args[++i])
          break
        } else return usage(args, ctx, '[-flnovx] [-s SID|-P PPID|PATTERN]')
      }
    } else if (pattern === undefined) pattern = a
    else return usage(args, ctx, '[-flnovx] [-s SID|-P PPID|PATTERN]')
  }
  if (pattern === undefined && parent === undefined) return usage(args, ctx, '[-flnovx] [-s SID|-P PPID|PATTERN]')
  let re: Matcher | undefined
  try {
    re = pattern === undefined ? undefined : compileRegex(pattern, { line: exact })
  } catch {
    return fail(args, ctx, `bad regex '${pattern}'`, 2)
  }
  let found: ProcessInfo[]
  try {
    found = ctx.processes.list().filter((p) => {
      const text = full ? cmdline(p) : comm(p)
      const hit = (re === undefined || re.test(text)) && (parent === undefined || p.ppid === parent)
      return hit !== invert
    })
  } catch (e) {
    if (!(e instanceof PatternTooComplex)) throw e
    return fail(args, ctx, 'pattern too complex', 2)
  }
  if (newest) found = found.slice(-1)
  if (oldest) found = found.slice(0, 1)
  ctx.write('stdout', found.map((p) => (list ? `${p.pid} ${full ? cmdline(p) : comm(p)}\n` : `${p.pid}\n`)).join(''))
  return found.length > 0 ? 0 : 1
}

// ---- pidof

const pidof: Command = async (args, ctx) => {
  let single = false
  const omit: string[] = []
  const names: string[] = []
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (a === '-s') single = true
    else if (a === '-o' || a.startsWith('-o')) {
      const v = a === '-o' ? args[++i] : a.slice(2)
      if (v === undefined) return usage(args, ctx, '[-s] [-o PID] [NAME]...')
      omit.push(v)
    } else if (a.startsWith('-') && a !== '-') return usage(args, ctx, '[-s] [-o PID] [NAME]...')
    else names.push(a)
  }
  const procs = ctx.processes.list()
  const ppid = String(procs.find((p) => p.pid === (ctx.pid ?? 1))?.ppid ?? 0)
  const omitted = new Set(omit.map((o) => (o === '%PPID' ? ppid : o)))
  const found: number[] = []
  for (const name of names) {
    // busybox find_pid_by_name: the comm (15 characters), argv[0]'s base name, or a full path.
    const matches = procs.filter((p) => {
      const c = comm(p)
      const argv0 = p.args[0] ?? ''
      return (c === name.slice(0, 15) && (c.length < 15 || basename(argv0) === name)) || basename(argv0) === name || argv0 === name
    })
    const pids = matches.map((p) => p.pid).filter((pid) => !omitted.has(String(pid)))
    // Newest first, as GNU pidof; -s: one per name.
    found.push(...pids.reverse().slice(0, single ? 1 : undefined))
  }
  if (found.length > 0) ctx.write('stdout', `${found.join(' ')}\n`)
  return found.length > 0 ? 0 : 1
}

// ---- top

function meminfo(ctx: CommandContext): Record<string, number> {
  const info: Record<string, number> = {}
  try {
    for (const line of ctx.fs.readFile('/proc/meminfo').toString('utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+)/.exec(line)
      if (m) info[m[1] as string] = Number(m[2])
    }
  } catch {
    // no /proc: the host's numbers, as a container sees them
  }
  info.MemTotal ??= Math.floor(totalmem() / 1024)
  info.MemFree ??= Math.floor(freemem() / 1024)
  return info
}

function loadAverage(ctx: CommandContext, procs: ProcessInfo[]): string {
  try {
    return ctx.fs.readFile('/proc/loadavg').toString('utf8').trim()
  } catch {
    const [a, b, c] = loadavg().map((n) => n.toFixed(2))
    return `${a} ${b} ${c} 1/${procs.length} ${Math.max(0, ...procs.map((p) => p.pid))}`
  }
}

function topScreen(ctx: CommandContext, batch: boolean): string {
  const procs = ctx.processes.list()
  const mem = meminfo(ctx)
  const total = mem.MemTotal as number
  const free = mem.MemFree as number
  const ESC = '\x1b'
  let out = batch ? '' : `${ESC}[H${ESC}[J`
  out += `Mem: ${total - free}K used, ${free}K free, ${(mem.Shmem ?? 0) + (mem.MemShared ?? 0)}K shrd, ${mem.Buffers ?? 0}K buff, ${mem.Cached ?? 0}K cached\n`
  out += 'CPU:   0% usr   0% sys   0% nic 100% idle   0% io   0% irq   0% sirq\n'
  out += `Load average: ${loadAverage(ctx, procs)}\n`
  const header = '  PID  PPID USER     STAT   VSZ %VSZ CPU %CPU COMMAND'
  out += batch ? header : `${ESC}[7m${header}${ESC}[m`
  for (const p of procs) {
    out += `\n${String(p.pid).padStart(5)} ${String(p.ppid).padStart(5)} ${p.user.slice(0, 8).padEnd(8)} ${'S'.padEnd(3)}  ${'0'.padStart(5)}   0%   0   0% ${cmdline(p)}`
  }
  return out + (batch ? '\n' : '\r')
}

const top: Command = async (args, ctx) => {
  let batch = false
  let iterations = Infinity
  let delay = 3
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (!a.startsWith('-')) return usage(args, ctx, '[-b] [-n COUNT] [-d SECONDS]')
    for (let j = 1; j < a.length; j++) {
      const o = a[j]
      if (o === 'b') batch = true
      else if (o === 'H' || o === 'm') continue
      else if (o === 'n' || o === 'd') {
        const v = a.slice(j + 1) || args[++i]
        const n = v === undefined ? undefined : parseSeconds(v.replace(/^-/, ''))
        if (n === undefined) return fail(args, ctx, `invalid number '${v ?? ''}'`)
        if (o === 'n') iterations = Math.floor(n)
        else delay = n
        break
      } else return usage(args, ctx, '[-b] [-n COUNT] [-d SECONDS]')
    }
  }
  for (let n = 0; n < iterations; n++) {
    if (n > 0) await sleepMs(ctx, delay * 1000)
    ctx.write('stdout', topScreen(ctx, batch))
    await pace(ctx)
  }
  return 0
}

export const processCommands: Record<string, Command> = { sleep, usleep, kill, ps, pgrep, pidof, top }
