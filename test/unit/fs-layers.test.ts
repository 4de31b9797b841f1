import { describe, expect, test } from 'vitest'
import { layerFiles } from '../../src/model/metadata/layer-tree.js'
import { elfAskingFor } from '../containerd.js'
import type { AppliedLayer } from '../../src/store/schema.js'
import { createContainerFs, imageLayer, MemLayer, Overlay, Tmpfs } from '../../src/sim/fs/index.js'
import { dirNode, fileNode } from '../../src/sim/fs/mem.js'
import { catalog, parseImageFiles } from '../../src/images/catalog.js'
import { programOf } from '../../src/sim/binary.js'

const attrs = { mode: 0o644, uid: 0, gid: 0, mtimeMs: 1000 }

function lower(): MemLayer {
  const l = new MemLayer(dirNode(0o755, 0))
  l.set('/etc/motd', fileNode('welcome\n', 0o644, 0))
  l.set('/etc/conf.d/a', fileNode('a', 0o644, 0))
  l.set('/etc/conf.d/b', fileNode('b', 0o644, 0))
  return l
}

describe('MemLayer', () => {
  test('set makes missing parents; delete takes the subtree', () => {
    const l = new MemLayer()
    l.set('/a/b/c', fileNode('x', 0o600, 0))
    expect(l.get('/a')?.type).toBe('dir')
    expect(l.children('/a')).toEqual(['b'])
    l.delete('/a/b')
    expect(l.paths()).toEqual(['/', '/a'])
    expect(l.children('/a')).toEqual([])
  })

  test('a layer of its root alone (most tmpfs mounts) answers as one with entries does', () => {
    const l = new MemLayer(dirNode(0o555, 7))
    expect([l.has('/'), l.has('/x'), l.get('/')?.mode]).toEqual([true, false, 0o555])
    expect([l.paths(), l.children('/'), l.bytes()]).toEqual([['/'], [], 0])
    l.set('/', fileNode('abc', 0o644, 8))
    expect([l.get('/')?.type, l.bytes()]).toEqual(['file', 3])
    l.set('/d/f', fileNode('xy', 0o644, 9))
    expect([l.paths(), l.children('/'), l.bytes()]).toEqual([['/', '/d', '/d/f'], ['d'], 5])
    l.delete('/')
    expect([l.paths(), l.has('/'), l.has('/d/f'), l.children('/')]).toEqual([[], false, false, []])
  })
})

describe('Overlay', () => {
  test('reads the lower layer until a write copies the entry up', () => {
    const low = lower()
    const o = new Overlay([low], () => 2000)
    expect(o.read('/etc/motd').toString()).toBe('welcome\n')
    o.write('/etc/motd', Buffer.from('more\n'), true, attrs)
    expect(o.read('/etc/motd').toString()).toBe('welcome\nmore\n')
    expect(low.get('/etc/motd')?.data?.toString()).toBe('welcome\n')
    expect(o.upper.has('/etc/motd')).toBe(true)
    expect(o.upper.get('/etc')?.type).toBe('dir')
    // The copied-up parent is unchanged, so only the file is a change.
    expect(o.changes()).toEqual([{ kind: 'modify', path: '/etc/motd' }])
  })

  test('removing a lower entry leaves a whiteout that hides it', () => {
    const o = new Overlay([lower()], () => 2000)
    o.remove('/etc/motd')
    expect(o.lstat('/etc/motd')).toBeUndefined()
    expect(o.readdir('/etc').sort()).toEqual(['conf.d'])
    expect(o.whiteouts.has('/etc/motd')).toBe(true)
    expect(o.changes()).toContainEqual({ kind: 'delete', path: '/etc/motd' })
    o.write('/etc/motd', Buffer.from('new'), false, attrs)
    expect(o.whiteouts.has('/etc/motd')).toBe(false)
    expect(o.read('/etc/motd').toString()).toBe('new')
  })

  test('a directory made where a lower one was removed is opaque', () => {
    const o = new Overlay([lower()], () => 2000)
    for (const n of o.readdir('/etc/conf.d')) o.remove(`/etc/conf.d/${n}`)
    o.remove('/etc/conf.d')
    o.mkdir('/etc/conf.d', { ...attrs, mode: 0o755 })
    expect(o.opaque.has('/etc/conf.d')).toBe(true)
    expect(o.readdir('/etc/conf.d')).toEqual([])
    o.write('/etc/conf.d/c', Buffer.from('c'), false, attrs)
    expect(o.readdir('/etc/conf.d')).toEqual(['c'])
  })

  test('rename of a lower directory moves its tree into the upper layer', () => {
    const o = new Overlay([lower()], () => 2000)
    o.rename('/etc/conf.d', '/etc/moved')
    expect(o.readdir('/etc/moved').sort()).toEqual(['a', 'b'])
    expect(o.read('/etc/moved/b').toString()).toBe('b')
    expect(o.lstat('/etc/conf.d')).toBeUndefined()
    expect(o.whiteouts.has('/etc/conf.d')).toBe(true)
  })

  test('a full writable layer refuses writes with ENOSPC; what is freed can be written again', () => {
    const o = new Overlay([lower()], () => 0, 10)
    o.write('/a', Buffer.from('123456'), false, attrs)
    expect(() => o.write('/b', Buffer.from('12345'), false, attrs)).toThrow('/b: No space left on device')
    o.write('/a', Buffer.from('1'), false, attrs) // replacing frees what it held
    o.write('/b', Buffer.from('12345'), false, attrs)
    expect(() => o.write('/a', Buffer.from('12345'), true, attrs)).toThrow('No space left on device')
    o.remove('/b')
    o.write('/a', Buffer.from('12345'), true, attrs)
    expect(o.read('/a').toString()).toBe('112345')
  })

  test('save and load carry the upper layer: files, links, removals', () => {
    const o = new Overlay([lower()], () => 0)
    o.write('/new', Buffer.from([0, 1, 2]), false, attrs)
    o.symlink('new', '/link', attrs)
    o.remove('/etc/conf.d/a')
    const again = new Overlay([lower()], () => 0)
    again.load(JSON.parse(JSON.stringify(o.save())))
    expect([...again.read('/new')]).toEqual([0, 1, 2])
    expect(again.lstat('/link')).toMatchObject({ type: 'symlink', target: 'new' })
    expect(again.readdir('/etc/conf.d')).toEqual(['b'])
  })

  test('the first lower layer is on top', () => {
    const top = new MemLayer()
    top.set('/etc/motd', fileNode('top', 0o600, 0))
    const o = new Overlay([top, lower()], () => 0)
    expect(o.read('/etc/motd').toString()).toBe('top')
    expect(o.readdir('/etc').sort()).toEqual(['conf.d', 'motd'])
  })
})

describe('Tmpfs', () => {
  test('is one writable layer with tmpfs directory sizes', () => {
    const t = new Tmpfs(undefined, () => 5)
    t.write('/f', Buffer.from('abc'), false, attrs)
    t.mkdir('/d', { ...attrs, mode: 0o755 })
    expect(t.lstat('/f')).toMatchObject({ type: 'file', size: 3, mode: 0o644 })
    expect(t.lstat('/', true)).toMatchObject({ type: 'dir', mode: 0o1777, size: 80, nlink: 3 })
    t.rename('/f', '/d/g')
    expect(t.readdir('/d')).toEqual(['g'])
  })
})

describe('image layer', () => {
  test('from applied layers: attributes, bytes read when asked, whiteouts, opaque directories, hard links', () => {
    const tar = Buffer.from('root:x:0:0:root:/root:/bin/sh\nwelcome\nserver')
    const reads: number[] = []
    const read = (t: string, offset: number, length: number): Buffer => {
      expect(t).toBe('sha256:l1')
      reads.push(offset)
      return tar.subarray(offset, offset + length)
    }
    const layers: AppliedLayer[] = [
      {
        tar: 'sha256:l1',
        entries: [
          ['/etc', 'd', 0o755, 0, 0, 1000, 0],
          ['/etc/passwd', 'f', 0o644, 0, 0, 2000, 30, 0],
          ['/etc/motd', 'f', 0o600, 5, 6, 3000, 8, 30],
          ['/bin/sh', 'l', 0o777, 0, 0, 4000, 0, 'busybox'],
          ['/var/cache/a', 'f', 0o644, 0, 0, 0, 0, 0],
          ['/app/server', 'f', 0o755, 1000, 1000, 5000, 6, 38],
          ['/app/server2', 'h', 0o755, 1000, 1000, 5000, 0, '/app/server'],
        ],
      },
      {
        tar: 'sha256:l1',
        entries: [
          ['/etc/motd', 'w', 0, 0, 0, 0, 0],
          ['/var/cache', 'o', 0, 0, 0, 0, 0],
          ['/var/cache/b', 'f', 0o644, 0, 0, 0, 0, 0],
          ['/etc', 'd', 0o700, 0, 0, 9000, 0],
        ],
      },
    ]
    const l = imageLayer({ name: 'example.com/app:1', files: layerFiles('unit-1', layers, read) })
    expect(reads).toEqual([])
    expect(l.get('/etc')).toMatchObject({ type: 'dir', mode: 0o700, mtimeMs: 9000 })
    expect(l.has('/etc/motd')).toBe(false)
    expect(l.children('/var/cache')).toEqual(['b'])
    expect(l.get('/bin/sh')).toMatchObject({ type: 'symlink', target: 'busybox' })
    expect(l.get('/app/server')).toBe(l.get('/app/server2'))
    const fs = createContainerFs({
      image: { name: 'example.com/app:1', files: layerFiles('unit-1', layers, read) },
      hostname: 'h',
      user: { uid: 0, gid: 0 },
    })
    expect(fs.readFile('/app/server2').toString()).toBe('server')
    expect(fs.lstat('/app/server')).toMatchObject({ type: 'file', mode: 0o755, uid: 1000, gid: 1000, size: 6, mtimeMs: 5000, nlink: 2 })
    expect(fs.readFile('/etc/passwd').toString()).toBe('root:x:0:0:root:/root:/bin/sh\n')
    // A write copies the file up; the image's bytes stay as they were for the next container.
    fs.writeFile('/app/server', 'x', { append: true })
    expect(fs.readFile('/app/server').toString()).toBe('serverx')
    expect(l.get('/app/server')?.data).toBeUndefined()
  })

  test("a layer's paths through a lower layer's symlink land where it points, as containerd's RootPath resolves them", () => {
    const layers: AppliedLayer[] = [
      {
        tar: '',
        entries: [
          ['/usr/lib', 'd', 0o755, 0, 0, 0, 0],
          ['/lib', 'l', 0o777, 0, 0, 0, 0, 'usr/lib'],
          ['/usr/lib/old', 'f', 0o644, 0, 0, 0, 0, 0],
        ],
      },
      {
        tar: '',
        entries: [
          ['/lib/new', 'f', 0o644, 0, 0, 0, 0, 0],
          ['/lib/old', 'w', 0, 0, 0, 0, 0],
        ],
      },
    ]
    const l = imageLayer({ name: 'example.com/app:1', files: layerFiles('unit-3', layers, () => Buffer.alloc(0)) })
    expect(l.children('/usr/lib')).toEqual(['new'])
    expect(l.get('/lib')).toMatchObject({ type: 'symlink', target: 'usr/lib' })
  })

  test('what a file runs is read once per file; a large one only for its headers', () => {
    // A 64-bit x86-64 ELF header with one PT_INTERP program header, then 32 MiB of nothing.
    const head = elfAskingFor('/lib/ld.so')
    const lengths: number[] = []
    const read = (_t: string, offset: number, length: number): Buffer => {
      lengths.push(length)
      return offset === 0
        ? Buffer.concat([head, Buffer.alloc(Math.max(0, length - head.length))]).subarray(0, length)
        : Buffer.alloc(length)
    }
    const layers: AppliedLayer[] = [
      {
        tar: 'sha256:big',
        entries: [
          ['/app/big', 'f', 0o755, 0, 0, 0, 32 << 20, 0],
          ['/app/small', 'f', 0o755, 0, 0, 0, 256, 0],
        ],
      },
    ]
    const fs = createContainerFs({
      image: { name: 'example.com/app:1', files: layerFiles('unit-4', layers, read) },
      hostname: 'h',
      user: { uid: 0, gid: 0 },
    })
    expect(fs.inspect('/app/big')).toMatchObject({ busybox: false, elf: { machine: 62, interpreter: '/lib/ld.so' } })
    expect(fs.inspect('/app/big').elf?.interpreter).toBe('/lib/ld.so')
    expect(lengths).toEqual([64 * 1024])
    fs.inspect('/app/small')
    fs.inspect('/app/small')
    expect(lengths).toEqual([64 * 1024, 256])
  })

  test('a container of an imported image gets passwd entries for its user', () => {
    const layers: AppliedLayer[] = [
      {
        tar: '',
        entries: [
          ['/etc/passwd', 'f', 0o644, 0, 0, 0, 0, 0],
          ['/app/server', 'f', 0o644, 0, 0, 0, 0, 0],
        ],
      },
    ]
    const fs = createContainerFs({
      image: { name: 'example.com/app:1', files: layerFiles('unit-2', layers, () => Buffer.alloc(0)) },
      hostname: 'h',
      user: { uid: 0, gid: 0 },
    })
    expect(fs.readFile('/etc/passwd').toString()).toBe('0:x:0:0:0 user:/:/sbin/nologin\n')
    expect(fs.stat('/app/server')?.size).toBe(0)
    expect(fs.readdir('/')).toEqual(['app', 'dev', 'etc', 'proc', 'sys'])
  })

  test('a catalog busybox image: applets are symlinks to /bin/busybox', () => {
    const l = imageLayer({ name: 'docker.io/library/busybox:latest' }, ['ls', 'cat', 'sh'])
    expect(l.get('/bin/ls')).toMatchObject({ type: 'symlink', target: '/bin/busybox' })
    expect(l.get('/bin/busybox')).toMatchObject({ type: 'file', mode: 0o755 })
    expect(l.get('/tmp')?.mode).toBe(0o1777)
    expect(l.get('/root')?.mode).toBe(0o700)
    expect(l.get('/etc/passwd')?.data?.toString()).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh\n/)
    expect(l.get('/etc/os-release')?.data?.toString()).toContain('ID=busybox')
    for (const d of ['/usr/bin', '/sbin', '/home', '/var', '/dev', '/proc', '/sys']) expect(l.get(d)?.type).toBe('dir')
  })

  test('alpine: version from the tag, os-release a relative symlink, some applets in /usr/bin', () => {
    const fs = createContainerFs({ image: { name: 'docker.io/library/alpine:3.20' }, hostname: 'h', user: { uid: 0, gid: 0 } })
    expect(fs.readlink('/etc/os-release')).toBe('../usr/lib/os-release')
    expect(fs.readFile('/etc/os-release').toString()).toContain('VERSION_ID=3.20.0')
    expect(fs.readFile('/etc/alpine-release').toString()).toBe('3.20.0\n')
    expect(fs.realpath('/usr/bin/head')).toBe('/bin/busybox')
    expect(fs.lstat('/bin/head')).toBeUndefined()
  })

  test('the image config: entrypoint and working directory exist; pause is just /pause', () => {
    const l = imageLayer({
      name: 'docker.io/library/nginx:1.27',
      config: { entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx'], workingDir: '/srv/www' },
    })
    expect(l.get('/docker-entrypoint.sh')?.mode).toBe(0o755)
    expect(l.get('/srv/www')?.type).toBe('dir')
    const pause = imageLayer({ name: 'registry.k8s.io/pause:3.10' })
    expect((pause as MemLayer).paths()).toEqual(['/', '/pause'])
  })
})

describe("a catalog image's own files", () => {
  test('are checked when read: absolute normalised paths, exactly one kind, octal modes, ids', () => {
    expect(
      parseImageFiles(
        {
          '/usr/local/bin/nnp': { program: 'nnp', mode: '4755' },
          '/etc/motd': { text: 'hi\n' },
          '/home/app': { dir: true, uid: 1000, gid: 1000, mode: '0700' },
          '/bin/vi': { symlink: '/bin/busybox' },
        },
        'x.json: img',
      ),
    ).toEqual({
      '/usr/local/bin/nnp': { program: 'nnp', mode: 0o4755 },
      '/etc/motd': { text: 'hi\n' },
      '/home/app': { dir: true, uid: 1000, gid: 1000, mode: 0o700 },
      '/bin/vi': { symlink: '/bin/busybox' },
    })
    const err = (files: unknown) => {
      try {
        parseImageFiles(files, 'x.json: img')
      } catch (e) {
        return (e as Error).message
      }
      return 'accepted'
    }
    expect(err([])).toBe('fixtures/images/x.json: img: files: must be an object of path → file')
    expect(err({ 'etc/motd': { text: '' } })).toMatch(/^fixtures\/images\/x\.json: img: files: "etc\/motd": must be an absolute path/)
    for (const bad of ['/', '/a/', '/a//b', '/a/../b', '/./a']) expect(err({ [bad]: { text: 'x' } })).toMatch(/must be an absolute path/)
    expect(err({ '/a': { text: 'x', dir: true } })).toMatch(/"\/a": must have exactly one of text, program, dir, symlink$/)
    expect(err({ '/a': {} })).toMatch(/must have exactly one of/)
    expect(err({ '/a': { dir: 'yes' } })).toMatch(/dir must be true$/)
    expect(err({ '/a': { program: '' } })).toMatch(/program must be a non-empty string$/)
    expect(err({ '/a': { text: 'x', mode: 644 } })).toMatch(/mode must be octal digits in a string/)
    expect(err({ '/a': { text: 'x', mode: '0888' } })).toMatch(/mode must be octal digits in a string/)
    expect(err({ '/a': { symlink: '/b', mode: '0777' } })).toMatch(/a symlink has no mode$/)
    expect(err({ '/a': { text: 'x', uid: -1 } })).toMatch(/uid must be a non-negative integer$/)
    expect(err({ '/a': { text: 'x', owner: 'root' } })).toMatch(/unknown field "owner"/)
  })
  test('replace what the synthesised tree has, with their modes and owners; a program file names its program', () => {
    const layer = imageLayer({
      name: 'example.com/app:1',
      extraFiles: {
        '/etc/passwd': { text: 'root:x:0:0:root:/root:/bin/sh\n' },
        '/usr/local/bin/tool': { program: 'nnp', mode: 0o4755 },
        '/home/app': { dir: true, uid: 1000, gid: 1000 },
      },
    })
    expect(layer.get('/etc/passwd')?.data?.toString()).toBe('root:x:0:0:root:/root:/bin/sh\n')
    expect(layer.get('/bin/sh')?.type).toBe('symlink')
    const tool = layer.get('/usr/local/bin/tool')
    expect({ mode: tool?.mode, uid: tool?.uid }).toEqual({ mode: 0o4755, uid: 0 })
    expect(programOf(tool?.data?.toString('latin1') ?? '')).toBe('nnp')
    expect(layer.get('/home/app')).toMatchObject({ type: 'dir', mode: 0o755, uid: 1000, gid: 1000 })
  })
  test('every file of the shipped catalog is well formed (the catalog reads them)', () => {
    const withFiles = catalog().filter((e) => e.files)
    expect(withFiles.map((e) => e.repository)).toEqual(
      expect.arrayContaining(['gcr.io/k8s-staging-cri-tools/test-image-predefined-group', 'registry.k8s.io/e2e-test-images/nonewprivs']),
    )
  })
})

describe('who keeps an image tree', () => {
  test("layer files are their owner's: one owner's containers share a tree, another owner's (a node's) is its own; synthesised trees are the process's", () => {
    const layers: AppliedLayer[] = [{ tar: 'sha256:t', entries: [['/etc/motd', 'f', 0o644, 0, 0, 0, 2, 0]] }]
    const bytesOf = (text: string) => (_t: string, offset: number, length: number) => Buffer.from(text).subarray(offset, offset + length)
    const nodeA = layerFiles('default\0chain\0sha256:t', layers, bytesOf('A\n'))
    const nodeB = layerFiles('default\0chain\0sha256:t', layers, bytesOf('B\n'))
    const a = imageLayer({ name: 'example.com/app:1', files: nodeA })
    expect(imageLayer({ name: 'example.com/app:1', files: nodeA })).toBe(a)
    const b = imageLayer({ name: 'example.com/app:1', files: nodeB })
    expect(b).not.toBe(a)
    // Each reads its own node's bytes, whichever node made a tree of the same key first.
    const fsOf = (files: typeof nodeA) =>
      createContainerFs({ image: { name: 'example.com/app:1', files }, hostname: 'h', user: { uid: 0, gid: 0 } })
    expect([fsOf(nodeA).readFile('/etc/motd').toString(), fsOf(nodeB).readFile('/etc/motd').toString()]).toEqual(['A\n', 'B\n'])
    expect(imageLayer({ name: 'busybox' })).toBe(imageLayer({ name: 'busybox' }))
  })
})
