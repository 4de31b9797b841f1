/** The PEM files makePki writes (see registry-pki.mjs). */
export interface Pki {
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** A CA that signed nothing here (a `ca` that does not help). */
  otherCa: string
  /** A server certificate and key for "localhost" by Common Name only (no SANs). */
  legacyCert: string
  legacyKey: string
}
export declare function hasOpenssl(): boolean
export declare function makePki(dir: string): Pki
