import { describe, expect, test } from 'vitest'
import { mergeLayers } from '../../src/model/layers.js'
import { createContainerFs, imageLayer, MemLayer, Overlay, Tmpfs } from '../../src/sim/fs/index.js'
import { dirNode, fileNode } from '../../src/sim/fs/mem.js'

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
  test('from a recorded file list: paths with children are directories, the rest empty files', () => {
    const files = mergeLayers([
      ['/bin', '/bin/sh', '/etc', '/etc/motd', '/etc/passwd', '/app'],
      ['/etc/.wh.motd', '/app/server'],
    ])
    const l = imageLayer({ name: 'example.com/app:1', files })
    expect(l.get('/bin')?.type).toBe('dir')
    expect(l.get('/bin/sh')).toMatchObject({ type: 'file', mode: 0o755 })
    expect(l.get('/app/server')).toMatchObject({ type: 'file', mode: 0o644 })
    expect(l.has('/etc/motd')).toBe(false)
    expect(l.get('/etc/passwd')?.data?.length).toBe(0)
  })

  test('a container of an imported image gets passwd entries for its user', () => {
    const fs = createContainerFs({
      image: { name: 'example.com/app:1', files: ['/etc', '/etc/passwd', '/app', '/app/server'] },
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
    expect(pause.paths()).toEqual(['/', '/pause'])
  })
})
