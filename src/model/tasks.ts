// Tasks: the simulated processes behind containers (containerd's task service over runc, here
// over sim/). The task record in the state says what should be running; this keeps the live
// SimProcess objects and log files that go with the records, and recreates them after a restart
// the way containerd reconnects to shims that kept running.
import type { ContainerRecord, TaskRecord } from '../store/schema.js'
import type { Clock } from '../sim/clock.js'
import { SimProcess, type ExitInfo, type Program, type Stream } from '../sim/process.js'
import type { Logger } from '../log.js'
import { CriLogFile } from './logs.js'
import { nowNs, nowString } from './time.js'

export interface TaskIO {
  stdin: string
  stdout: string
  stderr: string
  terminal: boolean
}

/** google.protobuf.Timestamp fields for an event payload. */
function timestamp(ns: string | undefined): { seconds: string; nanos: number } | undefined {
  if (!ns) return undefined
  const n = BigInt(ns)
  return { seconds: (n / 1_000_000_000n).toString(), nanos: Number(n % 1_000_000_000n) }
}

export interface ProcessPlan {
  program: Program
  args: string[]
  env: Record<string, string>
  isInit: boolean
  ignored: ReadonlySet<number>
  /** Absolute CRI log path, or "" for none. */
  logPath: string
}

export interface TaskHost {
  readonly clock: Clock
  readonly log: Logger
  allocatePid(): number
  changed(): void
  emit(namespace: string, topic: string, type: string, payload: Record<string, unknown>): void
  /** Called once when a task's process ends, after the task record says so. */
  onTaskExit(record: ContainerRecord, exit: ExitInfo): void
}

export class Tasks {
  #live = new Map<string, SimProcess>()
  #logs = new Map<string, CriLogFile>()

  constructor(private readonly host: TaskHost) {}

  /** Creates the task (process not yet started). */
  create(record: ContainerRecord, io: TaskIO = { stdin: '', stdout: '', stderr: '', terminal: false }): TaskRecord {
    record.task = {
      pid: this.host.allocatePid(),
      status: 'created',
      createdAt: nowString(),
      ...(io.stdout || io.stderr || io.stdin ? { io } : {}),
    }
    this.host.changed()
    this.host.emit(record.namespace, '/tasks/create', 'containerd.events.TaskCreate', {
      container_id: record.id,
      bundle: `/run/containerd/io.containerd.runtime.v2.task/${record.namespace}/${record.id}`,
      rootfs: [],
      io: { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, terminal: io.terminal },
      checkpoint: '',
      pid: record.task.pid,
    })
    return record.task
  }

  /** Deletes a stopped task's record (containerd's Tasks.Delete, or CRI after an exit). */
  delete(record: ContainerRecord): void {
    const task = record.task
    if (!task) return
    delete record.task
    this.host.changed()
    this.host.emit(record.namespace, '/tasks/delete', 'containerd.events.TaskDelete', {
      container_id: record.id,
      pid: task.pid,
      exit_status: task.exitStatus ?? 0,
      exited_at: timestamp(task.exitedAt),
      id: '',
    })
  }

  /** Starts the task's process from a plan. `elapsedMs` > 0 resumes one that ran before a restart. */
  start(record: ContainerRecord, plan: ProcessPlan, resumed = false): void {
    const task = record.task
    if (!task) throw new Error(`container ${record.id} has no task to start`)
    const log = plan.logPath ? this.#openLog(record.id, plan.logPath) : undefined
    const proc = new SimProcess({
      pid: task.pid,
      program: plan.program,
      args: plan.args,
      env: plan.env,
      clock: this.host.clock,
      isInit: plan.isInit,
      ignored: plan.ignored,
      onOutput: (stream: Stream, text: string) => log?.write(stream, text),
    })
    this.#live.set(record.id, proc)
    if (!resumed) {
      task.status = 'running'
      task.startedAt = nowString()
      this.host.changed()
      this.host.emit(record.namespace, '/tasks/start', 'containerd.events.TaskStart', { container_id: record.id, pid: task.pid })
    }
    void proc.exited.then((exit) => this.#exited(record, proc, exit))
    proc.start()
  }

  process(id: string): SimProcess | undefined {
    return this.#live.get(id)
  }

  /** Sends a signal to the task's process; false when it is not running. */
  kill(id: string, signo: number): boolean {
    return this.#live.get(id)?.kill(signo) ?? false
  }

  /** Resolves when the process exits (at once when it is not running). */
  async waitExit(id: string): Promise<void> {
    await this.#live.get(id)?.exited
  }

  reopenLog(id: string): boolean {
    const log = this.#logs.get(id)
    if (!log) return false
    log.reopen()
    return true
  }

  #openLog(id: string, path: string): CriLogFile | undefined {
    try {
      const log = new CriLogFile(path)
      this.#logs.get(id)?.close()
      this.#logs.set(id, log)
      return log
    } catch (err) {
      this.host.log.warn(`cannot open log file ${path} of container ${id}: ${(err as Error).message}`)
      return undefined
    }
  }

  #exited(record: ContainerRecord, proc: SimProcess, exit: ExitInfo): void {
    if (this.#live.get(record.id) !== proc) return
    this.#live.delete(record.id)
    this.#logs.get(record.id)?.close()
    this.#logs.delete(record.id)
    if (record.task) {
      record.task.status = 'stopped'
      record.task.exitStatus = exit.code
      record.task.exitedAt = nowNs().toString()
      if (exit.reason) record.task.exitReason = exit.reason
      if (exit.reason === 'OOMKilled')
        this.host.emit(record.namespace, '/tasks/oom', 'containerd.events.TaskOOM', { container_id: record.id })
      this.host.emit(record.namespace, '/tasks/exit', 'containerd.events.TaskExit', {
        container_id: record.id,
        id: record.id,
        pid: record.task.pid,
        exit_status: exit.code,
        exited_at: timestamp(record.task.exitedAt),
      })
    }
    this.host.changed()
    this.host.onTaskExit(record, exit)
  }

  /** Stops every process without recording exits: the server is shutting down, shims live on. */
  detachAll(): void {
    for (const proc of this.#live.values()) proc.detach()
    this.#live.clear()
    for (const log of this.#logs.values()) log.close()
    this.#logs.clear()
  }
}
