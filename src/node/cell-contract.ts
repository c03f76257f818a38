// What the node needs of a cell replica (src/cell/): the cell's own types, and a narrow
// binding (make, load, destroy, tick period, request codecs) so the node can be driven by the
// real CellReplica or, in focused tests, by a stand-in.
import type { Storage } from '../env/index.ts';
import type { NodeId } from '../paxos/index.ts';
import type { CellDescription, CellEnv, CellId, CellRequest, CellResponse } from '../cell/index.ts';

export type {
  CellDescription,
  CellEnv,
  CellId,
  CellRequest,
  CellResponse,
  Consistency,
  LeaseOutcome,
} from '../cell/index.ts';

/** One in-memory cell replica, as the node drives it (CellReplica satisfies it). */
export interface CellReplicaLike {
  receive(from: NodeId, message: Uint8Array): void;
  tick(): void;
  readonly wantsTick: boolean;
  readonly isQuiescent: boolean;
  submit(request: CellRequest): Promise<CellResponse>;
  describe(): CellDescription;
  close(): void;
}

/** How the node makes, loads and destroys replicas, and encodes requests it forwards. */
export interface CellBinding {
  /** The node ticks every cell that wants ticks this often (the cell's `tickMs`). */
  readonly tickMs: number;
  create(env: CellEnv, members: readonly NodeId[]): Promise<CellReplicaLike>;
  /** Undefined when the cell has no state here; rejects when its stored state is corrupt. */
  load(env: CellEnv): Promise<CellReplicaLike | undefined>;
  destroy(storage: Storage, cellId: CellId): Promise<void>;
  encodeRequest(request: CellRequest): Uint8Array;
  decodeRequest(bytes: Uint8Array): CellRequest | undefined;
  encodeResponse(response: CellResponse): Uint8Array;
  decodeResponse(bytes: Uint8Array): CellResponse | undefined;
}
