// The facade a node offers to the layers above it (the HTTP API in src/api/, the CLI, tests):
// create and describe cells, submit client requests routed to the right replica, change a
// cell's membership or move it (paper §2.4), counters.
import type { NodeId } from '../paxos/index.ts';
import type {
  CellAdminRequest,
  CellAdminResponse,
  CellId,
  CellRequest,
  CellResponse,
  MembershipChange,
} from './cell-contract.ts';
import type { CellSummary } from './wire.ts';

export type {
  CellAdminRequest,
  CellAdminResponse,
  CellId,
  CellRequest,
  CellResponse,
  MembershipChange,
} from './cell-contract.ts';
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

/** A routed admin request's answer: the cell's own, or where the cell is not. */
export type AdminCellResponse =
  | CellAdminResponse
  | { readonly kind: 'not-found'; readonly cellId: CellId }
  | { readonly kind: 'moved'; readonly cellId: CellId; readonly members: readonly NodeId[] };

/**
 * One single-node change the node made (paper §2.4), in member ids: an added node runs as a
 * fresh incarnation `host#k` (ABA), so `change` names the ids the cell actually voted on.
 */
export interface MembershipStep {
  readonly change: MembershipChange;
  /** The membership once the change is in effect. */
  readonly members: readonly NodeId[];
  /** Where the change was chosen (undefined when only seen in effect after an unknown outcome). */
  readonly chosenIndex: number | undefined;
  /** The removed member's node deleted its replica, leaving a forwarding pointer to `members`. */
  readonly retired: boolean;
  /** From the start of the step until the change was in effect and the new member caught up. */
  readonly elapsedMs: number;
}

/** Options of a membership change or a move. */
export interface ReconfigureOptions {
  /** Give up after this long (the change may then be chosen, or in effect and not caught up). */
  readonly timeoutMs?: number;
  /** Called after each step of a move. */
  readonly onStep?: (step: MembershipStep) => void;
}

/** Why a membership change did not complete. */
export type ReconfigureFailure =
  | { readonly kind: 'not-found'; readonly cellId: CellId }
  | { readonly kind: 'moved'; readonly cellId: CellId; readonly members: readonly NodeId[] }
  /** The change does not fit the cell's membership (or names an unknown node); nothing changed. */
  | { readonly kind: 'invalid-change'; readonly reason: string }
  /** Another change is in flight in the cell (or another move of it runs here); nothing changed. */
  | { readonly kind: 'config-change-in-progress' }
  /** No leader or no new replica could be reached; nothing changed, retry is safe. */
  | { readonly kind: 'unavailable'; readonly reason: string }
  /**
   * The deadline passed after the change may have been chosen: it may be in effect (with the
   * new member still catching up) or not. Describe the cell to see where it stands.
   */
  | { readonly kind: 'incomplete'; readonly reason: string };

/** A single change: the step made, or why not. */
export type ReconfigureResult =
  | { readonly kind: 'reconfigured'; readonly cellId: CellId; readonly step: MembershipStep }
  | ReconfigureFailure;

/** A move: one replacement (or add, or remove) at a time, each caught up before the next (§2.4). */
export type MoveResult =
  | {
      readonly kind: 'moved-cell';
      readonly cellId: CellId;
      readonly members: readonly NodeId[];
      readonly steps: readonly MembershipStep[];
    }
  /** Stopped at the first failed step; `steps` are the ones completed (each safe on its own). */
  | {
      readonly kind: 'move-failed';
      readonly cellId: CellId;
      readonly failure: ReconfigureFailure;
      readonly steps: readonly MembershipStep[];
    };

/** One entry of `listCells`: a cell this node hosts (from its persisted registry). */
export interface HostedCell {
  readonly cellId: CellId;
  /** The member id this node's replica runs as (the node id, or `node#k` after a reconfiguration). */
  readonly member: NodeId;
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
  /** A cell message for another incarnation of the cell on this node (paper §2.4, ABA). */
  | 'stale-incarnation'
  /** A cell frame naming a sender not on the sending node, or an addressee not on this node. */
  | 'wrong-member'
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
  'stale-incarnation',
  'wrong-member',
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
  /** Replicas deleted after a reconfiguration removed them (by themselves or when told). */
  readonly cellsRetired: number;
  /** Membership changes this node ran to completion (each step of a move counts). */
  readonly reconfigurations: number;
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
  /** An admin request (membership change in member ids, or a no-op) routed to the cell's leader. */
  adminCell(cellId: CellId, request: CellAdminRequest): Promise<AdminCellResponse>;
  /**
   * One single-node change, named by node ids (a member id is accepted for `remove`): creates
   * the new member's replica on its node first (a fresh incarnation, an empty learner), has the
   * leader choose the change, makes it take effect (no-ops on an idle cell), waits until the
   * new member caught up, and retires the removed member (its node leaves a forwarding
   * pointer). Never rejects.
   */
  changeMembers(
    cellId: CellId,
    change: MembershipChange,
    options?: ReconfigureOptions,
  ): Promise<ReconfigureResult>;
  /** Moves the cell onto the nodes `targets`, one change at a time (§2.4). Never rejects. */
  moveCell(cellId: CellId, targets: readonly NodeId[], options?: ReconfigureOptions): Promise<MoveResult>;
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
