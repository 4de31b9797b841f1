// What CRI's streaming server does once a client has connected (containerd's streamRuntime):
// an exec'd process with the client's streams, the container's own stdio joined (attach), and a
// connection into the pod's network namespace (port-forward). The protocols (SPDY, WebSocket) are
// src/streaming's; this is the model's side of them.
import type { Stream } from '../../sim/process.js'
import { NetError } from '../../sim/net.js'
import type { Connection } from '../../sim/net.js'
import type { NodeNetwork } from '../../sim/net-namespaces.js'
import { SIGKILL } from '../../sim/signals.js'
import { RuntimeError, unknown } from '../errors.js'
import { networkNamespace } from '../runtime/network.js'
import type { Tasks } from '../runtime/tasks.js'
import type { Containers } from './containers.js'
import { startCriExec, type ExecSyncHost } from './exec-sync.js'
import { requireRunning } from './records.js'
import type { Sandboxes } from './sandboxes.js'

export interface StreamsHost extends ExecSyncHost {
  readonly containers: Pick<Containers, 'get'>
  readonly sandboxes: Pick<Sandboxes, 'get' | 'find' | 'all' | 'withNetns'>
  readonly tasks: Pick<Tasks, 'process' | 'input' | 'attach' | 'resize'>
  readonly network: Pick<NodeNetwork, 'view'>
}

/** A connected client, as the protocol gives it: where output goes, its stdin, its terminal's sizes. */
export interface StreamClient {
  /** Output for the client (a transport drops a stream the client did not ask for). */
  write(stream: Stream, text: string): void
  /** The client's stdin, when it sends one. */
  stdin?: { read(data: (chunk: Buffer) => void, end: () => void): void }
  /** Terminal sizes the client sends (a tty). */
  onResize?(listener: (width: number, height: number) => void): void
  /** Aborts when the client has gone. */
  readonly signal: AbortSignal
  /** Resolves when the client has taken enough of the output (a slow reader holds the process back). */
  drained?(): Promise<void>
}

/** ONLCR: a terminal turns the process's newlines into CR LF. */
const onlcr = (text: string): string => text.replace(/(?<!\r)\n/g, '\r\n')

/**
 * Runs `cmd` in a running container as ExecSync does, with the client's streams; resolves to its
 * exit code. A client that goes away takes the process with it (SIGKILL, as containerd's exec does
 * when its context ends).
 */
export async function execStream(
  node: StreamsHost,
  containerId: string,
  cmd: string[],
  tty: boolean,
  client: StreamClient,
): Promise<number> {
  const output = {
    write: (stream: Stream, text: string) => (tty ? client.write('stdout', onlcr(text)) : client.write(stream, text)),
    close: () => {},
    drained: () => client.drained?.() ?? Promise.resolve(),
  }
  const { execId, proc } = startCriExec(node, containerId, cmd, output, { stdin: client.stdin !== undefined, terminal: tty })
  const id = node.containers.get(containerId).id
  const input = node.tasks.input(id, execId)
  if (input) {
    client.stdin?.read(
      (chunk) => input.write(chunk.toString('utf8')),
      () => input.end(),
    )
  }
  if (tty) client.onResize?.((w, h) => node.tasks.resize(id, w, h, execId))
  const onGone = (): void => void proc.kill(SIGKILL)
  client.signal.addEventListener('abort', onGone, { once: true })
  try {
    return (await proc.exited).code
  } finally {
    client.signal.removeEventListener('abort', onGone)
  }
}

/**
 * Joins a running container's stdio (containerd's attachContainer): its output from now on, the
 * client's stdin into its stdin when it was made with `stdin: true`. Resolves when the container
 * exits, the client goes, or the client's stdin ends (see below).
 */
export async function attachStream(node: StreamsHost, containerId: string, tty: boolean, client: StreamClient): Promise<void> {
  const c = node.containers.get(containerId)
  requireRunning(c)
  const proc = node.tasks.process(c.id)
  if (!proc) throw unknown(`failed to load task: no running task found: task ${c.id} not found: not found`)
  const detach = node.tasks.attach(c.id, {
    write: (stream, text) => client.write(tty ? 'stdout' : stream, tty ? onlcr(text) : text),
    close: () => {},
    drained: () => client.drained?.() ?? Promise.resolve(),
  })
  const input = node.tasks.input(c.id)
  const stdinOnce = c.cri?.kind === 'container' && c.cri.config.stdin_once
  // The client's stdin ending (containerd's ContainerIO.Attach): with stdin_once and no tty, the
  // container's stdin closes and its output stays until it exits; otherwise the client is detached.
  const stdinDone = new Promise<void>((resolve) => {
    if (!input || !client.stdin) return
    client.stdin.read(
      (chunk) => input.write(chunk.toString('utf8')),
      () => (stdinOnce && !tty ? input.end() : resolve()),
    )
  })
  if (tty) client.onResize?.((w, h) => node.tasks.resize(c.id, w, h))
  try {
    await Promise.race([proc.exited, stdinDone, new Promise((resolve) => client.signal.addEventListener('abort', resolve, { once: true }))])
  } finally {
    detach?.()
  }
}

/**
 * Connects to `port` on localhost inside the pod's network namespace (the node's for a host-network
 * pod), as containerd's portForward dials; nothing listening is containerd's error.
 */
export function portForwardConnect(node: StreamsHost, sandboxId: string, port: number, signal: AbortSignal): Connection {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw unknown(`invalid port ${port}`)
  const s = node.sandboxes.find(sandboxId)
  if (!s) throw new RuntimeError('NotFound', `failed to find sandbox ${JSON.stringify(sandboxId)} in store: not found`)
  const where = s.cri.netnsPath || 'host'
  try {
    return node.network.view(networkNamespace(node.sandboxes, s)).connect({
      address: '127.0.0.1',
      port,
      owner: { pid: 0, name: 'containerd', uid: 0 },
      signal,
    })
  } catch (err) {
    if (!(err instanceof NetError)) throw err
    const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message.toLowerCase()
    throw unknown(
      `failed to execute portforward in network namespace ${JSON.stringify(where)}: failed to connect to localhost:${port} inside namespace ${JSON.stringify(s.id)}, IPv4: dial tcp4 127.0.0.1:${port}: connect: ${why} IPv6 dial tcp6 [::1]:${port}: connect: ${why} `,
    )
  }
}
