// Starts one fake-containerd: opens the state, builds the node, serves every face on one unix
// socket, and closes it all again without losing state.
import * as grpc from '@grpc/grpc-js'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { randomUUID } from 'node:crypto'
import { DEFAULTS, PACKAGE_VERSION, type FakeContainerdOptions } from './config.js'
import { runtimeInfo } from './cri/info.js'
import { services } from './services.js'
import { Node } from './model/node.js'
import { parseCidr } from './model/network.js'
import { catalog } from './images/catalog.js'
import { containerdProto, criProto } from './proto/load.js'
import { OpenCalls, adapt } from './rpc/adapter.js'
import { emptyState } from './store/schema.js'
import { StateStore } from './store/store.js'
import { fileBlobs, memoryBlobs } from './store/blobs.js'
import { createLogger } from './log.js'

// Load the wire definitions and the image catalog when the module is imported, so that starting a
// server (one per test) costs only its socket.
criProto()
containerdProto()
catalog()

export interface FakeContainerd extends AsyncDisposable {
  /** gRPC target for clients: unix:///path/to/socket */
  readonly address: string
  readonly socketPath: string
  /** The node model behind every face, for tests that look inside. */
  readonly node: Node
  /** Stops serving, ends open streams, writes the state, removes the socket. */
  close(): Promise<void>
}

export async function startFakeContainerd(options: FakeContainerdOptions = {}): Promise<FakeContainerd> {
  let tempDir: string | undefined
  let socketPath: string
  if (options.socket) socketPath = resolve(options.socket)
  else {
    tempDir = mkdtempSync(join(tmpdir(), 'fake-containerd-'))
    socketPath = join(tempDir, 'containerd.sock')
  }
  const log = createLogger(options.logLevel ?? 'warn')
  const podCidr = options.podCidr ?? DEFAULTS.podCidr
  parseCidr(podCidr)
  const store = await StateStore.open(options.state, () => emptyState(randomUUID(), podCidr))
  store.onError = (message) => log.error(message)
  const node = new Node(store, {
    sandboxImage: options.sandboxImage ?? DEFAULTS.sandboxImage,
    podCidr,
    runtimeHandlers: options.runtimeHandlers?.length ? options.runtimeHandlers : DEFAULTS.runtimeHandlers,
    pullPolicy: options.pullPolicy ?? DEFAULTS.pullPolicy,
    log,
    // Content bytes sit next to the state file (<state>.blobs/), or in memory with the state.
    blobs: options.state ? fileBlobs(`${resolve(options.state)}.blobs`) : memoryBlobs(),
  })
  node.events.lifecycle.subscribe((e) =>
    log.info(`${e.containerId === e.sandboxId ? 'sandbox' : 'container'} ${e.containerId} ${e.type.toLowerCase()}`),
  )
  node.resume()

  const open = new OpenCalls()
  const server = new grpc.Server()
  const runtimeVersion = options.runtimeVersion ?? DEFAULTS.runtimeVersion
  const info = runtimeInfo(node, { runtimeName: options.runtimeName ?? DEFAULTS.runtimeName, runtimeVersion })
  for (const s of services(node, info, { version: runtimeVersion, revision: `fake-containerd-${PACKAGE_VERSION}` })) {
    server.addService(s.definition, adapt(s.name, s.definition, s.impl, { open, log }))
  }

  try {
    await prepareSocket(socketPath)
    await new Promise<void>((ok, fail) =>
      server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? fail(err) : ok())),
    )
    chmodSync(socketPath, 0o660)
  } catch (err) {
    node.close()
    await store.close()
    throw err
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      open.abortAll()
      await new Promise<void>((done) => {
        const timer = setTimeout(() => {
          server.forceShutdown()
          done()
        }, 1500)
        server.tryShutdown(() => {
          clearTimeout(timer)
          done()
        })
      })
      node.close()
      await store.close()
      rmSync(socketPath, { force: true })
      if (tempDir) rmSync(tempDir, { recursive: true, force: true })
    })()
    return closing
  }

  return {
    address: `unix://${socketPath}`,
    socketPath,
    node,
    close,
    [Symbol.asyncDispose]: close,
  }
}

/** Replaces a stale socket file; refuses one that a live server still answers on. */
async function prepareSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true })
  if (!existsSync(path)) return
  const live = await new Promise<boolean>((answer) => {
    const probe = connect(path)
    probe.once('connect', () => {
      probe.destroy()
      answer(true)
    })
    probe.once('error', () => answer(false))
  })
  if (live) throw new Error(`another server is already listening on ${path}; stop it or choose another --socket`)
  unlinkSync(path)
}
