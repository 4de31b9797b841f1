// IPv4 addresses as numbers and back, and the loopback test: one copy for the model's IPAM
// (model/cri/ipam.ts), the simulated network stack (sim/net-namespaces.ts) and the cluster's plan
// (cluster/plan.ts), which must agree on them. A leaf module, so that sim/ need not import the model.

/** The address as a 32-bit number (a.b.c.d → a·2²⁴ + b·2¹⁶ + c·2⁸ + d). */
export const toNumber = (ip: string): number => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
/** The number as a dotted address. */
export const toDotted = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
/** An address of the loopback network (127/8), the host's own. */
export const isLoopback = (ip: string): boolean => ip.startsWith('127.')
