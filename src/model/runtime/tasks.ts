// Tasks: the simulated processes behind containers (containerd's task service over runc, here
// over sim/). A task is a container's init process plus any exec'd processes. The task record in
// the state says what should be running; this keeps the live SimProcess objects and the outputs
// that go with them (CRI log files, client FIFOs), and recreates init processes after a restart
// the way containerd reconnects to shims that kept running.
import type { ContainerRecord, ExecRecord, StatePath, TaskRecord, TaskStatus } from '../../store/schema.js'
import type { Clock } from '../../sim/clock.js'
import { SimProcess, type ExitInfo, type Program, type Stream } from '../../sim/process.js'
import { StreamInput, emptyInput } from '../../sim/context.js'
import { LineDiscipline } from '../../sim/tty.js'
import { SIGKILL } from '../../sim/signals.js'
import type { Logger } from '../../log.js'
import { RuntimeError, shimError } from '../errors.js'
import { fifoSink, openStdin, outputTarget } from './fifo.js'
import { CriLogFile } from './logs.js'
import { nowNs, nowString, protoTimestamp } from '../time.js'

export interface TaskIO {
  stdin: string
  stdout: string
  stderr: string
  terminal: boolean
}

export const NO_IO: TaskIO = { stdin: '', stdout: '', stderr: '', terminal: false }

export interface ProcessPlan {
  program: Program
  args: string[]
  env: Record<string, string>
  isInit: boolean
  ignored: ReadonlySet<number>
  /** Absolute CRI log path, or "" for none. */
  logPath: string
  /** A CRI container's `stdin: true`: its stdin stays open (until attach, in a later version, feeds it). */
  stdinOpen?: boolean
  /** A CRI container's `tty: true`. */
  terminal?: boolean
  /** Who it runs as (what ps and /proc show). */
  user: { uid: number; gid: number; additionalGids?: number[] }
}

export interface TaskHost {
  readonly clock: Clock
  readonly log: Logger
  allocatePid(): number
  changed(...paths: StatePath[]): void
  emit(namespace: string, topic: string, type: string, payload: Record<string, unknown>): void
  /** Puts a blob into a namespace's content store. */
  storeBlob(namespace: string, data: Buffer): { digest: string; size: number }
  /** Called once when a task's init process ends, after the task record says so. */
  onTaskExit(record: ContainerRecord, exit: ExitInfo): void
  /** Puts a new process of `record`'s task into the node's process table (until it exits). */
  track(record: ContainerRecord, proc: SimProcess, plan: ProcessPlan): void
}

/** Where a process's output goes: a CRI log file, client FIFOs, an ExecSync buffer. */
export interface ProcessOutput {
  write(stream: Stream, text: string): void
  close(): void | Promise<void>
  /** Resolves when the reader has taken enough (a streaming client over a slow connection). */
  drained?(): Promise<void>
}

/** A client's stream into a process's stdin (CRI's streaming exec and attach): through its terminal's line discipline when it has one. */
export interface ProcessInput {
  write(text: string): void
  end(): void
}

/** A client's own streams for an exec'd process (CRI's streaming exec): its output, and its stdin when `stdin`. */
export interface AttachedIO {
  output: ProcessOutput
  stdin: boolean
  terminal: boolean
}

interface Live {
  proc: SimProcess
  outputs: ProcessOutput[]
  closeStdin?: () => Promise<void>
  /** Feeds its stdin: a CRI container's open stdin, or a streaming exec's. */
  input?: ProcessInput
}

const key = (id: string, execId = ''): string => (execId ? `${id}/${execId}` : id)

/** A mount of a task's root filesystem, as Tasks.Create carries it. */
export interface TaskMount {
  type: string
  source: string
  target: string
  options: string[]
}

export class Tasks {
  #live = new Map<string, Live>()
  /** Each task's live exec'd processes (also in #live): killing a task's execs finds them without a scan. */
  #execLives = new Map<string, Set<Live>>()
  /** The terminal size a client set before the process started (ResizePty after Create): it starts with it. */
  #sizes = new Map<string, { width: number; height: number }>()
  #logs = new Map<string, CriLogFile>()
  #waiters = new Map<string, (() => void)[]>()

  constructor(private readonly host: TaskHost) {}

  /** Creates the task (process not yet started); `rootfs` is what the client mounts for it (the event names it). */
  create(record: ContainerRecord, io: TaskIO = NO_IO, rootfs: TaskMount[] = []): TaskRecord {
    if (record.task) throw new RuntimeError('AlreadyExists', `task ${record.id}: already exists`)
    outputTarget(io) // a stdout URI the shim cannot use fails here, as the shim's create does
    record.task = {
      pid: this.host.allocatePid(),
      status: 'created',
      createdAt: nowString(),
      ...(io.stdout || io.stderr || io.stdin ? { io } : {}),
    }
    this.host.changed(['containers', record.id])
    this.host.emit(record.namespace, '/tasks/create', 'containerd.events.TaskCreate', {
      container_id: record.id,
      bundle: `/run/containerd/io.containerd.runtime.v2.task/${record.namespace}/${record.id}`,
      rootfs,
      io: { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, terminal: io.terminal },
      checkpoint: '',
      pid: record.task.pid,
    })
    return record.task
  }

  /** Deletes a task's record; its process must have exited (or never started: it is killed). */
  delete(record: ContainerRecord): TaskRecord | undefined {
    const task = record.task
    if (!task) return undefined
    const live = this.#live.get(key(record.id))
    if (live?.proc.running) throw shimError(`cannot delete a ${task.status} process`)
    live?.proc.kill(SIGKILL)
    for (const proc of this.#execs(record.id)) proc.kill(SIGKILL)
    // A size set for a process that never started goes with the task.
    for (const k of this.#sizes.keys()) if (k === key(record.id) || k.startsWith(`${record.id}/`)) this.#sizes.delete(k)
    delete record.task
    this.host.changed(['containers', record.id])
    this.host.emit(record.namespace, '/tasks/delete', 'containerd.events.TaskDelete', {
      container_id: record.id,
      pid: task.pid,
      exit_status: task.exitStatus ?? 0,
      exited_at: protoTimestamp(task.exitedAt),
      id: '',
    })
    return task
  }

  /** Starts the task's init process from a plan. `resumed` continues one that ran before a restart. */
  start(record: ContainerRecord, plan: ProcessPlan, resumed = false): void {
    const task = record.task
    if (!task) throw new RuntimeError('NotFound', `task ${record.id} not found`)
    if (!resumed && task.status !== 'created') throw shimError(`cannot start a ${task.status} process`)
    const outputs: Live['outputs'] = []
    const log = plan.logPath ? this.#openLog(record.id, plan.logPath) : undefined
    if (log) outputs.push(log)
    if (task.io) outputs.push(fifoSink(task.io, (m) => this.host.log.warn(`task ${record.id}: ${m}`)))
    const live = this.#spawn(record, task.pid, plan, outputs, task.io, key(record.id))
    this.#live.set(key(record.id), live)
    if (!resumed) {
      task.status = 'running'
      task.startedAt = nowString()
      this.host.changed(['containers', record.id])
      this.host.emit(record.namespace, '/tasks/start', 'containerd.events.TaskStart', { container_id: record.id, pid: task.pid })
    }
    live.proc.onExit((exit) => this.#initExited(record, live, exit))
    live.proc.start()
  }

  // Exec'd processes ---------------------------------------------------------------------------

  /** Adds an exec process (created, not started). */
  addExec(record: ContainerRecord, execId: string, process: Record<string, unknown>, io: TaskIO): ExecRecord {
    const task = record.task
    if (!task || task.status === 'stopped') throw new RuntimeError('NotFound', `task ${record.id} not found`)
    task.execs ??= {}
    if (task.execs[execId]) throw new RuntimeError('AlreadyExists', `id ${execId}: already exists`)
    outputTarget(io)
    const exec: ExecRecord = {
      pid: 0,
      status: 'created',
      createdAt: nowString(),
      process,
      ...(io.stdout || io.stderr || io.stdin ? { io } : {}),
    }
    task.execs[execId] = exec
    this.host.changed(['containers', record.id])
    this.host.emit(record.namespace, '/tasks/exec-added', 'containerd.events.TaskExecAdded', { container_id: record.id, exec_id: execId })
    return exec
  }

  exec(record: ContainerRecord, execId: string): ExecRecord {
    const exec = record.task?.execs?.[execId]
    if (!exec) throw new RuntimeError('NotFound', `process does not exist ${execId}: not found`)
    return exec
  }

  /**
   * Starts an exec process; `capture` also receives its output (CRI's ExecSync, or a streaming
   * exec's client, whose stdin and terminal `attached` gives).
   */
  startExec(
    record: ContainerRecord,
    execId: string,
    plan: ProcessPlan,
    capture?: ProcessOutput,
    attached?: Omit<AttachedIO, 'output'>,
  ): ExecRecord {
    const exec = this.exec(record, execId)
    if (exec.status !== 'created') throw shimError(`cannot start a ${exec.status} process`)
    exec.pid = this.host.allocatePid()
    const outputs: Live['outputs'] = exec.io ? [fifoSink(exec.io, (m) => this.host.log.warn(`exec ${execId}: ${m}`))] : []
    if (capture) outputs.push(capture)
    const streamPlan = attached ? { ...plan, stdinOpen: attached.stdin, terminal: attached.terminal } : plan
    const live = this.#spawn(record, exec.pid, streamPlan, outputs, exec.io, key(record.id, execId))
    this.#live.set(key(record.id, execId), live)
    let execs = this.#execLives.get(record.id)
    if (!execs) this.#execLives.set(record.id, (execs = new Set()))
    execs.add(live)
    exec.status = 'running'
    exec.startedAt = nowString()
    this.host.changed(['containers', record.id])
    this.host.emit(record.namespace, '/tasks/exec-started', 'containerd.events.TaskExecStarted', {
      container_id: record.id,
      exec_id: execId,
      pid: exec.pid,
    })
    live.proc.onExit((exit) => {
      if (this.#live.get(key(record.id, execId)) === live) this.#live.delete(key(record.id, execId))
      const execs = this.#execLives.get(record.id)
      execs?.delete(live)
      if (execs?.size === 0) this.#execLives.delete(record.id)
      this.#wake(key(record.id, execId))
      void closeAll(live)
      exec.status = 'stopped'
      exec.exitStatus = exit.code
      exec.exitedAt = nowNs().toString()
      this.host.changed(['containers', record.id])
      this.host.emit(record.namespace, '/tasks/exit', 'containerd.events.TaskExit', {
        container_id: record.id,
        id: execId,
        pid: exec.pid,
        exit_status: exit.code,
        exited_at: protoTimestamp(exec.exitedAt),
      })
    })
    live.proc.start()
    return exec
  }

  deleteExec(record: ContainerRecord, execId: string): ExecRecord {
    const exec = this.exec(record, execId)
    if (exec.status === 'running') throw shimError('cannot delete a running process')
    delete record.task?.execs?.[execId]
    this.#sizes.delete(key(record.id, execId))
    this.host.changed(['containers', record.id])
    return exec
  }

  /**
   * Checkpoints a live task into the content store. There is no process memory to dump: the
   * checkpoint records what would restore it (the container's spec and the task's pid).
   */
  checkpoint(record: ContainerRecord): { digest: string; size: number } {
    const task = record.task
    if (!task) throw new RuntimeError('NotFound', `task ${record.id} not found`)
    if (task.status === 'created') throw shimError('cannot checkpoint a task in created state')
    if (task.status === 'stopped') throw shimError('cannot checkpoint a stopped container')
    const blob = Buffer.from(JSON.stringify({ container: record.id, pid: task.pid, spec: record.spec, checkpointedAt: nowString() }))
    const info = this.host.storeBlob(record.namespace, blob)
    this.host.emit(record.namespace, '/tasks/checkpointed', 'containerd.events.TaskCheckpointed', {
      container_id: record.id,
      checkpoint: info.digest,
    })
    return info
  }

  /**
   * Tasks.Update: the task's cgroup takes the new resources (runc update). The container record
   * keeps its spec and no event is published, as with containerd; the container sees its new
   * limit in /sys/fs/cgroup (memory.max and memory.swap.max read it when read; Metrics reports it).
   */
  update(record: ContainerRecord, resources: Record<string, unknown>): void {
    if (!record.task) return
    record.task.resources = resources
    this.host.changed(['containers', record.id])
  }

  /** Freezes or thaws a running task (containerd's Pause/Resume). */
  setPaused(record: ContainerRecord, paused: boolean): void {
    const task = record.task
    if (!task) throw new RuntimeError('NotFound', `task ${record.id} not found`)
    const refused = (paused ? PAUSE_REFUSED : RESUME_REFUSED)[task.status]
    if (refused) throw shimError(refused)
    task.status = paused ? 'paused' : 'running'
    this.host.changed(['containers', record.id])
    const [topic, type] = paused ? ['/tasks/paused', 'containerd.events.TaskPaused'] : ['/tasks/resumed', 'containerd.events.TaskResumed']
    this.host.emit(record.namespace, topic, type, { container_id: record.id })
  }

  // Signals, waiting, IO -----------------------------------------------------------------------

  /** The OOM killer took the container: every process dies, its init with reason OOMKilled (137). */
  oomKill(record: ContainerRecord): void {
    for (const proc of this.#execs(record.id)) proc.kill(SIGKILL)
    this.#live.get(key(record.id))?.proc.end({ code: 128 + SIGKILL, signal: SIGKILL, reason: 'OOMKilled' })
  }

  process(id: string, execId = ''): SimProcess | undefined {
    return this.#live.get(key(id, execId))?.proc
  }

  /** Sends a signal to one process, or (all) to every process of the task. False when none ran. */
  kill(id: string, signo: number, execId = '', all = false): boolean {
    if (all && !execId) {
      let any = this.#live.get(key(id))?.proc.kill(signo) ?? false
      for (const proc of this.#execs(id)) any = proc.kill(signo) || any
      return any
    }
    return this.#live.get(key(id, execId))?.proc.kill(signo) ?? false
  }

  /**
   * Resolves when the process exits: a running one when it ends, a created one once it has been
   * started and has ended (containerd's Wait before Start), any other at once.
   */
  async waitExit(record: ContainerRecord, execId = ''): Promise<void> {
    const k = key(record.id, execId)
    const live = this.#live.get(k)
    if (live) return void (await live.proc.exited)
    const p = execId ? record.task?.execs?.[execId] : record.task
    if (p?.status !== 'created') return
    await new Promise<void>((resolve) => {
      const list = this.#waiters.get(k) ?? []
      list.push(resolve)
      this.#waiters.set(k, list)
    })
  }

  /** Wakes the waiters of a process that was waited on before it started. */
  #wake(k: string): void {
    for (const resolve of this.#waiters.get(k) ?? []) resolve()
    this.#waiters.delete(k)
  }

  /** Where a client writes into a process's stdin; undefined when its stdin is not open to clients. */
  input(id: string, execId = ''): ProcessInput | undefined {
    return this.#live.get(key(id, execId))?.input
  }

  /**
   * Joins a process's output from now on (CRI's Attach); the returned function leaves it. False
   * when the process is not running.
   */
  attach(id: string, output: ProcessOutput, execId = ''): (() => void) | undefined {
    const live = this.#live.get(key(id, execId))
    if (!live) return undefined
    live.outputs.push(output)
    return () => {
      const at = live.outputs.indexOf(output)
      if (at >= 0) live.outputs.splice(at, 1)
    }
  }

  /** A new size of a process's terminal (ResizePty, a client's resize message): it gets SIGWINCH. */
  resize(id: string, width: number, height: number, execId = ''): void {
    const live = this.#live.get(key(id, execId))
    if (live?.proc.running) return live.proc.resize(width, height)
    if (!live) this.#sizes.set(key(id, execId), { width, height })
  }

  async closeStdin(id: string, execId = ''): Promise<void> {
    const live = this.#live.get(key(id, execId))
    await live?.closeStdin?.()
    if (live) delete live.closeStdin
  }

  reopenLog(id: string): boolean {
    const log = this.#logs.get(id)
    if (!log) return false
    log.reopen()
    return true
  }

  /** Stops every process without recording exits: the server is shutting down, shims live on. */
  detachAll(): void {
    for (const live of this.#live.values()) {
      live.proc.detach()
      void closeAll(live)
    }
    this.#live.clear()
    this.#execLives.clear()
    this.#logs.clear()
  }

  #spawn(record: ContainerRecord, pid: number, plan: ProcessPlan, outputs: Live['outputs'], io: TaskIO | undefined, at: string): Live {
    const write = writer(outputs)
    const terminal = io?.terminal ?? plan.terminal ?? false
    // A process makes only what it uses: a sleeping container's holds no stdin and no closures beyond these.
    const stdin = io?.stdin || plan.stdinOpen ? this.#stdin(io, plan, write, (signo) => proc.kill(signo)) : undefined
    const proc = new SimProcess({
      pid,
      program: plan.program,
      args: plan.args,
      env: plan.env,
      clock: this.host.clock,
      isInit: plan.isInit,
      ignored: plan.ignored,
      stdin: stdin?.input ?? emptyInput,
      terminal,
      onOutput: write,
      // A command that writes without end waits for a macrotask turn and for its slowest reader.
      drain: drainer(outputs),
    })
    const size = this.#sizes.get(at)
    this.#sizes.delete(at)
    if (size && terminal) proc.winsize = size
    this.host.track(record, proc, plan)
    return {
      proc,
      outputs,
      ...(stdin?.closeStdin ? { closeStdin: stdin.closeStdin } : {}),
      ...(!io?.stdin && stdin ? { input: stdin.feed } : {}),
    }
  }

  /**
   * A process's stdin when something feeds it: the client's FIFO (through a line discipline when it
   * is a terminal), or kept open for a client's stream (a CRI container with stdin: true).
   */
  #stdin(
    io: TaskIO | undefined,
    plan: ProcessPlan,
    write: (stream: Stream, text: string) => void,
    kill: (signo: number) => void,
  ): { input: StreamInput; feed: ProcessInput; closeStdin?: () => Promise<void> } {
    const input = new StreamInput()
    const terminal = io?.stdin ? io.terminal : (plan.terminal ?? false)
    const tty = terminal ? new LineDiscipline(input, (text) => write('stdout', text), kill) : undefined
    const feed: ProcessInput = { write: (text) => (tty ? tty.receive(text) : input.push(text)), end: () => input.end() }
    if (!io?.stdin) return { input, feed }
    const closeStdin = openStdin(
      io.stdin,
      (m) => this.host.log.warn(m),
      (chunk) => feed.write(chunk.toString('utf8')),
      () => input.end(),
    )
    return { input, feed, closeStdin }
  }

  #openLog(id: string, path: string): CriLogFile | undefined {
    try {
      const log = new CriLogFile(path)
      this.#logs.get(id)?.close()
      this.#logs.set(id, log)
      return log
    } catch (err) {
      this.host.log.warn(`container ${id} writes no log: ${(err as Error).message}`)
      return undefined
    }
  }

  /** The live exec'd processes of a task. */
  #execs(id: string): SimProcess[] {
    return [...(this.#execLives.get(id) ?? [])].map((live) => live.proc)
  }

  #initExited(record: ContainerRecord, live: Live, exit: ExitInfo): void {
    if (this.#live.get(key(record.id)) !== live) return
    this.#live.delete(key(record.id))
    this.#logs.delete(record.id)
    void closeAll(live)
    // The PID namespace goes with its init: exec'd processes die too.
    for (const proc of this.#execs(record.id)) proc.kill(SIGKILL)
    this.#stopped(record, exit)
  }

  /**
   * A signal to a task created but not started: runc's init (a Go program) waits there to exec
   * the process, and a signal Go's runtime does not ignore ends it (128 + the signal).
   */
  killCreated(record: ContainerRecord, signo: number): void {
    if (record.task?.status !== 'created' || this.#live.has(key(record.id)) || GO_IGNORED_SIGNALS.has(signo)) return
    this.#stopped(record, { code: 128 + signo, signal: signo })
  }

  /** The task's init has ended: its record, the exit event, CRI's view, the waiters. */
  #stopped(record: ContainerRecord, exit: ExitInfo): void {
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
        exited_at: protoTimestamp(record.task.exitedAt),
      })
    }
    this.host.changed(['containers', record.id])
    this.host.onTaskExit(record, exit)
    this.#wake(key(record.id))
  }
}

/** What the runc shim answers a pause or resume its task's state refuses (pkg/process/init_state.go). */
const PAUSE_REFUSED: Partial<Record<TaskStatus, string>> = {
  created: 'cannot pause task in created state',
  paused: 'cannot pause a paused container',
  stopped: 'cannot pause a stopped container',
}
const RESUME_REFUSED: Partial<Record<TaskStatus, string>> = {
  created: 'cannot resume task in created state',
  running: 'cannot resume a running process',
  stopped: 'cannot resume a stopped container',
}

/** Signals a Go program does not die of: SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH. */
const GO_IGNORED_SIGNALS = new Set([17, 18, 19, 20, 21, 22, 23, 28])

/** Where a process's output goes: each of its outputs (one closure over them, not over the process's making). */
function writer(outputs: ProcessOutput[]): (stream: Stream, text: string) => void {
  return (stream, text) => {
    for (const o of outputs) o.write(stream, text)
  }
}

/** What a process's drain() waits for: a macrotask turn, then its slowest output. */
function drainer(outputs: ProcessOutput[]): () => Promise<void> {
  return async () => {
    await new Promise((resolve) => setImmediate(resolve))
    await Promise.all(outputs.map((o) => o.drained?.()))
  }
}

async function closeAll(live: Live): Promise<void> {
  await live.closeStdin?.()
  await Promise.all(live.outputs.map((o) => o.close()))
}
