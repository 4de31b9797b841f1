// The image catalog shipped in fixtures/images/: what a "registry" answers for each reference.
// Read once per process, so starting many servers (one per test) pays for it once. The format is
// described in fixtures/images/README.md; an entry's optional `files` are checked when it is read.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packagePath } from '../paths.js'
import type { ImageFile } from '../sim/fs/image.js'
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
  /** Files the image has beyond the synthesised busybox-like tree, by absolute path. */
  files?: Readonly<Record<string, ImageFile>>
}

let cached: CatalogEntry[] | undefined
let filesById: Map<string, Readonly<Record<string, ImageFile>>> | undefined

export function catalog(): readonly CatalogEntry[] {
  if (cached) return cached
  const dir = packagePath('fixtures', 'images')
  const entries: CatalogEntry[] = []
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { images: (CatalogEntry & { files?: unknown })[] }
    for (const image of parsed.images) {
      const where = `${file}: ${image.repository}:${image.tag ?? ''}`
      const { files, ...rest } = image
      entries.push(files === undefined ? rest : { ...rest, files: parseImageFiles(files, where) })
    }
  }
  cached = entries
  return entries
}

/** Finds what a registry would serve for a normalised reference (by tag or by manifest digest). */
export function findInCatalog(repository: string, tag: string | undefined, digest: string | undefined): CatalogEntry | undefined {
  return catalog().find((e) => e.repository === repository && (digest !== undefined ? e.manifestDigest === digest : e.tag === tag))
}

/** The files a catalog image (by its id, the config digest) adds to its tree, if it adds any. */
export function catalogFiles(configDigest: string): Readonly<Record<string, ImageFile>> | undefined {
  filesById ??= new Map(catalog().flatMap((e) => (e.files ? [[e.configDigest, e.files] as const] : [])))
  return filesById.get(configDigest)
}

const KINDS = ['text', 'program', 'dir', 'symlink'] as const
const KEYS = new Set<string>([...KINDS, 'mode', 'uid', 'gid'])

/**
 * Checks an entry's `files` and turns it into ImageFiles: each key an absolute, normalised path
 * other than "/"; each value an object with exactly one of text (a string), program (a name),
 * dir (true) or symlink (a target), and optionally mode (octal digits in a string, "4755"), uid
 * and gid (non-negative integers). Throws an Error naming the file and path.
 */
export function parseImageFiles(raw: unknown, where: string): Record<string, ImageFile> {
  const fail = (message: string): never => {
    throw new Error(`fixtures/images/${where}: files: ${message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('must be an object of path → file')
  const out: Record<string, ImageFile> = {}
  for (const [path, value] of Object.entries(raw)) {
    const at = (message: string): never => fail(`${JSON.stringify(path)}: ${message}`)
    if (!/^(\/[^/\0]+)+$/.test(path) || path.split('/').some((p) => p === '.' || p === '..')) {
      at('must be an absolute path without ".", ".." or a trailing "/" (and not "/")')
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return at('must be an object')
    const v = value as Record<string, unknown>
    const unknownKey = Object.keys(v).find((k) => !KEYS.has(k))
    if (unknownKey !== undefined) at(`unknown field ${JSON.stringify(unknownKey)} (known: ${[...KEYS].join(', ')})`)
    const kinds = KINDS.filter((k) => v[k] !== undefined)
    if (kinds.length !== 1) at(`must have exactly one of ${KINDS.join(', ')}`)
    const kind = kinds[0] as (typeof KINDS)[number]
    if (kind === 'dir' ? v.dir !== true : typeof v[kind] !== 'string' || v[kind] === '') {
      at(kind === 'dir' ? 'dir must be true' : `${kind} must be a non-empty string`)
    }
    const meta: { mode?: number; uid?: number; gid?: number } = {}
    if (v.mode !== undefined) {
      if (kind === 'symlink') at('a symlink has no mode')
      if (typeof v.mode !== 'string' || !/^[0-7]{3,4}$/.test(v.mode)) at('mode must be octal digits in a string, such as "0644" or "4755"')
      meta.mode = parseInt(v.mode as string, 8)
    }
    for (const id of ['uid', 'gid'] as const) {
      const n = v[id]
      if (n === undefined) continue
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) at(`${id} must be a non-negative integer`)
      meta[id] = n as number
    }
    out[path] =
      kind === 'dir'
        ? { ...meta, dir: true }
        : kind === 'text'
          ? { ...meta, text: v.text as string }
          : kind === 'program'
            ? { ...meta, program: v.program as string }
            : { ...meta, symlink: v.symlink as string }
  }
  return out
}
