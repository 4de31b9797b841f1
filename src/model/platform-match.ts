// A platform as containerd's transfer API names one, and platforms.OnlyStrict's match: a leaf that
// both the registry pull (metadata/) and the transfer service (transfer/) read, so neither imports the other.

export interface PlatformSpec {
  os: string
  architecture: string
  variant: string
}

/** platforms.OnlyStrict: os, architecture and variant as they are (an absent variant is ""). */
export function strictMatch(want: PlatformSpec, have: { os?: string; architecture?: string; variant?: string } | undefined): boolean {
  return have?.os === want.os && have.architecture === want.architecture && (have.variant || '') === want.variant
}
