// Pods reachable from the host, over real loopback sockets: a sandbox's hostPort mappings (TCP and
// UDP) forward into the simulated servers of its pod, a busy or privileged host port fails
// RunPodSandbox with containerd's CNI wording, the ports are free again once the pod stops or the
// server closes; a host-network server answers on 127.0.0.1; with a pod CIDR inside 127/8 a pod's
// servers answer on the pod's own address.
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { criClients } from '../../src/client.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js')
// A CIDR of this file's own: files run in parallel, and pod IPs here are real host addresses.
const LOOPBACK_CIDR = '127.78.0.0/16'
const HTTPD_SCRIPT = 'mkdir -p /www && echo "<h1>from the pod</h1>" > /www/index.html && httpd -f -p 8080 -h /www'

let h: Harness | undefined
const held: Server[] = []
afterEach(async () => {
  await h?.close()
  h = undefined
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

/** Binds 127.0.0.1:port (0: a free one) on the host, or rejects with the bind's error. */
function bindHost(port: number, address = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((socket) => socket.end())
    s.once('error', reject)
    s.listen({ host: address, port, exclusive: true }, () => resolve(s))
  })
}

async function freePort(): Promise<number> {
  const s = await bindHost(0)
  const port = (s.address() as { port: number }).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** A free port below 1024 on 127.0.0.1 (only root can tell: a bind is how to find one). */
async function freePrivilegedPort(): Promise<number> {
  for (let port = 1023; port > 900; port--) {
    try {
      const s = await bindHost(port)
      await new Promise((resolve) => s.close(resolve))
      return port
    } catch {
      // taken: try the next
    }
  }
  throw new Error('no free port between 901 and 1023')
}

async function fetchText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  return { status: res.status, body: await res.text() }
}

/** Fetches until something answers (a server in a container starts listening soon after StartContainer). */
const fetchWhenUp = (url: string) =>
  eventually(async () => {
    try {
      return await fetchText(url)
    } catch {
      return undefined
    }
  }, `${url} to answer`)

const mapping = (hostPort: number, extra: Record<string, unknown> = {}) => ({
  port_mappings: [{ protocol: 'TCP' as const, container_port: 8080, host_port: hostPort, host_ip: '', ...extra }],
})

async function webPod(hh: Harness, name: string, extra: Partial<PodSandboxConfig> = {}) {
  const config = podConfig(name, extra)
  const id = await runPod(hh, config)
  await runContainer(hh, id, config, containerConfig(`${name}-web`, { command: ['sh', '-c', HTTPD_SCRIPT] }))
  return id
}

describe('hostPort mappings', () => {
  test('a TCP host port on 127.0.0.1 (no host_ip) reaches busybox httpd in the pod, and is free again once the pod is removed', async () => {
    h = await harness()
    const port = await freePort()
    const id = await webPod(h, 'web', mapping(port))
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: '<h1>from the pod</h1>\n' })
    // Only 127.0.0.1 is bound, not every address: another loopback address still has the port free.
    held.push(await bindHost(port, '127.0.0.2'))
    await expect(bindHost(port)).rejects.toMatchObject({ code: 'EADDRINUSE' })

    await h.runtime.RemovePodSandbox({ pod_sandbox_id: id })
    held.push(await bindHost(port))
  })

  test('the host port closes when the pod stops, and a second pod cannot take a port the first holds', async () => {
    h = await harness()
    const port = await freePort()
    const first = await webPod(h, 'first', mapping(port, { host_ip: '127.0.0.1' }))
    const err = await grpcError(h.runtime.RunPodSandbox({ config: podConfig('second', mapping(port)) }))
    expect(err.details).toMatch(
      new RegExp(
        `^failed to setup network for sandbox "[0-9a-f]{64}": plugin type="portmap" failed \\(add\\): listen tcp4 127\\.0\\.0\\.1:${port}: bind: address already in use$`,
      ),
    )
    // The failed pod left nothing behind.
    expect((await h.runtime.ListPodSandbox({})).items.map((p) => p.id)).toEqual([first])

    await h.runtime.StopPodSandbox({ pod_sandbox_id: first })
    held.push(await bindHost(port))
  })

  test('a port the host already uses fails RunPodSandbox with the CNI error, naming the port', async () => {
    h = await harness()
    const taken = await bindHost(0)
    held.push(taken)
    const port = (taken.address() as { port: number }).port
    const err = await grpcError(h.runtime.RunPodSandbox({ config: podConfig('busy', mapping(port)) }))
    expect(err.code).toBe(2)
    expect(err.details).toContain(`plugin type="portmap" failed (add): listen tcp4 127.0.0.1:${port}: bind: address already in use`)
  })

  test('a host_ip that is not an address, or a port out of range, is InvalidArgument and binds nothing', async () => {
    h = await harness()
    const named = await grpcError(h.runtime.RunPodSandbox({ config: podConfig('named', mapping(18000, { host_ip: 'localhost' })) }))
    expect([named.code, named.details]).toEqual([3, 'port mapping host_ip "localhost" is not an IP address'])
    const high = await grpcError(h.runtime.RunPodSandbox({ config: podConfig('high', mapping(70000)) }))
    expect([high.code, high.details]).toEqual([3, 'port mapping host_port 70000 is out of range: want 1 to 65535'])
    expect((await h.runtime.ListPodSandbox({})).items).toEqual([])
  })

  test('a UDP host port reaches nc -u in the pod, and the reply comes back to the sender', async () => {
    h = await harness()
    const port = await freePort()
    const config = podConfig('udp', { port_mappings: [{ protocol: 'UDP', container_port: 5353, host_port: port, host_ip: '127.0.0.1' }] })
    const id = await runPod(h, config)
    await runContainer(h, id, config, containerConfig('echo', { command: ['nc', '-u', '-l', '-p', '5353', '-e', 'cat'] }))
    const client = createSocket('udp4')
    try {
      const reply = await eventually(
        () =>
          new Promise<string | undefined>((resolve) => {
            const timer = setTimeout(() => resolve(undefined), 200)
            client.once('message', (data) => {
              clearTimeout(timer)
              resolve(data.toString())
            })
            client.send('ping\n', port, '127.0.0.1')
          }),
        'the echo',
      )
      expect(reply).toBe('ping\n')
    } finally {
      client.close()
    }
  })

  test('closing the server frees its host ports', async () => {
    h = await harness()
    const port = await freePort()
    await webPod(h, 'web', mapping(port))
    await fetchWhenUp(`http://127.0.0.1:${port}/`)
    await h.close()
    h = undefined
    held.push(await bindHost(port))
  })

  test('after a restart from --state, a ready pod has its host port again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-hostport-state-'))
    try {
      const state = join(dir, 'state.json')
      h = await harness({ state })
      const port = await freePort()
      await webPod(h, 'kept', mapping(port))
      await fetchWhenUp(`http://127.0.0.1:${port}/`)
      await h.close()
      h = await harness({ state })
      expect(await fetchWhenUp(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: '<h1>from the pod</h1>\n' })
    } finally {
      await h?.close()
      h = undefined
      rmSync(dir, { recursive: true, force: true })
    }
  })

  const root = process.getuid?.() === 0
  test.skipIf(!root)('as root, a host port below 1024 is bound like any other', async () => {
    h = await harness()
    const port = await freePrivilegedPort()
    await webPod(h, 'low', mapping(port))
    expect((await fetchWhenUp(`http://127.0.0.1:${port}/`)).body).toBe('<h1>from the pod</h1>\n')
  })

  // Without root the bind is refused (EACCES): RunPodSandbox says which port and what privilege it
  // needs, and so does the log. As root, the server is run as nobody to see it.
  const setpriv = existsSync('/usr/bin/setpriv')
  test.skipIf(root && !setpriv)(
    'without privilege, a host port below 1024 fails the pod with a message naming the port',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fc-hostport-'))
      chmodSync(dir, 0o777)
      const socket = join(dir, 'c.sock')
      const args = [CLI, '--socket', socket, '--log-level', 'warn']
      const child = root
        ? spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      let stdout = ''
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
      const clients = criClients(`unix://${socket}`)
      try {
        await eventually(() => (stdout.includes('listening on') ? true : undefined), 'the server to listen', 20_000)
        const err = await grpcError(clients.runtime.RunPodSandbox({ config: podConfig('low', mapping(80)) }))
        const uid = root ? 65534 : process.getuid?.()
        const why =
          `listen tcp4 127.0.0.1:80: bind: permission denied: host port 80 is below 1024 and fake-containerd runs as uid ${uid}; ` +
          'binding it needs root or CAP_NET_BIND_SERVICE (or choose a host port of 1024 or above)'
        expect(err.details).toContain(`plugin type="portmap" failed (add): ${why}`)
        await eventually(() => (stderr.includes(why) ? true : undefined), 'the log line')
        expect(stderr).toMatch(/level=error msg="failed to setup network for sandbox .*permission denied: host port 80 /)
      } finally {
        clients.close()
        child.kill()
        rmSync(dir, { recursive: true, force: true })
      }
    },
    30_000,
  )
})

describe('host-network servers', () => {
  test('a server in a hostNetwork pod answers on 127.0.0.1 of the host until it exits', async () => {
    h = await harness()
    const port = await freePort()
    const config = podConfig('onnode', { linux: { security_context: { namespace_options: { network: 'NODE' } } } })
    const id = await runPod(h, config)
    const script = `mkdir -p /www && echo node > /www/index.html && httpd -f -p ${port} -h /www`
    const web = await runContainer(h, id, config, containerConfig('web', { command: ['sh', '-c', script] }))
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'node\n' })
    await h.runtime.StopContainer({ container_id: web, timeout: 0 })
    await eventually(async () => {
      try {
        held.push(await bindHost(port))
        return true
      } catch {
        return undefined
      }
    }, 'the host port to be free')
  })
})

describe('a pod CIDR on loopback', () => {
  test("a pod's server answers on the pod IP from the host, pods still reach each other, and the address goes with the pod", async () => {
    h = await harness({ podCidr: LOOPBACK_CIDR })
    const id = await webPod(h, 'web')
    const ip = (await h.runtime.PodSandboxStatus({ pod_sandbox_id: id })).status?.network?.ip ?? ''
    expect(ip).toMatch(/^127\.78\.0\.\d+$/)
    expect(await fetchWhenUp(`http://${ip}:8080/`)).toEqual({ status: 200, body: '<h1>from the pod</h1>\n' })

    // Inside the simulation the pod IP is the pod's, not every namespace's loopback.
    const otherConfig = podConfig('client')
    const other = await runPod(h, otherConfig)
    const box = await runContainer(h, other, otherConfig, containerConfig('box', { command: ['sleep', '3600'] }))
    const got = await h.runtime.ExecSync({ container_id: box, cmd: ['wget', '-q', '-O-', `http://${ip}:8080/`], timeout: 10 })
    expect(got.stdout.toString()).toBe('<h1>from the pod</h1>\n')
    const own = await h.runtime.ExecSync({ container_id: box, cmd: ['nc', '-z', '127.0.0.1', '8080'], timeout: 10 })
    expect(own.exit_code).toBe(1)

    await h.runtime.StopPodSandbox({ pod_sandbox_id: id })
    await eventually(async () => {
      try {
        held.push(await bindHost(8080, ip))
        return true
      } catch {
        return undefined
      }
    }, 'the pod address to be free')
  })
})
