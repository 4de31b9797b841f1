// What scripts a simulated process beyond its command line: the fake-containerd.io/* annotations
// (exit code and time, OOM, lines written at start, an ignored SIGTERM), and the long-running
// service an executable the simulator has no program for becomes.
import { parseDuration } from '../model/time.js'
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

/** A long-running server (pause, nginx, any executable the simulator has no program for): runs until a TERM/INT/QUIT it handles, then exits 0. */
export function service(ctx: ProgramContext): Promise<number> {
  // One handler over the process's terminate alone: waiting, a pod's pause process holds no more.
  const { terminate } = ctx
  const stop = (): void => terminate({ code: 0 })
  for (const signo of [2, 3, SIGTERM]) ctx.trap(signo, stop)
  if (!ctx.sleepThenExit) return new Promise<number>(() => {})
  // Nothing to do but wait: the process waits as a sleep without end, no frame of this kept.
  ctx.sleepThenExit(Infinity)
  return Promise.resolve(0)
}

/** The program of a container's init process: `run` (its command line), shaped by the annotations' script. */
export function containerProgram(run: Program, script: Script): Program {
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
      // Only an OOM deadline: until then the command line runs as usual, racing it (so it hands no wait over).
      waits.push(run({ ...ctx, sleepThenExit: undefined }))
    }
    return Promise.race(waits)
  }
}
