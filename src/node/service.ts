// The facade a node offers to the layers above it (the HTTP API in src/api/, the CLI, tests):
// create and describe cells, submit client requests routed to the right replica, counters.
import type { NodeId } from '../paxos/index.ts';
import type { CellId, CellRequest, CellResponse } from './cell-contract.ts';
import type { CellSummary } from './wire.ts';

export type { CellId, CellRequest, CellResponse } from './cell-contract.ts';
export type { CellSummary } from './wire.ts';

/** Outcome of creating a cell on its member nodes (admin messages, quorum of acks). */
export type CreateCellResult =
  | {
      readonly kind: 'created';
      readonly cellId: CellId;
      readonly members: readonly NodeId[];
      readonly acknowledgedBy: readonly NodeId[];
    }
  /** The cell already exists on a quorum with exactly these members: creating is idempotent. */
  | { readonly kind: 'exists'; readonly cellId: CellId; readonly members: readonly NodeId[] }
  /** Bad cell id or membership (empty, duplicate, too many, unknown node). Nothing was created. */
  | { readonly kind: 'invalid'; readonly reason: string }
  /** Fewer than a quorum of members answered before the timeout; some may hold the cell. */
  | { readonly kind: 'unavailable'; readonly reason: string; readonly acknowledgedBy: readonly NodeId[] };

export type DeleteCellResult =
  | { readonly kind: 'deleted'; readonly cellId: CellId }
  | { readonly kind: 'not-found'; readonly cellId: CellId }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** What a node knows of one cell (answered by a replica of the cell, locally or forwarded). */
export type DescribeCellResult =
  | { readonly kind: 'described'; readonly summary: CellSummary; readonly answeredBy: NodeId }
  /** This node and the nodes it asked do not hold the cell. */
  | { readonly kind: 'not-found'; readonly cellId: CellId }
  /** The cell left the node that was asked; it lives on `members` now (paper §2.5). */
  | { readonly kind: 'moved'; readonly cellId: CellId; readonly members: readonly NodeId[] }
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * What `submit` answers: every CellResponse of the cell, plus the routing outcomes of the
 * node. `not-found` and `moved` are definite (nothing applied); `unavailable` is safe to retry.
 */
export type SubmitResponse =
  | CellResponse
  | { readonly kind: 'not-found'; readonly cellId: CellId }
  | { readonly kind: 'moved'; readonly cellId: CellId; readonly members: readonly NodeId[] };

/** One entry of `listCells`: a cell this node hosts (from its persisted registry). */
export interface HostedCell {
  readonly cellId: CellId;
  /** Membership the cell was created (or last re-registered) with on this node. */
  readonly members: readonly NodeId[];
  /** True when the replica is in memory now; false when evicted (state only on disk). */
  readonly loaded: boolean;
}

/** Why an incoming node frame was dropped without being acted on. */
export type FrameDropReason =
  | 'empty'
  | 'oversized'
  | 'unknown-version'
  | 'unknown-kind'
  | 'malformed'
  /** A test hook made this node drop the sender's frames (a simulated partition). */
  | 'blocked'
  /** A request id seen before (replay or duplicate): not served twice. */
  | 'duplicate'
  | 'cell-not-hosted'
  | 'cell-load-failed'
  /** An answer to no request of ours (late, duplicated, or from the wrong peer). */
  | 'unknown-request'
  | 'overloaded'
  | 'hooks-disabled'
  | 'closed';

export const frameDropReasons: readonly FrameDropReason[] = [
  'empty',
  'oversized',
  'unknown-version',
  'unknown-kind',
  'malformed',
  'blocked',
  'duplicate',
  'cell-not-hosted',
  'cell-load-failed',
  'unknown-request',
  'overloaded',
  'hooks-disabled',
  'closed',
];

/** Counters of one node since it started. Monotonic; read them with `metrics()`. */
export interface NodeMetrics {
  readonly framesReceived: number;
  readonly framesSent: number;
  readonly framesDropped: Readonly<Record<FrameDropReason, number>>;
  /** Cells hosted (registry size) and in memory now. */
  readonly cellsHosted: number;
  readonly cellsInMemory: number;
  /** Replicas loaded from storage (first message after eviction or restart). */
  readonly cellsLoaded: number;
  readonly cellsEvicted: number;
  readonly cellsCreated: number;
  readonly cellsDeleted: number;
  /** Client requests submitted on this node (local and forwarded-in) and their outcomes. */
  readonly requestsSubmitted: number;
  readonly requestsForwarded: number;
  readonly requestsTimedOut: number;
  /** Responses of kind `result` or `lease` (committed or applied reads). */
  readonly commits: number;
  /** Responses of kind not-leader/overloaded/behind/unavailable/invalid/outcome-unknown. */
  readonly rejections: number;
  readonly forwardingPointersAnswered: number;
  readonly ticks: number;
}

/** The node as the API layer sees it. Every method is safe to call concurrently. */
export interface NodeService {
  readonly self: NodeId;
  /** Creates the cell on every member (admin messages) and resolves once a quorum holds it. */
  createCell(cellId: CellId, members: readonly NodeId[]): Promise<CreateCellResult>;
  /**
   * Deletes this node's replica of the cell (admin; after a reconfiguration removed it). With
   * `movedTo`, requests for the cell are answered with that membership for a while (§2.5).
   */
  deleteCell(cellId: CellId, movedTo?: readonly NodeId[]): Promise<DeleteCellResult>;
  describeCell(cellId: CellId): Promise<DescribeCellResult>;
  /** Routes to a replica of the cell (locally or forwarded, following not-leader hints). Never rejects. */
  submit(cellId: CellId, request: CellRequest): Promise<SubmitResponse>;
  /** The cells hosted on this node, in cell id order, at most `limit` after `afterCellId`. */
  listCells(options?: { readonly afterCellId?: CellId; readonly limit?: number }): readonly HostedCell[];
  metrics(): NodeMetrics;
  /** Peers and when this node last heard from each (per node pair, paper §2.2 liveness). */
  peers(): readonly {
    readonly nodeId: NodeId;
    readonly lastHeardMs: number | undefined;
    readonly live: boolean;
  }[];
}
