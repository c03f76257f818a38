// What the node needs of a cell replica (src/cell/): the cell's own types, and a narrow
// binding (make, load, destroy, tick period, request codecs) so the node can be driven by the
// real CellReplica or, in focused tests, by a stand-in.
import type { Storage } from '../env/index.ts';
import type { NodeId } from '../paxos/index.ts';
import type {
  CellAdminRequest,
  CellAdminResponse,
  CellDescription,
  CellEnv,
  CellId,
  CellMembershipStatus,
  CellRequest,
  CellResponse,
} from '../cell/index.ts';

export type {
  CellAdminRequest,
  CellAdminResponse,
  CellDescription,
  CellEnv,
  CellId,
  CellMembershipStatus,
  CellRequest,
  CellResponse,
  Consistency,
  LeaseOutcome,
  MembershipChange,
} from '../cell/index.ts';

/** One in-memory cell replica, as the node drives it (CellReplica satisfies it). */
export interface CellReplicaLike {
  receive(from: NodeId, message: Uint8Array): void;
  tick(): void;
  readonly wantsTick: boolean;
  readonly isQuiescent: boolean;
  /** Whether it leads its cell now: the node then submits to it without routing. */
  readonly isLeader: boolean;
  submit(request: CellRequest): Promise<CellResponse>;
  /** A membership change or a no-op (paper §2.4); answered once chosen or refused. */
  admin(request: CellAdminRequest): Promise<CellAdminResponse>;
  /** The membership this replica knows (of the next index), and whether it was removed. */
  membership(): CellMembershipStatus;
  describe(): CellDescription;
  /** Writes what the replica keeps only lazily (its commit index); called before evicting it. */
  saveCommitIndex(): void;
  close(): void;
}

/** What the node wants to hear from one replica. */
export interface ReplicaHooks {
  /** The replica applied a change that removes it; it votes below `removedFromIndex` only. */
  readonly onRemoved?: (removedFromIndex: number) => void;
  /** Whether this node is quiet enough for thrifty accepts (see CellOptions.hostQuiet). */
  readonly hostQuiet?: () => boolean;
}

/** How the node makes, loads and destroys replicas, and encodes requests it forwards. */
export interface CellBinding {
  /** The node ticks every cell that wants ticks this often (the cell's `tickMs`). */
  readonly tickMs: number;
  /**
   * A brand-new replica running as `env.self`, told `members`. When `env.self` is not among
   * them it starts as an empty learner that only learns until a change makes it a member.
   */
  create(env: CellEnv, members: readonly NodeId[], hooks?: ReplicaHooks): Promise<CellReplicaLike>;
  /** Undefined when the cell has no state here; rejects when its stored state is corrupt. */
  load(env: CellEnv, hooks?: ReplicaHooks): Promise<CellReplicaLike | undefined>;
  destroy(storage: Storage, cellId: CellId): Promise<void>;
  encodeRequest(request: CellRequest): Uint8Array;
  decodeRequest(bytes: Uint8Array): CellRequest | undefined;
  encodeResponse(response: CellResponse): Uint8Array;
  decodeResponse(bytes: Uint8Array): CellResponse | undefined;
}
