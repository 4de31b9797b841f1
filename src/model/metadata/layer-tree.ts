// An imported image's files: the layers Diff.Apply indexed (store/schema.ts LayerEntry), lowest
// first, composed as overlayfs shows them. Each layer's whiteouts remove what the layers below hold
// (a path and everything under it), an opaque directory hides everything below it, then its own
// entries are added (a directory over a directory only takes the new attributes). A file's bytes
// stay in the layer's tar (the layer store, src/store/blobs.ts) and are read when the file is read;
// hard links share one node. Containers of the image share the tree (sim/fs/image.ts ImageFiles).
import { joinPath, parentOf } from '../../sim/fs/backend.js'
import { IMAGE_TIME, type ImageFiles } from '../../sim/fs/image.js'
import { MemLayer, dirNode, linkNode, type FileSource, type MemNode } from '../../sim/fs/mem.js'
import type { AppliedLayer, LayerEntry } from '../../store/schema.js'
import { OPAQUE } from './layers.js'

/** Reads `length` bytes at `offset` of a layer's uncompressed tar (by its digest). */
export type LayerReader = (tar: string, offset: number, length: number) => Buffer

const EMPTY = Buffer.alloc(0)

/** The bytes of one file in a layer's tar; a memory store answers with a view, a file store reads them. */
function tarSource(read: LayerReader, tar: string, offset: number, size: number): FileSource {
  const slice = (from: number, length: number): Buffer => {
    const n = Math.max(0, Math.min(length, size - from))
    if (n === 0 || tar === '') return EMPTY
    try {
      return read(tar, offset + from, n)
    } catch {
      return EMPTY
    }
  }
  return { size, read: () => slice(0, size), slice }
}

function nodeOf(e: LayerEntry, read: LayerReader, tar: string): MemNode {
  const [, kind, mode, uid, gid, mtimeMs, size, where] = e
  switch (kind) {
    case 'd':
      return dirNode(mode, mtimeMs, uid, gid)
    case 'l':
      return linkNode(String(where ?? ''), mtimeMs, uid, gid)
    case 'c':
    case 'b':
    case 'p':
      // The simulator's files are regular files, directories, symlinks and character devices.
      return { type: 'char', mode, uid, gid, mtimeMs, rdev: [size >>> 20, size & 0xfffff] }
    default:
      return { type: 'file', mode, uid, gid, mtimeMs, source: tarSource(read, tar, typeof where === 'number' ? where : 0, size) }
  }
}

/**
 * Where `p` lands in the tree as containerd's fs.RootPath resolves its parent: a symlink among the
 * parent's components is followed inside the root (an absolute target starts again at "/"), so a
 * file a layer lists under /lib, where a lower layer made /lib a link to usr/lib, goes to /usr/lib.
 */
function landing(tree: MemLayer, p: string): string {
  const slash = p.lastIndexOf('/')
  const base = p.slice(slash + 1)
  const parts = p
    .slice(0, slash)
    .split('/')
    .filter((c) => c !== '')
  const dir: string[] = []
  let links = 0
  while (parts.length > 0) {
    const part = parts.shift() as string
    if (part === '.') continue
    if (part === '..') {
      dir.pop()
      continue
    }
    const node = tree.get(`/${[...dir, part].join('/')}`)
    if (node?.type === 'symlink' && node.target !== undefined && links++ < 40) {
      if (node.target.startsWith('/')) dir.length = 0
      parts.unshift(...node.target.split('/').filter((c) => c !== ''))
      continue
    }
    dir.push(part)
  }
  return dir.length === 0 ? `/${base}` : `/${dir.join('/')}/${base}`
}

/** Composes a chain of applied layers (lowest first) into one tree. */
export function layerTree(layers: readonly AppliedLayer[], read: LayerReader): MemLayer {
  const tree = new MemLayer(dirNode(0o755, IMAGE_TIME))
  for (const layer of layers) {
    // An opaque directory hides what the layers below hold in it, not what this layer unpacks there
    // (overlayfs's opaque xattr; containerd's unpackedPaths).
    const own = new Set(layer.entries.filter((e) => e[1] !== 'w' && e[1] !== 'o').map((e) => e[0]))
    // In order, as archive.Apply goes through the tar: a whiteout removes what is there so far.
    for (const e of layer.entries) {
      const kind = e[1]
      // An opaque marker's directory is resolved whole (it is the marker's parent).
      const p = kind === 'o' ? parentOf(landing(tree, joinPath(e[0], OPAQUE))) : landing(tree, e[0])
      if (kind === 'w') {
        tree.delete(p)
        continue
      }
      if (kind === 'o') {
        for (const name of tree.children(p)) {
          const child = joinPath(p, name)
          if (!own.has(child)) tree.delete(child)
        }
        continue
      }
      const existing = tree.get(p)
      if (kind === 'h') {
        const target = tree.get(landing(tree, String(e[7] ?? '')))
        if (!target) continue
        if (existing && existing !== target) tree.delete(p)
        target.nlink = (target.nlink ?? 1) + 1
        tree.set(p, target)
        continue
      }
      const node = nodeOf(e, read, layer.tar)
      if (existing?.type === 'dir' && node.type === 'dir') {
        // A directory over a directory: the new attributes, the old entries.
        Object.assign(existing, { mode: node.mode, uid: node.uid, gid: node.gid, mtimeMs: node.mtimeMs })
        continue
      }
      if (existing) {
        tree.delete(p)
        if (existing.nlink !== undefined && existing.nlink > 1) existing.nlink--
      }
      tree.set(p, node)
    }
  }
  return tree
}

/** The image files of a chain of applied layers: the tree is built once, when a container first needs it. */
export function layerFiles(key: string, layers: readonly AppliedLayer[], read: LayerReader): ImageFiles {
  let tree: MemLayer | undefined
  return { key, tree: () => (tree ??= layerTree(layers, read)) }
}
