// The CRI RuntimeService face: validates and translates runtime.v1 calls onto the node model.
import type { RuntimeServiceHandlers } from '../generated/runtime/v1/RuntimeService.js'
import type { ContainerEventResponse } from '../generated/runtime/v1/ContainerEventResponse.js'
import { criState, requireRunning } from '../model/cri/records.js'
import { RuntimeError, invalidArgument, unknown } from '../model/errors.js'
import { execSync } from '../model/cri/exec-sync.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import type { RuntimeInfo } from './info.js'
import { checkpointArchive } from './checkpoint.js'
import { batches, listings } from './lists.js'
import { CriWire } from './wire.js'
import { toContainerStats, toContainerStatus, toPodSandboxStats, toPodSandboxStatus } from './convert.js'
import { METRIC_DESCRIPTORS, podSandboxMetrics } from './metrics.js'
import { checkName, requireId } from './validate.js'
import type { StreamRequest } from '../streaming/remotecommand.js'

/** Where Exec, Attach and PortForward send clients: the streaming server's URL for a cached request. */
export interface StreamUrls {
  url(request: StreamRequest): string
}

export function runtimeService(node: Node, info: RuntimeInfo, streams: StreamUrls): Implementation<RuntimeServiceHandlers> {
  const list = listings(node)
  const wire = new CriWire(node)

  /** The request's state check, as containerd's Exec and Attach make it before the stream server's. */
  const running = (id: string, context: string) => {
    const c = node.containers.find(id)
    if (!c) throw new RuntimeError('NotFound', `${context}: not found`)
    requireRunning(c)
    return c
  }
  /** The stream server's checks of an exec or attach request (kubelet's validateExecRequest, validateAttachRequest: "or", "and"). */
  const checkStreams = (req: { tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }, conjunction: 'or' | 'and'): void => {
    if (req.tty && req.stderr) throw invalidArgument('tty and stderr cannot both be true')
    if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument(`one of stdin, stdout, ${conjunction} stderr must be set`)
  }

  return {
    Version: () => info.version(),

    RunPodSandbox: async (req, ctx) => {
      if (!req.config) throw invalidArgument('sandbox config is required')
      const m = req.config.metadata
      if (m) {
        checkName(m.name, 'sandbox name')
        checkName(m.namespace, 'sandbox namespace')
        checkName(m.uid, 'sandbox uid')
      }
      return { pod_sandbox_id: (await node.sandboxes.run(req.config, req.runtime_handler, ctx.nodeFaults)).id }
    },

    StopPodSandbox: async (req) => {
      await node.sandboxes.stop(requireId(req.pod_sandbox_id, 'sandbox'))
      return {}
    },

    RemovePodSandbox: async (req) => {
      await node.sandboxes.remove(requireId(req.pod_sandbox_id, 'sandbox'))
      return {}
    },

    PodSandboxStatus: (req) => {
      const s = node.sandboxes.get(requireId(req.pod_sandbox_id, 'sandbox'))
      return wire.podSandboxStatus(node, s, node.sandboxes.containersOf(s.id), req.verbose, String(Date.now() * 1_000_000))
    },

    ListPodSandbox: (req) => wire.sandboxes(list.sandboxes(req.filter)),

    StreamPodSandboxes: async (req, _ctx, send) => batches(list.sandboxes(req.filter), (pods) => send(wire.sandboxes(pods))),

    CreateContainer: (req) => {
      requireId(req.pod_sandbox_id, 'sandbox')
      if (!req.config) throw invalidArgument('container config is required')
      if (req.config.metadata) checkName(req.config.metadata.name, 'container name')
      return { container_id: node.containers.create(req.pod_sandbox_id, req.config, req.sandbox_config).id }
    },

    StartContainer: (req, ctx) => {
      node.containers.start(requireId(req.container_id, 'container'), ctx.nodeFaults)
      return {}
    },

    StopContainer: async (req) => {
      const timeout = Number(req.timeout)
      if (!Number.isFinite(timeout) || timeout < 0) throw invalidArgument(`timeout must be zero or more seconds, got ${req.timeout}`)
      await node.containers.stop(requireId(req.container_id, 'container'), timeout)
      return {}
    },

    RemoveContainer: async (req) => {
      await node.containers.remove(requireId(req.container_id, 'container'))
      return {}
    },

    ListContainers: (req) => wire.containers(list.containers(req.filter)),

    StreamContainers: async (req, _ctx, send) => batches(list.containers(req.filter), (containers) => send(wire.containers(containers))),

    ContainerStatus: (req) => {
      const c = node.containers.get(requireId(req.container_id, 'container'))
      return wire.containerStatus(node, c, req.verbose)
    },

    UpdateContainerResources: (req) => {
      node.containers.updateResources(requireId(req.container_id, 'container'), req.linux)
      return {}
    },

    ReopenContainerLog: (req) => {
      node.containers.reopenLog(requireId(req.container_id, 'container'))
      return {}
    },

    ExecSync: async (req, ctx) => {
      requireId(req.container_id, 'container')
      const timeout = Number(req.timeout)
      if (!Number.isFinite(timeout) || timeout < 0) throw invalidArgument(`timeout must be zero or more seconds, got ${req.timeout}`)
      const r = await execSync(node, req.container_id, req.cmd, timeout, ctx.signal)
      return { stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr), exit_code: r.exitCode }
    },

    Exec: (req) => {
      if (req.container_id === '') throw invalidArgument('missing required container_id')
      const c = running(req.container_id, `failed to find container ${JSON.stringify(req.container_id)} in store`)
      checkStreams(req, 'or')
      const { tty, stdin, stdout, stderr } = req
      return { url: streams.url({ kind: 'exec', containerId: c.id, cmd: req.cmd, tty, stdin, stdout, stderr }) }
    },

    Attach: (req) => {
      if (req.container_id === '') throw invalidArgument('missing required container_id')
      const c = running(req.container_id, 'failed to find container in store')
      checkStreams(req, 'and')
      const { tty, stdin, stdout, stderr } = req
      return { url: streams.url({ kind: 'attach', containerId: c.id, tty, stdin, stdout, stderr }) }
    },

    PortForward: (req) => {
      if (req.pod_sandbox_id === '') throw invalidArgument('missing required pod_sandbox_id')
      const s = node.sandboxes.find(req.pod_sandbox_id)
      if (!s) throw new RuntimeError('NotFound', `failed to find sandbox ${JSON.stringify(req.pod_sandbox_id)}: not found`)
      if (!s.cri.ready) throw unknown('sandbox container is not running')
      return { url: streams.url({ kind: 'portforward', sandboxId: s.id, ports: req.port }) }
    },

    ContainerStats: (req) => {
      const c = node.containers.get(requireId(req.container_id, 'container'))
      return { stats: toContainerStats(c, node.usage(c)) }
    },

    ListContainerStats: (req) => ({ stats: list.containerStats(req.filter) }),

    StreamContainerStats: async (req, _ctx, send) =>
      batches(list.containerStats(req.filter), (container_stats) => send({ container_stats })),

    PodSandboxStats: (req) => {
      const id = requireId(req.pod_sandbox_id, 'sandbox')
      const s = node.sandboxes.find(id)
      if (!s) throw new RuntimeError('NotFound', `an error occurred when trying to find sandbox ${id}: not found`)
      if (!s.cri.ready) {
        throw new RuntimeError(
          'Unavailable',
          `failed to decode pod sandbox metrics ${id}: failed to get pod sandbox stats since sandbox container ${JSON.stringify(s.id)} is not in ready state: unavailable`,
        )
      }
      return { stats: toPodSandboxStats(node, s) }
    },

    ListPodSandboxStats: (req) => ({ stats: list.sandboxStats(req.filter) }),

    StreamPodSandboxStats: async (req, _ctx, send) =>
      batches(list.sandboxStats(req.filter), (pod_sandbox_stats) => send({ pod_sandbox_stats })),

    UpdateRuntimeConfig: (req) => {
      const cidr = req.runtime_config?.network_config?.pod_cidr ?? ''
      // containerd ignores an empty CIDR; a value is applied to sandboxes created from now on.
      if (cidr !== '') node.setPodCidr(cidr)
      return {}
    },

    Status: (req) => info.status(req.verbose),

    CheckpointContainer: async (req) => {
      const c = node.containers.get(requireId(req.container_id, 'container'))
      if (req.location === '') throw invalidArgument('checkpoint location is required')
      if (criState(c) !== 'CONTAINER_RUNNING') throw unknown(`container ${JSON.stringify(c.id)} is not running`)
      await checkpointArchive(c, req.location)
      return {}
    },

    GetContainerEvents: (_req, ctx, send) =>
      new Promise<void>((resolve) => {
        const unsubscribe = node.events.lifecycle.subscribe((event) => {
          const sandbox = node.sandboxes.find(event.sandboxId)
          const message: ContainerEventResponse = {
            container_id: event.containerId,
            container_event_type: `CONTAINER_${event.type}_EVENT`,
            created_at: event.at.toString(),
            pod_sandbox_status: sandbox ? toPodSandboxStatus(sandbox) : null,
            containers_statuses: node.sandboxes.containersOf(event.sandboxId).map((c) => toContainerStatus(node, c)),
          }
          send(message)
        })
        ctx.signal.addEventListener('abort', () => {
          unsubscribe()
          resolve()
        })
        ctx.sendHeaders()
      }),

    ListMetricDescriptors: () => ({ descriptors: METRIC_DESCRIPTORS }),

    ListPodSandboxMetrics: () => ({
      pod_metrics: node.sandboxes
        .all()
        .filter((s) => s.cri.ready)
        .map((s) => podSandboxMetrics(node, s)),
    }),

    StreamPodSandboxMetrics: async (_req, _ctx, send) =>
      batches(
        node.sandboxes
          .all()
          .filter((s) => s.cri.ready)
          .map((s) => podSandboxMetrics(node, s)),
        (pod_sandbox_metrics) => send({ pod_sandbox_metrics }),
      ),

    RuntimeConfig: () => ({ linux: { cgroup_driver: 'SYSTEMD' } }),

    UpdatePodSandboxResources: (req) => {
      node.sandboxes.updateResources(requireId(req.pod_sandbox_id, 'sandbox'), req.overhead, req.resources)
      return {}
    },
  }
}
