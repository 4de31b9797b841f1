import { describe, expect, test } from 'vitest'
import { SimClock } from '../../src/sim/clock.js'
import { fsCommands } from '../../src/sim/commands/fs-commands.js'
import { lsTime } from '../../src/sim/commands/fs-files.js'
import { posixToJs } from '../../src/sim/commands/fs-regex.js'
import type { Input } from '../../src/sim/context.js'
import { parseMode } from '../../src/sim/commands/fs-mode.js'
import { busyboxFs, run, type RunOptions } from './fs-helpers.js'

type Fs = ReturnType<typeof busyboxFs>

/** Runs `name args...` in fs (a fresh busybox container unless given). */
async function sh(fs: Fs, argv: string[], opts: RunOptions = {}) {
  const name = argv[0] as string
  const command = fsCommands[name]
  if (!command) throw new Error(`no command ${name}`)
  return run(command, argv, fs, opts)
}

const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' })
const fail = (stderr: string, code = 1, stdout = '') => ({ code, stdout, stderr })

function withFiles(files: Record<string, string>): Fs {
  const fs = busyboxFs()
  for (const [path, text] of Object.entries(files)) {
    fs.mkdir(path.slice(0, path.lastIndexOf('/')) || '/', { recursive: true })
    fs.writeFile(path, text)
  }
  return fs
}

const JAN_2020 = Date.UTC(2020, 0, 1, 12, 0, 0)

describe('the table', () => {
  test('has every filesystem command', () => {
    expect(Object.keys(fsCommands).sort()).toEqual(
      [
        'awk',
        'cat',
        'chmod',
        'cp',
        'cut',
        'df',
        'du',
        'egrep',
        'find',
        'fgrep',
        'grep',
        'head',
        'ln',
        'ls',
        'mkdir',
        'mktemp',
        'mount',
        'mv',
        'readlink',
        'rm',
        'sed',
        'sort',
        'stat',
        'tail',
        'touch',
        'tr',
        'umount',
        'uniq',
        'wc',
      ].sort(),
    )
  })
  test('an unknown option is a usage error', async () => {
    const r = await sh(busyboxFs(), ['ls', '-Z'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ls: invalid option -- 'Z'\nBusyBox v1\.37\.0 \(fake-containerd\) multi-call binary\.\n\nUsage: ls /)
  })
})

describe('cat', () => {
  test('files, stdin, -n', async () => {
    const fs = withFiles({ '/a': 'one\n', '/b': 'two\nthree' })
    expect(await sh(fs, ['cat', '/a', 'b'])).toEqual(ok('one\ntwo\nthree'))
    expect(await sh(fs, ['cat'], { stdin: 'piped\n' })).toEqual(ok('piped\n'))
    expect(await sh(fs, ['cat', '/a', '-', '/a'], { stdin: 'mid\n' })).toEqual(ok('one\nmid\none\n'))
    expect(await sh(fs, ['cat', '-n', '/a', '/b'])).toEqual(ok('     1\tone\n     2\ttwo\n     3\tthree'))
  })
  test("errors: can't open, read error on a directory; the rest is still printed", async () => {
    const fs = withFiles({ '/a': 'one\n' })
    expect(await sh(fs, ['cat', 'missing', '/a', '/etc'])).toEqual(
      fail("cat: can't open 'missing': No such file or directory\ncat: read error: Is a directory\n", 1, 'one\n'),
    )
    const user = busyboxFs({ user: { uid: 1000, gid: 1000 } })
    expect(await sh(user, ['cat', '/etc/shadow'])).toEqual(fail("cat: can't open '/etc/shadow': Permission denied\n"))
  })
})

describe('ls', () => {
  test('one name a line when not a terminal; -a, -A, -1, -d', async () => {
    const fs = withFiles({ '/d/b': '', '/d/a': '', '/d/.hidden': '' })
    expect(await sh(fs, ['ls', '/d'])).toEqual(ok('a\nb\n'))
    expect(await sh(fs, ['ls', '-1', 'a'], { cwd: '/d' })).toEqual(ok('a\n'))
    expect(await sh(fs, ['ls', '-A', '/d'])).toEqual(ok('.hidden\na\nb\n'))
    expect(await sh(fs, ['ls', '-a'], { cwd: '/d' })).toEqual(ok('.\n..\n.hidden\na\nb\n'))
    expect(await sh(fs, ['ls', '-d', '/d', '/etc'])).toEqual(ok('/d\n/etc\n'))
    expect(await sh(fs, ['ls', '/d/a', '/d', '/tmp'])).toEqual(ok('/d/a\n\n/d:\na\nb\n\n/tmp:\n'))
  })
  test('-l: busybox columns, total, symlinks, devices, old and recent times', async () => {
    const fs = withFiles({ '/d/file': 'hello' })
    fs.utimes('/d/file', JAN_2020)
    fs.symlink('file', '/d/link')
    fs.utimes('/d', JAN_2020)
    const r = await sh(fs, ['ls', '-l', '/d'])
    expect(r.stdout.split('\n')[0]).toBe('total 4')
    expect(r.stdout.split('\n')[1]).toBe('-rw-r--r--    1 root     root             5 Jan  1  2020 file')
    expect(r.stdout.split('\n')[2]).toMatch(/^lrwxrwxrwx    1 root     root             4 \w{3} [ \d]\d \d\d:\d\d link -> file$/)
    expect((await sh(fs, ['ls', '-l', '/dev/null'])).stdout).toMatch(/^crw-rw-rw-    1 root     root        1,   3 .* \/dev\/null\n$/)
    expect((await sh(fs, ['ls', '-ld', '/tmp'])).stdout).toMatch(/^drwxrwxrwt    2 root     root          4096 Sep 26  2024 \/tmp\n$/)
    fs.view({ pid: 2, uid: 1000, gid: 1000 }).writeFile('/tmp/u', '')
    expect((await sh(fs, ['ls', '-n', '/tmp/u'])).stdout).toMatch(/^-rw-r--r--    1 1000     1000             0 /)
    expect((await sh(fs, ['ls', '-l', '/tmp/u'])).stdout).toMatch(/^-rw-r--r--    1 1000     1000             0 /)
    expect(lsTime(Date.UTC(2024, 2, 5, 9, 7), Date.UTC(2024, 3, 1))).toBe('Mar  5 09:07')
  })
  test('-l shows a command-line symlink itself; without -l it is followed', async () => {
    const fs = busyboxFs()
    expect((await sh(fs, ['ls', '-l', '/bin/sh'])).stdout).toMatch(/ \/bin\/sh -> \/bin\/busybox\n$/)
    fs.symlink('/etc', '/tmp/etc')
    expect((await sh(fs, ['ls', '/tmp/etc'])).stdout).toContain('passwd\n')
  })
  test('errors: a missing operand, an unreadable directory', async () => {
    expect(await sh(busyboxFs(), ['ls', '/nope', '/etc/hostname'])).toEqual(
      fail('ls: /nope: No such file or directory\n', 1, '/etc/hostname\n'),
    )
    const user = busyboxFs({ user: { uid: 1000, gid: 1000 } })
    expect(await sh(user, ['ls', '/root'])).toEqual(fail("ls: can't open '/root': Permission denied\n"))
  })
})

describe('touch, mkdir', () => {
  test('touch creates, updates the time, -c does not create', async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const fs = busyboxFs()
    expect(await sh(fs, ['touch', '/tmp/new'], { clock })).toEqual(ok(''))
    expect(fs.stat('/tmp/new')?.size).toBe(0)
    fs.utimes('/tmp/new', JAN_2020)
    await sh(fs, ['touch', '/tmp/new'], { clock })
    expect(fs.stat('/tmp/new')?.mtimeMs).toBe(clock.now())
    expect(await sh(fs, ['touch', '-c', '/tmp/absent'])).toEqual(ok(''))
    expect(fs.stat('/tmp/absent')).toBeUndefined()
    await sh(fs, ['touch', '-d', '2021-02-03 04:05:06', '/tmp/dated'])
    expect(fs.stat('/tmp/dated')?.mtimeMs).toBe(Date.UTC(2021, 1, 3, 4, 5, 6))
  })
  test('touch errors', async () => {
    expect(await sh(busyboxFs(), ['touch', '/no/such/file'])).toEqual(fail('touch: /no/such/file: No such file or directory\n'))
    expect(await sh(busyboxFs({ readonlyRootfs: true }), ['touch', '/x'])).toEqual(fail('touch: /x: Read-only file system\n'))
    expect((await sh(busyboxFs(), ['touch'])).code).toBe(1)
  })
  test('mkdir, -p, -m', async () => {
    const fs = busyboxFs()
    expect(await sh(fs, ['mkdir', 'a'], { cwd: '/tmp' })).toEqual(ok(''))
    expect(fs.stat('/tmp/a')?.type).toBe('dir')
    expect(await sh(fs, ['mkdir', '-p', '/tmp/a/b/c', '/tmp/a'])).toEqual(ok(''))
    expect(await sh(fs, ['mkdir', '-m', '700', '/tmp/private'])).toEqual(ok(''))
    expect(fs.stat('/tmp/private')?.mode).toBe(0o700)
  })
  test('mkdir errors', async () => {
    const fs = busyboxFs()
    expect(await sh(fs, ['mkdir', '/tmp'])).toEqual(fail("mkdir: can't create directory '/tmp': File exists\n"))
    expect(await sh(fs, ['mkdir', '/x/y'])).toEqual(fail("mkdir: can't create directory '/x/y': No such file or directory\n"))
    expect(await sh(busyboxFs({ readonlyRootfs: true }), ['mkdir', '/x'])).toEqual(
      fail("mkdir: can't create directory '/x': Read-only file system\n"),
    )
    expect(await sh(fs, ['mkdir', '-m', '9', '/y'])).toEqual(fail("mkdir: invalid mode '9'\n"))
  })
})

describe('chmod', () => {
  test("busybox's mode parser: octal, symbolic clauses, permission copies, X, the umask when no one is named", () => {
    expect(parseMode('644', 0o777)).toBe(0o644)
    expect(parseMode('4755', 0)).toBe(0o4755)
    expect(parseMode('u+x,go-w', 0o666)).toBe(0o744)
    expect(parseMode('a=r', 0o777)).toBe(0o444)
    expect(parseMode('g=u', 0o640)).toBe(0o660)
    expect(parseMode('+w', 0o444)).toBe(0o644)
    expect(parseMode('+X', 0o644)).toBe(0o644)
    expect(parseMode('+X', 0o644, true)).toBe(0o755)
    expect(parseMode('u+s', 0o755)).toBe(0o4755)
    expect(parseMode('=', 0o755)).toBe(0)
    for (const bad of ['8', '777x', '17777', 'u', 'z+x', 'u*x']) expect(parseMode(bad, 0o644)).toBeUndefined()
  })
  test('changes modes, -R walks a tree (skipping links met on the way), -v and -c tell', async () => {
    const fs = withFiles({ '/tmp/d/a': 'a', '/tmp/d/sub/b': 'b' })
    fs.symlink('/etc/passwd', '/tmp/d/link')
    expect(await sh(fs, ['chmod', '600', '/tmp/d/a'])).toEqual(ok(''))
    expect(fs.stat('/tmp/d/a')?.mode).toBe(0o600)
    expect(await sh(fs, ['chmod', '-R', 'go-rwx', '/tmp/d'])).toEqual(ok(''))
    expect([fs.stat('/tmp/d')?.mode, fs.stat('/tmp/d/sub/b')?.mode, fs.stat('/etc/passwd')?.mode]).toEqual([0o700, 0o600, 0o644])
    expect(await sh(fs, ['chmod', '-v', '640', '/tmp/d/a'])).toEqual(ok("mode of '/tmp/d/a' changed to 0640 (rw-r-----)\n"))
    expect(await sh(fs, ['chmod', '-c', '640', '/tmp/d/a'])).toEqual(ok(''))
    expect(await sh(fs, ['chmod', '-w', '/tmp/d/a'])).toEqual(ok(''))
    expect(fs.stat('/tmp/d/a')?.mode).toBe(0o440)
  })
  test("errors: busybox's perror lines and status 1, an invalid mode stops, -f is quiet", async () => {
    const fs = withFiles({ '/tmp/f': 'x' })
    expect(await sh(fs, ['chmod', '644', '/nope', '/tmp/f'])).toEqual(fail('chmod: /nope: No such file or directory\n'))
    expect(await sh(fs, ['chmod', '-f', '644', '/nope'])).toEqual(fail(''))
    expect(await sh(fs, ['chmod', 'q+x', '/tmp/f'])).toEqual(fail("chmod: invalid mode 'q+x'\n"))
    expect(await sh(busyboxFs({ readonlyRootfs: true }), ['chmod', '600', '/etc/os-release'])).toEqual(
      fail('chmod: /etc/os-release: Read-only file system\n'),
    )
    expect((await sh(fs, ['chmod', '644'])).stderr).toMatch(/^BusyBox v1\.37\.0 .*\n\nUsage: chmod \[-Rcvf\] MODE/)
  })
  test('a file of another owner: EPERM without CAP_FOWNER; root has it; a seccomp profile can refuse chmod to anyone', async () => {
    const fs = busyboxFs({ user: { uid: 1000, gid: 1000 } })
    const user = fs.view({ pid: 1, uid: 1000, gid: 1000 })
    expect(await run(fsCommands.chmod!, ['chmod', '777', '/etc/passwd'], user)).toEqual(
      fail('chmod: /etc/passwd: Operation not permitted\n'),
    )
    const root = fs.view({ pid: 1, uid: 0, gid: 0 })
    expect(await run(fsCommands.chmod!, ['chmod', '600', '/etc/passwd'], root)).toEqual(ok(''))
    const blocked = busyboxFs({
      security: { seccomp: { profile_type: 'Localhost' } },
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' }] },
    })
    expect(await run(fsCommands.chmod!, ['chmod', '400', '/'], blocked.view({ pid: 1 }))).toEqual(
      fail('chmod: /: Operation not permitted\n'),
    )
    expect(blocked.stat('/')?.mode).toBe(0o755)
  })
})

describe('rm', () => {
  test('files, -r trees, -f', async () => {
    const fs = withFiles({ '/t/a/b/c': 'x', '/t/f': 'y' })
    expect(await sh(fs, ['rm', '/t/f'])).toEqual(ok(''))
    expect(fs.stat('/t/f')).toBeUndefined()
    expect(await sh(fs, ['rm', '-r', '/t/a'])).toEqual(ok(''))
    expect(fs.readdir('/t')).toEqual([])
    expect(await sh(fs, ['rm', '-f', '/t/none'])).toEqual(ok(''))
    expect(await sh(fs, ['rm', '-rf', '/t'])).toEqual(ok(''))
    expect(fs.stat('/t')).toBeUndefined()
  })
  test('errors', async () => {
    const fs = busyboxFs()
    expect(await sh(fs, ['rm', '/nope'])).toEqual(fail("rm: can't remove '/nope': No such file or directory\n"))
    expect(await sh(fs, ['rm', '/tmp'])).toEqual(fail("rm: '/tmp' is a directory\n"))
    expect(await sh(fs, ['rm', '-r', '.'])).toEqual(fail("rm: can't remove '.' or '..'\n"))
    expect(await sh(busyboxFs({ readonlyRootfs: true }), ['rm', '/etc/shadow'])).toEqual(
      fail("rm: can't remove '/etc/shadow': Read-only file system\n"),
    )
    const r = await sh(fs, ['rm', '-rf', '/etc'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      "rm: can't remove '/etc/hostname': Resource busy\nrm: can't remove '/etc/hosts': Resource busy\nrm: can't remove '/etc/resolv.conf': Resource busy\n",
    )
    expect(fs.readdir('/etc')).toEqual(['hostname', 'hosts', 'resolv.conf'])
  })
})

describe('cp, mv, ln', () => {
  test('cp a file, into a directory, -r a tree, -p', async () => {
    const fs = withFiles({ '/src/a.txt': 'A', '/src/sub/b.txt': 'B' })
    fs.chmod('/src/a.txt', 0o600)
    fs.utimes('/src/a.txt', JAN_2020)
    fs.symlink('a.txt', '/src/link')
    expect(await sh(fs, ['cp', '/src/a.txt', '/tmp/copy'])).toEqual(ok(''))
    expect(fs.readFile('/tmp/copy').toString()).toBe('A')
    expect(fs.stat('/tmp/copy')?.mode).toBe(0o600)
    expect(fs.stat('/tmp/copy')?.mtimeMs).not.toBe(JAN_2020)
    expect(await sh(fs, ['cp', '-p', '/src/a.txt', '/tmp'])).toEqual(ok(''))
    expect(fs.stat('/tmp/a.txt')?.mtimeMs).toBe(JAN_2020)
    expect(await sh(fs, ['cp', '-r', '/src', '/dst'])).toEqual(ok(''))
    expect(fs.readFile('/dst/sub/b.txt').toString()).toBe('B')
    expect(fs.readlink('/dst/link')).toBe('a.txt')
    expect(await sh(fs, ['cp', '/src/link', '/tmp/deref'])).toEqual(ok(''))
    expect(fs.lstat('/tmp/deref')?.type).toBe('file')
  })
  test('cp errors', async () => {
    const fs = withFiles({ '/src/a': 'A' })
    expect(await sh(fs, ['cp', '/nope', '/tmp'])).toEqual(fail("cp: can't stat '/nope': No such file or directory\n"))
    expect(await sh(fs, ['cp', '/src', '/tmp'])).toEqual(fail("cp: omitting directory '/src'\n"))
    expect(await sh(fs, ['cp', '/src/a', '/src/a', '/etc/passwd'])).toEqual(fail("cp: target '/etc/passwd' is not a directory\n"))
    expect(await sh(fs, ['cp', '/src/a', '/src/a'])).toEqual(fail("cp: '/src/a' and '/src/a' are the same file\n"))
    expect(await sh(fs, ['cp', '-r', '/src', '/src/inner'])).toEqual(fail("cp: recursion detected, omitting directory '/src'\n"))
    expect(await sh(busyboxFs({ readonlyRootfs: true }), ['cp', '/etc/passwd', '/tmp/p'])).toEqual(
      fail("cp: can't create '/tmp/p': Read-only file system\n"),
    )
    expect((await sh(fs, ['cp', '/src/a'])).code).toBe(1)
  })
  test('mv renames, moves into a directory and across mounts', async () => {
    const fs = withFiles({ '/w/a': 'A', '/w/b': 'B' })
    expect(await sh(fs, ['mv', '/w/a', '/w/c'])).toEqual(ok(''))
    expect(fs.readdir('/w')).toEqual(['b', 'c'])
    expect(await sh(fs, ['mv', 'b', 'c', '/tmp'], { cwd: '/w' })).toEqual(ok(''))
    expect(fs.readdir('/tmp')).toEqual(['b', 'c'])
    expect(await sh(fs, ['mv', '/tmp/b', '/dev/shm/'])).toEqual(ok(''))
    expect(fs.readFile('/dev/shm/b').toString()).toBe('B')
  })
  test('mv errors', async () => {
    const fs = busyboxFs()
    expect(await sh(fs, ['mv', '/nope', '/tmp/x'])).toEqual(fail("mv: can't rename '/nope': No such file or directory\n"))
    expect(await sh(busyboxFs({ readonlyRootfs: true }), ['mv', '/etc/shadow', '/etc/s'])).toEqual(
      fail("mv: can't rename '/etc/shadow': Read-only file system\n"),
    )
  })
  test('ln -s, into a directory, -f; a hard link is a copy', async () => {
    const fs = withFiles({ '/w/target': 'T' })
    expect(await sh(fs, ['ln', '-s', '/w/target', '/w/link'])).toEqual(ok(''))
    expect(fs.readlink('/w/link')).toBe('/w/target')
    expect(await sh(fs, ['ln', '-s', '../w/target', '/tmp'])).toEqual(ok(''))
    expect(fs.readFile('/tmp/target').toString()).toBe('T')
    expect(await sh(fs, ['ln', '-s', 'other', '/w/link'])).toEqual(fail('ln: /w/link: File exists\n'))
    expect(await sh(fs, ['ln', '-sf', 'other', '/w/link'])).toEqual(ok(''))
    expect(fs.readlink('/w/link')).toBe('other')
    expect(await sh(fs, ['ln', '/w/target', '/w/hard'])).toEqual(ok(''))
    expect(fs.readFile('/w/hard').toString()).toBe('T')
    expect(await sh(fs, ['ln', '/w/nope', '/w/hard2'])).toEqual(fail('ln: /w/nope: No such file or directory\n'))
  })
})

describe('wc', () => {
  test('busybox column format', async () => {
    const fs = withFiles({ '/a': 'one two\nthree\n', '/b': 'héllo\n' })
    expect(await sh(fs, ['wc', '/a'])).toEqual(ok('        2         3        14 /a\n'))
    expect(await sh(fs, ['wc', '-l', '/a'])).toEqual(ok('2 /a\n'))
    expect(await sh(fs, ['wc', '-l'], { stdin: 'x\ny\nz' })).toEqual(ok('2\n'))
    expect(await sh(fs, ['wc'], { stdin: 'x y\n' })).toEqual(ok('        1         2         4\n'))
    expect(await sh(fs, ['wc', '-c', '-m', '/b'])).toEqual(ok('        6         7 /b\n'))
    expect(await sh(fs, ['wc', '-w', '/a', '/b'])).toEqual(ok('        3 /a\n        1 /b\n        4 total\n'))
  })
  test('errors', async () => {
    expect(await sh(withFiles({ '/a': 'x\n' }), ['wc', '-l', '/nope', '/a'])).toEqual(
      fail('wc: /nope: No such file or directory\n', 1, '        1 /a\n        1 total\n'),
    )
  })
})

describe('grep', () => {
  const fs = withFiles({ '/log': 'GET /index 200\nPOST /login 401\nget /health 200\nerror: disk full\n', '/other': 'error: again\n' })
  test('basic, -v, -i, -c, -n, -q', async () => {
    expect(await sh(fs, ['grep', '200', '/log'])).toEqual(ok('GET /index 200\nget /health 200\n'))
    expect(await sh(fs, ['grep', '-v', '200', '/log'])).toEqual(ok('POST /login 401\nerror: disk full\n'))
    expect(await sh(fs, ['grep', '-i', '^get', '/log'])).toEqual(ok('GET /index 200\nget /health 200\n'))
    expect(await sh(fs, ['grep', '-c', 'o', '/log'])).toEqual(ok('2\n'))
    expect(await sh(fs, ['grep', '-n', 'error', '/log'])).toEqual(ok('4:error: disk full\n'))
    expect(await sh(fs, ['grep', '-q', 'POST', '/log'])).toEqual(ok(''))
    expect(await sh(fs, ['grep', '-q', 'PUT', '/log'])).toEqual({ code: 1, stdout: '', stderr: '' })
  })
  test('regular expressions: basic by default, -E extended, -F fixed', async () => {
    expect(await sh(fs, ['grep', '-E', 'POST|error', '/log'])).toEqual(ok('POST /login 401\nerror: disk full\n'))
    expect(await sh(fs, ['grep', 'POST|error', '/log'])).toEqual({ code: 1, stdout: '', stderr: '' })
    expect(await sh(fs, ['grep', 'POST\\|error', '/log'])).toEqual(ok('POST /login 401\nerror: disk full\n'))
    expect(await sh(fs, ['grep', '\\(GET\\|get\\) /[a-z]\\{5,6\\} ', '/log'])).toEqual(ok('GET /index 200\nget /health 200\n'))
    expect(await sh(fs, ['grep', '-E', '[[:digit:]]{3}$', '/log'])).toEqual(ok('GET /index 200\nPOST /login 401\nget /health 200\n'))
    expect(await sh(fs, ['grep', '-F', '/in', '/log'])).toEqual(ok('GET /index 200\n'))
    expect(await sh(fs, ['grep', '-w', 'get', '/log'])).toEqual(ok('get /health 200\n'))
    expect(await sh(fs, ['grep', '-x', 'error: disk full', '/log'])).toEqual(ok('error: disk full\n'))
    expect(await sh(fs, ['grep', '-o', '[0-9][0-9]*', '/log'])).toEqual(ok('200\n401\n200\n'))
    expect(await sh(fs, ['grep', '-e', 'POST', '-e', 'disk', '/log'])).toEqual(ok('POST /login 401\nerror: disk full\n'))
    expect(posixToJs('a*\\(b\\)*c+d?{1}', false)).toBe('a*(b)*c\\+d\\?\\{1\\}')
    expect(posixToJs('*x', false)).toBe('\\*x')
  })
  test('several files, stdin, -l', async () => {
    expect(await sh(fs, ['grep', 'error', '/log', '/other'])).toEqual(ok('/log:error: disk full\n/other:error: again\n'))
    expect(await sh(fs, ['grep', '-c', 'error', '/log', '/other'])).toEqual(ok('/log:1\n/other:1\n'))
    expect(await sh(fs, ['grep', '-l', 'again', '/log', '/other'])).toEqual(ok('/other\n'))
    expect(await sh(fs, ['grep', 'b'], { stdin: 'a\nb\n' })).toEqual(ok('b\n'))
    const tree = withFiles({ '/srv/a.conf': 'port=1\n', '/srv/sub/b.conf': 'port=2\n', '/srv/sub/c.txt': 'none\n' })
    expect(await sh(tree, ['grep', '-r', 'port', '/srv'])).toEqual(ok('/srv/a.conf:port=1\n/srv/sub/b.conf:port=2\n'))
    expect(await sh(tree, ['grep', 'port', '/srv'])).toEqual(fail('grep: /srv: Is a directory\n', 2))
  })
  test('errors exit 2', async () => {
    expect(await sh(fs, ['grep', 'x', '/nope'])).toEqual(fail('grep: /nope: No such file or directory\n', 2))
    expect(await sh(fs, ['grep', 'error', '/nope', '/log'])).toEqual(
      fail('grep: /nope: No such file or directory\n', 2, '/log:error: disk full\n'),
    )
    expect(await sh(fs, ['grep', '-s', 'x', '/nope'])).toEqual({ code: 2, stdout: '', stderr: '' })
    expect(await sh(fs, ['grep', '-E', 'a(', '/log'])).toEqual(fail("grep: bad regex 'a('\n", 2))
    expect((await sh(fs, ['grep'])).code).toBe(2)
  })
})

describe('head, tail', () => {
  const text = Array.from({ length: 12 }, (_, i) => `line ${i + 1}\n`).join('')
  const fs = withFiles({ '/f': text, '/g': 'g1\ng2\n' })
  test('head -n, -c, the old -N, several files, stdin', async () => {
    expect((await sh(fs, ['head', '/f'])).stdout).toBe(text.split('\n').slice(0, 10).join('\n') + '\n')
    expect(await sh(fs, ['head', '-n', '2', '/f'])).toEqual(ok('line 1\nline 2\n'))
    expect(await sh(fs, ['head', '-3', '/g'])).toEqual(ok('g1\ng2\n'))
    expect(await sh(fs, ['head', '-c', '8', '/f'])).toEqual(ok('line 1\nl'))
    expect(await sh(fs, ['head', '-n', '-10', '/f'])).toEqual(ok('line 1\nline 2\n'))
    expect(await sh(fs, ['head', '-n1', '/f', '/g'])).toEqual(ok('==> /f <==\nline 1\n\n==> /g <==\ng1\n'))
    expect(await sh(fs, ['head', '-n', '1'], { stdin: 'a\nb\n' })).toEqual(ok('a\n'))
  })
  test('head stops reading an endless stdin', async () => {
    let reads = 0
    const endless: Input = { read: async () => (reads++, 'y\n'), readAll: () => new Promise(() => undefined) }
    expect(await sh(fs, ['head', '-n', '3'], { stdin: endless })).toEqual(ok('y\ny\ny\n'))
    expect(reads).toBe(3)
    const chunked: Input = { read: async () => 'a\nb\nc\nd', readAll: async () => '' }
    expect(await sh(fs, ['head', '-n', '2'], { stdin: chunked })).toEqual(ok('a\nb\n'))
    expect(await sh(fs, ['head', '-c', '3'], { stdin: chunked })).toEqual(ok('a\nb'))
  })
  test('head errors', async () => {
    expect(await sh(fs, ['head', '/nope', '/g'])).toEqual(fail('head: /nope: No such file or directory\n', 1, '==> /g <==\ng1\ng2\n'))
    expect(await sh(fs, ['head', '-n', 'x', '/g'])).toEqual(fail("head: invalid number 'x'\n"))
  })
  test('tail -n, +N, -c, several files', async () => {
    expect(await sh(fs, ['tail', '-n', '2', '/f'])).toEqual(ok('line 11\nline 12\n'))
    expect(await sh(fs, ['tail', '-1', '/f'])).toEqual(ok('line 12\n'))
    expect(await sh(fs, ['tail', '-n', '+11', '/f'])).toEqual(ok('line 11\nline 12\n'))
    expect(await sh(fs, ['tail', '-c', '3', '/g'])).toEqual(ok('g2\n'))
    expect(await sh(fs, ['tail', '-n', '1', '/g', '/f'])).toEqual(ok('==> /g <==\ng2\n\n==> /f <==\nline 12\n'))
    expect(await sh(fs, ['tail', '-n', '1'], { stdin: 'a\nb\n' })).toEqual(ok('b\n'))
    expect((await sh(fs, ['tail', '/f'])).stdout.split('\n')[0]).toBe('line 3')
  })
  test('tail errors', async () => {
    expect(await sh(fs, ['tail', '/nope', '/g'])).toEqual(
      fail("tail: can't open '/nope': No such file or directory\n", 1, '==> /g <==\ng1\ng2\n'),
    )
    expect(await sh(fs, ['tail', '/nope'])).toEqual(fail("tail: can't open '/nope': No such file or directory\ntail: no files\n"))
  })
  test('tail -f follows the file on the simulated clock until killed', async () => {
    const log = withFiles({ '/var/log/app.log': 'start\n' })
    const clock = new SimClock()
    clock.freeze(true)
    const controller = new AbortController()
    let seen: (text: string) => void = () => undefined
    const out = { text: '' }
    const running = sh(log, ['tail', '-f', '/var/log/app.log'], {
      clock,
      signal: controller.signal,
      onWrite: (o) => {
        out.text = o.stdout
        seen(o.stdout)
      },
    })
    const until = (want: string) =>
      new Promise<void>((resolve) => {
        if (out.text.includes(want)) return resolve()
        seen = (t) => t.includes(want) && resolve()
      })
    await until('start\n')
    log.writeFile('/var/log/app.log', 'more\n', { append: true })
    const next = until('more\n')
    // The command sleeps on the clock; advance it until the poll has run (no real time passes).
    while (!out.text.includes('more\n')) {
      clock.advance(1000)
      await Promise.race([next, new Promise((r) => setImmediate(r))])
    }
    expect(out.text).toBe('start\nmore\n')
    log.writeFile('/var/log/app.log', 'rotated\n')
    while (!out.text.includes('rotated\n')) {
      clock.advance(1000)
      await new Promise((r) => setImmediate(r))
    }
    expect(out.text).toBe('start\nmore\nrotated\n')
    controller.abort(new Error('killed'))
    await expect(running).rejects.toThrow('killed')
  })
})

describe('sed', () => {
  const fs = withFiles({ '/f': 'alpha 1\nbeta 2\ngamma 3\n', '/nonl': 'a\nb' })
  test('s with g, &, groups; -n and p; -e', async () => {
    expect(await sh(fs, ['sed', 's/a/A/', '/f'])).toEqual(ok('Alpha 1\nbetA 2\ngAmma 3\n'))
    expect(await sh(fs, ['sed', 's/a/A/g', '/f'])).toEqual(ok('AlphA 1\nbetA 2\ngAmmA 3\n'))
    expect(await sh(fs, ['sed', 's/a/A/2', '/f'])).toEqual(ok('alphA 1\nbeta 2\ngammA 3\n'))
    expect(await sh(fs, ['sed', 's/[0-9]/<&>/', '/f'])).toEqual(ok('alpha <1>\nbeta <2>\ngamma <3>\n'))
    expect(await sh(fs, ['sed', 's/\\([a-z]*\\) \\([0-9]\\)/\\2 \\1/', '/f'])).toEqual(ok('1 alpha\n2 beta\n3 gamma\n'))
    expect(await sh(fs, ['sed', '-E', 's/([a-z]+) ([0-9])/\\2=\\1/', '/f'])).toEqual(ok('1=alpha\n2=beta\n3=gamma\n'))
    expect(await sh(fs, ['sed', '-n', '/beta/p', '/f'])).toEqual(ok('beta 2\n'))
    expect(await sh(fs, ['sed', '-n', 's/beta/BETA/p', '/f'])).toEqual(ok('BETA 2\n'))
    expect(await sh(fs, ['sed', '-e', 's/1/one/', '-e', 's/2/two/', '/f'])).toEqual(ok('alpha one\nbeta two\ngamma 3\n'))
    expect(await sh(fs, ['sed', 's|/|_|g'], { stdin: '/a/b\n' })).toEqual(ok('_a_b\n'))
    expect(await sh(fs, ['sed', 's/\\//:/g'], { stdin: '/a/b\n' })).toEqual(ok(':a:b\n'))
  })
  test('addresses and other commands', async () => {
    expect(await sh(fs, ['sed', '2d', '/f'])).toEqual(ok('alpha 1\ngamma 3\n'))
    expect(await sh(fs, ['sed', '$d', '/f'])).toEqual(ok('alpha 1\nbeta 2\n'))
    expect(await sh(fs, ['sed', '-n', '2,$p', '/f'])).toEqual(ok('beta 2\ngamma 3\n'))
    expect(await sh(fs, ['sed', '/alpha/,/beta/d', '/f'])).toEqual(ok('gamma 3\n'))
    expect(await sh(fs, ['sed', '2!d', '/f'])).toEqual(ok('beta 2\n'))
    expect(await sh(fs, ['sed', '1q', '/f'])).toEqual(ok('alpha 1\n'))
    expect(await sh(fs, ['sed', '-n', '$='], { stdin: 'a\nb\nc\n' })).toEqual(ok('3\n'))
    expect(await sh(fs, ['sed', '1i\\\nfirst', '/f'])).toEqual(ok('first\nalpha 1\nbeta 2\ngamma 3\n'))
    expect(await sh(fs, ['sed', '1a after', '/f'])).toEqual(ok('alpha 1\nafter\nbeta 2\ngamma 3\n'))
    expect(await sh(fs, ['sed', '2c changed', '/f'])).toEqual(ok('alpha 1\nchanged\ngamma 3\n'))
    expect(await sh(fs, ['sed', 'y/abc/ABC/', '/f'])).toEqual(ok('AlphA 1\nBetA 2\ngAmmA 3\n'))
    expect(await sh(fs, ['sed', '/beta/{s/beta/B/;p}', '/f'])).toEqual(ok('alpha 1\nB 2\nB 2\ngamma 3\n'))
    expect(await sh(fs, ['sed', 's/b/B/', '/nonl'])).toEqual(ok('a\nB'))
    expect(await sh(fs, ['sed', '-n', 'h;n;G;p'], { stdin: '1\n2\n3\n4\n' })).toEqual(ok('2\n1\n4\n3\n'))
  })
  test('-i edits files in place', async () => {
    const w = withFiles({ '/etc/app.conf': 'port=80\nhost=a\n' })
    expect(await sh(w, ['sed', '-i', 's/80/8080/', '/etc/app.conf'])).toEqual(ok(''))
    expect(w.readFile('/etc/app.conf').toString()).toBe('port=8080\nhost=a\n')
    expect(await sh(w, ['sed', '-i.bak', '/host/d', '/etc/app.conf'])).toEqual(ok(''))
    expect(w.readFile('/etc/app.conf').toString()).toBe('port=8080\n')
    expect(w.readFile('/etc/app.conf.bak').toString()).toBe('port=8080\nhost=a\n')
  })
  test('errors', async () => {
    expect(await sh(fs, ['sed', 's/a/b/', '/nope'])).toEqual(fail('sed: /nope: No such file or directory\n'))
    expect(await sh(fs, ['sed', 'k', '/f'])).toEqual(fail('sed: unsupported command k\n'))
    expect(await sh(fs, ['sed', 's/a/b', '/f'])).toEqual(fail("sed: unmatched '/'\n"))
    expect(await sh(fs, ['sed', '-i', 's/a/b/'])).toEqual(fail('sed: -i requires an argument\n'))
    expect(await sh(busyboxFs({ readonlyRootfs: true }), ['sed', '-i', 's/a/b/', '/etc/passwd'])).toEqual(
      fail("sed: can't create '/etc/passwd': Read-only file system\n", 4),
    )
    expect((await sh(fs, ['sed'])).code).toBe(1)
  })
})

describe('cut, tr', () => {
  test('cut -d -f, -c, -s', async () => {
    const fs = withFiles({ '/p': 'root:x:0:0\nnobody:x:65534:65534\nplain\n' })
    expect(await sh(fs, ['cut', '-d:', '-f1,3', '/p'])).toEqual(ok('root:0\nnobody:65534\nplain\n'))
    expect(await sh(fs, ['cut', '-d', ':', '-f', '2-', '-s', '/p'])).toEqual(ok('x:0:0\nx:65534:65534\n'))
    expect(await sh(fs, ['cut', '-c', '1-3,5'], { stdin: 'abcdef\n' })).toEqual(ok('abce\n'))
    expect(await sh(fs, ['cut', '-f', '2'], { stdin: 'a\tb\tc\n' })).toEqual(ok('b\n'))
  })
  test('cut errors', async () => {
    const fs = busyboxFs()
    expect(await sh(fs, ['cut', '/p'])).toEqual(fail('cut: expected a list of bytes, characters, or fields\n'))
    expect(await sh(fs, ['cut', '-f', '1', '/nope'])).toEqual(fail('cut: /nope: No such file or directory\n'))
    expect(await sh(fs, ['cut', '-f', '0'], { stdin: '' })).toEqual(fail("cut: invalid range '0'\n"))
  })
  test('tr sets, ranges, classes, -d, -s, -c', async () => {
    const fs = busyboxFs()
    expect(await sh(fs, ['tr', 'a-z', 'A-Z'], { stdin: 'hello, world\n' })).toEqual(ok('HELLO, WORLD\n'))
    expect(await sh(fs, ['tr', '[:lower:]', '[:upper:]'], { stdin: 'abc\n' })).toEqual(ok('ABC\n'))
    expect(await sh(fs, ['tr', 'abc', 'x'], { stdin: 'aabbcd\n' })).toEqual(ok('xxxxxd\n'))
    expect(await sh(fs, ['tr', '-d', '0-9'], { stdin: 'a1b22c\n' })).toEqual(ok('abc\n'))
    expect(await sh(fs, ['tr', '-s', ' '], { stdin: 'a   b  c\n' })).toEqual(ok('a b c\n'))
    expect(await sh(fs, ['tr', '-cd', '[:alnum:]\\n'], { stdin: 'a-b_c!\n' })).toEqual(ok('abc\n'))
    expect(await sh(fs, ['tr', ':', '\\n'], { stdin: 'a:b\n' })).toEqual(ok('a\nb\n'))
    expect((await sh(fs, ['tr', 'a'], { stdin: '' })).code).toBe(1)
  })
})

describe('sort, uniq', () => {
  test('sort, -r, -n, -u, -k with -t, -o', async () => {
    const fs = withFiles({ '/n': '10\n9\n100\n9\n' })
    expect(await sh(fs, ['sort', '/n'])).toEqual(ok('10\n100\n9\n9\n'))
    expect(await sh(fs, ['sort', '-n', '/n'])).toEqual(ok('9\n9\n10\n100\n'))
    expect(await sh(fs, ['sort', '-nr', '/n'])).toEqual(ok('100\n10\n9\n9\n'))
    expect(await sh(fs, ['sort', '-u', '/n'])).toEqual(ok('10\n100\n9\n'))
    expect(await sh(fs, ['sort', '-t', ':', '-k', '2', '-n'], { stdin: 'a:3\nb:1\nc:2\n' })).toEqual(ok('b:1\nc:2\na:3\n'))
    expect(await sh(fs, ['sort', '-r'], { stdin: 'b\na\nc\n' })).toEqual(ok('c\nb\na\n'))
    expect(await sh(fs, ['sort', '-o', '/tmp/sorted', '/n'])).toEqual(ok(''))
    expect(fs.readFile('/tmp/sorted').toString()).toBe('10\n100\n9\n9\n')
  })
  test('sort errors exit 2', async () => {
    expect(await sh(busyboxFs(), ['sort', '/nope'])).toEqual(fail('sort: /nope: No such file or directory\n', 2))
  })
  test('uniq, -c, -d, -u', async () => {
    const fs = busyboxFs()
    const stdin = 'a\na\nb\nc\nc\nc\na\n'
    expect(await sh(fs, ['uniq'], { stdin })).toEqual(ok('a\nb\nc\na\n'))
    expect(await sh(fs, ['uniq', '-c'], { stdin })).toEqual(ok('      2 a\n      1 b\n      3 c\n      1 a\n'))
    expect(await sh(fs, ['uniq', '-d'], { stdin })).toEqual(ok('a\nc\n'))
    expect(await sh(fs, ['uniq', '-u'], { stdin })).toEqual(ok('b\na\n'))
    expect(await sh(fs, ['uniq', '/nope'])).toEqual(fail("uniq: can't open '/nope': No such file or directory\n"))
  })
})

describe('stat, readlink', () => {
  test('stat -c formats', async () => {
    const fs = withFiles({ '/tmp/f': 'hello' })
    fs.chmod('/tmp/f', 0o640)
    expect(await sh(fs, ['stat', '-c', '%s %a %U %G %n', '/tmp/f'])).toEqual(ok('5 640 root root /tmp/f\n'))
    expect(await sh(fs, ['stat', '-c', '%a %F', '/tmp', '/dev/null', '/etc/hosts'])).toEqual(
      ok('1777 directory\n666 character special file\n644 regular file\n'),
    )
    expect(await sh(fs, ['stat', '-c', '%F %N', '/bin/sh'])).toEqual(ok("symbolic link '/bin/sh' -> '/bin/busybox'\n"))
    expect(await sh(fs, ['stat', '-L', '-c', '%F', '/bin/sh'])).toEqual(ok('regular empty file\n'))
    fs.view({ pid: 2, uid: 1000, gid: 1000 }).writeFile('/tmp/u', '')
    expect(await sh(fs, ['stat', '-c', '%u:%g %U:%G', '/tmp/u'])).toEqual(ok('1000:1000 UNKNOWN:UNKNOWN\n'))
  })
  test('stat without a format', async () => {
    const fs = withFiles({ '/tmp/f': 'hello' })
    fs.utimes('/tmp/f', JAN_2020)
    const r = await sh(fs, ['stat', '/tmp/f'])
    expect(r.stdout).toMatch(
      /^ {2}File: '\/tmp\/f'\n {2}Size: 5 {9}\tBlocks: 8 {9} IO Block: 4096 {3}regular file\nDevice: 2bh\/43d\tInode: \d+ +Links: 1\nAccess: \(0644\/-rw-r--r--\) {2}Uid: \( {4}0\/ {4}root\) {3}Gid: \( {4}0\/ {4}root\)\nAccess: 2020-01-01 12:00:00\.000000000 \+0000\n/,
    )
  })
  test('stat errors', async () => {
    expect(await sh(busyboxFs(), ['stat', '/nope'])).toEqual(fail("stat: can't stat '/nope': No such file or directory\n"))
    const fs = busyboxFs()
    fs.symlink('loop', '/tmp/loop')
    expect(await sh(fs, ['stat', '-L', '/tmp/loop'])).toEqual(fail("stat: can't stat '/tmp/loop': Symbolic link loop\n"))
  })
  test('readlink, -f', async () => {
    const fs = busyboxFs()
    fs.symlink('../etc', '/tmp/etc')
    expect(await sh(fs, ['readlink', '/tmp/etc'])).toEqual(ok('../etc\n'))
    expect(await sh(fs, ['readlink', '-f', '/tmp/etc/passwd'])).toEqual(ok('/etc/passwd\n'))
    expect(await sh(fs, ['readlink', '-f', 'etc/new-file'], { cwd: '/tmp' })).toEqual(ok('/etc/new-file\n'))
    expect(await sh(fs, ['readlink', '/etc/passwd'])).toEqual({ code: 1, stdout: '', stderr: '' })
    expect(await sh(fs, ['readlink', '-f', '/nope/deeper'])).toEqual({ code: 1, stdout: '', stderr: '' })
  })
})

describe('df, du', () => {
  test('df: the overlay root, tmpfs mounts, bind mounts', async () => {
    const fs = busyboxFs()
    fs.writeFile('/dev/shm/seg', Buffer.alloc(10000))
    const r = await sh(fs, ['df'])
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe('Filesystem           1K-blocks      Used Available Use% Mounted on')
    expect(lines[1]).toBe('overlay               61255492  22346768  35767400  38% /')
    expect(lines).toContain('tmpfs                    65536         0     65536   0% /dev')
    expect(lines).toContain('shm                      65536        12     65524   0% /dev/shm')
    expect(lines).toContain('/dev/sda1             61255492  22346768  35767400  38% /etc/hosts')
    expect(await sh(fs, ['df', '-h', '/tmp'])).toEqual(
      ok('Filesystem                Size      Used Available Use% Mounted on\noverlay                  58.4G     21.3G     34.1G  38% /\n'),
    )
    expect(await sh(fs, ['df', '/nope'])).toEqual(
      fail("df: /nope: can't find mount point\n", 1, 'Filesystem           1K-blocks      Used Available Use% Mounted on\n'),
    )
  })
  test('du: directories, -s, -a, -c', async () => {
    const fs = withFiles({ '/d/a': 'x', '/d/sub/b': 'y'.repeat(5000) })
    expect(await sh(fs, ['du', '/d'])).toEqual(ok('12\t/d/sub\n20\t/d\n'))
    expect(await sh(fs, ['du', '-s', '/d'])).toEqual(ok('20\t/d\n'))
    expect(await sh(fs, ['du', '-a', 'd'], { cwd: '/' })).toEqual(ok('4\td/a\n8\td/sub/b\n12\td/sub\n20\td\n'))
    expect(await sh(fs, ['du', '-sc', '/d/a', '/d/sub'])).toEqual(ok('4\t/d/a\n12\t/d/sub\n16\ttotal\n'))
    expect(await sh(fs, ['du', '-sh', '/d'])).toEqual(ok('20.0K\t/d\n'))
    expect(await sh(fs, ['du', '/nope'])).toEqual(fail('du: /nope: No such file or directory\n'))
  })
})
