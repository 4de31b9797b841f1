#!/usr/bin/env node
// fake-containerd's command line: flags (or environment variables, or a --config file; the table is in
// flags.ts) → one server on a socket.
import { PACKAGE_VERSION } from './config.js'
import { configYaml, readConfigFile } from './config-file.js'
import { helpText, parseFlags, UsageError } from './flags.js'
import { startFakeContainerd, type FakeContainerd } from './server.js'

/** A word for a POSIX shell: as it is when it needs no quoting, else in single quotes. */
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

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
  let server: FakeContainerd | undefined
  let stopping = false
  const stop = (): void => {
    if (stopping || !server) return void (stopping = true)
    stopping = true
    const forced = setTimeout(() => process.exit(1), 2000)
    forced.unref()
    void server.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  stopWithNpm(stop)
  try {
    server = await startFakeContainerd(parsed)
  } catch (err) {
    process.stderr.write(`fake-containerd: ${(err as Error).message}\n`)
    process.exit(1)
  }
  if (stopping) {
    stopping = false
    return stop()
  }
  // The ready line, then what a shell needs for crictl and ctr (`eval "$(… | grep ^export)"`).
  process.stdout.write(
    `listening on ${server.address}\n` +
      (server.webUrl ? `web view at ${server.webUrl}\n` : '') +
      `export CONTAINER_RUNTIME_ENDPOINT=${shellWord(server.address)}\n` +
      `export CONTAINERD_ADDRESS=${shellWord(server.socketPath)}\n`,
  )
}

void main()
