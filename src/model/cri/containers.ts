// CRI app containers. State machine (containerd's CRI):
//
//   CreateContainer ──▶ CREATED ──StartContainer──▶ RUNNING ──exit / StopContainer──▶ EXITED
//        RemoveContainer removes from any state (a RUNNING one is killed first).
//
// A container is a containerd container record; RUNNING means it has a running task. When the
// task exits, CRI remembers the exit on the record and deletes the task, as containerd does.
import { merged } from '../own.js'
import { isAbsolute, join, relative } from 'node:path'
import type { ContainerConfig__Output } from '../../generated/runtime/v1/ContainerConfig.js'
import type { LinuxContainerResources__Output as LinuxContainerResources } from '../../generated/runtime/v1/LinuxContainerResources.js'
import type { FiredNodeFaults } from '../../faults/engine.js'
import type { PodSandboxConfig__Output } from '../../generated/runtime/v1/PodSandboxConfig.js'
import type { ContainerRecord, StatePath, StoredContainerConfig } from '../../store/schema.js'
import { readScript } from '../../sim/program.js'
import type { ExitInfo } from '../../sim/process.js'
import { SIGKILL, SIGTERM, parseSignal } from '../../sim/signals.js'
import { invalidArgument, nameReserved, notFound, unknown, wrap } from '../errors.js'
import { getByPrefix, newId } from '../ids.js'
import { CRI_NAMESPACE, UNPACK_SNAPSHOTTER } from '../metadata/images.js'
import type { SimClock } from '../../sim/clock.js'
import type { ContainerStore } from '../metadata/container-store.js'
import type { Images } from '../metadata/images.js'
import type { Snapshots } from '../metadata/snapshots.js'
import type { LifecycleEventType } from '../events.js'
import type { TaskService } from '../runtime/task-service.js'
import type { Tasks } from '../runtime/tasks.js'
import type { ContainerViews } from '../runtime/views.js'
import type { CriIndex } from './record-index.js'
import { containerName, criState, isAppContainer, type AppContainerRecord } from './records.js'
import { containerUser, criBindMounts, containerEnv, effectiveArgs, hostNamespaces, loadSeccomp, ociSpec, pidNamespace } from './spec.js'
import { resolveUserGid, resolveUserName, type ProcessHost, type ProcessSpec } from '../runtime/process-env.js'
import { nowString } from '../time.js'

/** The parts of the node CRI's containers act on (Node has them all). */
export interface ContainersHost extends ProcessHost {
  changed(...paths: StatePath[]): void
  publish(type: LifecycleEventType, containerId: string, sandboxId: string): void
  readonly clock: SimClock
  readonly containerStore: ContainerStore
  readonly criIndex: CriIndex
  readonly images: Images
  readonly snapshots: Snapshots
  readonly views: ContainerViews
  readonly tasks: Tasks
  readonly taskService: TaskService
}

export class Containers {
  constructor(private readonly node: ContainersHost) {}

  all(): AppContainerRecord[] {
    return [...this.node.criIndex.containers.values()]
  }

  find(idOrPrefix: string): AppContainerRecord | undefined {
    return this.node.criIndex.containers.find(idOrPrefix)
  }

  /** Like find, but a missing container is containerd's NotFound error. */
  get(idOrPrefix: string): AppContainerRecord {
    return getByPrefix(() => this.find(idOrPrefix), `an error occurred when try to find container ${JSON.stringify(idOrPrefix)}`)
  }

  create(sandboxIdOrPrefix: string, request: ContainerConfig__Output, sandboxConfig: PodSandboxConfig__Output | null): AppContainerRecord {
    const node = this.node
    const config: StoredContainerConfig = { ...request, envs: request.envs.map((e) => ({ key: e.key, value: e.value.toString('utf8') })) }
    const sandbox = node.sandboxes.get(sandboxIdOrPrefix, `failed to find sandbox id ${JSON.stringify(sandboxIdOrPrefix)}`)
    if (!sandbox.cri.ready) throw unknown(`sandbox container ${JSON.stringify(sandbox.id)} is not running`)
    if (!config.metadata) throw invalidArgument('container config must include metadata')
    if (!config.metadata.name) throw invalidArgument('container config metadata must include a name')
    const podConfig = sandboxConfig?.metadata ? sandboxConfig : sandbox.cri.config
    const name = containerName(config, podConfig)
    const holder = this.node.criIndex.containerNamed(name)
    if (holder) throw nameReserved('container', name, holder)
    const imageRef = config.image?.image ?? ''
    if (imageRef === '') throw invalidArgument('container config must name an image (image.image is empty)')
    let image
    try {
      image = node.images.resolve(imageRef)
    } catch (err) {
      throw wrap(err, `failed to resolve image ${JSON.stringify(imageRef)}`)
    }
    if (!image) throw notFound(`failed to resolve image ${JSON.stringify(imageRef)}: not found`)
    const script = readScript(config.annotations)
    if (typeof script === 'string') throw invalidArgument(script)
    const user = containerUser(config, image.content.config)
    const seccomp = loadSeccomp(config.linux?.security_context)
    const stopSignal = config.stop_signal && config.stop_signal !== 'RUNTIME_DEFAULT' ? config.stop_signal : image.content.config.stopSignal
    if (stopSignal && parseSignal(stopSignal) === undefined)
      throw invalidArgument(`failed to parse stop signal ${JSON.stringify(stopSignal)}: unknown signal`)

    const id = newId()
    const mounts = criBindMounts(id, config.mounts)
    const now = nowString()
    const logDir = sandbox.cri.config.log_directory
    const logPath = logDir && config.log_path ? join(logDir, config.log_path) : ''
    // kubelet names a file under the pod's log directory; a path that climbs out of it is refused.
    if (logPath !== '' && !isInside(logDir, logPath)) {
      throw invalidArgument(
        `container log path ${JSON.stringify(config.log_path)} is outside the sandbox log directory ${JSON.stringify(logDir)}`,
      )
    }
    const args = effectiveArgs(image.content.config, config.command, config.args)
    const record: AppContainerRecord = {
      namespace: CRI_NAMESPACE,
      id,
      image: image.repoTags[0] ?? image.id,
      labels: merged(config.labels, { 'io.cri-containerd.kind': 'container' }),
      runtime: { name: 'io.containerd.runc.v2' },
      snapshotter: 'overlayfs',
      snapshotKey: id,
      spec: ociSpec({
        id,
        sandboxId: sandbox.id,
        args,
        env: containerEnv(image.content.config.env, sandbox.cri.hostname, config.envs),
        cwd: config.working_dir || image.content.config.workingDir,
        user,
        // The pod config's, as containerd's spec has it: empty leaves the container the host's name.
        hostname: sandbox.cri.config.hostname ?? '',
        annotations: merged(config.annotations, {
          'io.kubernetes.cri.container-type': 'container',
          'io.kubernetes.cri.container-name': config.metadata.name,
          'io.kubernetes.cri.sandbox-id': sandbox.id,
          'io.kubernetes.cri.sandbox-name': sandbox.cri.config.metadata?.name ?? '',
          'io.kubernetes.cri.sandbox-namespace': sandbox.cri.config.metadata?.namespace ?? '',
          'io.kubernetes.cri.sandbox-uid': sandbox.cri.config.metadata?.uid ?? '',
          'io.kubernetes.cri.image-name': imageRef,
        }),
        readonlyRootfs: config.linux?.security_context?.readonly_rootfs ?? false,
        pidNamespace: pidNamespace(config),
        ...hostNamespaces(sandbox.cri.config),
        cgroupParent: sandbox.cri.config.linux?.cgroup_parent ?? '',
        resources: config.linux?.resources ?? undefined,
        security: config.linux?.security_context ?? null,
        ...(seccomp ? { seccomp } : {}),
        mounts,
      }),
      createdAt: now,
      updatedAt: now,
      cri: {
        kind: 'container',
        sandboxId: sandbox.id,
        config,
        name,
        imageId: image.id,
        logPath,
        createdAt: now,
        stopSignal: stopSignal || 'SIGTERM',
        ...(config.linux?.resources ? { resources: config.linux.resources } : {}),
      },
    }
    // A user named rather than numbered (RunAsUsername, or an image USER name) is looked up in the
    // image's /etc/passwd, as containerd does when it builds the spec; so is the primary group of a
    // uid given without one.
    const sc = config.linux?.security_context
    if (user.username && sc?.run_as_user == null) resolveUserName(node, record, user.username)
    else if (sc?.run_as_group == null && !image.content.config.user.includes(':')) resolveUserGid(node, record)
    node.snapshots.prepareUnmounted(UNPACK_SNAPSHOTTER, CRI_NAMESPACE, id, node.images.topSnapshot(CRI_NAMESPACE, image.id), {})
    // As containerd (WithAdditionalGIDs, WithSupplementalGroups): the groups the image's /etc/group
    // gives the user join the primary and supplemental ones, sorted.
    const procUser = (record.spec.process as ProcessSpec).user
    if (procUser) procUser.additionalGids = node.views.identity(record).groups
    node.containerStore.add(record)
    node.publish('CREATED', id, sandbox.id)
    return record
  }

  /** Starts a created container; a crash or oom node fault that fires is noted in `noted`. */
  start(idOrPrefix: string, noted?: FiredNodeFaults): void {
    const node = this.node
    const c = this.get(idOrPrefix)
    const state = criState(c)
    if (state !== 'CONTAINER_CREATED' || c.cri.started) {
      throw unknown(`failed to set starting state for container ${JSON.stringify(c.id)}: container is in ${state} state`)
    }
    const sandbox = node.sandboxes.find(c.cri.sandboxId)
    if (!sandbox) throw notFound(`sandbox ${JSON.stringify(c.cri.sandboxId)} not found: not found`)
    if (!sandbox.cri.ready) throw unknown(`sandbox container ${JSON.stringify(sandbox.id)} is not running`)
    c.cri.started = true
    try {
      node.taskService.create(c)
    } catch (err) {
      // As containerd: a container that fails to start is EXITED with 128, reason StartError.
      const failure = wrap(err, 'failed to create containerd task')
      c.cri.exit = { startedAt: '0', finishedAt: nowString(), exitCode: 128, reason: 'StartError', message: failure.message }
      node.changed(['containers', c.id])
      throw failure
    }
    node.taskService.start(c, noted)
    node.publish('STARTED', c.id, sandbox.id)
  }

  /** Sends the stop signal, waits up to `timeoutSeconds`, then SIGKILL. A stopped container is left as is. */
  async stop(idOrPrefix: string, timeoutSeconds: number): Promise<void> {
    const c = this.find(idOrPrefix)
    if (!c || criState(c) !== 'CONTAINER_RUNNING') return
    const tasks = this.node.tasks
    if (timeoutSeconds > 0) {
      tasks.kill(c.id, parseSignal(c.cri.stopSignal) ?? SIGTERM)
      const timedOut = Symbol('timeout')
      const controller = new AbortController()
      const result = await Promise.race([
        tasks.waitExit(c),
        this.node.clock.sleep(timeoutSeconds * 1000, controller.signal).then(
          () => timedOut,
          () => undefined,
        ),
      ])
      controller.abort()
      if (result !== timedOut) return
    }
    tasks.kill(c.id, SIGKILL)
    await tasks.waitExit(c)
  }

  async remove(idOrPrefix: string): Promise<void> {
    const c = this.find(idOrPrefix)
    if (!c) return
    if (criState(c) === 'CONTAINER_RUNNING') {
      this.node.tasks.kill(c.id, SIGKILL)
      await this.node.tasks.waitExit(c)
    }
    this.node.containerStore.delete(CRI_NAMESPACE, c.id)
    this.node.publish('DELETED', c.id, c.cri.sandboxId)
  }

  updateResources(idOrPrefix: string, resources: LinuxContainerResources | null): void {
    const c = this.get(idOrPrefix)
    if (criState(c) === 'CONTAINER_EXITED') {
      throw unknown(`failed to update resources: container ${JSON.stringify(c.id)} is in CONTAINER_EXITED state`)
    }
    if (resources) {
      c.cri.resources = resources
      const linux = c.spec.linux as Record<string, unknown> | undefined
      if (linux) linux.resources = resources
    }
    c.updatedAt = nowString()
    this.node.changed(['containers', c.id])
  }

  reopenLog(idOrPrefix: string): void {
    const c = this.get(idOrPrefix)
    if (criState(c) !== 'CONTAINER_RUNNING') throw unknown('container is not running')
    if (c.cri.logPath && !this.node.tasks.reopenLog(c.id)) throw unknown(`failed to reopen log of container ${JSON.stringify(c.id)}`)
  }

  onExit(record: ContainerRecord, exit: ExitInfo): void {
    if (!isAppContainer(record)) return
    const task = record.task
    record.cri.exit = {
      startedAt: task?.startedAt ?? record.cri.createdAt,
      finishedAt: task?.exitedAt ?? nowString(),
      exitCode: exit.code,
      reason: exit.reason ?? (exit.code === 0 ? 'Completed' : 'Error'),
      message: '',
    }
    // CRI deletes a container's task once it has exited, keeping the exit on the container.
    this.node.tasks.delete(record)
    record.updatedAt = nowString()
    this.node.changed(['containers', record.id])
    this.node.publish('STOPPED', record.id, record.cri.sandboxId)
  }
}

/** True when `path` is below the directory `dir` (not `dir` itself), by its words: no symlink is followed. */
function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path)
  return rel !== '' && rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel)
}
