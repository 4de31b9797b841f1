/** The PEM files makePki writes (see registry-pki.mjs). */
export interface Pki {
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** A CA that signed nothing here (a `ca` that does not help). */
  otherCa: string
}
export declare function hasOpenssl(): boolean
export declare function makePki(dir: string): Pki
