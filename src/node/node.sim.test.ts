// The node in the simulator: a 7-host colony with many cells per node (paper §2.1), routing
// and forwarding of client requests, eviction and reload, forwarding pointers (§2.5), and a
// crash with the cells reloading from the simulated disk (§2.2: durable across dirty reboots).
import { describe, expect, it } from 'vitest';
import { nodeId } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import {
  cell,
  committed,
  getRequest,
  putRequest,
  readValue,
  simColony,
  submitUntilCommitted,
} from './testing/sim-colony.ts';

const members = (...names: string[]): NodeId[] => names.map((name) => nodeId(name));

describe('node in the simulator', () => {
  it('creates a cell on its members and commits a write submitted to a member', async () => {
    const colony = simColony({ seed: 1 });
    const created = await colony.world.settle(
      colony.node('n1').createCell(cell('a'), members('n1', 'n2', 'n3', 'n4', 'n5')),
    );
    expect(created.kind).toBe('created');
    const write = await submitUntilCommitted(colony, 'n1', cell('a'), putRequest('k', 7n));
    expect(committed(write)).toBe(true);
    const read = await submitUntilCommitted(colony, 'n2', cell('a'), getRequest('k'));
    expect(readValue(read)).toBe(7n);
  });
});
