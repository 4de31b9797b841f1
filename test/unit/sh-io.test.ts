import { describe, expect, test } from 'vitest'
import { SimClock } from '../../src/sim/clock.js'
import { MemFs, sh, start, until } from './sh-helpers.js'

describe('redirections', () => {
  test('> creates or truncates, >> appends, through the fs', async () => {
    const fs = new MemFs({ '/tmp/old': 'previous\n' })
    const r = await sh('echo one > /tmp/f; echo two >> /tmp/f; echo new >/tmp/old; cd /tmp; echo rel >> f', { fs })
    expect(r).toEqual({ stdout: '', stderr: '', code: 0 })
    expect(fs.text('/tmp/f')).toBe('one\ntwo\nrel\n')
    expect(fs.text('/tmp/old')).toBe('new\n')
  })
  test('< reads a file', async () => {
    const fs = new MemFs({ '/etc/conf': 'a=1\nb=2\n' })
    expect((await sh('while read line; do echo "got $line"; done < /etc/conf; cat < /etc/conf', { fs })).stdout).toBe(
      'got a=1\ngot b=2\na=1\nb=2\n',
    )
  })
  test('2>&1, >&2, 2>/dev/null, >/dev/null', async () => {
    expect(await sh('echo e >&2; echo o 2>&1; echo gone >/dev/null; nope 2>/dev/null; (echo both; echo err >&2) 2>&1')).toEqual({
      stdout: 'o\nboth\nerr\n',
      stderr: 'e\n',
      code: 0,
    })
  })
  test('order matters: 2>&1 >file sends stderr to the old stdout', async () => {
    const fs = new MemFs({ '/tmp/.keep': '' })
    const r = await sh('{ echo out; echo err >&2; } 2>&1 >/tmp/o', { fs })
    expect(r.stdout).toBe('err\n')
    expect(fs.text('/tmp/o')).toBe('out\n')
  })
  test('a read-only filesystem: busybox message, status 1, the command does not run', async () => {
    const fs = new MemFs({ '/etc/hosts': '' })
    fs.readOnly = ['/']
    expect(await sh('echo x > /x; echo "status $?"', { fs })).toEqual({
      stdout: 'status 1\n',
      stderr: "sh: can't create /x: Read-only file system\n",
      code: 0,
    })
  })
  test('a directory as the target', async () => {
    const fs = new MemFs({ '/d/.keep': '' })
    expect((await sh('echo x > /d', { fs })).stderr).toBe("sh: can't create /d: Is a directory\n")
  })
  test('a missing directory or file', async () => {
    expect((await sh('echo x > /no/such/f')).stderr).toBe("sh: can't create /no/such/f: nonexistent directory\n")
    expect(await sh('cat < /missing; echo $?')).toEqual({ stdout: '1\n', stderr: "sh: can't open /missing: no such file\n", code: 0 })
  })
  test('redirections on compound commands and bad descriptors', async () => {
    const fs = new MemFs({ '/tmp/.keep': '' })
    const r = await sh('for i in 1 2; do echo $i; done > /tmp/loop; if true; then echo yes; fi >>/tmp/loop; echo x >&7; echo $?', { fs })
    expect(fs.text('/tmp/loop')).toBe('1\n2\nyes\n')
    expect(r).toMatchObject({ stdout: '1\n', stderr: 'sh: 7: Bad file descriptor\n' })
  })
  test('here-documents', async () => {
    const r = await sh("X=world\ncat <<EOF\nhello $X\n$(echo sub) \\$X\nEOF\ncat <<-'END'\n\tliteral $X\n\tEND\necho done")
    expect(r.stdout).toBe('hello world\nsub $X\nliteral $X\ndone\n')
  })
  test('&> sends both streams to a file', async () => {
    const fs = new MemFs({ '/tmp/.keep': '' })
    await sh('{ echo a; echo b >&2; } &>/tmp/both', { fs })
    expect(fs.text('/tmp/both')).toBe('a\nb\n')
  })
})

describe('pipes', () => {
  test('text flows between the commands of a pipeline', async () => {
    expect((await sh('echo hello | cat | cat')).stdout).toBe('hello\n')
    expect((await sh('printf "a\\nb\\nc\\n" | while read l; do echo "<$l>"; done')).stdout).toBe('<a>\n<b>\n<c>\n')
  })
  test('the status is the last command; ! negates it', async () => {
    expect((await sh('false | true; echo $?; true | false; echo $?; ! true | false; echo $?')).stdout).toBe('0\n1\n0\n')
  })
  test('set -o pipefail', async () => {
    expect((await sh('set -o pipefail; false | true; echo $?')).stdout).toBe('1\n')
  })
  test('each stage is a subshell: assignments do not leak', async () => {
    expect((await sh('X=1; echo 2 | read X; echo $X')).stdout).toBe('1\n')
  })
  test('yes | head ends: the writer gets SIGPIPE (141) when the reader exits', async () => {
    const r = await sh('yes | head -n 3; echo "status $?"; set -o pipefail; yes | head -n 1; echo "pipefail $?"')
    expect(r.stdout).toBe('y\ny\ny\nstatus 0\ny\npipefail 141\n')
  })
  test('SIGPIPE stops a writer of a writer: yes | cat | head', async () => {
    expect((await sh('yes abc | cat | head -n 2')).stdout).toBe('abc\nabc\n')
  })
  test('seq and other endless writers are paced by their reader', async () => {
    expect((await sh('seq 1 100000000 | head -n 3')).stdout).toBe('1\n2\n3\n')
  })
  test('a pipeline stage writing to stderr is not stopped', async () => {
    expect(await sh('echo err >&2 | cat')).toEqual({ stdout: '', stderr: 'err\n', code: 0 })
  })
  test('a process that ignores SIGPIPE gets a write error instead', async () => {
    const r = await sh('trap \'\' PIPE; (yes; echo "yes: $?" >&2) | head -n 1')
    expect(r).toMatchObject({ stdout: 'y\n', stderr: 'yes: 1\n' })
  })
  test('pipes run concurrently: the reader sees lines before the writer ends', async () => {
    const r = start('(echo first; sleep 100; echo never) | while read l; do echo "got $l"; done')
    await until(() => r.out.stdout.includes('got first'))
    r.proc.kill(9)
    expect((await r.exited).code).toBe(137)
  })
})

describe('Reader', () => {
  test('a read given up loses nothing: the line arrives for the next read', async () => {
    const { Reader } = await import('../../src/sim/shell/io.js')
    let deliver!: (s: string) => void
    const reader = new Reader({ read: () => new Promise<string | undefined>((r) => (deliver = r)), readAll: async () => '' })
    let giveUp!: () => void
    const first = reader.readLine('\n', Infinity, new Promise<void>((r) => (giveUp = r)))
    giveUp()
    expect(await first).toBe('cancelled')
    deliver('late line\nrest')
    expect(await reader.readLine()).toEqual({ line: 'late line', complete: true })
    expect(await reader.read()).toBe('rest')
  })
})

describe('read', () => {
  test('from stdin, splitting into variables; the last gets the rest', async () => {
    const r = await sh('read a b; echo "[$a][$b]"; read -r line; echo "[$line]"; read x; echo "eof $? [$x]"', {
      stdin: 'one two three\n  back\\slash  \n',
    })
    expect(r.stdout).toBe('[one][two three]\n[back\\slash]\neof 1 []\n')
  })
  test('without -r a backslash escapes; REPLY by default; IFS', async () => {
    const r = await sh('read; echo "[$REPLY]"; IFS=: read u p rest; echo "$u/$p/$rest"', { stdin: 'a\\ b\\\nc\nroot:x:0:0\n' })
    expect(r.stdout).toBe('[a bc]\nroot/x/0:0\n')
  })
  test('a last line without a newline is read, with status 1', async () => {
    expect((await sh('while read l || [ -n "$l" ]; do echo "<$l>"; done', { stdin: 'a\nb' })).stdout).toBe('<a>\n<b>\n')
  })
  test('from a pipe, line by line across commands', async () => {
    expect((await sh('printf "1\\n2\\n3\\n" | { read a; read b; echo "$b$a"; cat; }')).stdout).toBe('21\n3\n')
  })
  test('-n, -d', async () => {
    expect((await sh('read -n 3 x; echo $x; read -d , y; echo $y', { stdin: 'abcdef,gh' })).stdout).toBe('abc\ndef\n')
  })
  test('read -t gives up when the simulated time is over', async () => {
    const { SimClock } = await import('../../src/sim/clock.js')
    const clock = new SimClock()
    clock.freeze(true)
    const never = { read: () => new Promise<undefined>(() => {}), readAll: () => new Promise<string>(() => {}) }
    const r = start('read -t 5 x; echo "timed out $?"', { clock, stdin: never })
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res))
    expect(r.out.stdout).toBe('')
    clock.advance(5000)
    expect((await r.exited).code).toBe(0)
    expect(r.out.stdout).toBe('timed out 1\n')
  })
  test('a shell started by the shell reads from the same input buffer', async () => {
    const r = await sh('read a; sh -c \'read b; echo "inner $b"\'; read c; echo "outer $a $c"', { stdin: 'one\ntwo\nthree\n' })
    expect(r.stdout).toBe('inner two\nouter one three\n')
  })
  test('sh reads its script from stdin', async () => {
    const { startArgv } = await import('./sh-helpers.js')
    const r = startArgv(['sh'], { stdin: 'echo from stdin; exit 4\n' })
    expect((await r.exited).code).toBe(4)
    expect(r.out.stdout).toBe('from stdin\n')
  })
  test('sh runs each command from stdin once it is complete, before the input ends', async () => {
    const { startArgv, until } = await import('./sh-helpers.js')
    const { StreamInput } = await import('../../src/sim/context.js')
    const input = new StreamInput()
    const r = startArgv(['sh'], { stdin: input })
    input.push('echo one\nif true; then\n')
    await until(() => r.out.stdout === 'one\n')
    input.push('  echo two\n')
    for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res))
    expect(r.out.stdout).toBe('one\n') // the if is not complete yet
    input.push('fi\necho "unterminated\n')
    await until(() => r.out.stdout === 'one\ntwo\n')
    input.push('quote"\n')
    await until(() => r.out.stdout === 'one\ntwo\nunterminated\nquote\n')
    input.end()
    expect((await r.exited).code).toBe(0)
  })

  test('interactive sh (-i): PS1 and PS2 prompts on stderr, and an error does not end it', async () => {
    const { startArgv, MemFs } = await import('./sh-helpers.js')
    const r = startArgv(['sh', '-i'], {
      fs: new MemFs({ '/tmp': { dir: true } }),
      stdin: 'cd /tmp\nfor i in 1 2; do\necho $i; done\n( exit 3 ); echo $?\nbreak 0\necho still here\n',
    })
    expect((await r.exited).code).toBe(0)
    expect(r.out.stdout).toBe('1\n2\n3\nstill here\n')
    expect(r.out.stderr).toBe('/ # /tmp # > /tmp # /tmp # sh: break: Illegal number: 0\n/tmp # /tmp # \n')
  })
})

describe('an interactive shell and ^C', () => {
  test('SIGINT stops the line it runs (a command, a loop, its pipeline) with 130 and it prompts again; TERM does not end it', async () => {
    const { startArgv, until } = await import('./sh-helpers.js')
    const { StreamInput } = await import('../../src/sim/context.js')
    const clock = new SimClock()
    clock.freeze(true)
    const input = new StreamInput()
    const r = startArgv(['sh', '-i'], { stdin: input, clock, pid: 7 })
    const prompts = () => r.out.stderr.split('/ # ').length - 1
    const turns = async () => {
      for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res))
    }
    await until(() => prompts() === 1)
    input.push('sleep 100; echo not reached\n')
    await turns()
    r.proc.kill(2)
    await until(() => prompts() === 2)
    input.push('echo status $?\n')
    await until(() => r.out.stdout === 'status 130\n')
    input.push('while true; do sleep 1 | cat; done\n')
    await turns()
    r.proc.kill(2)
    r.proc.kill(15)
    input.push('echo again $?\n')
    await until(() => r.out.stdout.endsWith('again 130\n'))
    input.end()
    expect((await r.exited).code).toBe(0)
    expect(r.out.stdout).toBe('status 130\nagain 130\n')
  })
})

describe('a terminal', () => {
  test('echoes what is typed, edits the line, hands over whole lines, and ^D ends the input', async () => {
    const { StreamInput } = await import('../../src/sim/context.js')
    const { LineDiscipline } = await import('../../src/sim/tty.js')
    const input = new StreamInput()
    let echoed = ''
    const signals: number[] = []
    const tty = new LineDiscipline(
      input,
      (t) => (echoed += t),
      (s) => signals.push(s),
    )
    tty.receive('ecoo\x7f\x7fho hi\rjunk\x15\x03')
    expect(await input.read()).toBe('echo hi\n')
    expect(echoed).toBe('ecoo\b \b\b \bho hi\r\njunk\b \b\b \b\b \b\b \b^C\r\n')
    expect(signals).toEqual([2])
    tty.receive('\x04')
    expect(await input.read()).toBeUndefined()
  })
})
