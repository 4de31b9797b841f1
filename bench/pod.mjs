// One pod as the benchmarks make them (critest's batch does the same): RunPodSandbox, then one
// container running `sleep 3600` (busybox, pulled beforehand), created and started.

/** Starts a pod named `name` (its uid `uid`) with one container, its logs under `logDirectory`. */
export async function startPod(cri, { name, uid, logDirectory }) {
  const config = { metadata: { name, namespace: 'bench', uid }, log_directory: logDirectory }
  const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
  const { container_id } = await cri.runtime.CreateContainer({
    pod_sandbox_id,
    config: { metadata: { name: 'app' }, image: { image: 'busybox' }, command: ['sleep', '3600'], log_path: 'app/0.log' },
    sandbox_config: config,
  })
  await cri.runtime.StartContainer({ container_id })
}
