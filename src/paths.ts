// Finds files shipped with the package (proto/, fixtures/) whether running from the repo's src/
// through a TS loader, from dist/, or from an installed tarball.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findPackageRoot } from './package-root.cjs'

const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)))

export function packagePath(...parts: string[]): string {
  return join(root, ...parts)
}
