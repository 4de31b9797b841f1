// Tasks service: containerd's view of processes — create a task for a container (with the FIFOs
// the client made), start, signal, wait, exec, delete. The processes are the same simulated ones
// CRI uses, so `ctr -n k8s.io tasks kill` ends a CRI container as a real kill would.
import type { Process } from '../generated/containerd/v1/types/Process.js'
import type { TasksHandlers } from '../generated/containerd/services/tasks/v1/Tasks.js'
import { RuntimeError, invalidArgument } from '../model/errors.js'
import type { Node } from '../model/node.js'
import type { ProcessSpec } from '../model/runtime/process-env.js'
import { memoryLimitOf, memorySwapOf, pidsLimitOf } from '../model/runtime/stats.js'
import type { ContainerRecord, ExecRecord, TaskRecord, TaskStatus } from '../store/schema.js'
import { encodeMessage } from '../proto/load.js'
import type { Implementation } from '../rpc/adapter.js'
import { namespaceOf } from './context.js'
import { PROCESS_TYPE_URL, jsonAny, timestamp } from './convert.js'
import { parseFilters, type Adaptor } from './filters.js'

const STATUS: Record<TaskStatus, 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED'> = {
  created: 'CREATED',
  running: 'RUNNING',
  stopped: 'STOPPED',
  paused: 'PAUSED',
}

function toProcess(containerId: string, id: string, p: TaskRecord | ExecRecord): Process {
  return {
    container_id: containerId,
    id,
    pid: p.pid,
    status: STATUS[p.status],
    stdin: p.io?.stdin ?? '',
    stdout: p.io?.stdout ?? '',
    stderr: p.io?.stderr ?? '',
    terminal: p.io?.terminal ?? false,
    exit_status: p.exitStatus ?? 0,
    exited_at: timestamp(p.exitedAt),
  }
}

const MAX_UINT64 = '18446744073709551615'

export function tasksService(node: Node): Implementation<TasksHandlers> {
  const { taskService } = node
  const container = (ctx: Parameters<typeof namespaceOf>[0], id: string): ContainerRecord => node.containerStore.get(namespaceOf(ctx), id)

  return {
    Create: (req, ctx) => {
      const record = container(ctx, req.container_id)
      if (req.checkpoint) throw new RuntimeError('Unimplemented', 'restoring a task from a checkpoint is not simulated: not implemented')
      const io = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal }
      const t = taskService.create(record, io, req.rootfs)
      return { container_id: record.id, pid: t.pid }
    },

    Start: (req, ctx) => {
      const record = container(ctx, req.container_id)
      if (req.exec_id === '' || req.exec_id === record.id) return { pid: taskService.start(record, ctx.nodeFaults).pid }
      return { pid: taskService.startExec(record, req.exec_id).pid }
    },

    Delete: (req, ctx) => {
      const deleted = taskService.delete(container(ctx, req.container_id))
      return { id: '', pid: deleted.pid, exit_status: deleted.exitStatus ?? 0, exited_at: timestamp(deleted.exitedAt) }
    },

    DeleteProcess: (req, ctx) => {
      const exec = taskService.deleteExec(container(ctx, req.container_id), req.exec_id)
      return { id: req.exec_id, pid: exec.pid, exit_status: exec.exitStatus ?? 0, exited_at: timestamp(exec.exitedAt) }
    },

    Get: (req, ctx) => {
      const record = container(ctx, req.container_id)
      return { process: toProcess(record.id, req.exec_id || record.id, taskService.process(record, req.exec_id)) }
    },

    List: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const match = parseFilters(req.filter ? [req.filter] : [])
      const adaptor =
        (c: ContainerRecord): Adaptor =>
        (path) =>
          path[0] === 'id' || path[0] === 'container_id' ? c.id : path[0] === 'status' ? STATUS[c.task!.status].toLowerCase() : undefined
      return {
        tasks: node.containerStore
          .list(namespace)
          .filter((c) => c.task && match(adaptor(c)))
          .map((c) => toProcess(c.id, c.id, c.task as TaskRecord)),
      }
    },

    Kill: (req, ctx) => {
      taskService.kill(container(ctx, req.container_id), req.exec_id, req.signal, req.all)
      return {}
    },

    Exec: (req, ctx) => {
      const record = container(ctx, req.container_id)
      // Read once the shim has checked the exec id and the task's state, as the shim reads it.
      const process = (): ProcessSpec | undefined => {
        const spec = jsonAny(req.spec, 'exec process spec')
        if (req.spec && req.spec.type_url !== PROCESS_TYPE_URL && !req.spec.type_url.endsWith('/Process')) {
          throw invalidArgument(`exec process spec has type ${req.spec.type_url}, want ${PROCESS_TYPE_URL}: invalid argument`)
        }
        return spec as ProcessSpec | undefined
      }
      const io = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal }
      taskService.addExec(record, req.exec_id, process, io)
      return {}
    },

    ResizePty: (req, ctx) => {
      taskService.resize(container(ctx, req.container_id), req.exec_id, req.width, req.height)
      return {}
    },

    CloseIO: async (req, ctx) => {
      const record = container(ctx, req.container_id)
      taskService.process(record, req.exec_id)
      if (req.stdin) await node.tasks.closeStdin(record.id, req.exec_id === record.id ? '' : req.exec_id)
      return {}
    },

    Pause: (req, ctx) => {
      node.tasks.setPaused(container(ctx, req.container_id), true)
      return {}
    },

    Resume: (req, ctx) => {
      node.tasks.setPaused(container(ctx, req.container_id), false)
      return {}
    },

    ListPids: (req, ctx) => {
      const record = container(ctx, req.container_id)
      taskService.task(record)
      // Every process in the container's cgroup: its init, execs and the children they started. The
      // runc shim names an exec'd process's exec id in its info.
      const execIds = new Map(Object.entries(record.task?.execs ?? {}).map(([id, e]) => [e.pid, id]))
      return {
        processes: node.pids.ofContainer(record.id).map((p) => {
          const execId = execIds.get(p.hostPid)
          const type = 'containerd.runc.v1.ProcessDetails'
          return { pid: p.hostPid, info: execId ? { type_url: type, value: encodeMessage(type, { exec_id: execId }) } : null }
        }),
      }
    },

    Checkpoint: (req, ctx) => {
      const info = node.tasks.checkpoint(container(ctx, req.container_id))
      return {
        descriptors: [
          {
            media_type: 'application/vnd.containerd.container.criu.checkpoint.criu.tar',
            digest: info.digest,
            size: String(info.size),
            annotations: {},
          },
        ],
      }
    },

    Update: (req, ctx) => {
      const record = container(ctx, req.container_id)
      taskService.task(record)
      const resources = jsonAny(req.resources, 'task resources')
      if (resources) node.tasks.update(record, resources)
      return {}
    },

    Metrics: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const match = parseFilters(req.filters)
      // Every task whose cgroup exists: a created one's holds runc's init.
      const metrics = node.containerStore
        .list(namespace)
        .filter((c) => c.task && c.task.status !== 'stopped' && match((path) => (path[0] === 'id' ? c.id : undefined)))
        .map((c) => taskMetric(node, c))
      return { metrics }
    },

    Wait: async (req, ctx) => {
      const exit = await taskService.wait(container(ctx, req.container_id), req.exec_id, ctx.signal)
      return { exit_status: exit.exitStatus ?? 0, exited_at: timestamp(exit.exitedAt) }
    },
  }
}

/** One task's cgroup metrics (cgroups v2), as Tasks.Metrics and the sandbox controller's Metrics answer them. */
export function taskMetric(
  node: Node,
  c: ContainerRecord,
): { timestamp: ReturnType<typeof timestamp>; id: string; data: { type_url: string; value: Buffer } } {
  const limit = memoryLimitOf(c)
  const u = node.usage(c)
  const usec = (u.cpuUsageCoreNs / 1000n).toString()
  // As containerd's cgroups v2 reader answers: "max" in memory.max, memory.swap.max, pids.max is MaxUint64.
  const swap = memorySwapOf(c)
  const pids = pidsLimitOf(c)
  const data = encodeMessage('io.containerd.cgroups.v2.Metrics', {
    pids: { current: String(u.processCount), limit: pids > 0n ? pids.toString() : MAX_UINT64 },
    cpu: {
      usage_usec: usec,
      user_usec: ((u.cpuUsageCoreNs * 7n) / 10_000n).toString(),
      system_usec: ((u.cpuUsageCoreNs * 3n) / 10_000n).toString(),
    },
    memory: {
      usage: u.memoryUsageBytes.toString(),
      usage_limit: limit > 0n ? limit.toString() : MAX_UINT64,
      swap_limit: swap === 'max' ? MAX_UINT64 : swap,
      anon: u.memoryRssBytes.toString(),
      pgfault: u.pageFaults.toString(),
    },
  })
  return {
    timestamp: timestamp(u.timestamp.toString()),
    id: c.id,
    data: { type_url: 'io.containerd.cgroups.v2.Metrics', value: data },
  }
}
