// A cluster's nodes share one journal budget: without journalSize/journalBytes, each node of N keeps
// a 1/N share of what a single server keeps, so that memory does not grow N-fold with the nodes
// (10,000 calls and 64 MiB each would be 64 GiB at 1,000 nodes). A floor keeps each node's journal
// useful to the tests that read it; options that set a size or bytes apply to every node as given.
import { JOURNAL_BUDGET } from '../journal/journal.js'

/** The least a node's share falls to, however many nodes there are. */
export const CLUSTER_JOURNAL_FLOOR = { size: 100, bytes: 256 * 1024 } as const

/** Each node's journal limits in a cluster of `nodes`, from the limits the options give (if any). */
export function journalShare(
  nodes: number,
  given: { journalSize?: number | undefined; journalBytes?: number | undefined },
): { journalSize: number; journalBytes: number } {
  const share = (total: number, floor: number): number => Math.max(floor, Math.floor(total / nodes))
  return {
    journalSize: given.journalSize ?? share(JOURNAL_BUDGET.size, CLUSTER_JOURNAL_FLOOR.size),
    journalBytes: given.journalBytes ?? share(JOURNAL_BUDGET.bytes, CLUSTER_JOURNAL_FLOOR.bytes),
  }
}
