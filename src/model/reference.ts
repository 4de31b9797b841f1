// Image references normalised as containerd's docker.ParseDockerRef does:
// "busybox" → "docker.io/library/busybox:latest", "quay.io/x/y" → "quay.io/x/y:latest",
// "repo:tag@sha256:…" → "repo@sha256:…" (the digest wins, the tag is dropped).
import { invalidArgument } from './errors.js'

export interface ImageReference {
  /** Repository with its domain, e.g. docker.io/library/busybox. */
  repository: string
  tag?: string
  digest?: string
  /** The normalised string: repository:tag or repository@digest. */
  normalized: string
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/
const DOMAIN = /^(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*:\d+|\[[0-9a-fA-F:]+\](?::\d+)?)$/

export function isDigest(text: string): boolean {
  return DIGEST.test(text)
}

export function parseReference(input: string): ImageReference {
  const fail = (): never => {
    throw invalidArgument(`failed to parse image reference ${JSON.stringify(input)}: invalid reference format`)
  }
  if (input === '' || input.length > 4096 || /\s/.test(input)) fail()
  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at !== -1) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) fail()
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) fail()
  }
  const parts = rest.split('/')
  let domain = 'docker.io'
  const first = parts[0] as string
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!DOMAIN.test(first)) fail()
    domain = first
    parts.shift()
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) fail()
  if (domain === 'index.docker.io') domain = 'docker.io'
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library')
  const repository = `${domain}/${parts.join('/')}`
  if (digest !== undefined) return { repository, digest, normalized: `${repository}@${digest}` }
  const t = tag ?? 'latest'
  return { repository, tag: t, normalized: `${repository}:${t}` }
}
