// The simulated pod network over CRI: containers serve and fetch over it as on a node (wget, nc,
// nslookup, netstat, busybox httpd), the server images' programs (nginx, Apache httpd) run and log
// as those images do, and a host-network container sees the node's sockets while a pod's does not.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { ContainerConfig } from '../../src/generated/runtime/v1/ContainerConfig.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerConfig, eventually, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

const NGINX = 'docker.io/library/nginx:latest'
const E2E_NGINX = 'registry.k8s.io/e2e-test-images/nginx:1.14-2'
const HOSTNET_NGINX = 'gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64:latest'
const HTTPD = 'registry.k8s.io/e2e-test-images/httpd:2.4.39-4'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

interface Pod {
  id: string
  config: PodSandboxConfig
  ip: string
}

let pods = 0
async function pod(extra: Partial<PodSandboxConfig> = {}): Promise<Pod> {
  const config = podConfig(`net-${++pods}`, { log_directory: join(h.logDir, `pod-${pods}`), ...extra })
  const id = await runPod(h, config)
  const ip = (await h.runtime.PodSandboxStatus({ pod_sandbox_id: id })).status?.network?.ip ?? ''
  return { id, config, ip }
}

const hostNetwork = (): Partial<PodSandboxConfig> => ({ linux: { security_context: { namespace_options: { network: 'NODE' } } } })

let containers = 0
async function start(p: Pod, extra: Partial<ContainerConfig> = {}): Promise<string> {
  const name = `c${++containers}`
  return runContainer(h, p.id, p.config, containerConfig(name, { command: ['sleep', '3600'], log_path: `${name}.log`, ...extra }))
}

const exec = async (id: string, cmd: string[]) => {
  const r = await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code }
}

async function logOf(id: string): Promise<string> {
  const path = (await h.runtime.ContainerStatus({ container_id: id })).status?.log_path ?? ''
  return readFileSync(path, 'utf8')
}

/** Waits until the container's log has a line matching `re`; returns the log. */
const logHas = (id: string, re: RegExp, what: string) => eventually(async () => ((await logOf(id)).match(re) ? logOf(id) : undefined), what)

/** Waits until netstat in a container shows `text` (a one-shot server such as nc -l must not be probed by connecting). */
const netstatHas = (id: string, flags: string[], text: string) =>
  eventually(
    async () => ((await exec(id, ['netstat', ...flags])).out.includes(text) ? true : undefined),
    `netstat ${flags.join(' ')} to show ${text}`,
  )

/** Waits until something listens on ip:port, seen from container `from`. */
const listening = (from: string, ip: string, port: number) =>
  eventually(async () => ((await exec(from, ['nc', '-z', ip, String(port)])).code === 0 ? true : undefined), `${ip}:${port} to listen`)

describe('nginx', () => {
  test('serves its welcome page on 127.0.0.1 in its pod and on the pod IP to another pod, logging each request', async () => {
    const web = await pod()
    const nginx = await start(web, { image: { image: E2E_NGINX }, command: [] })
    const sidecar = await start(web)
    const client = await start(await pod())
    await listening(sidecar, '127.0.0.1', 80)

    const local = await exec(sidecar, ['wget', '-q', '-O', '-', 'http://127.0.0.1/'])
    expect(local.code).toBe(0)
    expect(local.out).toContain('<title>Welcome to nginx!</title>')
    expect(local.err).toBe('')

    const remote = await exec(client, ['wget', `http://${web.ip}/`, '-O', '/tmp/page.html'])
    expect(remote.code).toBe(0)
    expect(remote.err).toBe(
      `Connecting to ${web.ip} (${web.ip}:80)\nsaving to '/tmp/page.html'\n` +
        `page.html            100% |********************************|   612  0:00:00 ETA\n'/tmp/page.html' saved\n`,
    )
    expect((await exec(client, ['cat', '/tmp/page.html'])).out).toBe(local.out)

    const log = await logHas(nginx, /"GET \/ HTTP\/1\.1" 200 612 "-" "Wget" "-"\n[^]*"GET \/ HTTP\/1\.1" 200 612/, 'two access lines')
    const [first, second] = log.split('\n').filter((l) => l.includes('"GET /'))
    expect(first).toMatch(
      / stdout F 127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/ HTTP\/1\.1" 200 612 "-" "Wget" "-"$/,
    )
    expect(second).toContain(` stdout F 10.88.0.3 - - [`)
  })

  test('is the master process (pid file, retitled cmdline, pidof), answers 404 as nginx, and stops on SIGQUIT with exit 0', async () => {
    const web = await pod()
    const nginx = await start(web, {
      image: { image: NGINX },
      command: ['nginx', '-g', 'daemon off;'],
      linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } },
    })
    await listening(nginx, '127.0.0.1', 80)
    expect((await exec(nginx, ['cat', '/var/run/nginx.pid'])).out).toBe('1\n')
    expect((await exec(nginx, ['cat', '/proc/1/cmdline'])).out).toBe('nginx: master process nginx -g daemon off;\0')
    expect((await exec(nginx, ['cat', '/proc/1/comm'])).out).toBe('nginx\n')
    expect(await exec(nginx, ['pidof', 'nginx'])).toEqual({ out: '1\n', err: '', code: 0 })

    // wget -S shows the status line of an error, and stops there.
    expect(await exec(nginx, ['wget', '-S', 'http://localhost/nope'])).toEqual({
      out: '',
      err: 'Connecting to localhost (127.0.0.1:80)\n  HTTP/1.1 404 Not Found\nwget: server returned error: HTTP/1.1 404 Not Found\n',
      code: 1,
    })
    const page = await exec(nginx, ['sh', '-c', 'printf "GET /nope HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1 80'])
    expect(page.out).toMatch(
      /^HTTP\/1\.1 404 Not Found\r\nServer: nginx\/1\.31\.3\r\nDate: .* GMT\r\nContent-Type: text\/html\r\nContent-Length: 153\r\nConnection: close\r\n\r\n/,
    )
    expect(page.out).toMatch(
      /\r\n<html>\r\n<head><title>404 Not Found<\/title><\/head>\r\n<body>\r\n<center><h1>404 Not Found<\/h1><\/center>\r\n<hr><center>nginx\/1\.31\.3<\/center>\r\n<\/body>\r\n<\/html>\r\n$/,
    )
    expect((await exec(nginx, ['netstat', '-ltnp'])).out).toContain(
      'tcp        0      0 0.0.0.0:80              0.0.0.0:*               LISTEN      1/nginx: master proc\n',
    )

    await h.runtime.StopContainer({ container_id: nginx, timeout: 10 })
    const status = await waitForState(h, nginx, 'CONTAINER_EXITED')
    expect(status.exit_code).toBe(0)
    const log = await logOf(nginx)
    expect(log).toMatch(/ stderr F \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[notice\] 1#1: nginx\/1\.31\.3$/m)
    expect(log).toMatch(/\[notice\] 1#1: start worker processes$/m)
    expect(log).toMatch(/\[error\] 1#1: open\(\) "\/usr\/share\/nginx\/html\/nope" failed \(2: No such file or directory\)/)
    expect(log).toMatch(/\[notice\] 1#1: signal 3 \(SIGQUIT\) received, shutting down$/m)
    expect(log).toMatch(/\[notice\] 1#1: exit$/m)
  })

  test('the official image as it is: /docker-entrypoint.sh configures, then execs nginx, which serves and stops on SIGQUIT', async () => {
    const web = await pod()
    const nginx = await start(web, { image: { image: NGINX }, command: [] })
    await listening(nginx, '127.0.0.1', 80)
    expect((await exec(nginx, ['wget', '-qO-', 'http://127.0.0.1/'])).out).toContain('<title>Welcome to nginx!</title>')
    const log = await logOf(nginx)
    expect(log).toMatch(/ stdout F \/docker-entrypoint\.sh: Launching \/docker-entrypoint\.d\/30-tune-worker-processes\.sh\n/)
    expect(log).toMatch(/ stdout F \/docker-entrypoint\.sh: Configuration complete; ready for start up\n/)
    await h.runtime.StopContainer({ container_id: nginx, timeout: 30 })
    expect(await waitForState(h, nginx, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 0, reason: 'Completed' })
  })

  test("run by `sh -c`, nginx replaces the shell (ash execs a script's last command) and so gets the stop signal", async () => {
    const web = await pod()
    const nginx = await start(web, {
      image: { image: NGINX },
      command: ['sh', '-c', "echo starting; nginx -g 'daemon off;'"],
      linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } },
    })
    await listening(nginx, '127.0.0.1', 80)
    await h.runtime.StopContainer({ container_id: nginx, timeout: 30 })
    expect(await waitForState(h, nginx, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 0, reason: 'Completed' })
    expect(await logOf(nginx)).toMatch(/\[notice\] 1#1: signal 3 \(SIGQUIT\) received, shutting down$/m)
  })

  test('a busybox container has no nginx: not found in a shell, and a container whose command is nginx does not start', async () => {
    const p = await pod()
    const box = await start(p)
    expect(await exec(box, ['sh', '-c', 'nginx -g "daemon off;"'])).toEqual({ out: '', err: 'sh: nginx: not found\n', code: 127 })
    const created = await h.runtime.CreateContainer({
      pod_sandbox_id: p.id,
      config: containerConfig('no-nginx', { command: ['nginx'] }),
      sandbox_config: p.config,
    })
    await expect(h.runtime.StartContainer({ container_id: created.container_id })).rejects.toThrow(
      /exec: "nginx": executable file not found in \$PATH/,
    )
  })

  test('the hostnet image listens on 12003 of the node: other host-network pods reach it on 127.0.0.1, pods on the gateway', async () => {
    const node = await pod(hostNetwork())
    await start(node, { image: { image: HOSTNET_NGINX }, command: ['nginx', '-g', 'daemon off;'] })
    const neighbour = await start(await pod(hostNetwork()))
    await listening(neighbour, '127.0.0.1', 12003)
    expect((await exec(neighbour, ['wget', '-q', '-O-', 'http://127.0.0.1:12003/'])).out).toContain('<h1>Welcome to nginx!</h1>')
    const inPod = await start(await pod())
    expect((await exec(inPod, ['wget', '-q', '-O-', 'http://10.88.0.1:12003/'])).out).toContain('<h1>Welcome to nginx!</h1>')
    // Nothing listens on 12003 inside a pod's own namespace.
    expect(await exec(inPod, ['wget', '-q', 'http://127.0.0.1:12003/'])).toEqual({
      out: '',
      err: "wget: can't connect to remote host (127.0.0.1): Connection refused\n",
      code: 1,
    })
  })
})

describe('Apache httpd', () => {
  test('logs its startup lines (the command line critest waits for) and serves "It works!"', async () => {
    const web = await pod()
    const httpd = await start(web, { image: { image: HTTPD }, command: [] })
    const client = await start(await pod())
    const log = await logHas(httpd, /AH00094: Command line: 'httpd -D FOREGROUND'/, 'the command line in the log')
    expect(log).toMatch(
      new RegExp(
        ` stderr F AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using ${web.ip.replace(/\./g, '\\.')}\\. Set the 'ServerName' directive globally to suppress this message$`,
        'm',
      ),
    )
    expect(log).toMatch(
      / stderr F \[\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\] \[mpm_event:notice\] \[pid \d+:tid \d+\] AH00489: Apache\/2\.4\.39 \(Unix\) configured -- resuming normal operations$/m,
    )
    await listening(client, web.ip, 80)
    expect(await exec(client, ['wget', '-q', '-O', '-', `http://${web.ip}/`])).toEqual({
      out: '<html><body><h1>It works!</h1></body></html>\n',
      err: '',
      code: 0,
    })
    expect(await logHas(httpd, /10\.88\.0\.3 - - \[.*\] "GET \/ HTTP\/1\.1" 200 45$/m, 'the access line')).toBeTruthy()
    // httpd-foreground is the image's script; its httpd is Apache, not busybox's.
    expect((await exec(httpd, ['cat', '/usr/local/bin/httpd-foreground'])).out).toContain('exec httpd -DFOREGROUND "$@"')
    expect((await exec(httpd, ['httpd', '-v'])).out).toMatch(/^Server version: Apache\/2\.4\.39 \(Unix\)\n/)
    await h.runtime.StopContainer({ container_id: httpd, timeout: 10 })
    expect((await waitForState(h, httpd, 'CONTAINER_EXITED')).exit_code).toBe(0)
    expect(await logOf(httpd)).toMatch(/AH00491: caught SIGTERM, shutting down$/m)
  })
})

describe('busybox commands over the pod network', () => {
  test('nc: a server in one pod, a client in another, each sending its stdin; the client ends when the server does', async () => {
    const a = await pod()
    const server = await start(a, { command: ['sh', '-c', 'echo hello from the server | nc -l -p 9000; echo "server done $?"'] })
    const client = await start(await pod())
    await netstatHas(server, ['-ltn'], ':9000 ')
    const r = await exec(client, ['sh', '-c', `echo hello from the client | nc ${a.ip} 9000`])
    expect(r).toEqual({ out: 'hello from the server\n', err: '', code: 0 })
    const log = await logHas(server, /server done 0/, 'the server to finish')
    expect(log).toMatch(/ stdout F hello from the client\n.* stdout F server done 0\n$/)

    // A client waiting for data sees the end of the stream when the server's process ends (the
    // server's stdin stays open: it does not shut down its side before).
    const quiet = await start(a, { command: ['sh', '-c', 'sleep 3600 | nc -l -p 9001'] })
    await netstatHas(quiet, ['-ltn'], ':9001 ')
    const waiting = await start(await pod(), { command: ['sh', '-c', `nc ${a.ip} 9001 </dev/null; echo "closed $?"`] })
    // The client has shut down its side: the server's end waits to close.
    await netstatHas(quiet, ['-tn'], 'CLOSE_WAIT')
    await h.runtime.StopContainer({ container_id: quiet, timeout: 0 })
    await logHas(waiting, /closed 0/, 'the client to see the end')
  })

  test('connection refused, unknown names, unreachable addresses, and a port that is taken', async () => {
    const a = await pod()
    const box = await start(a)
    expect(await exec(box, ['wget', `http://${a.ip}:8080/`])).toEqual({
      out: '',
      err: `Connecting to ${a.ip}:8080 (${a.ip}:8080)\nwget: can't connect to remote host (${a.ip}): Connection refused\n`,
      code: 1,
    })
    expect(await exec(box, ['wget', '-q', 'http://nosuchhost/'])).toEqual({ out: '', err: "wget: bad address 'nosuchhost'\n", code: 1 })
    expect(await exec(box, ['wget', '-q', 'http://10.88.0.200/'])).toEqual({
      out: '',
      err: "wget: can't connect to remote host (10.88.0.200): Host is unreachable\n",
      code: 1,
    })
    // nc 1.10 says nothing of a refused port unless asked twice.
    expect(await exec(box, ['nc', '-z', a.ip, '8080'])).toEqual({ out: '', err: '', code: 1 })
    expect((await exec(box, ['nc', '-vv', '-z', a.ip, '8080'])).err).toBe(
      `nc: ${a.ip} (${a.ip}:8080): Connection refused\nsent 0, rcvd 0\n`,
    )

    await start(a, { command: ['nc', '-l', '-p', '8080'] })
    await netstatHas(box, ['-ltn'], '0.0.0.0:8080 ')
    expect(await exec(box, ['nc', '-l', '-p', '8080'])).toEqual({ out: '', err: 'nc: bind: Address in use\n', code: 1 })
    // Another pod has a namespace of its own: the port is free there.
    const other = await start(await pod(), { command: ['nc', '-l', '-p', '8080'] })
    await netstatHas(other, ['-ltn'], '0.0.0.0:8080 ')
  })

  test('wget -T gives up on a server that never answers, on the simulated clock', async () => {
    h.fake.clock.freeze(true)
    const a = await pod()
    // A server that accepts and then says nothing (its stdin stays open).
    const silent = await start(a, { command: ['sh', '-c', 'sleep 3600 | nc -l -p 8000'] })
    await netstatHas(silent, ['-ltn'], ':8000 ')
    const client = await start(await pod())
    const fetching = exec(client, ['wget', '-q', '-T', '5', `http://${a.ip}:8000/`])
    await netstatHas(silent, ['-tn'], 'ESTABLISHED')
    h.fake.clock.advance(5000)
    expect(await fetching).toEqual({ out: '', err: 'wget: download timed out\n', code: 1 })
  })

  test('busybox httpd serves a directory of the container: index.html, files, a redirect for a directory, 404', async () => {
    const a = await pod()
    const web = await start(a, {
      command: [
        'sh',
        '-c',
        'mkdir -p /www/docs && echo "<h1>home</h1>" > /www/index.html && echo notes > /www/docs/a.txt && echo docs > /www/docs/index.html && httpd -f -v -p 8080 -h /www',
      ],
    })
    const client = await start(await pod())
    await listening(client, a.ip, 8080)
    expect((await exec(client, ['wget', '-q', '-O-', `http://${a.ip}:8080/`])).out).toBe('<h1>home</h1>\n')
    const headers = await exec(client, ['wget', '-S', '-O-', `http://${a.ip}:8080/docs/a.txt`])
    expect(headers.out).toBe('notes\n')
    expect(headers.err).toMatch(
      /^  HTTP\/1\.1 200 OK\n  Date: .* GMT\n  Connection: close\n  Content-type: text\/plain\n  Accept-Ranges: bytes\n/m,
    )
    const dir = await exec(client, ['wget', '-S', '--spider', `http://${a.ip}:8080/docs`])
    expect(dir.err).toContain('  HTTP/1.1 302 Found\n')
    expect(dir.err).toContain('  Location: /docs/\n')
    expect(dir.err).toMatch(/remote file exists\n$/)
    expect(await exec(client, ['wget', '-q', '-O-', `http://${a.ip}:8080/nope`])).toEqual({
      out: '',
      err: 'wget: server returned error: HTTP/1.1 404 Not Found\n',
      code: 1,
    })
    expect(await logHas(web, /10\.88\.0\.3:\d+: response:404/, 'the verbose log')).toMatch(/stderr F 10\.88\.0\.3:\d+: response:200/)
  })

  test('nslookup asks the cluster DNS named in resolv.conf: localhost, pod records, and NXDOMAIN for the rest', async () => {
    const a = await pod({ dns_config: { servers: ['10.96.0.10'], searches: [], options: [] } })
    const box = await start(a)
    expect(await exec(box, ['nslookup', 'localhost'])).toEqual({
      out:
        'Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n' +
        'Non-authoritative answer:\nName:\tlocalhost\nAddress: 127.0.0.1\n\n' +
        'Non-authoritative answer:\nName:\tlocalhost\nAddress: ::1\n\n',
      err: '',
      code: 0,
    })
    expect((await exec(box, ['nslookup', '10-88-0-2.default.pod.cluster.local'])).out).toContain(
      'Name:\t10-88-0-2.default.pod.cluster.local\nAddress: 10.88.0.2\n',
    )
    expect(await exec(box, ['nslookup', 'nosuch.example'])).toEqual({
      out: "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n** server can't find nosuch.example: NXDOMAIN\n\n** server can't find nosuch.example: NXDOMAIN\n\n",
      err: '',
      code: 1,
    })
    // The pod's hostname is in its /etc/hosts, which wget reads, but not in DNS.
    expect((await exec(box, ['nslookup', a.config.hostname ?? ''])).code).toBe(1)
    await start(a, { command: ['nc', '-l', '-p', '7000'] })
    await eventually(
      async () => ((await exec(box, ['nc', '-z', a.config.hostname ?? '', '7000'])).code === 0 ? true : undefined),
      'nc by hostname',
    )
  })

  test('pidof lists the processes of the PID namespace by name, newest first; none found is status 1', async () => {
    const p = await pod()
    await start(p)
    const second = await start(p)
    // The pod shares one PID namespace: pause is 1, then each container's init.
    expect(await exec(second, ['pidof', 'sleep'])).toEqual({ out: '3 2\n', err: '', code: 0 })
    expect(await exec(second, ['pidof', '-s', 'sleep', 'pause'])).toEqual({ out: '3 1\n', err: '', code: 0 })
    expect(await exec(second, ['pidof', 'nginx'])).toEqual({ out: '', err: '', code: 1 })
  })
})

describe('the node and the pod namespaces', () => {
  let server: Server
  let port = 0
  beforeEach(async () => {
    server = createServer((socket) => socket.end('hello'))
    await new Promise<void>((resolve) => server.listen(0, resolve))
    port = (server.address() as { port: number }).port
  })
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())))

  test("netstat -ln in a host-network container shows the node's listening sockets; in a pod's it does not", async () => {
    const onNode = await start(await pod(hostNetwork()))
    expect((await exec(onNode, ['sh', '-c', 'netstat -ln'])).out).toMatch(new RegExp(`:${port}\\s.*LISTEN`))
    const inPod = await start(await pod())
    const podView = await exec(inPod, ['sh', '-c', 'netstat -ln'])
    expect(podView.out).not.toContain(`:${port} `)
    expect(podView.out).toMatch(
      /^Active Internet connections \(only servers\)\nProto Recv-Q Send-Q Local Address {11}Foreign Address {9}State {7}\n/,
    )
  })

  test('a pod sees its own listeners in netstat, and /proc/net/tcp as the kernel writes it', async () => {
    const a = await pod()
    const listener = await start(a, { command: ['nc', '-l', '-p', '5555'] })
    const box = await start(a)
    await netstatHas(box, ['-ltn'], ':5555 ')
    expect((await exec(box, ['netstat', '-ltn'])).out).toContain(
      'tcp        0      0 0.0.0.0:5555            0.0.0.0:*               LISTEN      \n',
    )
    expect((await exec(box, ['cat', '/proc/net/tcp'])).out).toMatch(
      /^ {3}0: 00000000:15B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000 {5}0 {8}0 \d+ 1 /m,
    )
    await h.runtime.StopContainer({ container_id: listener, timeout: 0 })
    await eventually(
      async () => (!(await exec(box, ['netstat', '-ltn'])).out.includes(':5555') ? true : undefined),
      'the listener to close',
    )
  })

  const ipcmk = ['/usr/bin/ipcmk', '/bin/ipcmk'].some((p) => existsSync(p)) && existsSync('/proc/sysvipc/shm')
  test.skipIf(!ipcmk)("ipcs -m in a host-IPC container shows the node's segments (ipcmk on the host); a pod's has none", async () => {
    const made = execFileSync('ipcmk', ['-M', '1048576'], { encoding: 'utf8' })
    const id = made.trim().replace(/^Shared memory id: /, '')
    try {
      const onNode = await start(await pod({ linux: { security_context: { namespace_options: { ipc: 'NODE' } } } }))
      const node = await exec(onNode, ['ipcs', '-m'])
      expect(node.out).toMatch(new RegExp(`^0x[0-9a-f]{8} ${id.padEnd(10)} \\S+\\s+\\d+\\s+1048576 `, 'm'))
      const inPod = await start(await pod())
      expect(await exec(inPod, ['ipcs', '-m'])).toEqual({
        out: '\n------ Shared Memory Segments --------\nkey        shmid      owner      perms      bytes      nattch     status      \n\n',
        err: '',
        code: 0,
      })
    } finally {
      execFileSync('ipcrm', ['-m', id])
    }
  })
})
