// tini, as `docker run --init` uses it: dockerd bind-mounts the host's docker-init (tini-static)
// at /sbin/docker-init and runs `/sbin/docker-init -- CMD ARGS`. tini runs CMD as its child, so CMD
// is not PID 1 and a signal it has no handler for ends it; tini forwards the signals it receives
// to the child and exits as the child did (128+N when signal N killed it). Options before `--`
// (-s, -v, -g, -w, -l, -e CODE, -p SIG) are taken and have no further effect here.
import { execArgv } from '../commands/runners.js'
import { ForkFailed, type Command } from '../context.js'
import { SimProcess } from '../process.js'
import { SIGKILL } from '../signals.js'
import type { ImageProgram } from './types.js'

/** What tini forwards: every signal but the ones it cannot catch, the fatal ones and SIGCHLD. */
const FORWARDED = [1, 2, 3, 10, 12, 13, 14, 15, 18, 20, 21, 22, 23, 26, 27, 28, 29, 30]

const tini: Command = async (args, ctx) => {
  let i = 1
  for (; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--') {
      i++
      break
    }
    if (a === '-e' || a === '-p') i++
    else if (!a.startsWith('-')) break
  }
  const argv = args.slice(i)
  if (argv.length === 0) {
    ctx.write('stderr', `${args[0] ?? 'tini'} (tini version 0.19.0)\nUsage: tini [OPTIONS] PROGRAM -- [ARGS] | --version\n`)
    return 1
  }
  let child!: SimProcess
  let handle
  try {
    handle = ctx.processes.spawn?.call(ctx.processes, { ppid: ctx.pid ?? 1, args: argv, signal: (signo) => child.kill(signo) })
  } catch (err) {
    if (err instanceof ForkFailed) {
      ctx.write('stderr', `[FATAL tini (${ctx.pid ?? 1})] fork failed: ${err.message}\n`)
      return 1
    }
    throw err
  }
  const pid = handle?.pid ?? (ctx.pid ?? 1) + 1
  child = new SimProcess({
    pid,
    args: argv,
    env: ctx.env,
    clock: ctx.clock,
    isInit: false,
    program: (pctx) =>
      execArgv(args, argv, { ...ctx, pid, args: argv, isInit: false, signal: pctx.signal, trap: pctx.trap, terminate: pctx.terminate }),
    onOutput: (stream, text) => ctx.write(stream, text),
  })
  for (const signo of FORWARDED) ctx.trap(signo, () => void child.kill(signo))
  // tini's own end (SIGKILL to the container) takes its child along.
  const onEnd = (): void => void child.kill(SIGKILL)
  ctx.signal.addEventListener('abort', onEnd, { once: true })
  child.start()
  const exit = await child.exited
  ctx.signal.removeEventListener('abort', onEnd)
  handle?.exit()
  return exit.code
}

export const tiniProgram: ImageProgram = { name: 'docker-init', command: tini, runBy: [], files: () => ({}) }
