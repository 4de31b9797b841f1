// Version and Status answers: what crictl version / crictl info print.
import type { StatusResponse } from '../generated/runtime/v1/StatusResponse.js'
import type { VersionResponse } from '../generated/runtime/v1/VersionResponse.js'
import type { Node } from '../model/node.js'
import type { NodeFault } from '../faults/rule.js'
import type { RuntimeCondition } from '../generated/runtime/v1/RuntimeCondition.js'

export interface RuntimeIdentity {
  runtimeName: string
  runtimeVersion: string
}

export interface RuntimeInfo {
  version(): VersionResponse
  status(verbose: boolean): StatusResponse
}

export function runtimeInfo(node: Node, identity: RuntimeIdentity): RuntimeInfo {
  return {
    // containerd answers the CRI "version" field with the kubelet API version it speaks, "0.1.0".
    version: () => ({
      version: '0.1.0',
      runtime_name: identity.runtimeName,
      runtime_version: identity.runtimeVersion,
      runtime_api_version: 'v1',
    }),
    status: (verbose) => ({
      status: {
        conditions: [
          condition('RuntimeReady', node.faults.condition('runtimeNotReady'), 'RuntimeNotReady'),
          condition('NetworkReady', node.faults.condition('networkNotReady'), 'NetworkPluginNotReady'),
          { type: 'ContainerdHasNoDeprecationWarnings', status: true, reason: '', message: '' },
        ],
      },
      // As containerd 2: the default handler once more under the name "" (a pod that names none
      // gets it). User namespaces are not simulated (no uid_map, no idmapped mounts): not claimed.
      runtime_handlers: ['', ...[...node.options.runtimeHandlers].sort()].map((name) => ({
        name,
        features: { recursive_read_only_mounts: true, user_namespaces: false },
      })),
      features: { supplemental_groups_policy: true, user_namespaces_host_network: false },
      info: verbose ? verboseInfo(node) : {},
    }),
  }
}

/** A Status condition, false with containerd's reason while a not-ready node fault stands. */
function condition(type: string, fault: NodeFault | undefined, reason: string): RuntimeCondition {
  if (!fault) return { type, status: true, reason: '', message: '' }
  const message =
    fault.message ??
    (type === 'NetworkReady' ? 'Network plugin returns error: cni plugin not initialized' : 'the container runtime is not ready')
  return { type, status: false, reason, message }
}

function verboseInfo(node: Node): Record<string, string> {
  return {
    config: JSON.stringify({
      containerd: {
        defaultRuntimeName: node.options.runtimeHandlers[0],
        runtimes: Object.fromEntries(
          node.options.runtimeHandlers.map((h) => [h, { runtimeType: 'io.containerd.runc.v2', snapshotter: 'overlayfs' }]),
        ),
      },
      sandboxImage: node.options.sandboxImage,
      cni: { binDir: '/opt/cni/bin', confDir: '/etc/cni/net.d' },
      podCidr: node.state.podCidr,
      enableCDI: true,
    }),
    golang: JSON.stringify(`fake-containerd on node ${process.version}`),
    cniconfig: JSON.stringify({
      PluginDirs: ['/opt/cni/bin'],
      PluginConfDir: '/etc/cni/net.d',
      Prefix: 'eth',
      Networks: [
        {
          Config: {
            Name: 'fake-containerd',
            CNIVersion: '1.0.0',
            Plugins: [{ Network: { type: 'bridge', ipam: { type: 'host-local', subnet: node.state.podCidr } } }],
          },
          IFName: 'eth0',
        },
      ],
    }),
    lastCNILoadStatus: 'OK',
    'lastCNILoadStatus.default': 'OK',
  }
}
