import { describe, expect, test } from 'vitest'
import { SimClock } from '../../src/sim/clock.js'
import { FakeTable, MemFs, sh, start, startArgv, until } from './sh-helpers.js'

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}
const out = async (script: string, o: Parameters<typeof sh>[1] = {}) => (await sh(script, o)).stdout

describe('echo', () => {
  test('-n, -e, -E, and an invalid option is text', async () => {
    expect(
      await out(
        `echo a b; echo -n no-newline; echo; echo -e 'tab\\there\\n\\x41\\0101\\c ignored'; echo; echo -E 'raw\\n'; echo -x -n; echo -`,
      ),
    ).toBe('a b\nno-newline\ntab\there\nAA\nraw\\n\n-x -n\n-\n')
  })
})

describe('printf', () => {
  test('conversions, widths, precision, escapes', async () => {
    const script = `printf '%s|%5s|%-5s|%.2s|%d|%5d|%-4d|%05d|%+d|%i\\n' a b c xyz 42 7 3 42 5 -9
printf '%x %X %o %#x %#o %c %%\\n' 255 255 8 255 8 hello
printf '%.2f %e %g %g\\n' 3.14159 12345.678 0.0001 100000
printf '%b\\n' 'a\\tb'
printf 'no newline'`
    expect(await out(script)).toBe(
      'a|    b|c    |xy|42|    7|3   |00042|+5|-9\nff FF 10 0xff 010 h %\n3.14 1.234568e+04 0.0001 100000\na\tb\nno newline',
    )
  })
  test('the format is reused for the remaining arguments; missing ones are empty or 0', async () => {
    expect(await out(`printf '%s=%d\\n' a 1 b 2 c`)).toBe('a=1\nb=2\nc=0\n')
  })
  test("'c gives a character's code; an invalid number is an error (status 1)", async () => {
    expect(await sh(`printf '%d %d\\n' "'A" abc`)).toEqual({ stdout: '65 0\n', stderr: "sh: invalid number 'abc'\n", code: 1 })
  })
  test('run outside a shell, its messages begin with its own name', async () => {
    const r = startArgv(['printf', '%d\n', 'x'])
    expect((await r.exited).code).toBe(1)
    expect(r.out).toEqual({ stdout: '0\n', stderr: "printf: invalid number 'x'\n" })
  })
})

describe('true, false, exit, :', () => {
  test('statuses', async () => {
    expect(await out('true; echo $?; false; echo $?; :; echo $?; /bin/true; echo $?')).toBe('0\n1\n0\n0\n')
  })
})

describe('test and [', () => {
  const fs = new MemFs({
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
    '/empty': '',
    '/bin/tool': { content: '#!/bin/sh\n', mode: 0o755 },
    '/secret': { content: 's', mode: 0o600 },
    '/link': { symlink: '/etc/passwd' },
    '/dir': { dir: true },
  })
  const t = async (expr: string, identity?: { uid: number; gid: number; groups: number[] }) =>
    (await sh(`[ ${expr} ]; echo $?`, { fs, ...(identity ? { identity } : {}) })).stdout.trim()

  test('strings', async () => {
    expect(await t('abc = abc')).toBe('0')
    expect(await t('abc != abc')).toBe('1')
    expect(await t('-n ""')).toBe('1')
    expect(await t('-z ""')).toBe('0')
    expect(await t('x')).toBe('0')
    expect(await t('""')).toBe('1')
    expect(await t('a \\< b')).toBe('0')
  })
  test('integers', async () => {
    expect(await t('3 -eq 3')).toBe('0')
    expect(await t('3 -lt 10')).toBe('0')
    expect(await t('-5 -ge 2')).toBe('1')
    expect(await t('10 -ne 10')).toBe('1')
  })
  test('files through the fs', async () => {
    expect(await t('-e /etc/passwd')).toBe('0')
    expect(await t('-f /etc/passwd')).toBe('0')
    expect(await t('-d /etc')).toBe('0')
    expect(await t('-f /dir')).toBe('1')
    expect(await t('-s /etc/passwd')).toBe('0')
    expect(await t('-s /empty')).toBe('1')
    expect(await t('-L /link')).toBe('0')
    expect(await t('-h /etc/passwd')).toBe('1')
    expect(await t('-x /bin/tool')).toBe('0')
    expect(await t('-x /etc/passwd')).toBe('1')
    expect(await t('-e /nope')).toBe('1')
  })
  test('permissions follow the identity', async () => {
    const user = { uid: 1000, gid: 1000, groups: [1000] }
    expect(await t('-r /secret')).toBe('0')
    expect(await t('-w /secret')).toBe('0')
    expect(await t('-r /secret', user)).toBe('1')
    expect(await t('-r /etc/passwd', user)).toBe('0')
    expect(await t('-w /etc/passwd', user)).toBe('1')
  })
  test('!, -a, -o, parentheses', async () => {
    expect(await t('! -e /nope')).toBe('0')
    expect(await t('-e /etc -a -e /nope')).toBe('1')
    expect(await t('-e /etc -o -e /nope')).toBe('0')
    expect(await t('\\( 1 -eq 2 -o 2 -eq 2 \\) -a x = x')).toBe('0')
  })
  test('errors: status 2 with busybox messages', async () => {
    expect(await sh('[ abc -eq 1 ]; echo $?')).toEqual({ stdout: '2\n', stderr: 'sh: abc: bad number\n', code: 0 })
    expect(await sh('[ 1 = 1; echo $?')).toEqual({ stdout: '2\n', stderr: 'sh: missing ]\n', code: 0 })
    expect(await sh('[ 1 -foo 1 ]; echo $?')).toEqual({ stdout: '2\n', stderr: 'sh: -foo: unknown operand\n', code: 0 })
    expect(await sh('test a b c d e; echo $?')).toMatchObject({ stdout: '2\n' })
  })
  test('test is the same command; [[ closes with ]]', async () => {
    expect(await out('test 1 -gt 0 && echo yes; [[ a = a ]] && echo yes2')).toBe('yes\nyes2\n')
  })
})

describe('env, pwd, cd', () => {
  test('env prints the environment; env VAR=x cmd runs cmd with it; -i and -u', async () => {
    const r = await sh("env; echo --; env A=1 B=2 sh -c 'echo $A$B$Z'; env -i sh -c 'echo [$Z]'; env -u Z sh -c 'echo [$Z]'", {
      env: { Z: 'z', PATH: '/bin' },
    })
    expect(r.stdout).toBe('Z=z\nPATH=/bin\nPWD=/\nSHLVL=1\n--\n12z\n[]\n[]\n')
  })
  test('env of something missing: 127', async () => {
    expect(await sh('env nope; echo $?')).toEqual({
      stdout: '127\n',
      stderr: "env: can't execute 'nope': No such file or directory\n",
      code: 0,
    })
  })
  test('cd changes the directory of the shell and its commands; cd -; cd with no argument goes $HOME', async () => {
    const fs = new MemFs({ '/srv/app/x': '', '/root/.keep': '' })
    const r = await sh('pwd; cd /srv/app; pwd; echo $PWD $OLDPWD; cd ..; pwd; cd -; cd; pwd; cd /srv/app/x; echo $?', { fs })
    expect(r.stdout).toBe('/\n/srv/app\n/srv/app /\n/srv\n/srv/app\n/root\n2\n')
    expect(r.stderr).toBe("sh: cd: line 1: can't cd to /srv/app/x: Not a directory\n")
  })
  test('pwd -P resolves symlinks', async () => {
    const fs = new MemFs({ '/real/.keep': '', '/l': { symlink: '/real' } })
    expect(await out('cd /l; pwd; pwd -P', { fs })).toBe('/l\n/real\n')
  })
})

describe('export, unset, set, shift, readonly, local', () => {
  test('export lists exported variables', async () => {
    expect(await out('export A=1 B; export -p', { env: {} })).toBe("export A='1'\nexport B\nexport PWD='/'\nexport SHLVL='1'\n")
  })
  test('set lists variables; set -- sets the parameters; shift', async () => {
    expect(await out('set -- a b c d; shift; echo "$@"; shift 2; echo "$@"; shift 5; echo $? "$@"')).toBe('b c d\nd\n1 d\n')
    expect(await out('X="a b"; set | grep -q x; set', { env: {} })).toContain("X='a b'\n")
  })
  test('set -x traces commands to stderr', async () => {
    expect(await sh('set -x; A=1 echo "a b" $A')).toEqual({ stdout: 'a b\n', stderr: "+ A=1 echo 'a b'\n", code: 0 })
  })
  test('readonly variables cannot change', async () => {
    expect(await sh('readonly R=1; R=2; echo never')).toEqual({ stdout: '', stderr: 'sh: R: is read only\n', code: 2 })
  })
  test('unset -f removes a function', async () => {
    expect(await sh('f() { echo f; }; f; unset -f f; f')).toMatchObject({ stdout: 'f\n', stderr: 'sh: f: not found\n', code: 127 })
  })
  test('local outside a function', async () => {
    expect((await sh('local x=1')).stderr).toBe('sh: local: line 1: not in a function\n')
  })
})

describe('kill', () => {
  test('kill -l lists signals; kill -l N names one', async () => {
    const r = await out('kill -l | head -n 2; kill -l 143; kill -l 9; kill -l TERM')
    expect(r).toBe(' 1) HUP\n 2) INT\nTERM\nKILL\n15\n')
  })
  test('signals a process of the table; errors', async () => {
    const table = new FakeTable()
    const victim = startArgv(['sleep', '1000'], { table, pid: 42, clock: new SimClock() })
    const r = await sh('kill -0 42 && echo alive; kill -s INT 42; kill 4242; echo $?; kill -FOO 1; echo $?', { table })
    expect(r.stdout).toBe('alive\n1\n1\n')
    expect(r.stderr).toBe("sh: can't kill pid 4242: No such process\nsh: bad signal name 'FOO'\n")
    expect(await victim.exited).toEqual({ code: 130, signal: 2 })
  })
})

describe('id, whoami, hostname, uname, nproc', () => {
  const fs = new MemFs({
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n',
    '/etc/group': 'root:x:0:\nwheel:x:10:root,app\nnobody:x:65534:\napp:x:1000:\n',
  })
  test('id from the identity, names from /etc', async () => {
    expect(await out('id; id -u; id -g; id -G; id -un; id -gn; id -Gn', { fs })).toBe(
      'uid=0(root) gid=0(root) groups=0(root),10(wheel)\n0\n0\n0 10\nroot\nroot\nroot wheel\n',
    )
    expect(await out('id; whoami', { fs, identity: { uid: 1000, gid: 1000, groups: [1000, 10] } })).toBe(
      'uid=1000(app) gid=1000(app) groups=1000(app),10(wheel)\napp\n',
    )
    expect(await out('id nobody', { fs })).toBe('uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n')
  })
  test('unknown ids', async () => {
    const identity = { uid: 4242, gid: 4242, groups: [] }
    expect(await sh('id; id -un; whoami', { fs, identity })).toEqual({
      stdout: 'uid=4242 gid=4242 groups=4242\n4242\n',
      stderr: 'id: unknown ID 4242\nwhoami: unknown uid 4242\n',
      code: 1,
    })
  })
  test('hostname', async () => {
    expect(await out('hostname; hostname -s', { hostname: 'web-0.svc.local' })).toBe('web-0.svc.local\nweb-0\n')
    expect((await sh('hostname other')).stderr).toBe('hostname: sethostname: Operation not permitted\n')
  })
  test('uname', async () => {
    const r = await out('uname; uname -r; uname -m; uname -a', { hostname: 'pod' })
    const [s, rel, m, all] = r.trim().split('\n')
    expect(s).toBe('Linux')
    expect(rel).toMatch(/\S/)
    expect(m).toMatch(/^\S+$/)
    expect(all).toMatch(new RegExp(`^Linux pod ${rel?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .* ${m} GNU/Linux$`))
  })
  test('nproc', async () => {
    expect(await out('nproc')).toMatch(/^[1-9]\d*\n$/)
  })
})

describe('date', () => {
  const clock = new SimClock()
  clock.freeze(true)
  clock.advance(Date.UTC(2030, 0, 2, 3, 4, 5) - clock.now())
  test('default format, +format, -u, -R, -I, -d', async () => {
    const r = await out(
      "date; date -u +'%Y-%m-%d %H:%M:%S %j %a %b %e %s'; date -R; date -I; date -Iseconds; date -d @0 +%F; date -d '2024-02-29 12:00' +%A",
      { clock },
    )
    expect(r).toBe(
      'Wed Jan  2 03:04:05 UTC 2030\n2030-01-02 03:04:05 002 Wed Jan  2 1893553445\nWed, 02 Jan 2030 03:04:05 +0000\n2030-01-02\n2030-01-02T03:04:05+00:00\n1970-01-01\nThursday\n',
    )
  })
  test('setting the date is not permitted', async () => {
    expect((await sh('date 010203042030', { clock })).stderr).toBe("date: can't set date: Operation not permitted\n")
  })
})

describe('yes, seq, basename, dirname', () => {
  test('yes with a string', async () => {
    expect(await out('yes ab cd | head -n 2')).toBe('ab cd\nab cd\n')
  })
  test('seq', async () => {
    expect(await out('seq 3; seq 2 4; seq 10 -3 4; seq -s , 3; seq -w 8 10; seq 1 0.5 2; seq 5 1')).toBe(
      '1\n2\n3\n2\n3\n4\n10\n7\n4\n1,2,3\n08\n09\n10\n1.0\n1.5\n2.0\n',
    )
    expect((await sh('seq x')).stderr).toBe("seq: invalid number 'x'\n")
  })
  test('basename and dirname', async () => {
    expect(
      await out(
        'basename /a/b/c.txt; basename /a/b/c.txt .txt; basename /a/b/; basename /; dirname /a/b/c; dirname a; dirname /a; dirname /',
      ),
    ).toBe('c.txt\nc\nb\n/\n/a/b\n.\n/\n/\n')
  })
})

describe('ps, pgrep, top', () => {
  const table = (): FakeTable => {
    const t = new FakeTable()
    t.procs.set(7, { info: { pid: 7, ppid: 1, user: 'www-data', args: ['nginx: worker process'] }, kill: () => true })
    t.procs.set(12, { info: { pid: 12, ppid: 1, user: 'root', args: ['/usr/bin/python3', 'app.py', '--port', '80'] }, kill: () => true })
    return t
  }
  test('ps: busybox columns; -o', async () => {
    const r = await out('ps; ps -o pid,user,comm; ps -o pid=,args=', { table: table() })
    expect(r).toBe(
      'PID   USER     TIME  COMMAND\n' +
        '    1 root      0:00 sh -c ps; ps -o pid,user,comm; ps -o pid=,args=\n' +
        '    7 www-data  0:00 nginx: worker process\n' +
        '   12 root      0:00 /usr/bin/python3 app.py --port 80\n' +
        'PID   USER     COMMAND\n' +
        '    1 root     sh\n' +
        '    7 www-data nginx: worker p\n' +
        '   12 root     python3\n' +
        '    1 sh -c ps; ps -o pid,user,comm; ps -o pid=,args=\n' +
        '    7 nginx: worker process\n' +
        '   12 /usr/bin/python3 app.py --port 80\n',
    )
  })
  test('pgrep: by name, -f full command line, -l, -x; 1 when nothing matches', async () => {
    // The shell's own command line is searched too: the patterns avoid matching it.
    const r = await sh(
      "pgrep python; pgrep -f 'p[o]rt'; pgrep -l nginx; pgrep -x pyth; echo $?; pgrep -lf 'app[.]py'; pgrep -f 'pgrep -x'",
      { table: table() },
    )
    expect(r.stdout).toBe('12\n12\n7 nginx: worker p\n1\n12 /usr/bin/python3 app.py --port 80\n1\n')
  })
  test('top -b -n 2: header and process list every 3 simulated seconds, then ends', async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const r = start('top -b -n 2', { clock, table: table() })
    await until(() => r.out.stdout.includes('COMMAND'))
    await settle()
    expect(r.out.stdout).toMatch(
      /^Mem: \d+K used, \d+K free, \d+K shrd, \d+K buff, \d+K cached\nCPU: {3}0% usr {3}0% sys {3}0% nic 100% idle {3}0% io {3}0% irq {3}0% sirq\nLoad average: [\d.]+ [\d.]+ [\d.]+ \d+\/\d+ \d+\n {2}PID {2}PPID USER {5}STAT {3}VSZ %VSZ CPU %CPU COMMAND\n {4}1 {5}0 root {5}S {8}0 {3}0% {3}0 {3}0% sh -c top -b -n 2\n {4}7 {5}1 www-data S/,
    )
    const once = r.out.stdout
    clock.advance(2999)
    await settle()
    expect(r.out.stdout).toBe(once)
    clock.advance(1)
    expect(await r.exited).toEqual({ code: 0 })
    // The host's memory figures may change between screens; the process list does not.
    const list = (screen: string) => screen.slice(screen.indexOf('  PID'))
    const screens = r.out.stdout.split(/(?=Mem:)/)
    expect(screens).toHaveLength(2)
    expect(list(screens[1] as string)).toBe(list(once))
  })
  test('top without -n runs until killed', async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const r = start('top', { clock })
    await until(() => r.out.stdout.includes('COMMAND'))
    expect(r.out.stdout.startsWith('\x1b[H\x1b[JMem:')).toBe(true)
    await settle()
    clock.advance(3000)
    await until(() => r.out.stdout.split('Mem:').length === 3)
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 143, signal: 15 })
  })
})

describe('which, command -v, type', () => {
  const fs = new MemFs({ '/usr/bin/python3': { content: '\x7fELF', mode: 0o755 }, '/bin/ls': { content: '\x7fELF', mode: 0o755 } })
  test('which: a file on PATH, or a builtin; 1 when not found', async () => {
    expect(await sh('which python3 ls echo; which nope; echo $?', { fs })).toEqual({
      stdout: '/usr/bin/python3\n/bin/ls\necho\n1\n',
      stderr: '',
      code: 0,
    })
  })
  test('command -v and type', async () => {
    const r = await sh('f() { :; }; command -v python3 echo f if cd nope; echo $?; type f cd echo python3 if', { fs })
    expect(r.stdout).toBe(
      '/usr/bin/python3\necho\nf\nif\ncd\n1\nf is a function\ncd is a shell builtin\necho is a shell builtin\npython3 is /usr/bin/python3\nif is a shell keyword\n',
    )
  })
  test('command NAME bypasses a function', async () => {
    expect(await out('echo() { printf "fn\\n"; }; echo x; command echo real')).toBe('fn\nreal\n')
  })
  test('an executable that is not a known command runs as a service until TERM', async () => {
    const r = start('echo up; /usr/bin/python3 app.py; echo "exit $?"', { fs, isInit: true })
    await until(() => r.out.stdout === 'up\n')
    expect(r.proc.running).toBe(true)
    r.proc.kill(9)
    expect((await r.exited).code).toBe(137)
  })
  test('exec of a service gets the signals of the process', async () => {
    const r = start('exec /usr/bin/python3 app.py', { fs, isInit: true })
    await settle()
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 0 })
  })
})

describe('entry points', () => {
  test('runArgv: a command by name or by path, a script, not found', async () => {
    const fs = new MemFs({ '/app/run.sh': { content: 'echo "run $*"\n', mode: 0o755 } })
    const r = (argv: string[]) => startArgv(argv, { fs })
    const a = r(['/bin/echo', 'by', 'path'])
    expect(await a.exited).toEqual({ code: 0 })
    expect(a.out.stdout).toBe('by path\n')
    const b = r(['/app/run.sh', 'x'])
    await b.exited
    expect(b.out.stdout).toBe('run x\n')
    const c = r(['nope'])
    expect(await c.exited).toEqual({ code: 127 })
    expect(c.out.stderr).toBe('exec: "nope": executable file not found in $PATH\n')
  })
  test('runShell and makeCommandContext without a SimProcess', async () => {
    const { makeCommandContext, runShell } = await import('../../src/sim/shell/index.js')
    let stdout = ''
    const ctx = makeCommandContext(
      {
        args: [],
        env: { GREETING: 'hi' },
        clock: new SimClock(),
        signal: new AbortController().signal,
        write: (s, t) => void (s === 'stdout' && (stdout += t)),
        trap: () => {},
        terminate: () => {},
      },
      { fs: new MemFs(), identity: { uid: 0, gid: 0, groups: [] }, hostname: 'h', processes: new FakeTable(), cwd: '/tmp' },
    )
    expect(await runShell('echo "$GREETING from $(pwd)"; exit 3', ctx)).toBe(3)
    expect(stdout).toBe('hi from /tmp\n')
  })
})
