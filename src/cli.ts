#!/usr/bin/env node
// fake-containerd's command line: flags (or environment variables; the table is in flags.ts) → one server
// on a socket.
import { PACKAGE_VERSION } from './config.js'
import { helpText, parseFlags, UsageError } from './flags.js'
import { startFakeContainerd } from './server.js'

async function main(): Promise<void> {
  let parsed
  try {
    parsed = parseFlags(process.argv.slice(2), process.env)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`fake-containerd: ${err.message}\nRun 'fake-containerd --help' for the flags.\n`)
    process.exit(2)
  }
  if (parsed === 'help') return void process.stdout.write(helpText())
  if (parsed === 'version') return void process.stdout.write(`fake-containerd ${PACKAGE_VERSION}\n`)
  let server
  try {
    server = await startFakeContainerd(parsed)
  } catch (err) {
    process.stderr.write(`fake-containerd: ${(err as Error).message}\n`)
    process.exit(1)
  }
  const stop = (): void => {
    const forced = setTimeout(() => process.exit(1), 2000)
    forced.unref()
    void server.close().then(() => process.exit(0))
  }
  // Handlers first: a client may signal the moment it reads the ready line.
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdout.write(`listening on ${server.address}\n`)
}

void main()
