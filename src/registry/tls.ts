// A registry host's TLS settings as containerd's ConfigureHosts builds them (remotes/docker/config/
// hosts.go, 1.6.20; updateTLSConfigFromHost in 2.1): the CA files added to the system's roots, client
// certificate and key pairs, skip_verify; read when the hosts are configured, with containerd's
// words when a file is missing or holds no certificate. And Go's words for a handshake that fails,
// since a user compares them with what containerd prints.
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from 'node:tls'
import { RegistryError } from './errors.js'
import { readRegularFile } from './read-file.js'

export interface HostTls {
  /** PEM CA certificates trusted besides the system's roots (hosts.toml `ca`). */
  ca?: string[]
  /** Client certificates with their keys, PEM (hosts.toml `client`). */
  certs?: { cert: string; key: string }[]
  /** skip_verify as the file gives it. */
  skipVerify?: boolean
}

function read(path: string, what: string): string {
  try {
    return readRegularFile(path)
  } catch (err) {
    throw new RegistryError('Unknown', `unable to read ${what} ${JSON.stringify(path)}: ${(err as Error).message}`)
  }
}

/** The PEM blocks of a text: type and the whole block. */
function pemBlocks(text: string): { type: string; pem: string }[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g
  return [...text.matchAll(re)].map((m) => ({ type: m[1] as string, pem: m[0] }))
}

/** CertPool.AppendCertsFromPEM: the certificates that parse; none is containerd's "unable to load". */
function caCerts(path: string): string[] {
  const certs = pemBlocks(read(path, 'CA cert')).filter((b) => {
    if (b.type !== 'CERTIFICATE') return false
    try {
      new X509Certificate(b.pem)
      return true
    } catch {
      return false
    }
  })
  if (certs.length === 0) throw new RegistryError('Unknown', `unable to load CA cert ${JSON.stringify(path)}`)
  return certs.map((b) => b.pem)
}

/** tls.X509KeyPair's checks, in its words, wrapped as containerd wraps them. */
function keyPair(certPem: string, keyPem: string): { cert: string; key: string } {
  const fail = (why: string): RegistryError => new RegistryError('Unknown', `failed to load X509 key pair: ${why}`)
  const certBlocks = pemBlocks(certPem)
  const certs = certBlocks.filter((b) => b.type === 'CERTIFICATE')
  if (certs.length === 0) {
    const skipped = certBlocks.map((b) => b.type)
    if (skipped.length === 0) throw fail('tls: failed to find any PEM data in certificate input')
    if (skipped.length === 1 && skipped[0]?.endsWith('PRIVATE KEY'))
      throw fail(
        'tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched',
      )
    throw fail(
      `tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${skipped.join(' ')}]`,
    )
  }
  const keyBlocks = pemBlocks(keyPem)
  const key = keyBlocks.find((b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'))
  if (!key) {
    const skipped = keyBlocks.map((b) => b.type)
    if (skipped.length === 0) throw fail('tls: failed to find any PEM data in key input')
    if (skipped.length === 1 && skipped[0] === 'CERTIFICATE')
      throw fail('tls: found a certificate rather than a key in the PEM for the private key')
    throw fail(
      `tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${skipped.join(' ')}]`,
    )
  }
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate((certs[0] as { pem: string }).pem)
  } catch (err) {
    throw fail(`x509: malformed certificate: ${(err as Error).message}`)
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key.pem))) throw fail('tls: private key does not match public key')
  } catch (err) {
    if (err instanceof RegistryError) throw err
    throw fail('tls: failed to parse private key')
  }
  return { cert: certs.map((b) => b.pem).join('\n'), key: key.pem }
}

/** Reads a host's TLS files (paths already absolute). */
export function loadTls(given: { ca?: string[]; client?: [string, string][]; skipVerify?: boolean }): HostTls {
  const tls: HostTls = {}
  if (given.skipVerify !== undefined) tls.skipVerify = given.skipVerify
  if (given.ca) tls.ca = given.ca.flatMap(caCerts)
  if (given.client) {
    tls.certs = given.client.map(([certFile, keyFile]) => {
      const cert = read(certFile, 'CERT file')
      // No key file: the key is in the certificate's file.
      return keyPair(cert, keyFile === '' ? cert : read(keyFile, 'CERT file'))
    })
  }
  return tls
}

/** What a peer certificate says of the names it is for (Node's PeerCertificate, or part of it). */
type PeerNames = { subjectaltname?: string; subject?: { CN?: string | string[] } }

/** The names a certificate is valid for, from Node's subjectaltname ("DNS:a, IP Address:1.2.3.4"). */
function altNames(cert: PeerNames | undefined): { dns: string[]; ip: string[] } {
  const names = (cert?.subjectaltname ?? '').split(/,\s*/).filter(Boolean)
  return {
    dns: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    ip: names.filter((n) => n.startsWith('IP Address:')).map((n) => n.slice('IP Address:'.length)),
  }
}

/** The certificate's Common Name, when it has one. */
const commonName = (cert: PeerNames | undefined): string | undefined => {
  const cn = cert?.subject?.CN
  return Array.isArray(cn) ? cn[0] : cn
}

/** Go's matchHostnames for one pattern: case-insensitive, a leading "*." matching one label. */
function nameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '')
  const h = host.toLowerCase().replace(/\.$/, '')
  if (p.startsWith('*.')) return h.includes('.') && h.slice(h.indexOf('.')) === p.slice(1)
  return p === h
}

/** x509.HostnameError's text. */
function hostnameError(host: string, cert: PeerNames | undefined): string {
  const { dns, ip } = altNames(cert)
  if (isIP(host)) {
    if (ip.length === 0) return `x509: cannot validate certificate for ${host} because it doesn't contain any IP SANs`
    return `x509: certificate is valid for ${ip.join(', ')}, not ${host}`
  }
  if (dns.length === 0) {
    // Go 1.17+ ignores the Common Name, and says so when the name would have matched.
    const cn = commonName(cert)
    if (ip.length === 0 && cn !== undefined && nameMatches(cn, host))
      return 'x509: certificate relies on legacy Common Name field, use SANs instead'
    return `x509: certificate is not valid for any names, but wanted to match ${host}`
  }
  return `x509: certificate is valid for ${dns.join(', ')}, not ${host}`
}

/**
 * The host name check as Go's TLS client makes it: Node's, except that a certificate without
 * subject alternative names is valid for no name (Node still falls back to its Common Name).
 */
export function checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const { dns, ip } = altNames(cert)
  if (dns.length === 0 && ip.length === 0) {
    const err = Object.assign(new Error(`Hostname/IP does not match certificate's altnames: ${hostnameError(host, cert)}`), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      reason: 'no subject alternative names',
      host,
      cert,
    })
    return err
  }
  return nodeCheckServerIdentity(host, cert)
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
])

/**
 * What Go's TLS client says for a failed handshake, from Node's error (its code, or its cause's, as
 * fetch gives it); undefined for an error that is not about TLS.
 */
export function goTlsError(err: unknown): string | undefined {
  const e = err as { code?: string; host?: string; cert?: PeerNames; message?: string; cause?: unknown }
  const code = e?.code
  if (code === undefined) return e?.cause !== undefined ? goTlsError(e.cause) : undefined
  if (UNKNOWN_AUTHORITY.has(code)) return 'tls: failed to verify certificate: x509: certificate signed by unknown authority'
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid'
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `tls: failed to verify certificate: ${hostnameError(e.host ?? '', e.cert)}`
  // A server that answers the handshake in plain HTTP.
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
    return 'http: server gave HTTP response to HTTPS client'
  // The server asked for a client certificate and was given none it accepts.
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return 'remote error: tls: certificate required'
  if (code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE') return 'remote error: tls: bad certificate'
  if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') return 'remote error: tls: handshake failure'
  if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA') return 'remote error: tls: unknown certificate authority'
  return e.cause !== undefined ? goTlsError(e.cause) : undefined
}
