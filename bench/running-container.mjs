// A fake in library mode with one running busybox container (`sleep 3600` in pod p), for benches
// that measure calls on a container.

/** @param lib the package's dist/index.js, imported */
export async function runningContainer(lib) {
  const f = await lib.startFakeContainerd()
  const cri = lib.criClients(f.address)
  await cri.image.PullImage({ image: { image: 'busybox' } })
  const config = { metadata: { name: 'p', namespace: 'n', uid: 'u' } }
  const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
  const { container_id } = await cri.runtime.CreateContainer({
    pod_sandbox_id,
    config: { metadata: { name: 'c' }, image: { image: 'busybox' }, command: ['sleep', '3600'] },
    sandbox_config: config,
  })
  await cri.runtime.StartContainer({ container_id })
  return { f, cri, pod_sandbox_id, container_id }
}
