// The pod the scale benches make (bench/scale.mjs, bench/pod-heap.mjs), kept once so their figures
// are of the same thing: RunPodSandbox, then two containers running `sleep 3600`, each created and started.
import { join } from 'node:path'

/** Makes pod `i` (its logs under `dir`) through `cri`; returns its id and its containers' ids. */
export async function makeScalePod(cri, i, dir) {
  const config = {
    metadata: { name: `scale-${i}`, namespace: 'scale', uid: `uid-${i}`, attempt: 0 },
    labels: { app: `app-${i % 10}` },
    log_directory: join(dir, 'logs', `${i}`),
  }
  const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
  const containerIds = []
  for (const c of ['a', 'b']) {
    const { container_id } = await cri.runtime.CreateContainer({
      pod_sandbox_id,
      sandbox_config: config,
      config: {
        metadata: { name: c, attempt: 0 },
        image: { image: 'busybox' },
        command: ['sleep', '3600'],
        log_path: `${c}.log`,
        labels: { role: c },
      },
    })
    await cri.runtime.StartContainer({ container_id })
    containerIds.push(container_id)
  }
  return { podId: pod_sandbox_id, containerIds }
}
