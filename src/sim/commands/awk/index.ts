// busybox awk: `awk [-F SEP] [-v VAR=VAL]... [-f FILE | -e PROG | PROG] [FILE | VAR=VAL]...`.
// Options end at the first operand (busybox's getopt "+"); errors exit 1 with busybox's wording.
import type { Command, CommandContext } from '../../context.js'
import { abs, reason, usage } from '../fs-common.js'
import { AwkExit, Interpreter } from './interpreter.js'
import { AwkSyntaxError, parseProgram, unescapeAwk, type AwkProgram } from './parser.js'
import { AwkFatal, AwkRuntimeError, strnum, toNum } from './values.js'
import { PatternTooComplex } from '../../../patterns/regex.js'
import { slicer } from '../../shell/io.js'

const spec = { usage: '[OPTIONS] [AWK_PROGRAM] [FILE]...' }
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s

/** VAR=VAL (of -v or an operand): the value's escapes are processed and it may compare as a number. */
function assign(it: Interpreter, text: string): boolean {
  const m = ASSIGNMENT.exec(text)
  if (!m) return false
  it.set(m[1] as string, strnum(unescapeAwk(m[2] as string)))
  return true
}

/** The records of one input: split on RS's first character as chunks arrive, or on blank lines for RS="". */
async function eachRecord(it: Interpreter, read: () => Promise<string | undefined>, record: (rec: string) => Promise<void>): Promise<void> {
  const turn = slicer(it.ctx)
  const each = async (rec: string): Promise<void> => {
    await turn()
    await record(rec)
  }
  const rs = it.str('RS')
  if (rs === '') {
    let all = ''
    for (let c = await read(); c !== undefined; c = await read()) all += c
    for (const rec of all.replace(/^\n+/, '').split(/\n\n+/)) if (rec !== '') await each(rec.replace(/\n$/, ''))
    return
  }
  const sep = rs[0] as string
  let buf = ''
  for (let c = await read(); c !== undefined; c = await read()) {
    const parts = (buf + c).split(sep)
    buf = parts.pop() as string
    for (const rec of parts) await each(rec)
    it.flush()
  }
  if (buf !== '') await each(buf)
}

async function mainLoop(it: Interpreter, ctx: CommandContext): Promise<void> {
  const record = async (rec: string): Promise<void> => {
    it.set('NR', toNum(it.get('NR')) + 1)
    it.set('FNR', toNum(it.get('FNR')) + 1)
    it.setRecord(strnum(rec))
    await it.runRules()
  }
  const input = async (name: string): Promise<void> => {
    it.set('FILENAME', name)
    it.set('FNR', 0)
    if (name === '-' || name === '/dev/stdin') return eachRecord(it, () => ctx.stdin.read(), record)
    let text: string | undefined
    try {
      text = ctx.fs.readFile(abs(ctx, name)).toString('utf8')
    } catch (e) {
      throw new AwkFatal(`can't open '${name}': ${reason(e)}`)
    }
    const read = async (): Promise<string | undefined> => {
      const t = text
      text = undefined
      return t
    }
    return eachRecord(it, read, record)
  }
  // ARGV and ARGC are read as the files are reached: BEGIN may have changed them.
  let sawFile = false
  for (let i = 1; i < toNum(it.get('ARGC')); i++) {
    const v = it.array('ARGV').get(String(i))
    const name = v === undefined ? '' : it.text(v)
    if (name === '' || assign(it, name)) continue
    sawFile = true
    await input(name)
  }
  if (!sawFile) await input('-')
}

export const awk: Command = async (args, ctx) => {
  const sources: string[] = []
  const assignments: string[] = []
  let progname = 'cmd. line'
  let fs: string | undefined
  let i = 1
  for (; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      i++
      break
    }
    if (!arg.startsWith('-') || arg === '-') break
    const letter = arg[1] as string
    if (!'Fvfe'.includes(letter)) {
      if (letter === 'W') {
        ctx.write('stderr', 'awk: warning: option -W is ignored\n')
        continue
      }
      return usage(ctx, 'awk', spec, `invalid option -- '${letter}'`)
    }
    const value = arg.length > 2 ? arg.slice(2) : args[++i]
    if (value === undefined) return usage(ctx, 'awk', spec, `option requires an argument -- '${letter}'`)
    if (letter === 'F') fs = unescapeAwk(value)
    else if (letter === 'v') {
      if (!ASSIGNMENT.test(value)) return usage(ctx, 'awk', spec)
      assignments.push(value)
    } else if (letter === 'e') sources.push(value)
    else {
      progname = value
      try {
        sources.push(value === '-' ? await ctx.stdin.readAll() : ctx.fs.readFile(abs(ctx, value)).toString('utf8'))
      } catch (e) {
        ctx.write('stderr', `awk: can't open '${value}': ${reason(e)}\n`)
        return 1
      }
    }
  }
  if (sources.length === 0) {
    const text = args[i++]
    if (text === undefined) return usage(ctx, 'awk', spec)
    sources.push(text)
  }
  let prog: AwkProgram
  try {
    prog = parseProgram(sources.join('\n'))
  } catch (e) {
    if (!(e instanceof AwkSyntaxError)) throw e
    ctx.write('stderr', `awk: ${progname}:${e.line}: ${e.message}\n`)
    return 1
  }
  const it = new Interpreter(prog, ctx)
  if (fs !== undefined) it.set('FS', fs)
  for (const a of assignments) assign(it, a)
  const operands = args.slice(i)
  const argv = it.array('ARGV')
  argv.set('0', 'awk')
  operands.forEach((o, n) => argv.set(String(n + 1), strnum(o)))
  it.set('ARGC', operands.length + 1)
  return run(it, prog, ctx, progname)
}

async function run(it: Interpreter, prog: AwkProgram, ctx: CommandContext, progname: string): Promise<number> {
  let code = 0
  try {
    let ending = false
    try {
      await it.runBlock(prog.begin)
      // A program of BEGIN alone reads no input.
      if (prog.rules.length > 0 || prog.end.length > 0) await mainLoop(it, ctx)
      ending = true
      await it.runBlock(prog.end)
    } catch (e) {
      if (!(e instanceof AwkExit)) throw e
      code = e.code ?? code
      // exit outside END still runs the END actions; an exit there keeps the code unless it gives one.
      if (!ending) {
        try {
          await it.runBlock(prog.end)
        } catch (e2) {
          if (!(e2 instanceof AwkExit)) throw e2
          code = e2.code ?? code
        }
      }
    }
    await it.closeAll()
    return code
  } catch (e) {
    it.flush()
    if (e instanceof AwkFatal) ctx.write('stderr', `awk: ${e.message}\n`)
    else if (e instanceof AwkRuntimeError || e instanceof PatternTooComplex) ctx.write('stderr', `awk: ${progname}:1: ${e.message}\n`)
    // `next` in a function that END called: there is no record to skip.
    else if (!(e instanceof Error)) ctx.write('stderr', `awk: ${progname}:1: Unexpected token\n`)
    else throw e
    return 1
  }
}
