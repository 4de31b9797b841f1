// The commands that run or combine others (xargs, timeout, nohup, tee, find) and compute over data
// (dd, base64, checksums, expr, free, mktemp), as busybox behaves.
import { describe, expect, test } from 'vitest'
import { SimClock } from '../../src/sim/clock.js'
import { MemFs, sh, start, until } from './sh-helpers.js'

describe('xargs', () => {
  test('words of stdin as arguments, -n batches, -I per line, echo by default', async () => {
    expect((await sh('printf \'a b\\nc "d e"\\n\' | xargs')).stdout).toBe('a b c d e\n')
    expect((await sh("printf '1 2 3 4 5' | xargs -n 2 echo n:")).stdout).toBe('n: 1 2\nn: 3 4\nn: 5\n')
    expect((await sh("printf 'x y\\nz\\n' | xargs -I {} echo '<{}>'")).stdout).toBe('<x y>\n<z>\n')
    expect((await sh('printf "" | xargs echo ran')).stdout).toBe('ran\n')
    expect((await sh('printf "" | xargs -r echo ran')).stdout).toBe('')
  })
  test('exit status: 123 when a run fails, 127 when the command is missing', async () => {
    expect((await sh('echo a | xargs false; echo $?')).stdout).toBe('123\n')
    const r = await sh('echo a | xargs nosuch; echo $?')
    expect(r.stdout).toBe('127\n')
    expect(r.stderr).toBe("xargs: can't execute 'nosuch': No such file or directory\n")
    expect((await sh('echo "a \'b" | xargs; echo $?')).stderr).toBe('xargs: unmatched single quote\n')
  })
})

describe('timeout', () => {
  test('sends TERM when the simulated time is up (143); a quick program keeps its status', async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const r = start('timeout 5 sleep 100; echo "status $?"; timeout 5 sh -c "exit 3"; echo "then $?"', { clock })
    for (let i = 0; i < 10; i++) await new Promise((res) => setImmediate(res))
    expect(r.out.stdout).toBe('')
    clock.advance(5000)
    await until(() => r.out.stdout.includes('then'))
    expect(r.out.stdout).toBe('status 143\nthen 3\n')
  })
  test('-s picks the signal; a bad signal or no program is an error', async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const r = start('timeout -s KILL 1 sleep 9; echo $?', { clock })
    for (let i = 0; i < 10; i++) await new Promise((res) => setImmediate(res))
    clock.advance(1000)
    await until(() => r.out.stdout !== '')
    expect(r.out.stdout).toBe('137\n')
    expect((await sh('timeout -s NOPE 1 true')).stderr).toBe("timeout: unknown signal 'NOPE'\n")
    expect((await sh('timeout 1; echo $?')).stdout).toBe('1\n')
  })
})

describe('tee, nohup', () => {
  test('tee copies stdin to stdout and files; -a appends; a bad path fails but the rest goes on', async () => {
    const fs = new MemFs({ '/tmp/log': 'old\n' })
    const r = await sh('echo hi | tee /tmp/a /no/dir/x | tee -a /tmp/log', { fs })
    expect(r.stdout).toBe('hi\n')
    expect(r.stderr).toBe('tee: /no/dir/x: No such file or directory\n')
    expect(fs.readFile('/tmp/a').toString()).toBe('hi\n')
    expect(fs.readFile('/tmp/log').toString()).toBe('old\nhi\n')
  })
  test('nohup runs the program', async () => {
    expect(await sh('nohup echo still; echo $?')).toMatchObject({ stdout: 'still\n0\n' })
  })
})

describe('find, mktemp', () => {
  const tree = () =>
    new MemFs({
      '/data/a.txt': 'aaaa',
      '/data/b.log': '',
      '/data/sub/c.txt': 'c',
      '/data/sub/deep/d.TXT': 'd',
    })
  test('walks the tree; -name, -iname, -type, -maxdepth, -mindepth, -empty, !, -o', async () => {
    const fs = tree()
    expect((await sh('find /data', { fs })).stdout.split('\n').filter(Boolean).sort()).toEqual([
      '/data',
      '/data/a.txt',
      '/data/b.log',
      '/data/sub',
      '/data/sub/c.txt',
      '/data/sub/deep',
      '/data/sub/deep/d.TXT',
    ])
    expect((await sh("find /data -name '*.txt' | sort", { fs })).stdout).toBe('/data/a.txt\n/data/sub/c.txt\n')
    expect((await sh("find /data -iname '*.txt' -type f | sort", { fs })).stdout).toBe(
      '/data/a.txt\n/data/sub/c.txt\n/data/sub/deep/d.TXT\n',
    )
    expect((await sh('find /data -maxdepth 1 -type d', { fs })).stdout).toBe('/data\n/data/sub\n')
    expect((await sh('find /data -mindepth 2 -type d', { fs })).stdout).toBe('/data/sub/deep\n')
    expect((await sh('find /data -empty', { fs })).stdout).toBe('/data/b.log\n')
    expect((await sh("find /data -maxdepth 1 ! -type d -a ! -name '*.log'", { fs })).stdout).toBe('/data/a.txt\n')
    expect((await sh("find /data -name '*.log' -o -name 'c*' | sort", { fs })).stdout).toBe('/data/b.log\n/data/sub/c.txt\n')
    expect((await sh('find /nope; echo $?', { fs })).stdout).toBe('1\n')
    expect((await sh('find /data -bogus', { fs })).stderr).toBe('find: unrecognized: -bogus\n')
  })
  test('-exec per file and with +, -delete removes depth first', async () => {
    const fs = tree()
    expect((await sh("find /data/sub -type f -exec echo got {} ';' | sort", { fs })).stdout).toBe(
      'got /data/sub/c.txt\ngot /data/sub/deep/d.TXT\n',
    )
    expect((await sh("find /data -name '*.txt' -exec echo all {} +", { fs })).stdout).toBe('all /data/a.txt /data/sub/c.txt\n')
    expect((await sh('find /data/sub -delete; ls /data', { fs })).stdout).toBe('a.txt\nb.log\n')
  })
  test('mktemp makes a file (or -d a directory) under /tmp and prints its path', async () => {
    const fs = new MemFs({ '/tmp': { dir: true, mode: 0o1777 } })
    const r = await sh('f=$(mktemp); d=$(mktemp -d); [ -f "$f" ] && [ -d "$d" ] && echo "$f $d"', { fs })
    expect(r.stdout).toMatch(/^\/tmp\/tmp\.[A-Za-z0-9]{6} \/tmp\/tmp\.[A-Za-z0-9]{6}\n$/)
    expect((await sh('mktemp /tmp/app.XXXX', { fs })).stdout).toMatch(/^\/tmp\/app\.[A-Za-z0-9]{4}\n$/)
  })
})

describe('dd, base64, checksums', () => {
  test('dd copies blocks and reports them on stderr', async () => {
    const fs = new MemFs({ '/src': 'hello world', '/dev/zero': '' })
    const r = await sh('dd if=/src of=/dst bs=4 count=2; cat /dst', { fs })
    expect(r.stdout).toBe('hello wo')
    expect(r.stderr).toBe('2+0 records in\n2+0 records out\n8 bytes (8B) copied, 0.000100 seconds, 80.0kB/s\n')
    expect((await sh('dd if=/src bs=5 skip=1 status=none', { fs })).stdout).toBe(' worl' + 'd')
    expect((await sh('dd if=/nope of=/x; echo $?', { fs })).stdout).toBe('1\n')
  })
  test('base64 wraps at 76 and decodes; sums print HASH  NAME', async () => {
    expect((await sh('printf hello | base64')).stdout).toBe('aGVsbG8=\n')
    expect((await sh('echo aGVsbG8= | base64 -d')).stdout).toBe('hello')
    expect((await sh("printf '%0100d' 0 | base64 | head -1 | wc -c")).stdout.trim()).toBe('77')
    expect((await sh('printf "" | md5sum')).stdout).toBe('d41d8cd98f00b204e9800998ecf8427e  -\n')
    const fs = new MemFs({ '/f': 'abc' })
    expect((await sh('sha256sum /f /missing', { fs })).stdout).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  /f\n',
    )
  })
})

describe('expr, free', () => {
  test('expr: arithmetic, comparisons, strings, and its exit status', async () => {
    expect((await sh('expr 1 + 2 \\* 3')).stdout).toBe('7\n')
    expect((await sh('expr 7 / 2; expr 7 % 2; expr 3 \\> 10; echo $?')).stdout).toBe('3\n1\n0\n1\n')
    expect((await sh('expr abc \\< abd; expr length hello; expr substr hello 2 3; expr index hello l')).stdout).toBe('1\n5\nell\n3\n')
    expect((await sh("expr 'abc123' : '[a-z]*'; expr v1.2 : 'v\\(.*\\)'")).stdout).toBe('3\n1.2\n')
    // The pattern is a BRE, as busybox compiles it: \{ \} count, a plain + is a character.
    expect((await sh("expr aaab : 'a\\{2\\}'; expr a+b : 'a+'; expr aab : 'a+'")).stdout).toBe('2\n2\n0\n')
    const bad = await sh('expr 1 / 0; echo $?; expr a + 1; echo $?')
    expect(bad.stdout).toBe('2\n2\n')
    expect(bad.stderr).toBe('expr: division by zero\nexpr: non-numeric argument\n')
  })
  test('free reads /proc/meminfo', async () => {
    const fs = new MemFs({
      '/proc/meminfo':
        'MemTotal:        8000000 kB\nMemFree:         5000000 kB\nMemAvailable:    6000000 kB\nBuffers:          100000 kB\nCached:           900000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\nShmem:             30000 kB\nSReclaimable:          0 kB\n',
    })
    expect((await sh('free', { fs })).stdout).toBe(
      '              total        used        free      shared  buff/cache   available\n' +
        'Mem:        8000000     2000000     5000000       30000     1000000     6000000\n' +
        'Swap:             0           0           0\n',
    )
    expect((await sh('free -m', { fs })).stdout.split('\n')[1]).toBe(
      'Mem:           7812        1953        4882          29         976        5859',
    )
  })
})

describe('the shell holds no more than the server can', () => {
  test('a variable or a command substitution past 32 MiB is "out of memory" (ash: status 2), not the server', async () => {
    const doubling = await sh('x=a; while true; do x="$x$x"; done; echo unreachable')
    expect(doubling).toMatchObject({ stdout: '', stderr: 'sh: out of memory\n', code: 2 })
    const endless = await sh('x=$(yes); echo unreachable')
    expect(endless).toMatchObject({ stdout: '', stderr: 'sh: out of memory\n', code: 2 })
  })
})

describe('commands over large input', () => {
  test('wc counts megabytes from a pipe (no per-line arrays: busybox counts as it reads)', async () => {
    expect(await sh('yes | head -c 3000001 | wc')).toEqual({ stdout: '  1500000   1500001   3000001\n', stderr: '', code: 0 })
    expect((await sh("printf 'a\\tb\\nlonger line\\n' | wc -L")).stdout).toBe('11\n')
  })
})
