// Daemons: a server started without its foreground flag (busybox httpd without -f, nginx without
// "daemon off;", Apache without -DFOREGROUND) forks into the background and the command returns.
// The background process gets a PID from the container's process table (ProcessTable.spawn), is
// listed and signalled through it, and lives until a signal it does not handle (or the table's
// SIGKILL when the container ends). Without spawn there is no process to fork into: the server
// then runs in the foreground.
import type { CommandContext } from './context.js'
import { emptyInput } from './context.js'

/** Signals whose default action is to do nothing. */
const IGNORED = new Set([17, 18, 23, 28])

/**
 * Runs `server` as a daemon (a child of PID 1 shown as `args`) and returns true at once; returns
 * false, having started nothing, when the process table cannot spawn.
 */
export function daemonize(ctx: CommandContext, args: readonly string[], server: (daemon: CommandContext) => Promise<number>): boolean {
  const spawn = ctx.processes.spawn
  if (!spawn) return false
  const controller = new AbortController()
  const handlers = new Map<number, () => void>()
  const handle = spawn.call(ctx.processes, {
    ppid: 1,
    args,
    signal: (signo) => {
      if (controller.signal.aborted) return false
      const handler = handlers.get(signo)
      if (handler) handler()
      else if (!IGNORED.has(signo)) controller.abort(new Error(`killed by signal ${signo}`))
      return true
    },
  })
  // Not the parent's pipe pacing, nor its applet name.
  const { drain: _drain, applet: _applet, ...inherited } = ctx
  const daemon: CommandContext = {
    ...inherited,
    args,
    pid: handle.pid,
    isInit: false,
    signal: controller.signal,
    stdin: emptyInput,
    trap: (signo, handler) => handlers.set(signo, handler),
    terminate: () => controller.abort(new Error('terminated')),
  }
  void server(daemon)
    .catch(() => 1)
    .finally(() => {
      controller.abort(new Error('exited'))
      handle.exit()
    })
  return true
}
