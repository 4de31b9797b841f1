// A CA made with openssl for the TLS registry tests and the bench: its key, a server certificate
// for 127.0.0.1 and 127.0.0.2, a client certificate, and a CA nobody trusts. Plain JavaScript, so
// bench/pull.mjs (run without a build) shares it; registry-pki.d.mts gives the tests its types.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const hasOpenssl = () => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Makes a CA and certificates signed by it in `dir` (P-256 keys, one day): the paths of the PEM files.
 * @param {string} dir
 */
export function makePki(dir) {
  const openssl = (...args) => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const key = (name) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name)
  const ca = (name, cn) => {
    key(`${name}-key.pem`)
    openssl('req', '-x509', '-new', '-key', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${cn}`)
  }
  const signed = (name, cn, ext) => {
    key(`${name}-key.pem`)
    openssl('req', '-new', '-key', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    )
  }
  ca('ca', 'fake-containerd test CA')
  ca('other-ca', 'a CA nobody uses')
  signed('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2\nextendedKeyUsage=serverAuth\n')
  signed('client', 'registry-client', 'extendedKeyUsage=clientAuth\n')
  // A server certificate for "localhost" by its Common Name only, no subject alternative names (Go refuses it).
  signed('legacy', 'localhost', 'extendedKeyUsage=serverAuth\n')
  const at = (f) => join(dir, f)
  return {
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server-key.pem'),
    clientCert: at('client.pem'),
    clientKey: at('client-key.pem'),
    otherCa: at('other-ca.pem'),
    legacyCert: at('legacy.pem'),
    legacyKey: at('legacy-key.pem'),
  }
}
