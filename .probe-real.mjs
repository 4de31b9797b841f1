import { containerdClients } from './dist/client.js'
import { encodeMessage, decodeMessage } from './dist/proto/load.js'
const addr = process.argv[2]
const ctr = containerdClients(addr, 'default')
const call = async (label, req) => {
  try { const r = await ctr.introspection.PluginInfo(req); const i = decodeMessage('containerd.types.RuntimeInfo', r.extra.value); console.log(label, 'OK', i.name, i.options?.type_url, i.options && decodeMessage(i.options.type_url, i.options.value).binary_name) }
  catch (e) { console.log(label, 'ERR', e.code, e.details) }
}
const RR = 'containerd.types.RuntimeRequest'
const base = { type: 'io.containerd.runtime.v2', id: 'task' }
const rr = (p, options) => ({ type_url: RR, value: encodeMessage(RR, { runtime_path: p, ...(options ? { options } : {}) }) })
await call('utf8', { ...base, options: { type_url: RR, value: Buffer.from([0x0a, 0x02, 0xff, 0xfe]) } })
await call('badopts', { ...base, options: rr('io.containerd.runc.v2', { type_url: 'containerd.runc.v1.Options', value: Buffer.from([0xff, 0xff]) }) })
await call('imagestore', { ...base, options: rr('io.containerd.runc.v2', { type_url: 'containerd.types.transfer.ImageStore', value: Buffer.alloc(0) }) })
await call('unknowntype', { ...base, options: rr('io.containerd.runc.v2', { type_url: 'foo.Bar', value: Buffer.alloc(0) }) })
await call('crun', { ...base, options: rr('io.containerd.runc.v2', { type_url: 'containerd.runc.v1.Options', value: encodeMessage('containerd.runc.v1.Options', { binary_name: 'runc' }) }) })
ctr.close()
