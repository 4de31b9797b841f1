// The built server (dist/cli.js) spawned for a benchmark on a socket in a temp dir, so its memory
// (/proc/<pid>/status) is its own: resolves once it prints the address it listens on.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * @param {(dir: string) => string[]} [extra] more flags, given the server's temp dir
 * @param {string[]} [nodeArgs] options for the server's node (--cpu-prof is not allowed in NODE_OPTIONS)
 * @returns {Promise<{ dir: string, child: import('node:child_process').ChildProcess, address: string }>}
 */
export async function spawnServer(extra = () => [], nodeArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'fc-bench-'))
  const child = spawn(process.execPath, [
    ...nodeArgs,
    join(root, 'dist/cli.js'),
    '--socket',
    join(dir, 'c.sock'),
    '--log-level',
    'error',
    ...extra(dir),
  ])
  const address = await new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      const m = /listening on (unix:\/\/\S+)/.exec(String(d))
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code}`)))
  })
  return { dir, child, address }
}
