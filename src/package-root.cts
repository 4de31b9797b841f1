// The package's own directory (proto/ next to package.json), found from a module's directory whether
// it runs from src/ through a TS loader, from dist/, or from an installed package. CommonJS, so that
// the CommonJS entries (index.cts, testing/jest.cts) and the ESM modules (paths.ts) share it.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** The nearest directory at or above `from` that holds both package.json and proto/. */
export function findPackageRoot(from: string, who = 'fake-containerd'): string {
  let dir = from
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'proto'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`${who}: cannot find its package directory (proto/ next to package.json)`)
    dir = parent
  }
  return dir
}
