// The contract between the pure Paxos replica and its shell (the cell): configuration,
// what `propose()` answers, what `takeReady()` hands back, and the persisted state shape.
import type { Random } from '../env/random.ts';
import type { ConfigRecord } from './membership.ts';
import type { PaxosMessage } from './messages.ts';
import type { Ballot, LogEntry, LogIndex, NodeId, ProposalId } from './types.ts';
import { zeroBallot } from './types.ts';
import { entriesPerMessageMax } from './codec.ts';

/**
 * Tunables of one replica. Times are in ticks (the shell decides how long a tick is).
 * `alpha` is part of the protocol (it decides when a config takes effect): it must be the
 * same on every replica of a cell for the cell's whole life.
 */
export interface ReplicaOptions {
  readonly self: NodeId;
  /** Seeded generator for election jitter; fork one per replica. */
  readonly random: Random;
  /** Pipeline bound: at most alpha entries in flight (paper §2.2, §2.4). */
  readonly alpha: number;
  /** Proposals waiting for a pipeline slot (at least 1); beyond this `propose` answers `overloaded`. */
  readonly queuedProposalsMax: number;
  /** Largest payload `propose` takes. */
  readonly payloadBytesMax: number;
  /** Resend an unanswered accept, prepare or catch-up request after this many ticks. */
  readonly retransmitTicks: number;
  /** A follower that was given work campaigns if the leader shows no progress this long. */
  readonly leaderTimeoutTicks: number;
  /** A candidate or leader with no progress for this long gives up its ballot. */
  readonly electionTimeoutTicks: number;
  /** Backoff after a lost election: base * 2^attempt capped at max, plus the same again as jitter. */
  readonly backoffBaseTicks: number;
  readonly backoffMaxTicks: number;
  /** An acceptor refuses accepts above commitIndex + this (it must catch up first). */
  readonly acceptWindowEntries: number;
  /** Most chosen entries per catch-up reply. */
  readonly catchupEntriesMax: number;
  /**
   * A leader sends each accept first to just enough followers for a quorum (those that
   * answered fastest), and hands the others the chosen entries in batches, once a tick
   * (thrifty Paxos). A follower that misses a retransmit period loses its place to the
   * others. Off, every accept goes to every member.
   */
  readonly thriftyAccepts: boolean;
  /** Check every invariant after every step. On in tests; may be off in production. */
  readonly checkInvariants: boolean;
}

export function defaultReplicaOptions(self: NodeId, random: Random): ReplicaOptions {
  return {
    self,
    random,
    alpha: 3,
    queuedProposalsMax: 32,
    payloadBytesMax: 1024 * 1024,
    retransmitTicks: 3,
    leaderTimeoutTicks: 10,
    electionTimeoutTicks: 40,
    backoffBaseTicks: 2,
    backoffMaxTicks: 32,
    acceptWindowEntries: 16,
    catchupEntriesMax: 64,
    thriftyAccepts: false,
    checkInvariants: true,
  };
}

/** Throws on options that cannot work (a programmer error). */
export function validateOptions(o: ReplicaOptions): void {
  const positive = [o.alpha, o.retransmitTicks, o.leaderTimeoutTicks, o.electionTimeoutTicks];
  if (!positive.every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error('options: bad timing');
  if (o.acceptWindowEntries < o.alpha || o.acceptWindowEntries > entriesPerMessageMax) {
    throw new Error('options: acceptWindowEntries must be in [alpha, entriesPerMessageMax]');
  }
  if (o.catchupEntriesMax < 1 || o.catchupEntriesMax > entriesPerMessageMax) {
    throw new Error('options: catchupEntriesMax must be in [1, entriesPerMessageMax]');
  }
  if (o.queuedProposalsMax < 1 || o.backoffBaseTicks < 1 || o.backoffMaxTicks < o.backoffBaseTicks) {
    throw new Error('options: bad queue or backoff bounds');
  }
}

/** What the log was compacted behind: the cell stores it with its state-machine snapshot. */
export interface SnapshotMeta {
  /** Every index up to this one is chosen and folded into the snapshot. */
  readonly index: LogIndex;
  /** Memberships that can govern indices above `index` (see MembershipHistory). */
  readonly configs: readonly ConfigRecord[];
}

/** Everything a replica needs after a dirty reboot. The cell encodes it into Storage. */
export interface PersistedState {
  /** Invariant: >= the ballot of every entry above commitIndex. */
  readonly promisedBallot: Ballot;
  /** Invariant: every entry in (snapshot.index, commitIndex] is present and chosen. */
  readonly commitIndex: LogIndex;
  readonly snapshot: SnapshotMeta;
  /** Accepted entries above snapshot.index, in any order. */
  readonly entries: readonly LogEntry[];
}

/** The state of a brand-new cell replica with its initial membership. */
export function initialPersistedState(members: readonly NodeId[]): PersistedState {
  if (members.length === 0) throw new Error('initialPersistedState: no members');
  return {
    promisedBallot: zeroBallot,
    commitIndex: 0 as LogIndex,
    snapshot: {
      index: 0 as LogIndex,
      configs: [{ effectiveFrom: 1 as LogIndex, members: [...members].sort() }],
    },
    entries: [],
  };
}

/**
 * A change to the persisted state. Write it as ONE atomic, durable batch, in this order:
 * if `snapshot` is set, delete all entries at or below snapshot.index and store it; then
 * upsert `entries` (by index); then set `promisedBallot` and `commitIndex` if present.
 */
export interface PersistDelta {
  readonly promisedBallot?: Ballot;
  readonly commitIndex?: LogIndex;
  readonly snapshot?: SnapshotMeta;
  readonly entries: readonly LogEntry[];
}

/** Applies a delta to a state in memory (for in-memory storage and tests). */
export function applyPersistDelta(state: PersistedState, delta: PersistDelta): PersistedState {
  const snapshot = delta.snapshot ?? state.snapshot;
  const byIndex = new Map<number, LogEntry>();
  for (const entry of state.entries) if (entry.index > snapshot.index) byIndex.set(entry.index, entry);
  for (const entry of delta.entries) byIndex.set(entry.index, entry);
  return {
    promisedBallot: delta.promisedBallot ?? state.promisedBallot,
    commitIndex: delta.commitIndex ?? state.commitIndex,
    snapshot,
    entries: [...byIndex.values()].sort((a, b) => a.index - b.index),
  };
}

/**
 * One message to one peer. A message for several peers (a broadcast) is one object in
 * consecutive Outgoings, so that the shell can encode it once.
 */
export interface Outgoing {
  readonly to: NodeId;
  readonly message: PaxosMessage;
}

/**
 * The fate of an accepted proposal, reported once per ProposalId.
 * - chosen: it is the value at `index` (the apply of that index gives its result).
 * - dropped: it was never sent to an acceptor and never will be: retry is safe.
 * - unknown: this replica lost leadership after sending it; a later leader may still
 *   choose it at some index. The cell must not report success or failure from this.
 */
export type ProposalResult =
  | { readonly kind: 'chosen'; readonly id: ProposalId; readonly index: LogIndex }
  | { readonly kind: 'dropped'; readonly id: ProposalId }
  | { readonly kind: 'unknown'; readonly id: ProposalId };

/** What `propose()` answers, at once. */
export type ProposeResult =
  | { readonly kind: 'accepted'; readonly id: ProposalId }
  | { readonly kind: 'notLeader'; readonly leaderHint: NodeId | undefined }
  | { readonly kind: 'overloaded'; readonly retryAfterTicks: number }
  | { readonly kind: 'tooLarge'; readonly payloadBytesMax: number };

/** What `proposeConfig()` answers, at once. */
export type ProposeConfigResult =
  | ProposeResult
  | { readonly kind: 'configChangeInProgress' }
  | { readonly kind: 'invalidConfig'; readonly reason: string };

/** A leader's vote for its own entry, counted once the shell has made the entry durable. */
export interface OwnAccept {
  readonly ballot: Ballot;
  readonly index: LogIndex;
}

/**
 * What the shell must do after calls into the replica. ORDERING RULE:
 * 0. `earlyMessages` may be sent at once, before `persist` (a leader's accepts: Raft's
 *    parallel leader write; they claim nothing about this replica's disk);
 * 1. `persist`: durably (fsync), atomically, before anything below;
 * 2. then `messages` and `snapshotsToSend` (never before step 1 completes), and
 *    `ownAcceptDurable(own)` for each of `ownAccepts`, in order (the leader's own votes);
 * 3. `committed` may be applied once step 1 completes, strictly in order, each once;
 *    `proposalResults` are reported after the entries they name are applied.
 *    Exception: a Ready whose `persist` holds only `commitIndex` may be acted on before it
 *    is durable (what it reports is already durable on a quorum; see `commitIndexOnly`).
 * Skipping a Ready, or sending `messages` before persisting, breaks Paxos safety.
 */
export interface Ready {
  readonly persist: PersistDelta | undefined;
  readonly messages: readonly Outgoing[];
  /** Messages that may leave before `persist` is durable (rule 0). */
  readonly earlyMessages: readonly Outgoing[];
  /** This leader's votes for its own new entries; count each after `persist` (rule 2). */
  readonly ownAccepts: readonly OwnAccept[];
  /** Chosen entries, contiguous and in log order, each handed out exactly once. */
  readonly committed: readonly LogEntry[];
  readonly proposalResults: readonly ProposalResult[];
  /** Peers that need a snapshot (they asked for entries compacted away). */
  readonly snapshotsToSend: readonly NodeId[];
  /** False when the replica has nothing in flight: the shell may stop ticking it. */
  readonly wantsTick: boolean;
}

/**
 * True when a delta only moves the commit index. Such a write need not be durable before
 * the Ready is acted on: the entries it reports chosen are durable on a quorum already,
 * and after a crash the replica relearns its commit index from its peers.
 */
export function commitIndexOnly(delta: PersistDelta | undefined): boolean {
  return (
    delta !== undefined &&
    delta.commitIndex !== undefined &&
    delta.promisedBallot === undefined &&
    delta.snapshot === undefined &&
    delta.entries.length === 0
  );
}
