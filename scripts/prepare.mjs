// npm's "prepare": builds dist/ when it is missing or older than the sources. npm runs it after
// `npm install` in a clone and when it installs the package from git (`npm install git+https://…`),
// where it runs twice in the temporary clone (after installing the dev dependencies, then before
// packing): the second run finds dist/ up to date and does nothing. `npm run build` always builds.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..')
const built = join(root, 'dist', 'cli.js')

/** The newest modification time of the files under dir (or of dir itself, if a file). */
function newest(path) {
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
}

const sources = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p))
if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) {
  console.log('fake-containerd: dist/ is up to date')
} else {
  let tsc
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  } catch {
    console.error('fake-containerd: building dist/ needs the dev dependencies (typescript): run "npm install" in the clone')
    process.exit(1)
  }
  console.log('fake-containerd: building dist/')
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
