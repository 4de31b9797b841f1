// ListMetricDescriptors / ListPodSandboxMetrics: cAdvisor-style metrics, as containerd serves them
// for kubelet's /metrics/cadvisor when PodAndContainerStatsFromCRI is on.
import type { Metric } from '../generated/runtime/v1/Metric.js'
import type { MetricDescriptor } from '../generated/runtime/v1/MetricDescriptor.js'
import type { PodSandboxMetrics } from '../generated/runtime/v1/PodSandboxMetrics.js'
import type { Node } from '../model/node.js'
import type { SandboxRecord } from '../model/cri/records.js'
import type { Usage } from '../model/runtime/stats.js'

const BASE_LABELS = ['container', 'id', 'image', 'name', 'namespace', 'pod']

interface MetricDef {
  name: string
  help: string
  type: 'COUNTER' | 'GAUGE'
  value: (u: Usage) => bigint
}

const DEFS: MetricDef[] = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed in seconds.',
    type: 'COUNTER',
    value: (u) => u.cpuUsageCoreNs / 1_000_000_000n,
  },
  {
    name: 'container_cpu_user_seconds_total',
    help: 'Cumulative user cpu time consumed in seconds.',
    type: 'COUNTER',
    value: (u) => (u.cpuUsageCoreNs * 7n) / 10n / 1_000_000_000n,
  },
  {
    name: 'container_cpu_system_seconds_total',
    help: 'Cumulative system cpu time consumed in seconds.',
    type: 'COUNTER',
    value: (u) => (u.cpuUsageCoreNs * 3n) / 10n / 1_000_000_000n,
  },
  {
    name: 'container_memory_usage_bytes',
    help: 'Current memory usage in bytes, including all memory regardless of when it was accessed',
    type: 'GAUGE',
    value: (u) => u.memoryUsageBytes,
  },
  {
    name: 'container_memory_working_set_bytes',
    help: 'Current working set in bytes.',
    type: 'GAUGE',
    value: (u) => u.memoryWorkingSetBytes,
  },
  { name: 'container_memory_rss', help: 'Size of RSS in bytes.', type: 'GAUGE', value: (u) => u.memoryRssBytes },
  { name: 'container_processes', help: 'Number of processes running inside the container.', type: 'GAUGE', value: (u) => u.processCount },
  {
    name: 'container_fs_usage_bytes',
    help: 'Number of bytes that are consumed by the container on this filesystem.',
    type: 'GAUGE',
    value: (u) => u.writableLayerBytes,
  },
]

export const METRIC_DESCRIPTORS: MetricDescriptor[] = DEFS.map((d) => ({ name: d.name, help: d.help, label_keys: BASE_LABELS }))

export function podSandboxMetrics(node: Node, s: SandboxRecord): PodSandboxMetrics {
  const meta = s.cri.config.metadata
  const metricsOf = (containerName: string, id: string, image: string, u: Usage): Metric[] =>
    DEFS.map((d) => ({
      name: d.name,
      timestamp: u.timestamp.toString(),
      metric_type: d.type,
      label_values: [containerName, id, image, containerName, meta?.namespace ?? '', meta?.name ?? ''],
      value: { value: d.value(u).toString() },
    }))
  const containers = node.sandboxes.containersOf(s.id)
  return {
    pod_sandbox_id: s.id,
    metrics: metricsOf('POD', s.id, s.image, node.usage(s)),
    container_metrics: containers.map((c) => ({
      container_id: c.id,
      metrics: metricsOf(c.cri.config.metadata?.name ?? '', c.id, c.image, node.usage(c)),
    })),
  }
}
