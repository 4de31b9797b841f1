// Ready-made fault rules for what goes wrong on real nodes. Each returns plain rules, so they can
// be combined, listed and passed to use() like any other.
import type { CallFault, FaultRule, Match, NodeFault } from './rule.js'

/** The presets' defaults, kept here once: the presets take them, the web view's form shows them (web/presets.ts). */
export const PRESET_DEFAULTS = {
  /** The image glob of the pull presets: every image. */
  image: '*',
  /** crashLoop's exit code and delay. */
  exitCode: 1,
  crashAfterMs: 0,
  /** oomKill's delay. */
  oomAfterMs: 100,
  /** How many calls flaky and dropConnection fail. */
  times: 1,
} as const

const D = PRESET_DEFAULTS

export const presets = {
  /** Every pull fails as a registry that cannot be reached fails it (ErrImagePull in kubelet). */
  registryUnavailable: (image: string = D.image): NodeFault => ({ kind: 'pullFailure', pull: 'unavailable', match: { image } }),
  /** Pulls of matching images fail as "not found". */
  imageNotFound: (image: string = D.image): NodeFault => ({ kind: 'pullFailure', pull: 'notFound', match: { image } }),
  /** Pulls of matching images are refused for want of credentials. */
  pullUnauthorized: (image: string = D.image): NodeFault => ({ kind: 'pullFailure', pull: 'unauthorized', match: { image } }),
  /** Pulls of matching images take this long. */
  slowPull: (durationMs: number, image: string = D.image): NodeFault => ({
    kind: 'pullFailure',
    pull: 'slow',
    durationMs,
    match: { image },
  }),
  /** Matching containers exit with `exitCode` after `afterMs`, every attempt: kubelet sees CrashLoopBackOff. */
  crashLoop: (match: Match = {}, exitCode: number = D.exitCode, afterMs: number = D.crashAfterMs): NodeFault => ({
    kind: 'crash',
    match,
    exitCode,
    afterMs,
  }),
  /** Matching containers are OOM-killed (137, reason OOMKilled) after `afterMs`. */
  oomKill: (match: Match = {}, afterMs: number = D.oomAfterMs): NodeFault => ({ kind: 'oom', match, afterMs }),
  /** RunPodSandbox fails in network setup, as a CNI plugin failure does. */
  cniFailure: (message?: string, match: Match = {}): NodeFault => ({ kind: 'sandboxNetwork', match, ...(message ? { message } : {}) }),
  /** Status reports NetworkReady=false (NetworkPluginNotReady) until the rule is reset. */
  networkNotReady: (message?: string): NodeFault => ({ kind: 'networkNotReady', ...(message ? { message } : {}) }),
  /** Status reports RuntimeReady=false until the rule is reset. */
  runtimeNotReady: (message?: string): NodeFault => ({ kind: 'runtimeNotReady', ...(message ? { message } : {}) }),
  /** ImageFsInfo reports a full image filesystem (kubelet starts image garbage collection). */
  imageFsFull: (): NodeFault => ({ kind: 'imageFsFull' }),
  /** The first `times` calls of a method fail with UNAVAILABLE, then it works again. */
  flaky: (method: string, times: number = D.times): CallFault => ({
    method,
    times,
    error: 'UNAVAILABLE',
    message: 'connection error: fault injected by fake-containerd',
  }),
  /** Calls of a method hang until the client's deadline. */
  hang: (method: string): CallFault => ({ method, hang: true }),
  /** Calls of a method answer only after `ms`. */
  slow: (method: string, ms: number): CallFault => ({ method, delay: ms }),
  /** The connection drops when a method is called. */
  dropConnection: (method: string, times: number = D.times): CallFault => ({ method, times, drop: true }),
  /** Event streams (CRI and containerd) end after `messages` messages. */
  truncatedEvents: (messages: number): CallFault[] => [
    { method: 'GetContainerEvents', truncateAfter: messages },
    { service: 'containerd.services.events.v1.Events', method: 'Subscribe', truncateAfter: messages },
  ],
} satisfies Record<string, (...args: never[]) => FaultRule | FaultRule[]>
