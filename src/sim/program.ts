// Chooses what a simulated process does: a script from fake-containerd.io/* annotations, a known
// command line (echo, sleep, sh -c ...), or, for any other executable, a long-running service that
// shuts down cleanly when sent its stop signal.
import { parseDuration } from '../model/time.js'
import { ShellExit, lookupCommand } from './commands.js'
import type { Program, ProgramContext } from './process.js'
import { SIGTERM } from './signals.js'

export const ANNOTATION = {
  exitCode: 'fake-containerd.io/exit-code',
  exitAfter: 'fake-containerd.io/exit-after',
  stdout: 'fake-containerd.io/stdout',
  stderr: 'fake-containerd.io/stderr',
  oomAfter: 'fake-containerd.io/oom-after',
  ignoreSigterm: 'fake-containerd.io/ignore-sigterm',
} as const

/** The scripted behaviour read from annotations; validated when the container is created. */
export interface Script {
  exitCode?: number
  exitAfterMs?: number
  oomAfterMs?: number
  stdout: string[]
  stderr: string[]
  ignoreSigterm: boolean
}

/** Reads the annotations; returns an error sentence for a value that cannot be used. */
export function readScript(annotations: Record<string, string>): Script | string {
  const script: Script = { stdout: [], stderr: [], ignoreSigterm: false }
  const code = annotations[ANNOTATION.exitCode]
  if (code !== undefined) {
    if (!/^\d+$/.test(code.trim()) || Number(code) > 255)
      return `annotation ${ANNOTATION.exitCode} must be an exit code from 0 to 255, got "${code}"`
    script.exitCode = Number(code)
  }
  for (const [key, field] of [
    [ANNOTATION.exitAfter, 'exitAfterMs'],
    [ANNOTATION.oomAfter, 'oomAfterMs'],
  ] as const) {
    const text = annotations[key]
    if (text === undefined) continue
    const ms = parseDuration(text)
    if (ms === undefined) return `annotation ${key} must be a duration such as "500ms", "2s" or "1m", got "${text}"`
    script[field] = ms
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = annotations[ANNOTATION[stream]]
    if (text !== undefined) script[stream] = text.split('\n')
  }
  const ignore = annotations[ANNOTATION.ignoreSigterm]
  script.ignoreSigterm = ignore !== undefined && ignore !== 'false' && ignore !== '0'
  return script
}

/** True when the annotations decide how long the process lives. */
const scriptsLifetime = (s: Script): boolean => s.exitCode !== undefined || s.exitAfterMs !== undefined || s.oomAfterMs !== undefined

/** Runs argv as an executable; an unknown one is a long-running service (see file comment). */
export function commandProgram(argv: readonly string[]): Program {
  return async (ctx) => {
    const command = lookupCommand(argv[0] ?? '')
    if (command === undefined) return service(ctx)
    try {
      return await command(argv, ctx)
    } catch (err) {
      if (err instanceof ShellExit) return err.code
      throw err
    }
  }
}

/** A long-running server: runs until a TERM/INT/QUIT it handles, then exits 0. */
async function service(ctx: ProgramContext): Promise<number> {
  return new Promise<number>((resolve) => {
    for (const signo of [2, 3, SIGTERM]) ctx.trap(signo, () => resolve(0))
  })
}

/** The program of a container's init process. */
export function containerProgram(argv: readonly string[], script: Script): Program {
  const run = commandProgram(argv)
  return async (ctx) => {
    for (const line of script.stdout) ctx.write('stdout', `${line}\n`)
    for (const line of script.stderr) ctx.write('stderr', `${line}\n`)
    if (!scriptsLifetime(script)) return run(ctx)
    const waits: Promise<number>[] = []
    if (script.oomAfterMs !== undefined) {
      waits.push(
        ctx.clock.sleep(script.oomAfterMs, ctx.signal).then(() => {
          ctx.terminate({ code: 137, reason: 'OOMKilled', signal: 9 })
          return 137
        }),
      )
    }
    if (script.exitAfterMs !== undefined || script.exitCode !== undefined) {
      waits.push(ctx.clock.sleep(script.exitAfterMs ?? 0, ctx.signal).then(() => script.exitCode ?? 0))
    }
    if (script.exitAfterMs === undefined && script.exitCode === undefined) {
      // Only an OOM deadline: until then the command line runs as usual.
      waits.push(run(ctx))
    }
    return Promise.race(waits)
  }
}
