// Which mounts leave an answer read on a shared view as it is (sim/fs/shared.ts mountsMiss): a mount
// on or above a path read hides it; one below a path that was no directory makes it one (the runtime
// makes the mount point's parents); one in a directory listed adds a name to it.
import { describe, expect, test } from 'vitest'
import { mountsMiss, type ReadPaths } from '../../src/sim/fs/shared.js'

/** A PATH search of `sleep` in busybox: / and /usr are directories, /usr/local/bin is missing, /bin/sleep a file. */
const search: ReadPaths = {
  paths: new Map([
    ['/', true],
    ['/usr', true],
    ['/usr/local', true],
    ['/usr/local/bin', false],
    ['/bin', true],
    ['/bin/sleep', false],
  ]),
  listed: new Set(['/etc']),
}

describe('mountsMiss', () => {
  test('a mount on a path read, or above one, is on what was read', () => {
    expect(mountsMiss(search, ['/bin/sleep'])).toBe(false)
    expect(mountsMiss(search, ['/usr'])).toBe(false)
    expect(mountsMiss(search, ['/usr/local/bin'])).toBe(false)
  })

  test('a mount below a path that was no directory makes it one', () => {
    expect(mountsMiss(search, ['/usr/local/bin/tool'])).toBe(false)
    expect(mountsMiss(search, ['/bin/sleep/x'])).toBe(false)
  })

  test('a mount below a directory read leaves it, unless the directory was listed', () => {
    expect(mountsMiss(search, ['/usr/share/data', '/bin/other', '/var/run/secrets'])).toBe(true)
    expect(mountsMiss(search, ['/etc/hosts'])).toBe(false)
    expect(mountsMiss(search, ['/etc'])).toBe(false)
    expect(mountsMiss(search, ['/'])).toBe(false)
  })

  test('no mounts leave everything', () => {
    expect(mountsMiss(search, [])).toBe(true)
  })
})
