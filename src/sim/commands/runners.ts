// Commands that run another command: xargs (argument lists from stdin), timeout (a deadline on the
// simulated clock), nohup; and execArgv, how env and these find and start their program.
import { emptyInput, type Command, type CommandContext } from '../context.js'
import { findExecutable } from '../shell/run.js'
import { execFailure } from '../shell/search.js'
import { parseSignal, SIGKILL } from '../signals.js'
import { has, last, parseOptions, usage } from './fs-common.js'
import { fail, prog } from './util.js'

/**
 * Runs `argv` as the named command would exec it: "can't execute" (126/127) when it is not there.
 * `ctx` may carry a changed environment or input; the shell-builtin marker is dropped.
 */
export async function execArgv(args: readonly string[], argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { applet: _applet, ...rest } = { ...ctx, args: argv }
  void _applet
  // execvp: a directory or device by the name is EACCES too.
  const found = findExecutable(argv[0] ?? '', rest, { shell: true })
  const failure = execFailure(found)
  if (failure || found === undefined) {
    const why = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOEXEC: 'Exec format error' }[
      failure?.errno ?? 'ENOENT'
    ]
    return fail(args, ctx, `can't execute '${argv[0]}': ${why}`, failure?.errno === 'ENOENT' ? 127 : 126)
  }
  return rest.exec.invoke(found, rest)
}

/** busybox's duration: seconds with an optional fraction and suffix (s, m, h, d). */
function duration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text)
  if (!m) return undefined
  return Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]!]! * 1000
}

/**
 * `timeout [-s SIG] [-k KILL_SECS] SECS PROG ARGS`: busybox execs PROG and a watcher sends it SIG
 * when SECS have passed (then SIGKILL after KILL_SECS). The program ends as that signal ends it
 * (143 for TERM); as PID 1 of its namespace it ignores any signal but KILL, as the kernel decides.
 */
export const timeout: Command = async (args, ctx) => {
  const o = parseOptions('timeout', args.slice(1), TIMEOUT_SPEC, ctx)
  if (typeof o === 'number') return o
  const sig = last(o, 's') ?? 'TERM'
  const signo = parseSignal(sig)
  if (signo === undefined) return fail(args, ctx, `unknown signal '${sig}'`)
  const k = last(o, 'k')
  const killAfter = k === undefined ? undefined : duration(k)
  const [secs, ...argv] = o.operands
  const limit = secs === undefined ? undefined : duration(secs)
  if (limit === undefined || argv.length === 0 || (k !== undefined && killAfter === undefined)) return usage(ctx, 'timeout', TIMEOUT_SPEC)
  const abort = new AbortController()
  const stopped = new Promise<number>((resolve) => {
    const deliver = (s: number): boolean => {
      // PID 1 ignores what it has no handler for (the program has none we can see): only KILL ends it.
      if (ctx.isInit && s !== SIGKILL) return false
      abort.abort(new Error(`killed by signal ${s}`))
      resolve(128 + s)
      return true
    }
    void ctx.clock
      .sleep(limit, abort.signal)
      .then(() => deliver(signo) || (killAfter !== undefined && ctx.clock.sleep(killAfter, abort.signal).then(() => deliver(SIGKILL))))
      .catch(() => {})
  })
  // The program sees its process end when the watcher's signal arrives.
  const signal = AbortSignal.any([ctx.signal, abort.signal])
  const run = execArgv(args, argv, { ...ctx, signal }).then(
    (code) => {
      abort.abort(new Error('done'))
      return code
    },
    (err: unknown) => {
      if (abort.signal.aborted && !ctx.signal.aborted) return new Promise<number>(() => {})
      throw err
    },
  )
  return Promise.race([run, stopped])
}

const TIMEOUT_SPEC = { flags: '', valued: 'sk', usage: '[-s SIG] [-k KILL_SECS] SECS PROG ARGS', leading: true }

/** Splits xargs input into arguments: blanks and newlines separate, quotes and backslashes group. */
function xargsWords(text: string, nul: boolean): string[] | string {
  if (nul) return text.split('\0').filter((w) => w !== '')
  const words: string[] = []
  let word: string | undefined
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote) {
      if (c === quote) quote = undefined
      else if (c === '\n') return `unmatched ${quote === '"' ? 'double' : 'single'} quote`
      else word += c
    } else if (c === '"' || c === "'") {
      quote = c
      word ??= ''
    } else if (c === '\\' && i + 1 < text.length) word = (word ?? '') + text[++i]
    else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else word = (word ?? '') + c
  }
  if (quote) return `unmatched ${quote === '"' ? 'double' : 'single'} quote`
  if (word !== undefined) words.push(word)
  return words
}

/**
 * `xargs [-0rt] [-n N] [-I STR] [PROG ARGS]`: runs PROG (echo) with the words of stdin as
 * arguments, N at a time, or once per line with -I. Exit status as busybox: 123 when a run
 * failed with 1–125, 124 when one exited 255, 125 when one was killed, 126/127 when it cannot run.
 */
export const xargs: Command = async (args, ctx) => {
  const o = parseOptions(
    'xargs',
    args.slice(1),
    { flags: '0rt', valued: 'nI', usage: '[-0rt] [-n N] [-I STR] [PROG ARGS]', leading: true },
    ctx,
  )
  if (typeof o === 'number') return o
  const n = last(o, 'n')
  if (n !== undefined && (!/^\d+$/.test(n) || Number(n) === 0)) return fail(args, ctx, `invalid number '${n}'`)
  const max = n === undefined ? Infinity : Number(n)
  const replace = last(o, 'I')
  const [nul, noEmpty, trace] = ['0', 'r', 't'].map((f) => has(o, f))
  const command = o.operands.length > 0 ? o.operands : ['echo']
  const text = await ctx.stdin.readAll()
  let batches: string[][]
  if (replace !== undefined) {
    const items = text.split(nul ? '\0' : '\n').filter((l) => l !== '')
    batches = items.map((item) => command.map((w) => w.split(replace!).join(item)))
  } else {
    const words = xargsWords(text, nul!)
    if (typeof words === 'string') return fail(args, ctx, words)
    batches = []
    for (let k = 0; k < words.length; k += max === Infinity ? words.length : max) batches.push([...command, ...words.slice(k, k + max)])
    if (batches.length === 0 && !noEmpty) batches.push([...command])
  }
  let status = 0
  for (const argv of batches) {
    if (trace) ctx.write('stderr', `${argv.join(' ')}\n`)
    const code = await execArgv(args, argv, { ...ctx, stdin: emptyInput })
    if (code === 126 || code === 127) return code
    if (code === 255) return fail(args, ctx, `${argv[0]}: exited with status 255; aborting`, 124)
    if (code > 128) return 125
    if (code !== 0) status = 123
  }
  return status
}

/** `nohup PROG ARGS`: runs PROG immune to SIGHUP (a container has no terminal to hang up). */
export const nohup: Command = async (args, ctx) => {
  if (args.length < 2) {
    ctx.write('stderr', `Usage: ${prog(args, ctx)} PROG ARGS\n`)
    return 1
  }
  ctx.trap(1, () => {})
  return execArgv(args, args.slice(1), ctx)
}
