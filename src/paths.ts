// Finds files shipped with the package (proto/, fixtures/) whether running from the repo's src/
// through a TS loader, from dist/, or from an installed tarball.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'proto'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('fake-containerd: cannot find its package directory (proto/ next to package.json)')
    dir = parent
  }
  return dir
})()

export function packagePath(...parts: string[]): string {
  return join(root, ...parts)
}
