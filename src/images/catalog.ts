// The image catalog shipped in fixtures/images/: what a "registry" answers for each reference.
// Read once per process, so starting many servers (one per test) pays for it once.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packagePath } from '../paths.js'
import type { ImageConfig } from '../store/schema.js'

export interface CatalogEntry {
  repository: string
  tag: string | null
  manifestDigest: string
  configDigest: string
  size: number
  os: string
  architecture: string
  config: ImageConfig
  auth: { username: string; password: string } | null
}

let cached: CatalogEntry[] | undefined

export function catalog(): readonly CatalogEntry[] {
  if (cached) return cached
  const dir = packagePath('fixtures', 'images')
  const entries: CatalogEntry[] = []
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { images: CatalogEntry[] }
    entries.push(...parsed.images)
  }
  cached = entries
  return entries
}

/** Finds what a registry would serve for a normalised reference (by tag or by manifest digest). */
export function findInCatalog(repository: string, tag: string | undefined, digest: string | undefined): CatalogEntry | undefined {
  return catalog().find((e) => e.repository === repository && (digest !== undefined ? e.manifestDigest === digest : e.tag === tag))
}
