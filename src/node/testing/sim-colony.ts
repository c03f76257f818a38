// A colony of nodes in the simulator for tests: N hosts (n1..nN), each booting a Node with
// the real cell replica, plus small helpers to write and read integer registers in cells.
import type { CellOptions } from '../../cell/index.ts';
import { partitionKey, transaction } from '../../model/index.ts';
import type { Operation } from '../../model/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import type { Network } from '../../env/index.ts';
import { sim } from '../../simworld/index.ts';
import type { World } from '../../simworld/index.ts';
import { realCellBinding } from '../cell-binding.ts';
import type { CellId, CellRequest } from '../cell-contract.ts';
import type { NodeLimits } from '../limits.ts';
import { Node } from '../node.ts';
import type { SubmitResponse } from '../service.ts';

export interface SimColonyOptions {
  readonly seed: number;
  readonly hosts?: number;
  readonly limits?: Partial<NodeLimits>;
  readonly cell?: Partial<CellOptions>;
}

export interface SimColony {
  readonly world: World;
  readonly names: readonly NodeId[];
  /** The node running on host `name` now (a restart boots a new one). */
  node(name: string): Node;
  /** The network of host `name`'s current boot (to send raw frames as that host). */
  network(name: string): Network;
}

export function simColony(options: SimColonyOptions): SimColony {
  const count = options.hosts ?? 7;
  const names = Array.from({ length: count }, (_, index) => nodeId(`n${index + 1}`));
  const nodes = new Map<string, Node>();
  const networks = new Map<string, Network>();
  const binding = realCellBinding({ checkInvariants: true, ...options.cell });
  const world = sim({
    seed: options.seed,
    hosts: count,
    boot: (env) => {
      const node = new Node({
        self: nodeId(env.host),
        env,
        cells: binding,
        peers: names,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
      });
      nodes.set(env.host, node);
      networks.set(env.host, env.network);
      return { stop: () => void node.close() };
    },
  });
  return {
    world,
    names,
    node(name) {
      const node = nodes.get(name);
      if (node === undefined) throw new Error(`no node ${name}`);
      return node;
    },
    network(name) {
      const network = networks.get(name);
      if (network === undefined) throw new Error(`no host ${name}`);
      return network;
    },
  };
}

export function cell(name: string): CellId {
  return partitionKey(name);
}

export function consistent(operation: Operation): CellRequest {
  return { kind: 'operation', operation, consistency: 'consistent' };
}

export function putRequest(key: string, value: bigint): CellRequest {
  return consistent(transaction({ writes: [{ kind: 'put', key, value }] }));
}

export function getRequest(key: string): CellRequest {
  return consistent(transaction({ reads: [key] }));
}

/** The integer a read returned, or 'absent', or the response kind when it is no committed read. */
export function readValue(response: SubmitResponse): bigint | string {
  if (response.kind !== 'result' || response.result.kind !== 'committed') return response.kind;
  const read = response.result.reads[0];
  if (read === undefined || !read.found) return 'absent';
  return typeof read.value === 'bigint' ? read.value : 'not-an-integer';
}

/** True when a write response says it committed. */
export function committed(response: SubmitResponse): boolean {
  return response.kind === 'result' && response.result.kind === 'committed';
}

/** Runs the world until `promise` settles; retries a submit until it commits (bounded). */
export async function submitUntilCommitted(
  colony: SimColony,
  via: string,
  cellId: CellId,
  request: CellRequest,
  attemptsMax = 20,
): Promise<SubmitResponse> {
  let response: SubmitResponse = { kind: 'unavailable', reason: 'not tried' };
  for (let attempt = 0; attempt < attemptsMax; attempt += 1) {
    response = await colony.world.settle(colony.node(via).submit(cellId, request));
    if (response.kind === 'result' || response.kind === 'invalid') return response;
    await colony.world.runFor(100);
  }
  return response;
}
