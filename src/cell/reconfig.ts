// Membership changes of one cell (paper §2.4): the admin requests the control plane sends
// a cell (add, remove or replace one node; an explicit no-op), their typed answers, and the
// pure function that turns a change into the next membership. Not part of CellRequest, so
// the client-facing request union (and its wire codec) is unchanged.
import type { NodeId } from '../paxos/index.ts';

/** One single-node change of a cell's jury. A move of a cell is a sequence of `replace`. */
export type MembershipChange =
  | { readonly kind: 'add'; readonly node: NodeId }
  | { readonly kind: 'remove'; readonly node: NodeId }
  | { readonly kind: 'replace'; readonly remove: NodeId; readonly add: NodeId };

/**
 * What the control plane may ask of a cell. `noop` proposes one no-op entry: the paper
 * waits for natural traffic to make a change take effect at i + alpha; on an idle cell the
 * caller sends up to alpha no-ops instead.
 */
export type CellAdminRequest =
  { readonly kind: 'reconfigure'; readonly change: MembershipChange } | { readonly kind: 'noop' };

export type CellAdminResponse =
  /** The change was chosen at `chosenIndex`; `members` vote from `effectiveFrom` (= chosenIndex + alpha) on. */
  | {
      readonly kind: 'reconfigured';
      readonly members: readonly NodeId[];
      readonly chosenIndex: number;
      readonly effectiveFrom: number;
    }
  /** The no-op was chosen at `index`. */
  | { readonly kind: 'noop-chosen'; readonly index: number }
  /** Another change is queued, in flight, or chosen and not yet in effect: retry later. */
  | { readonly kind: 'config-change-in-progress' }
  /** The change does not fit the current membership (nothing proposed). */
  | { readonly kind: 'invalid-change'; readonly reason: string }
  | { readonly kind: 'not-leader'; readonly leaderHint: NodeId | undefined }
  | { readonly kind: 'overloaded'; readonly retryAfterMs: number }
  /** May or may not have been chosen (leadership lost after sending). */
  | { readonly kind: 'outcome-unknown' }
  /** Definitely not chosen; retry is safe. */
  | { readonly kind: 'unavailable'; readonly reason: string };

export type NextMembers =
  | { readonly kind: 'ok'; readonly members: readonly NodeId[] }
  | { readonly kind: 'invalid-change'; readonly reason: string };

/** The membership after `change`, sorted; a typed refusal when it does not fit `current`. */
export function nextMembers(current: readonly NodeId[], change: MembershipChange): NextMembers {
  const has = (node: NodeId): boolean => current.includes(node);
  switch (change.kind) {
    case 'add':
      if (has(change.node)) return { kind: 'invalid-change', reason: `${change.node} is already a member` };
      return { kind: 'ok', members: [...current, change.node].sort() };
    case 'remove':
      if (!has(change.node)) return { kind: 'invalid-change', reason: `${change.node} is not a member` };
      if (current.length === 1) return { kind: 'invalid-change', reason: 'cannot remove the last member' };
      return { kind: 'ok', members: current.filter((m) => m !== change.node) };
    case 'replace':
      if (!has(change.remove)) return { kind: 'invalid-change', reason: `${change.remove} is not a member` };
      if (has(change.add)) return { kind: 'invalid-change', reason: `${change.add} is already a member` };
      return { kind: 'ok', members: [...current.filter((m) => m !== change.remove), change.add].sort() };
  }
}

/** The host part of a member id `host#incarnation` (paper §2.4 ABA: `n7#3` is n7's third cell replica). */
export function hostOfMember(member: NodeId): string {
  const hash = member.indexOf('#');
  return hash < 0 ? member : member.slice(0, hash);
}
