// Job control of a shell: the child processes it starts (pipeline stages, `cmd &` jobs) as
// SimProcesses with PIDs from the container's process table, the table its commands see (its
// own children included, `kill` reaching them), `wait`, and job specs (%1, %%). Apart from the
// interpreter: what it needs of the shell is the narrow JobHost; what a child runs is given to
// spawn as a function.
import { ForkFailed, type ProcessInfo, type ProcessTable, type SpawnedProcess } from '../context.js'
import { SimProcess, type ExitInfo } from '../process.js'
import { SIGKILL } from '../signals.js'
import type { Io } from './io.js'
import type { Traps } from './traps.js'
import type { ShellProcess, ShellSystem } from './types.js'

/** A child process of the shell. */
export interface Child {
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

/** Shared by a shell and its subshells: child PIDs when the process table cannot give them. */
interface Tree {
  nextPid: number
  nextJob: number
}

/** What job control needs of its shell. */
export interface JobHost {
  /** The shell's process now. */
  readonly proc: ShellProcess
  readonly sys: ShellSystem
  /** $0: a child's name in ps until it runs a command. */
  readonly name: string
  readonly traps: Traps
  /** Reports an error and ends the shell. */
  fatal(message: string): never
  /** The promise, or its rejection with the process's end when that comes first. */
  abortable<T>(p: Promise<T>): Promise<T>
}

/** Runs in a new child process: the child's process and how it updates its ps line. */
export type ChildBody = (proc: ShellProcess, setArgs: (args: readonly string[]) => void) => Promise<number>

export class JobControl {
  /** Background jobs not yet waited for. */
  background = new Map<number, Child>()
  /** Running child processes (jobs and pipeline stages). */
  children = new Map<number, Child>()
  /** $!: the PID of the last background job. */
  lastBg: number | undefined
  #tree: Tree
  /** Shared by the subshells that run in this shell's process. */
  process = { watching: false }

  constructor(readonly host: JobHost) {
    this.#tree = { nextPid: 0, nextJob: 1 }
    // Commands that start processes of their own (a daemon, nginx's workers) reach the container's table.
    const spawn = host.sys.processes.spawn
    if (spawn) this.table.spawn = (child) => spawn.call(host.sys.processes, child)
  }

  /** Job control for a subshell of this shell: in the same process it shares the children. */
  copyFor(host: JobHost, sameProcess: boolean): JobControl {
    const jobs = new JobControl(host)
    jobs.#tree = this.#tree
    jobs.lastBg = this.lastBg
    if (sameProcess) {
      // The same process: one table of children, one watch on its end.
      jobs.children = this.children
      jobs.process = this.process
    }
    return jobs
  }

  /** The process table commands see: the container's, plus this shell's children. */
  readonly table: ProcessTable = {
    list: () => {
      const { sys, proc } = this.host
      const base = sys.processes.list()
      const seen = new Set(base.map((p) => p.pid))
      const user = sys.identity.user ?? String(sys.identity.uid)
      const mine: ProcessInfo[] = [...this.children.values()]
        .filter((c) => c.exit === undefined && !seen.has(c.pid))
        .map((c) => ({ pid: c.pid, ppid: proc.pid, user, args: [...c.args], ...(c.comm ? { comm: c.comm } : {}) }))
      return [...base, ...mine].sort((a, b) => a.pid - b.pid)
    },
    kill: (pid, signo) => {
      const child = this.children.get(pid) ?? this.background.get(pid)
      if (child && child.exit === undefined) return child.proc.kill(signo)
      if (this.host.sys.processes.kill(pid, signo)) return true
      if (pid === this.host.proc.pid) {
        this.host.traps.signalSelf(signo)
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
      return this.host.sys.processes.setArgs?.(pid, args) ?? false
    },
  }

  #allocPid(): number {
    if (this.#tree.nextPid === 0) {
      this.#tree.nextPid = Math.max(this.host.proc.pid, ...this.host.sys.processes.list().map((p) => p.pid)) + 1
    }
    return this.#tree.nextPid++
  }

  /** Starts a child process running `body` (a forked shell); its stderr goes to `io`'s. */
  spawn(io: Io, body: ChildBody): Child {
    const { sys, name } = this.host
    const args = [name]
    const spawnHook = sys.processes.spawn
    let proc!: SimProcess
    let handle: SpawnedProcess | undefined
    try {
      handle = spawnHook?.call(sys.processes, { ppid: this.host.proc.pid, args, signal: (signo) => proc.kill(signo) })
    } catch (err) {
      if (err instanceof ForkFailed) this.host.fatal(`can't fork: ${err.message}`)
      throw err
    }
    const pid = handle?.pid ?? this.#allocPid()
    const child: Child = { pid, job: 0, args, proc: undefined as unknown as SimProcess, handle }
    const ignored = new Set([...this.host.traps.actions].filter(([s, a]) => s !== 0 && a === '').map(([s]) => s))
    proc = new SimProcess({
      pid,
      args,
      env: {},
      clock: sys.clock,
      isInit: false,
      ignored,
      program: (pctx) =>
        body({ pid, isInit: false, signal: pctx.signal, trap: pctx.trap, terminate: pctx.terminate }, (a) => {
          child.args = a
          child.comm = undefined
          handle?.setArgs(a)
        }),
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

  /** When this shell's process ends, its children (jobs, pipeline stages) are killed. */
  #killChildrenOnExit(): void {
    if (this.process.watching) return
    this.process.watching = true
    const children = this.children
    this.host.proc.signal.addEventListener(
      'abort',
      () => {
        for (const child of children.values()) child.proc.kill(SIGKILL)
      },
      { once: true },
    )
  }

  /** `cmd &`: the child becomes a job (a number, $!). */
  addJob(child: Child): void {
    child.job = this.#tree.nextJob++
    this.#pruneJobs()
    this.background.set(child.pid, child)
    this.lastBg = child.pid
  }

  /** Waits for background jobs (all, or these PIDs). A trapped signal interrupts: 128+signo. */
  async wait(pids?: number[]): Promise<number> {
    const traps = this.host.traps
    const waitFor = async (child: Child): Promise<{ status: number; interrupted: boolean }> => {
      if (child.exit) return { status: child.exit.code, interrupted: false }
      const signal = traps.nextSignal()
      try {
        return await this.host.abortable(
          Promise.race([
            child.proc.exited.then((e) => ({ status: e.code, interrupted: false })),
            signal.promise.then((s) => ({ status: 128 + s, interrupted: true })),
          ]),
        )
      } finally {
        signal.cancel()
      }
    }
    if (traps.pending !== undefined) return 128 + traps.pending
    if (pids === undefined) {
      for (const [pid, child] of this.background) {
        const r = await waitFor(child)
        if (r.interrupted) return r.status
        this.background.delete(pid)
      }
      return 0
    }
    let status = 127
    for (const pid of pids) {
      const child = this.background.get(pid)
      if (child === undefined) {
        status = 127
        continue
      }
      const r = await waitFor(child)
      if (r.interrupted) return r.status
      this.background.delete(pid)
      status = r.status
    }
    return status
  }

  /** A script that starts jobs forever and never waits: forget the oldest finished ones. */
  #pruneJobs(): void {
    if (this.background.size < 256) return
    for (const [pid, job] of this.background) {
      if (this.background.size < 128) break
      if (job.exit !== undefined) this.background.delete(pid)
    }
  }

  /** The PID of a job spec (%1, %%, %+, %-). */
  jobPid(spec: string): number | undefined {
    const jobs = [...this.background.values()].sort((a, b) => a.job - b.job)
    if (spec === '%%' || spec === '%+' || spec === '%') return jobs[jobs.length - 1]?.pid
    if (spec === '%-') return jobs[jobs.length - 2]?.pid
    const n = Number(spec.slice(1))
    return jobs.find((j) => j.job === n)?.pid
  }
}
