// An evaluation, not part of `npm run bench` (issue #18): unary calls on @connectrpc/connect-node
// (its gRPC protocol over node:http2) against @grpc/grpc-js, the same proto (CRI's api.proto, made
// into descriptors at run time through protobufjs: there is no protoc here), the same fixed answers
// (the fake's own), each server in a child process, a grpc-js client here. Rates and the server's CPU
// µs per call (from /proc), alternated over ROUNDS; and checks of what faults and the journal need:
// the same answer, a deadline, an error's code, text and trailers; an interceptor (where faults and the
// journal would sit) runs on every connect call, so its cost is in the figures.
// connect-node is not a dependency: install it in a directory of its own and name it in CONNECT_DIR
// (2.1.x is the newest line for Node 20; 2.2 and later need Node 22):
//   mkdir /tmp/connect && cd /tmp/connect && npm init -y && \
//     npm i @connectrpc/connect-node@2.1.2 @connectrpc/connect@2.1.2 @bufbuild/protobuf@2
//   npm run build && CONNECT_DIR=/tmp/connect node bench/connect-eval.mjs
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { runningContainer } from './running-container.mjs'
const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
const grpc = require('@grpc/grpc-js')
const loader = require('@grpc/proto-loader')
const protobuf = require('protobufjs')
const descriptor = require('protobufjs/ext/descriptor')
const CONNECT_DIR = process.env.CONNECT_DIR ?? ''
if (!CONNECT_DIR)
  throw new Error('name the directory where @connectrpc/connect-node is installed in CONNECT_DIR (see the head of this file)')
/** A package of CONNECT_DIR's, as ESM. */
const connect = (name) => import(createRequire(join(CONNECT_DIR, 'x.js')).resolve(name))
const PROTO = join(root, 'proto/cri/runtime/v1/api.proto')
const pkg = grpc.loadPackageDefinition(
  loader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }),
)
const Runtime = pkg.runtime.v1.RuntimeService
const ANSWERS = join(tmpdir(), 'fc-connect-eval-answers.json')

async function serve(kind, socket) {
  const answers = JSON.parse(readFileSync(ANSWERS, 'utf8'))
  if (kind === 'grpc-js') {
    const server = new grpc.Server()
    server.addService(Runtime.service, {
      Version: (_c, cb) => cb(null, answers.Version),
      ContainerStatus: (call, cb) => {
        if (call.request.container_id === 'slow') return setTimeout(() => cb(null, answers.ContainerStatus), 500)
        if (call.request.container_id === 'missing') {
          const md = new grpc.Metadata()
          md.set('x-why', 'gone')
          return cb({ code: grpc.status.NOT_FOUND, details: 'container "missing" not found', metadata: md })
        }
        call.sendMetadata(new grpc.Metadata())
        cb(null, answers.ContainerStatus)
      },
    })
    await new Promise((ok, fail) =>
      server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? fail(e) : ok())),
    )
  } else {
    const http2 = await import('node:http2')
    const { connectNodeAdapter } = await connect('@connectrpc/connect-node')
    const { ConnectError, Code } = await connect('@connectrpc/connect')
    const { fromJson } = await connect('@bufbuild/protobuf')
    const svc = await runtimeServiceDesc(PROTO)
    const version = fromJson(svc.method.version.output, answers.Version)
    const status = fromJson(svc.method.containerStatus.output, answers.ContainerStatus, { ignoreUnknownFields: true })
    let seen = 0
    // An interceptor: where faults and the journal would sit (it sees the request and the response).
    const count = (next) => async (req) => {
      seen++
      return next(req)
    }
    const handler = connectNodeAdapter({
      grpc: true,
      grpcWeb: false,
      connect: false,
      interceptors: [count],
      routes: (router) =>
        router.service(svc, {
          version: () => version,
          containerStatus: async (req, ctx) => {
            if (req.containerId === 'slow') {
              await new Promise((r) => setTimeout(r, 500))
              return status
            }
            if (req.containerId === 'missing') {
              ctx.responseTrailer.set('x-why', 'gone')
              throw new ConnectError('container "missing" not found', Code.NotFound)
            }
            if (req.containerId === 'echo') ctx.responseHeader.set('x-echo', ctx.requestHeader.get('x-ns') ?? '')
            return status
          },
        }),
    })
    const server = http2.createServer(handler)
    await new Promise((ok) => server.listen(socket, ok))
  }
  process.stdout.write('ready\n')
}

function start(kind) {
  const socket = join(tmpdir(), `fc-connect-eval-${kind}.sock`)
  try {
    require('node:fs').rmSync(socket)
  } catch {}
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, 'serve', kind, socket], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((ok) => child.stdout.on('data', () => ok({ kind, address: `unix://${socket}`, pid: child.pid, child })))
}
const call = (c, m, r, md = new grpc.Metadata(), o = {}) => new Promise((ok, fail) => c[m](r, md, o, (e, x) => (e ? fail(e) : ok(x))))
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  // Realistic answers: the fake's own, for a running container.
  const { f, cri, container_id } = await runningContainer(await import(join(root, 'dist/index.js')))
  const answers = {
    Version: await cri.runtime.Version({ version: '' }),
    ContainerStatus: await cri.runtime.ContainerStatus({ container_id, verbose: false }),
  }
  require('node:fs').writeFileSync(ANSWERS, JSON.stringify(answers))
  cri.close()
  await f.close()

  const servers = [await start('grpc-js'), await start('connect')]
  // What the fake needs of a stack.
  for (const s of servers) {
    const c = new Runtime(s.address, grpc.credentials.createInsecure())
    const same = JSON.stringify(await call(c, 'ContainerStatus', { container_id: 'x' })) === JSON.stringify(answers.ContainerStatus)
    const t0 = Date.now()
    const deadline = await call(c, 'ContainerStatus', { container_id: 'slow' }, new grpc.Metadata(), { deadline: Date.now() + 100 }).catch(
      (e) => `${grpc.status[e.code]} after ${Date.now() - t0} ms`,
    )
    const err = await call(c, 'ContainerStatus', { container_id: 'missing' }).catch(
      (e) => `${grpc.status[e.code]} "${e.details}" x-why=${e.metadata.get('x-why')}`,
    )
    console.log(`${s.kind}: same answer ${same}; deadline: ${deadline}; error: ${err}`)
    c.close()
  }
  const rounds = Number(process.env.ROUNDS ?? 5)
  for (const [method, req] of [
    ['Version', { version: '' }],
    ['ContainerStatus', { container_id: 'x' }],
  ]) {
    for (const n of [1, 16]) {
      const per = new Map(servers.map((s) => [s, { rate: [], cpu: [] }]))
      for (let r = 0; r < rounds; r++) {
        for (const s of r % 2 ? [...servers].reverse() : servers) {
          const clients = Array.from(
            { length: n },
            () => new Runtime(s.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
          )
          for (const c of clients) for (let i = 0; i < 100; i++) await call(c, method, req)
          const per1 = n === 1 ? 1500 : 200
          const c0 = cpu(s.pid),
            t0 = performance.now()
          await Promise.all(
            clients.map(async (c) => {
              for (let i = 0; i < per1; i++) await call(c, method, req)
            }),
          )
          const secs = (performance.now() - t0) / 1000
          per.get(s).rate.push((per1 * n) / secs)
          per.get(s).cpu.push(((cpu(s.pid) - c0) / (per1 * n)) * 1e6)
          clients.forEach((c) => c.close())
        }
      }
      console.log(
        `${method}, ${n} client(s): ` +
          servers
            .map((s) => `${s.kind} ${Math.round(median(per.get(s).rate))}/s, ${Math.round(median(per.get(s).cpu))} µs cpu/call`)
            .join('; '),
      )
    }
  }
  for (const s of servers) s.child.kill()
}

/** CRI's RuntimeService as @bufbuild/protobuf descriptors; protobufjs writes relative type names, made full here. */
async function runtimeServiceDesc(protoFile) {
  const { createFileRegistry, fromBinary } = await connect('@bufbuild/protobuf')
  const { FileDescriptorSetSchema } = await connect('@bufbuild/protobuf/wkt')
  const root = new protobuf.Root().loadSync(protoFile, { keepCase: true })
  root.resolveAll()
  const set = root.toDescriptor('proto3')
  const file = set.file[0]
  const fixMessage = (dm, fullName) => {
    const type = root.lookupType(fullName)
    for (const f of dm.field) {
      const pf = type.fields[f.name] ?? type.fields[Object.keys(type.fields).find((k) => type.fields[k].name === f.name)]
      if (!f.typeName) continue
      if (pf?.map) {
        const entry = dm.nestedType.find((n) => n.name === f.typeName || f.typeName.endsWith('.' + n.name))
        f.typeName = `.${fullName}.${entry.name}`
        const value = entry.field.find((x) => x.name === 'value')
        if (value.typeName) value.typeName = pf.resolvedType.fullName
      } else if (pf?.resolvedType) f.typeName = pf.resolvedType.fullName
    }
    for (const n of dm.nestedType) if (!n.options?.mapEntry) fixMessage(n, `${fullName}.${n.name}`)
  }
  for (const m of file.messageType) fixMessage(m, `${file.package}.${m.name}`)
  for (const s of file.service) {
    const ps = root.lookupService(`${file.package}.${s.name}`)
    for (const m of s.method) {
      m.inputType = ps.methods[m.name].resolvedRequestType.fullName
      m.outputType = ps.methods[m.name].resolvedResponseType.fullName
    }
  }
  const bytes = descriptor.FileDescriptorSet.encode(set).finish()
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes)).getService('runtime.v1.RuntimeService')
}

if (process.argv[2] === 'serve') await serve(process.argv[3], process.argv[4])
else await main()
