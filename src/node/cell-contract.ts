// The shape of the cell replica (src/cell/) as the node uses it, per notes/cell-contract.md.
// Until src/cell/ is committed these are local copies; then they become re-exports of it.
import type { Clock, Random, Storage } from '../env/index.ts';
import type { InvalidOperation, Operation, OperationResult, PartitionKey } from '../model/index.ts';
import type { NodeId } from '../paxos/index.ts';

/** A cell is named by its partition key (paper §2.3: one partition key per cell). */
export type CellId = PartitionKey;

export type Consistency = 'consistent' | 'eventual';

export type CellRequest =
  | {
      readonly kind: 'operation';
      readonly operation: Operation;
      readonly consistency: Consistency;
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
  | { readonly kind: 'result'; readonly result: OperationResult; readonly index: number }
  | { readonly kind: 'lease'; readonly outcome: LeaseOutcome; readonly index: number }
  | { readonly kind: 'not-leader'; readonly leaderHint: NodeId | undefined }
  | { readonly kind: 'overloaded'; readonly retryAfterMs: number }
  | { readonly kind: 'behind'; readonly appliedIndex: number }
  | { readonly kind: 'outcome-unknown' }
  | { readonly kind: 'unavailable'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly error: InvalidOperation };

export interface CellDescription {
  readonly cellId: CellId;
  readonly self: NodeId;
  readonly members: readonly NodeId[];
  readonly isLeader: boolean;
  readonly leaderHint: NodeId | undefined;
  readonly appliedIndex: number;
  readonly commitIndex: number;
  readonly digest: string;
  readonly pendingRequests: number;
}

/** What one cell replica is given by its host. The cell never sets timers itself. */
export interface CellEnv {
  readonly cellId: CellId;
  readonly self: NodeId;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly random: Random;
  send(to: NodeId, message: Uint8Array): void;
}

/** One in-memory cell replica, as the node drives it. */
export interface CellReplicaLike {
  receive(from: NodeId, message: Uint8Array): void;
  tick(): void;
  readonly wantsTick: boolean;
  readonly isQuiescent: boolean;
  submit(request: CellRequest): Promise<CellResponse>;
  describe(): CellDescription;
  close(): void;
}

/** The static side of CellReplica: how the node makes, loads and destroys replicas. */
export interface CellFactory {
  create(env: CellEnv, members: readonly NodeId[]): Promise<CellReplicaLike>;
  load(env: CellEnv): Promise<CellReplicaLike | undefined>;
  destroy(storage: Storage, cellId: CellId): Promise<void>;
}
