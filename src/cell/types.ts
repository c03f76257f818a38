// The contract between one cell replica and its host (src/node/): what the host gives a
// cell (CellEnv), the options, and the typed requests and responses of the cell's clients.
import type { Clock, Random, Storage } from '../env/index.ts';
import type {
  InvalidOperation,
  ModelLimits,
  Operation,
  OperationResult,
  PartitionKey,
} from '../model/index.ts';
import type { NodeId } from '../paxos/index.ts';

/** A cell is named by its partition key (paper §2.3: one partition key per cell). */
export type CellId = PartitionKey;

/** What one cell replica is given by its host. The cell never sets timers itself. */
export interface CellEnv {
  readonly cellId: CellId;
  readonly self: NodeId;
  /** The host's shared storage; the cell uses only keys under cellKeyPrefix(cellId). */
  readonly storage: Storage;
  /** Read-only use: monotonicMs() for leases. The cell never calls setTimer. */
  readonly clock: Clock;
  /** Forked per cell by the host; seeds election jitter. */
  readonly random: Random;
  /**
   * Sends one cell message to the same cell on another node (best effort). A broadcast is
   * one bytes object passed for each peer in a row, never changed after: a host may wrap it
   * once for all of them.
   */
  send(to: NodeId, message: Uint8Array): void;
}

export interface CellOptions {
  /** Pipeline depth (paper §2.2, §2.4). Part of the protocol: equal on every replica, forever. */
  readonly alpha: number;
  /** Most client requests packed into one log entry. */
  readonly batchRequestsMax: number;
  /** Most encoded bytes of one log entry's payload (a single request may exceed it alone). */
  readonly batchBytesMax: number;
  /** Client requests waiting on the leader for a batch; beyond this: `overloaded` (§3.5). */
  readonly waitingRequestsMax: number;
  /** Log entries proposed to Paxos but not yet chosen or dropped, on top of alpha in flight. */
  readonly queuedBatchesMax: number;
  /**
   * Readies whose storage write has not resolved, at most. Beyond it the replica drops peer
   * messages (as a lossy network would) and answers clients `overloaded` until the disk
   * catches up: a stalled disk cannot grow memory without bound.
   */
  readonly unpersistedReadiesMax: number;
  /** The host ticks the cell this often while `wantsTick`; Paxos timeouts count ticks. */
  readonly tickMs: number;
  /** Paxos timeouts, in ticks (see paxos ReplicaOptions). */
  readonly retransmitTicks: number;
  readonly leaderTimeoutTicks: number;
  readonly electionTimeoutTicks: number;
  /**
   * A leader sends each accept to just enough followers for a quorum first, and the chosen
   * entries to the others once a tick (see paxos ReplicaOptions.thriftyAccepts): on one
   * disk, fewer flushes compete with each commit.
   */
  readonly thriftyAccepts: boolean;
  /**
   * Hook: whether the host is quiet enough for thrifty accepts, asked before each batch is
   * proposed (the node answers from the client requests it is serving). Absent: quiet.
   */
  readonly hostQuiet?: () => boolean;
  /** Write a state-machine snapshot and compact the log every this many applied entries. */
  readonly snapshotEveryEntries: number;
  /** Largest snapshot shipped to a lagging peer (and accepted from one); bigger ones are counted, not sent. */
  readonly snapshotBytesMax: number;
  /** Snapshots travel in chunks of this many bytes (at least 1 KiB), each one peer message. */
  readonly snapshotChunkBytes: number;
  /** A peer is sent the snapshot again no sooner than this (its catch-up retries are faster). */
  readonly snapshotResendMs: number;
  /** Check Paxos invariants after every step (tests). */
  readonly checkInvariants: boolean;
  /** Limits of the data model. Part of the replicated semantics: equal on every replica. */
  readonly modelLimits: ModelLimits;
  /** Test hook: called after each applied entry with the index and the state digest. */
  readonly onApplied?: (index: number, digest: string) => void;
  /** Test hook: called synchronously whenever a request is answered (a simulator uses it to
   * run the client's continuation before its next event). */
  readonly onAnswered?: () => void;
  /**
   * Hook: called once when this replica applies a membership change that removes it, with
   * the first index it no longer votes on (the host stops it and may wipe its storage).
   */
  readonly onRemoved?: (removedFromIndex: number) => void;
}

export type Consistency = 'consistent' | 'eventual';

/** A lease name or holder: non-empty, at most this many UTF-8 bytes. */
export const leaseNameBytesMax = 256;

export type CellRequest =
  | {
      readonly kind: 'operation';
      readonly operation: Operation;
      readonly consistency: Consistency;
      /** Eventual reads only: the client's session token (largest `index` it has seen). */
      readonly sessionIndex?: number;
    }
  | {
      readonly kind: 'lease-acquire';
      readonly name: string;
      readonly holder: string;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'lease-renew';
      readonly name: string;
      readonly holder: string;
      readonly durationMs: number;
    }
  | { readonly kind: 'lease-release'; readonly name: string; readonly holder: string };

/**
 * What a lease request came to, decided at its log position (deterministic on every replica).
 * `granted`: the caller holds `name` from the moment it SENT the request until its own
 * monotonic clock has advanced `holderValidMs` (= durationMs / 3) past that moment.
 */
export type LeaseOutcome =
  | {
      readonly kind: 'granted';
      readonly holder: string;
      readonly durationMs: number;
      readonly holderValidMs: number;
      readonly grantIndex: number;
    }
  | { readonly kind: 'held-by-other'; readonly holder: string; readonly grantIndex: number }
  | { readonly kind: 'not-holder'; readonly holder: string | undefined }
  | { readonly kind: 'released' }
  | { readonly kind: 'invalid'; readonly reason: string };

export type CellResponse =
  /** `index`: the log position the operation was applied at (a session token). */
  | { readonly kind: 'result'; readonly result: OperationResult; readonly index: number }
  | { readonly kind: 'lease'; readonly outcome: LeaseOutcome; readonly index: number }
  | { readonly kind: 'not-leader'; readonly leaderHint: NodeId | undefined }
  | { readonly kind: 'overloaded'; readonly retryAfterMs: number }
  /** An eventual read whose session token is above this replica's applied index. */
  | { readonly kind: 'behind'; readonly appliedIndex: number }
  /** May or may not have been applied. */
  | { readonly kind: 'outcome-unknown' }
  /** Definitely not applied; retry is safe. */
  | { readonly kind: 'unavailable'; readonly reason: string }
  /** Failed validation; nothing proposed. */
  | { readonly kind: 'invalid'; readonly error: InvalidOperation };

/** Counters of one replica (since it was created or loaded). */
export interface CellCounters {
  malformedMessages: number;
  messagesSent: number;
  messagesReceived: number;
  persistBatches: number;
  persistFailures: number;
  entriesApplied: number;
  requestsApplied: number;
  batchesProposed: number;
  overloaded: number;
  /** Peer messages dropped because too many Readies waited for the disk. */
  droppedDiskBusy: number;
  snapshotsWritten: number;
  snapshotsSent: number;
  snapshotsTooLarge: number;
  snapshotsInstalled: number;
  /** Whack-a-mole campaigns: started to learn entries above a commit index nobody advanced (§2.4). */
  holeCampaigns: number;
}

export interface CellDescription {
  readonly cellId: CellId;
  readonly self: NodeId;
  readonly members: readonly NodeId[];
  readonly isLeader: boolean;
  readonly leaderHint: NodeId | undefined;
  readonly appliedIndex: number;
  readonly commitIndex: number;
  readonly snapshotIndex: number;
  /** Hex digest of the replicated state (data and leases) at `appliedIndex`. */
  readonly digest: string;
  /** Requests waiting for an answer. */
  readonly pendingRequests: number;
  /** Readies whose storage write has not resolved yet. */
  readonly unpersistedReadies: number;
  /** Set once a storage write failed: the replica answers nothing until reloaded. */
  readonly failed: string | undefined;
  readonly counters: Readonly<CellCounters>;
}
