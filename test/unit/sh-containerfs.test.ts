// The shell over the real container filesystem (src/sim/fs), as the wiring will run it.
import { describe, expect, test } from 'vitest'
import type { Fs } from '../../src/sim/fs/types.js'
import { busyboxFs } from './fs-helpers.js'
import { sh as run, type MemFs } from './sh-helpers.js'

const sh = (script: string, fs: Fs) => run(script, { fs: fs as unknown as MemFs, hostname: 'test-pod' })

describe('on a busybox container filesystem', () => {
  test('commands on PATH, /etc from the pod, globbing', async () => {
    const fs = busyboxFs()
    const r = await sh('which sh ls; command -v cat; cat /etc/hostname; echo /etc/host*; [ -x /bin/sh ] && echo executable', fs)
    expect(r).toEqual({ stdout: '/bin/sh\n/bin/ls\n/bin/cat\ntest-pod\n/etc/hostname /etc/hosts\nexecutable\n', stderr: '', code: 0 })
  })
  test('files written by redirections are read by the filesystem commands', async () => {
    const fs = busyboxFs()
    const r = await sh('echo one > /tmp/f; echo two >> /tmp/f; wc -l < /tmp/f; ls /tmp | grep f; cat /tmp/f | tail -n 1', fs)
    expect(r).toEqual({ stdout: '2\nf\ntwo\n', stderr: '', code: 0 })
  })
  test('a read-only root filesystem: the redirection fails as busybox says', async () => {
    const fs = busyboxFs({ readonlyRootfs: true })
    expect(await sh('echo x > /x; echo "status $?"', fs)).toEqual({
      stdout: 'status 1\n',
      stderr: "sh: can't create /x: Read-only file system\n",
      code: 0,
    })
  })
  test('a script file: not executable by its path (126), but sh FILE and . FILE run it', async () => {
    const fs = busyboxFs()
    const r = await sh('printf \'#!/bin/sh\\necho "script $0 $1"\\n\' > /tmp/s.sh; /tmp/s.sh x; echo $?; sh /tmp/s.sh y; . /tmp/s.sh z', fs)
    expect(r.stdout).toBe('126\nscript /tmp/s.sh y\nscript sh z\n')
    expect(r.stderr).toBe('sh: /tmp/s.sh: Permission denied\n')
  })
  test('uname tells the kernel of the simulated /proc', async () => {
    const fs = busyboxFs()
    const r = await sh('uname -r; cat /proc/sys/kernel/osrelease; uname -v', fs)
    const [a, b, v] = r.stdout.trim().split('\n')
    expect(a).toBe(b)
    expect(v).toMatch(/^#\d+ /)
  })
  test('id and whoami read the container /etc/passwd', async () => {
    const fs = busyboxFs()
    expect((await sh('id -un; whoami', fs)).stdout).toBe('root\nroot\n')
  })
})

describe('finding a command: $PATH in the container first, as busybox without FEATURE_SH_STANDALONE', () => {
  test('a masked applet (a device on PATH, nothing regular) is "Permission denied", status 127 as ash gives it', async () => {
    const fs = busyboxFs({ maskedPaths: ['/bin/ls'] })
    expect(await sh('ls /; echo "status $?"', fs)).toEqual({ stdout: 'status 127\n', stderr: 'sh: ls: Permission denied\n', code: 0 })
    // exec fails the same way and ends the shell.
    expect(await sh('exec ls', fs)).toEqual({ stdout: '', stderr: 'sh: exec: line 1: ls: Permission denied\n', code: 127 })
  })
  test("ash's own builtins do not look at PATH", async () => {
    const fs = busyboxFs({ maskedPaths: ['/bin/echo', '/bin/true'] })
    expect(await sh('echo hi && true', fs)).toEqual({ stdout: 'hi\n', stderr: '', code: 0 })
  })
  test('a directory or an unexecutable file earlier on PATH does not hide a later executable', async () => {
    const fs = busyboxFs()
    const r = await sh(
      'mkdir -p /usr/local/bin/cat /usr/local/sbin; echo x > /usr/local/sbin/cat; PATH=/usr/local/sbin:/usr/local/bin:/bin; cat /etc/hostname',
      fs,
    )
    expect(r).toEqual({ stdout: 'test-pod\n', stderr: '', code: 0 })
  })
  test('only an unexecutable regular file: 126; nothing at all: 127; the answer follows changes to the filesystem', async () => {
    const fs = busyboxFs()
    const r = await sh(
      'PATH=/tmp:/bin; tool; echo "a $?"; echo "echo hi" > /tmp/tool; tool; echo "b $?"; rm /tmp/tool; mkdir /tmp/tool; tool; echo "c $?"',
      fs,
    )
    expect(r.stdout).toBe('a 127\nb 126\nc 127\n')
    expect(r.stderr).toBe('sh: tool: not found\nsh: tool: Permission denied\nsh: tool: Permission denied\n')
  })
  test('a script earlier on PATH runs instead of the applet of that name', async () => {
    const fs = busyboxFs()
    const r = await sh(
      "mkdir -p /usr/local/bin; printf '#!/bin/sh\\necho mine\\n' > /usr/local/bin/ls; chmod +x /usr/local/bin/ls; ls /; /bin/ls -d /",
      fs,
    )
    expect(r).toEqual({ stdout: 'mine\n/\n', stderr: '', code: 0 })
  })
  test('an image whose filesystem lists no such file still runs the command of the table', async () => {
    expect(await run('sleep 0; echo done', { hostname: 'h' })).toEqual({ stdout: 'done\n', stderr: '', code: 0 })
  })
})
