// The task lifecycle as one local service, as containerd has its tasks service over the runc shim:
// every check made before a process may start (the seccomp profile, the root directory, the
// executable), the node faults that strike a starting container (a crash, an OOM), the plans the
// processes are made from, and the shim's answers for a process in the wrong state. The CRI face
// (through model/cri/containers.ts and exec-sync.ts) and the containerd face (Tasks) both come
// here, so a container behaves the same whichever API started it. Below it, tasks.ts keeps the
// live processes.
import type { FaultEngine, FiredNodeFaults, NodeSubject } from '../../faults/engine.js'
import type { ContainerRecord, ExecRecord, TaskRecord } from '../../store/schema.js'
import { RuntimeError, invalidArgument, shimError, unknown, wrap } from '../errors.js'
import { validateIdentifier } from '../metadata/namespaces.js'
import { isAppContainer, isSandbox } from '../cri/records.js'
import { execPlan, initPlan } from './plans.js'
import { checkExecutable, checkRootfs, checkSeccomp, type ProcessHost, type ProcessSpec } from './process-env.js'
import { NO_IO, type AttachedIO, type ProcessOutput, type TaskIO, type TaskMount, type Tasks } from './tasks.js'

export interface TaskServiceHost extends ProcessHost {
  readonly tasks: Tasks
  readonly faults: FaultEngine
}

/** Who a node fault sees starting: a CRI container by its CRI metadata, another by its record. */
function faultSubject(record: ContainerRecord): NodeSubject {
  if (isAppContainer(record)) {
    return {
      ids: [record.id, record.cri.sandboxId],
      name: record.cri.config.metadata?.name ?? '',
      image: record.cri.config.image?.image ?? '',
      labels: record.cri.config.labels,
    }
  }
  return { ids: [record.id], name: record.id, image: record.image, labels: record.labels }
}

export class TaskService {
  constructor(private readonly host: TaskServiceHost) {}

  /** The container's task; NotFound when it has none. */
  task(record: ContainerRecord): TaskRecord {
    if (!record.task) throw new RuntimeError('NotFound', `task ${record.id} not found`)
    return record.task
  }

  /** The init process (exec id "" or the container's id) or an exec'd one. */
  process(record: ContainerRecord, execId: string): TaskRecord | ExecRecord {
    return execId === '' || execId === record.id ? this.task(record) : this.host.tasks.exec(record, execId)
  }

  /**
   * Creates the task once runc would: a seccomp profile it can load, a root directory that is
   * there, an executable to run. `rootfs` is what the client mounts for it (the event names it).
   */
  create(record: ContainerRecord, io: TaskIO = NO_IO, rootfs: TaskMount[] = []): TaskRecord {
    // runc makes the container's mounts now: what the host has mounted under its binds is theirs.
    this.host.views.pin(record)
    try {
      checkSeccomp(record)
      checkRootfs(record)
      checkExecutable(this.host, record, record.spec.process as ProcessSpec)
    } catch (err) {
      throw wrap(err, 'failed to create shim task')
    }
    return this.host.tasks.create(record, io, rootfs)
  }

  /**
   * Starts the task's init process. A crash or OOM node fault that matches the container fires
   * here (noted in `noted`, the call's), for a pod's containers and containerd's alike; a pod's
   * pause process is not a target.
   */
  start(record: ContainerRecord, noted?: FiredNodeFaults): TaskRecord {
    const task = this.task(record)
    if (task.status === 'created' && !isSandbox(record)) {
      const subject = faultSubject(record)
      const crash = this.host.faults.nodeFault('crash', subject, noted)
      const oom = crash ? undefined : this.host.faults.nodeFault('oom', subject, noted)
      if (crash) task.injected = { exitCode: crash.rule.exitCode ?? 1, exitAfterMs: crash.rule.afterMs ?? 0 }
      else if (oom) task.injected = { oomAfterMs: oom.rule.afterMs ?? 100 }
    }
    this.host.tasks.start(record, initPlan(this.host, record, false))
    return task
  }

  /**
   * Adds an exec'd process, as the runc shim takes one: an identifier, in a task that is created or
   * running, then its spec (`process`, read only after those checks: a bad spec is the last error).
   */
  addExec(record: ContainerRecord, execId: string, process: ProcessSpec | (() => ProcessSpec | undefined), io: TaskIO = NO_IO): ExecRecord {
    if (execId === '') throw invalidArgument('exec id cannot be empty: invalid argument')
    const task = this.task(record)
    try {
      validateIdentifier(execId)
    } catch (err) {
      throw wrap(err, `invalid exec id ${execId}`)
    }
    if (task.status === 'paused' || task.status === 'stopped') throw shimError(`cannot exec in a ${task.status} state`)
    const spec = typeof process === 'function' ? process() : process
    if (!spec) throw invalidArgument('exec process spec must be set: invalid argument')
    return this.host.tasks.addExec(record, execId, { ...spec }, io)
  }

  /**
   * Starts an exec'd process once its executable is found; `capture` also receives its output
   * (ExecSync, a streaming exec's client, whose stdin and terminal `attached` says).
   */
  startExec(record: ContainerRecord, execId: string, capture?: ProcessOutput, attached?: Omit<AttachedIO, 'output'>): ExecRecord {
    const exec = this.host.tasks.exec(record, execId)
    const process = exec.process as ProcessSpec
    checkExecutable(this.host, record, process, 'exec')
    return this.host.tasks.startExec(record, execId, execPlan(this.host, record, process), capture, attached)
  }

  /**
   * ResizePty as the runc shim answers it: a stopped exec'd process refuses, terminal or not
   * (containerd 1.6 pkg/process/exec_state.go execStoppedState.Resize answers before the console is
   * looked at); otherwise a process without a terminal ignores it; a task created but not started
   * keeps the size (runc made its console at create), so the process starts with it.
   */
  resize(record: ContainerRecord, execId: string, width: number, height: number): void {
    const p = this.process(record, execId)
    const init = execId === '' || execId === record.id
    if (!init && p.status === 'stopped') throw unknown('cannot resize a stopped container')
    if (!p.io?.terminal) return
    this.host.tasks.resize(record.id, width, height, init ? '' : execId)
  }

  /** Signals a process (or, with `all`, every process of the task), as the shim answers Kill. */
  kill(record: ContainerRecord, execId: string, signal: number, all = false): void {
    const p = this.process(record, execId)
    if (signal > 64) throw invalidArgument(`invalid signal ${signal}: invalid argument`)
    const init = p === record.task
    // An exec'd process not started yet has no pid to signal (the shim's execProcess.kill).
    if (!init && p.status === 'created') throw new RuntimeError('FailedPrecondition', 'process not created: failed precondition')
    // Signal 0 only asks whether the process is there (kill(2)); a created one is (runc's init).
    if (signal === 0 && p.status !== 'stopped') return
    if (init && p.status === 'created') return this.host.tasks.killCreated(record, signal)
    if (p.status !== 'running' && p.status !== 'paused') throw new RuntimeError('NotFound', 'process already finished: not found')
    this.host.tasks.kill(record.id, signal, init ? '' : execId, all)
  }

  /**
   * Waits for a process to end (one not started yet: until it has started and ended) and
   * answers its exit; `signal` is the caller's cancellation.
   */
  async wait(record: ContainerRecord, execId: string, signal: AbortSignal): Promise<{ exitStatus?: number; exitedAt?: string }> {
    const id = execId === record.id ? '' : execId
    this.process(record, id)
    await Promise.race([this.host.tasks.waitExit(record, id), new Promise((resolve) => signal.addEventListener('abort', resolve))])
    if (signal.aborted) throw new RuntimeError('Unknown', 'wait was cancelled: context canceled')
    const p = id ? record.task?.execs?.[id] : record.task
    if (p) return p
    // A CRI container's task is deleted as it exits; its exit lives on in CRI's record.
    return isAppContainer(record) ? { exitStatus: record.cri.exit?.exitCode, exitedAt: record.cri.exit?.finishedAt } : {}
  }

  /** Deletes the task once its init has ended; what it was is returned (its exit). */
  delete(record: ContainerRecord): TaskRecord {
    this.task(record)
    return this.host.tasks.delete(record) as TaskRecord
  }

  deleteExec(record: ContainerRecord, execId: string): ExecRecord {
    this.task(record)
    if (execId === '') throw invalidArgument('exec id cannot be empty: invalid argument')
    return this.host.tasks.deleteExec(record, execId)
  }
}
