// CRI's AuthConfig turned into the credentials containerd's authorizer asks for, as its ParseAuth
// does (pkg/cri/server/image_pull.go, 1.6.20): nothing for another server_address's host; a
// username with its password; else an identity token as the secret; else `auth`, base64 of
// "user:password". A registry_token is not used (containerd's "TODO: Support RegistryToken").
import { RegistryError } from './errors.js'
import type { Credentials } from './auth.js'

export interface AuthConfig {
  username?: string
  password?: string
  auth?: string
  serverAddress?: string
  identityToken?: string
  registryToken?: string
}

/** The username and secret for `host`, or undefined for an anonymous request. Throws on a malformed `auth`. */
export function parseAuth(auth: AuthConfig | undefined, host: string): { username: string; secret: string } | undefined {
  if (!auth) return undefined
  if (auth.serverAddress) {
    let u: URL | undefined
    try {
      u = new URL(auth.serverAddress)
    } catch {
      // Go's url.Parse reads "host:port" with no scheme as an opaque URL with no host: it never matches.
      u = undefined
    }
    if (!u || u.host !== host) return undefined
  }
  if (auth.username) return { username: auth.username, secret: auth.password ?? '' }
  if (auth.identityToken) return { username: '', secret: auth.identityToken }
  if (auth.auth) {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    // containerd quotes the decoded value (%q); it is a credential, so only its shape is said here.
    if (colon < 0) {
      throw new RegistryError(
        'Unknown',
        `invalid decoded auth: ${decoded.length} characters with no ":" between user name and password (the value is not shown)`,
      )
    }
    return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '') }
  }
  return undefined
}

/** The authorizer's credentials callback for one AuthConfig. */
export const credentialsFrom =
  (auth: AuthConfig | undefined): Credentials =>
  (host) =>
    parseAuth(auth, host)
