// Identities and values of the Multi-Paxos core: node ids, ballots, log indices, proposal
// ids and log entry values. Branded so that a log index can never be passed as a round.
export type NodeId = string & { readonly __brand: 'NodeId' };
/** A 1-based position in a cell's log; 0 means "before the first entry". */
export type LogIndex = number & { readonly __brand: 'LogIndex' };
/** Names one call to `propose()` on one replica instance (not persisted, not global). */
export type ProposalId = number & { readonly __brand: 'ProposalId' };

/**
 * Highest ballot round a peer may send (the codec refuses more), so that a replica can
 * always pick a higher round without leaving the safe integers.
 */
export const ballotRoundMax = 2 ** 48;

/** Longest node id in UTF-8 bytes; longer ids are refused by the codec. */
export const nodeIdBytesMax = 128;

/** Makes a NodeId from a non-empty string the caller has validated. */
export function nodeId(name: string): NodeId {
  if (name.length === 0) throw new Error('nodeId: empty');
  return name as NodeId;
}

/** Makes a LogIndex; throws on a negative or non-integer value (a programmer error). */
export function logIndex(value: number): LogIndex {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`logIndex: bad ${value}`);
  return value as LogIndex;
}

/**
 * A Paxos ballot: totally ordered by round, then by node id (code-unit order), so two
 * proposers never share one. Round 0 with the empty node id is `zeroBallot`, below all.
 */
export type Ballot = {
  readonly round: number;
  readonly nodeId: NodeId;
} & { readonly __brand: 'Ballot' };

export function ballot(round: number, node: NodeId): Ballot {
  if (!Number.isSafeInteger(round) || round < 0) throw new Error(`ballot: bad round ${round}`);
  return { round, nodeId: node } as Ballot;
}

/** The ballot below every real one (nothing promised yet). */
export const zeroBallot: Ballot = { round: 0, nodeId: '' as NodeId } as Ballot;

/** Negative if a < b, 0 if equal, positive if a > b. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round - b.round;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

export function ballotsEqual(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) === 0;
}

/**
 * What one log entry holds. `payload` is opaque to Paxos (the cell encodes its batch);
 * `noop` fills holes; `config` is a membership (the cell's jury) taking effect alpha
 * entries after the index where it is chosen (paper §2.4).
 */
export type EntryValue =
  | { readonly kind: 'payload'; readonly payload: Uint8Array }
  | { readonly kind: 'noop' }
  | { readonly kind: 'config'; readonly members: readonly NodeId[] };

/** One log entry as an acceptor holds it: the value and the ballot it was accepted at. */
export interface LogEntry {
  readonly index: LogIndex;
  readonly ballot: Ballot;
  readonly value: EntryValue;
}

export const noopValue: EntryValue = { kind: 'noop' };

/** True when two entry values are identical (bytes compared exactly). */
export function entryValuesEqual(a: EntryValue, b: EntryValue): boolean {
  switch (a.kind) {
    case 'noop':
      return b.kind === 'noop';
    case 'payload':
      return b.kind === 'payload' && bytesEqual(a.payload, b.payload);
    case 'config':
      return (
        b.kind === 'config' &&
        a.members.length === b.members.length &&
        a.members.every((member, i) => member === b.members[i])
      );
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
