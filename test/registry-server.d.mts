/** A running docker-registry (see registry-server.mjs). */
export interface RunningRegistry {
  host: string
  origin: string
  /** Its storage directory (another registry may serve it too). */
  storage: string
  /** The Authorization header a push needs (Basic), when the registry has users. */
  authorization?: string
  stop(): Promise<void>
}
export declare const REGISTRY_BIN: string
export declare function hasRegistry(): boolean
export declare function startRegistry(
  user?: { name: string; password: string },
  options?: { tls?: { certificate: string; key: string }; storage?: string },
): Promise<RunningRegistry>
export declare function pushBlob(reg: RunningRegistry, repo: string, data: Buffer): Promise<string>
export declare function pushManifest(reg: RunningRegistry, repo: string, ref: string, mediaType: string, body: Buffer): Promise<string>
export declare function manifestDigest(reg: RunningRegistry, repo: string, ref: string): Promise<string | undefined>
