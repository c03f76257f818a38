// Static placement of a new cell until the control plane exists: a deterministic choice of
// members from the colony's topology, spreading them over racks and power domains (§2.1).
import type { NodeId } from '../paxos/index.ts';

/** Where one node sits, and where its HTTP API listens. */
export interface TopologyEntry {
  readonly nodeId: NodeId;
  readonly row: string;
  readonly rack: string;
  readonly powerDomain: string;
  /** host:port of the node's HTTP API. */
  readonly http: string;
}

/** Replicas of a cell created by placement when the request names no count (paper §2.2: seven). */
export const defaultReplicas = 7;
/** Most replicas a cell may have (the node's cell membership bound is the same order). */
export const replicasMax = 9;

/** FNV-1a 32-bit: a stable, seedless spread of (cell, node) pairs. Not for security. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Picks `replicas` members for `cellId`: nodes are ranked by a hash of (cell, node), and each
 * pick is the best-ranked node sharing the fewest racks and power domains with those already
 * picked. Same cell and topology, same members, on every node.
 */
export function placeCell(cellId: string, topology: readonly TopologyEntry[], replicas: number): NodeId[] {
  const ranked = [...topology].sort(
    (a, b) =>
      fnv1a(`${cellId}\u0000${a.nodeId}`) - fnv1a(`${cellId}\u0000${b.nodeId}`) ||
      (a.nodeId < b.nodeId ? -1 : 1),
  );
  const picked: TopologyEntry[] = [];
  while (picked.length < Math.min(replicas, ranked.length)) {
    let best: TopologyEntry | undefined;
    let bestShared = Number.POSITIVE_INFINITY;
    for (const candidate of ranked) {
      if (picked.includes(candidate)) continue;
      const shared = picked.reduce(
        (sum, member) =>
          sum +
          (member.rack === candidate.rack ? 1 : 0) +
          (member.powerDomain === candidate.powerDomain ? 1 : 0),
        0,
      );
      if (shared < bestShared) {
        best = candidate;
        bestShared = shared;
      }
    }
    if (best === undefined) break;
    picked.push(best);
  }
  return picked.map((entry) => entry.nodeId).sort();
}
