// The streaming server's view of the model: CRI's exec, attach and port-forward workflows
// (model/cri/streams.ts) behind the protocol-side interface.
import { attachStream, execStream, portForwardConnect, type StreamsHost } from '../model/cri/streams.js'
import type { StreamingBackend } from './remotecommand.js'

export function modelBackend(node: () => StreamsHost): StreamingBackend {
  return {
    exec: (req, client) => execStream(node(), req.containerId, req.cmd, req.tty, client),
    attach: (req, client) => attachStream(node(), req.containerId, req.tty, client),
    portForward: (sandboxId, port, signal) => portForwardConnect(node(), sandboxId, port, signal),
  }
}
