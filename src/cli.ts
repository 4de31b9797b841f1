#!/usr/bin/env node
// fake-containerd's command line: flags (or environment variables, or a --config file; the table is in
// flags.ts) → one server on a socket.
import { dirname } from 'node:path'
import { PACKAGE_VERSION } from './config.js'
import { configYaml, readConfigFile } from './config-file.js'
import { helpText, parseFlags, UsageError } from './flags.js'
import { startFakeContainerd } from './server.js'
import { startFakeCluster } from './cluster/cluster.js'
import type { CommandLineOptions } from './options.js'

/** A word for a POSIX shell: as it is when it needs no quoting, else in single quotes. */
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** What the CLI runs: one server, or a cluster of them (--nodes). */
interface Served {
  close(): Promise<void>
  /** The ready lines: where each node listens, then the first node's exports for crictl and ctr. */
  readonly ready: string
}

async function serve(options: CommandLineOptions): Promise<Served> {
  const exports = (address: string, socketPath: string): string =>
    `export CONTAINER_RUNTIME_ENDPOINT=${shellWord(address)}\nexport CONTAINERD_ADDRESS=${shellWord(socketPath)}\n`
  const { nodes, socketDir, socket, ...one } = options
  if (nodes === undefined) {
    if (socketDir !== undefined)
      throw new Error('--socket-dir is the directory of the nodes of --nodes: give --nodes N too, or use --socket')
    const server = await startFakeContainerd({ ...one, ...(socket !== undefined ? { socket } : {}) })
    return {
      close: () => server.close(),
      ready:
        `listening on ${server.address}\n` +
        (server.webUrl ? `web view at ${server.webUrl}\n` : '') +
        exports(server.address, server.socketPath),
    }
  }
  // --socket has a default, so the cluster's sockets go to --socket-dir, else next to --socket. Options
  // a cluster refuses (--web, --seed-state) are passed on for it to say so.
  const cluster = await startFakeCluster({ ...one, nodes, ...((socketDir ?? socket) ? { socketDir: socketDir ?? dirname(socket!) } : {}) })
  const lines = cluster.list().map((n) => `listening on ${n.address} (${n.name}: pod CIDR ${n.podCidr}, host address ${n.hostAddress})\n`)
  const first = cluster.nodes[0]!
  return { close: () => cluster.close(), ready: lines.join('') + exports(first.address, first.socketPath) }
}

/**
 * Started by npm (npx, npm exec, npm run), the server runs under the shell npm starts it in: npm
 * passes SIGTERM and SIGINT on to that shell, which ends without passing them on. So when the
 * parent goes (the process is handed to another), stop as on SIGTERM.
 */
function stopWithNpm(stop: () => void): void {
  if (!process.env.npm_lifecycle_event) return
  const parent = process.ppid
  const watch = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(watch)
    stop()
  }, 200)
  watch.unref()
}

async function main(): Promise<void> {
  let parsed
  try {
    parsed = parseFlags(process.argv.slice(2), process.env, readConfigFile)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`fake-containerd: ${err.message}\nRun 'fake-containerd --help' for the flags.\n`)
    process.exit(2)
  }
  if (parsed === 'help') return void process.stdout.write(helpText())
  if (parsed === 'version') return void process.stdout.write(`fake-containerd ${PACKAGE_VERSION}\n`)
  if ('print' in parsed) return void process.stdout.write(configYaml(parsed.print))
  // Signals are handled from before the socket is bound: a client may be served (and a supervisor
  // may signal) while the server is still starting. A stop asked for then happens once it has started.
  // The close is not timed out: the gRPC drain bounds itself (server.ts forces it after 1.5 s), and
  // what follows is the final state write and the lock's removal, which a forced exit would lose
  // (a cluster of many nodes with --state takes seconds). A second signal while closing exits at once;
  // npm's parent going (stopWithNpm) is no second signal.
  let server: Served | undefined
  let stopping = false
  let closing = false
  const stop = (): void => {
    if (stopping || !server) return void (stopping = true)
    stopping = true
    closing = true
    void server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`fake-containerd: ${(err as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  const onSignal = (): void => {
    if (!closing) return stop()
    process.stderr.write('fake-containerd: stopped by a second signal while closing, before its state was written\n')
    process.exit(1)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  stopWithNpm(stop)
  try {
    server = await serve(parsed)
  } catch (err) {
    process.stderr.write(`fake-containerd: ${(err as Error).message}\n`)
    process.exit(1)
  }
  if (stopping) {
    stopping = false
    return stop()
  }
  // The ready line(s), then what a shell needs for crictl and ctr (`eval "$(… | grep ^export)"`).
  process.stdout.write(server.ready)
}

void main()
