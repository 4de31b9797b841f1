// Writes the ready-made node scenarios in fixtures/scenarios/ (run after `npm run build`):
// each is { description, state, faults } — a node state to start from and the fault rules in force.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const { startFakeContainerd, criClients, presets } = await import(join(root, 'dist/index.js'))

async function scenario(name, description, build, faults = []) {
  const fake = await startFakeContainerd()
  const cri = criClients(fake.address)
  await build(cri)
  await new Promise((r) => setTimeout(r, 50))
  const state = fake.snapshot()
  cri.close()
  await fake.close()
  writeFileSync(join(root, 'fixtures/scenarios', `${name}.json`), JSON.stringify({ description, state, faults }, null, 2) + '\n')
}

const pod = (name) => ({
  metadata: { name, namespace: 'default', uid: `${name}-uid`, attempt: 0 },
  labels: { app: name },
  log_directory: `/tmp/fake-containerd-scenarios/pods/default_${name}`,
})

async function runApp(cri, name, container, command, annotations = {}) {
  const config = pod(name)
  const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
  const { container_id } = await cri.runtime.CreateContainer({
    pod_sandbox_id,
    config: {
      metadata: { name: container, attempt: 0 },
      image: { image: 'docker.io/library/busybox:latest' },
      command,
      log_path: `${container}/0.log`,
      annotations,
      labels: { app: name },
    },
    sandbox_config: config,
  })
  await cri.runtime.StartContainer({ container_id })
}

await scenario('empty-node', 'A node with nothing on it (only the sandbox image is pulled).', async (cri) => {
  await cri.image.PullImage({ image: { image: 'registry.k8s.io/pause:3.10' } })
})

await scenario('three-running-pods', 'Three pods (web, api, worker), each with one running container.', async (cri) => {
  await cri.image.PullImage({ image: { image: 'busybox' } })
  for (const name of ['web', 'api', 'worker']) await runApp(cri, name, name, ['sh', '-c', `echo ${name} started; sleep 86400`])
})

await scenario(
  'crash-looping-pod',
  'A pod whose container "app" exits with 1 after printing an error, on every restart (CrashLoopBackOff in kubelet).',
  async (cri) => {
    await cri.image.PullImage({ image: { image: 'busybox' } })
    await runApp(cri, 'crashy', 'app', ['sh', '-c', 'echo "fatal: cannot connect to database" >&2; exit 1'])
  },
  [presets.crashLoop({ name: 'app', labels: { app: 'crashy' } }, 1, 0)],
)

await scenario(
  'network-not-ready',
  'A node whose CNI is not ready: Status reports NetworkReady=false and new pods fail network setup.',
  async () => {},
  [presets.networkNotReady(), presets.cniFailure('cni plugin not initialized')],
)
