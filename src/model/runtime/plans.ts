// How each process behaves, decided from its container record: the one place that turns a runtime
// spec (args, env, working directory, PID namespace) and scripting annotations into a simulated
// program — the container's command line run by the shell simulator over the container's view.
import { runArgv, makeCommandContext } from '../../sim/shell/index.js'
import type { Program } from '../../sim/process.js'
import { containerProgram, readScript, service, type Script } from '../../sim/program.js'
import { SIGTERM } from '../../sim/signals.js'
import type { ContainerRecord } from '../../store/schema.js'
import { contextOptions, envMap, type ProcessHost, type ProcessSpec } from './process-env.js'
import { pidNamespace } from '../cri/spec.js'
import type { ProcessPlan } from './tasks.js'
import { nowNs } from '../time.js'

/** Signals a process does not ignore beyond the rules: one set for all of them. */
const NONE_IGNORED: ReadonlySet<number> = new Set()

/** PID 1 of its own PID namespace: a pid namespace entry without a path (joining one has a path). */
function ownsPidNamespace(spec: Record<string, unknown>): boolean {
  const namespaces = ((spec.linux as { namespaces?: { type: string; path?: string }[] } | undefined)?.namespaces ?? []) as {
    type: string
    path?: string
  }[]
  return namespaces.some((n) => n.type === 'pid' && !n.path)
}

/** A process running `spec` in `record`'s container (its init process, or an exec'd one), through the shell simulator. */
function commandLine(node: ProcessHost, record: ContainerRecord, spec: ProcessSpec, containerInit: boolean): Program {
  return (program) =>
    runArgv(spec.args ?? [], makeCommandContext(program, contextOptions(node, record, spec, program, containerInit)), program.sleepThenExit)
}

/** The init process of a container; `resumed` continues one that ran before a restart. */
export function initPlan(node: ProcessHost, record: ContainerRecord, resumed: boolean): ProcessPlan {
  const proc = (record.spec.process ?? {}) as ProcessSpec
  const args = proc.args ?? []
  if (record.cri?.kind === 'sandbox') {
    // The pause process: PID 1 of the pod, it exits cleanly on SIGINT/SIGTERM.
    return { program: service, args, env: {}, isInit: true, ignored: NONE_IGNORED, logPath: '', user: proc.user ?? { uid: 0, gid: 0 } }
  }
  const annotations =
    record.cri?.kind === 'container' ? record.cri.config.annotations : ((record.spec.annotations ?? {}) as Record<string, string>)
  const read = readScript(annotations)
  // A node fault (crash, OOM) that fired at start overrides the annotations.
  const script: Script = {
    ...(typeof read === 'string' ? { stdout: [], stderr: [], ignoreSigterm: false } : read),
    ...record.task?.injected,
  }
  if (resumed && record.task?.startedAt) {
    // Scripted deadlines count from the original start; the lines were written then.
    const elapsedMs = Number((nowNs() - BigInt(record.task.startedAt)) / 1_000_000n)
    if (script.exitAfterMs !== undefined) script.exitAfterMs = Math.max(0, script.exitAfterMs - elapsedMs)
    if (script.oomAfterMs !== undefined) script.oomAfterMs = Math.max(0, script.oomAfterMs - elapsedMs)
    script.stdout = []
    script.stderr = []
  }
  const isInit = record.cri?.kind === 'container' ? pidNamespace(record.cri.config) === 'container' : ownsPidNamespace(record.spec)
  return {
    // The container's init process: its PID in a pod-shared namespace too (PID 1 only of its own).
    program: containerProgram(commandLine(node, record, proc, true), script),
    args,
    env: envMap(proc.env),
    isInit,
    ignored: script.ignoreSigterm ? new Set([SIGTERM]) : NONE_IGNORED,
    logPath: record.cri?.kind === 'container' ? record.cri.logPath : '',
    ...(record.cri?.kind === 'container' ? { stdinOpen: record.cri.config.stdin, terminal: record.cri.config.tty } : {}),
    user: proc.user ?? { uid: 0, gid: 0 },
  }
}

/** An exec'd process: never PID 1. Its env and cwd fall back to the container's. */
export function execPlan(node: ProcessHost, record: ContainerRecord, process: ProcessSpec): ProcessPlan {
  const container = (record.spec.process ?? {}) as ProcessSpec
  const spec: ProcessSpec = {
    ...process,
    env: process.env ?? container.env ?? [],
    cwd: process.cwd || container.cwd || '/',
    user: process.user ?? container.user ?? { uid: 0, gid: 0 },
  }
  return {
    program: commandLine(node, record, spec, false),
    args: spec.args ?? [],
    env: envMap(spec.env),
    isInit: false,
    ignored: NONE_IGNORED,
    logPath: '',
    user: spec.user ?? { uid: 0, gid: 0 },
  }
}
