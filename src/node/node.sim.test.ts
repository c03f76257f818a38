// The node in the simulator: a 7-host colony with many cells per node (paper §2.1), routing
// and forwarding of client requests, eviction and reload, forwarding pointers (§2.5), and a
// crash with the cells reloading from the simulated disk (§2.2: durable across dirty reboots).
import { describe, expect, it } from 'vitest';
import { nodeId } from '../paxos/index.ts';
import { checkHistoryLinearizable, HistoryRecorder } from '../simworld/checkers/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { cellIdProblem } from './node.ts';
import type { SimColony } from './testing/sim-colony.ts';
import type { CellSummary } from './wire.ts';
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

/** Five of the seven nodes, rotating with `index`, so every node hosts a different mix. */
function rotatingMembers(colony: SimColony, index: number): NodeId[] {
  return [0, 1, 2, 3, 4].map((offset) => colony.names[(index + offset) % colony.names.length] as NodeId);
}

async function createCells(colony: SimColony, count: number): Promise<void> {
  const results = await colony.world.settle(
    Promise.all(
      Array.from({ length: count }, (_, index) =>
        colony.node(`n${(index % 7) + 1}`).createCell(cell(`c${index}`), rotatingMembers(colony, index)),
      ),
    ),
  );
  expect(results.map((result) => result.kind)).toEqual(results.map(() => 'created'));
}

describe('node in the simulator (7 hosts, many cells per node)', () => {
  it('creates a cell on its members and commits a write submitted to a member', async () => {
    const colony = simColony({ seed: 1 });
    const created = await colony.world.settle(
      colony.node('n1').createCell(cell('a'), members('n1', 'n2', 'n3', 'n4', 'n5')),
    );
    expect(created).toMatchObject({
      kind: 'created',
      acknowledgedBy: expect.arrayContaining(['n1']) as unknown,
    });
    expect(committed(await submitUntilCommitted(colony, 'n1', cell('a'), putRequest('k', 7n)))).toBe(true);
    expect(readValue(await submitUntilCommitted(colony, 'n2', cell('a'), getRequest('k')))).toBe(7n);
    expect(
      colony
        .node('n3')
        .listCells()
        .map((hosted) => hosted.cellId),
    ).toEqual(['a']);
    expect(colony.node('n6').listCells()).toEqual([]);
  });

  it('routes writes to 40 cells through every node, members or not, and reads them back', async () => {
    const colony = simColony({ seed: 2 });
    await createCells(colony, 40);
    for (let index = 0; index < 40; index += 1) {
      const via = `n${((index * 3) % 7) + 1}`;
      expect(
        committed(await submitUntilCommitted(colony, via, cell(`c${index}`), putRequest('x', BigInt(index)))),
      ).toBe(true);
    }
    for (let index = 0; index < 40; index += 1) {
      const via = `n${((index * 5 + 1) % 7) + 1}`;
      expect(readValue(await submitUntilCommitted(colony, via, cell(`c${index}`), getRequest('x')))).toBe(
        BigInt(index),
      );
    }
    const hostedPerNode = colony.names.map((name) => colony.node(name).metrics().cellsHosted);
    expect(hostedPerNode.reduce((sum, count) => sum + count, 0)).toBe(40 * 5);
  });

  it('serves a request at the node whose replica leads without forwarding it; once deposed unawares, the replica answers outcome-unknown and steps down', async () => {
    const colony = simColony({ seed: 11 });
    await colony.world.settle(colony.node('n1').createCell(cell('a'), members('n1', 'n2', 'n3', 'n4', 'n5')));
    expect(committed(await submitUntilCommitted(colony, 'n1', cell('a'), putRequest('k', 1n)))).toBe(true);
    const n1 = colony.node('n1');
    const n1Leads = async (): Promise<boolean> => {
      const described = await colony.world.settle(n1.describeCell(cell('a')));
      return described.kind === 'described' && described.answeredBy === 'n1' && described.summary.isLeader;
    };
    expect(await n1Leads()).toBe(true);
    const forwarded = n1.metrics().requestsForwarded;
    expect(committed(await colony.world.settle(n1.submit(cell('a'), putRequest('k', 2n))))).toBe(true);
    expect(n1.metrics().requestsForwarded).toBe(forwarded);
    // Depose n1's replica without its hearing of it: cut n1 off while another member leads.
    colony.world.net.partitionOff('n1-alone', ['n1']);
    expect(committed(await submitUntilCommitted(colony, 'n2', cell('a'), putRequest('k', 3n)))).toBe(true);
    colony.world.net.healPartition('n1-alone');
    expect(await n1Leads()).toBe(true);
    // It still believes it leads, so it proposes: the members refuse its old ballot, and the
    // outcome is unknown (never retried elsewhere: it may have been chosen). It steps down,
    // and the next request at n1 routes to the new leader.
    expect((await colony.world.settle(n1.submit(cell('a'), putRequest('k', 4n)))).kind).toBe(
      'outcome-unknown',
    );
    expect(await n1Leads()).toBe(false);
    expect(committed(await colony.world.settle(n1.submit(cell('a'), putRequest('k', 5n))))).toBe(true);
    expect(n1.metrics().requestsForwarded).toBeGreaterThan(forwarded);
    expect(readValue(await submitUntilCommitted(colony, 'n3', cell('a'), getRequest('k')))).toBe(5n);
  });

  it('refuses a cell id over 256 UTF-8 bytes, however its characters are encoded, as invalid', () => {
    expect(cellIdProblem('x'.repeat(256))).toBeUndefined();
    expect(cellIdProblem('x'.repeat(257))).toBe('cell id is over 256 bytes');
    expect(cellIdProblem('é'.repeat(128))).toBeUndefined(); // 2 bytes each
    expect(cellIdProblem('é'.repeat(129))).toBe('cell id is over 256 bytes');
    expect(cellIdProblem('€'.repeat(85))).toBeUndefined(); // 3 bytes each
    expect(cellIdProblem('€'.repeat(86))).toBe('cell id is over 256 bytes');
    expect(cellIdProblem('😀'.repeat(64))).toBeUndefined(); // 4 bytes, 2 code units each
    expect(cellIdProblem('😀'.repeat(65))).toBe('cell id is over 256 bytes');
    expect(cellIdProblem('')).toBe('cell id is empty');
  });

  it('forwards a request from a node that does not host the cell, finding it through its peers', async () => {
    const colony = simColony({ seed: 3 });
    await colony.world.settle(colony.node('n1').createCell(cell('far'), members('n1', 'n2', 'n3')));
    const outsider = colony.node('n7');
    const write = await submitUntilCommitted(colony, 'n7', cell('far'), putRequest('k', 42n));
    expect(committed(write)).toBe(true);
    expect(outsider.metrics().requestsForwarded).toBeGreaterThan(0);
    expect(outsider.metrics().cellsHosted).toBe(0);
    const described = await colony.world.settle(outsider.describeCell(cell('far')));
    expect(described).toMatchObject({ kind: 'described', summary: { members: ['n1', 'n2', 'n3'] } });
    expect(await colony.world.settle(outsider.submit(cell('nowhere'), getRequest('k')))).toEqual({
      kind: 'not-found',
      cellId: 'nowhere',
    });
  });

  it('evicts quiescent cells (by count and idle time) and reloads them on their next message', async () => {
    const colony = simColony({ seed: 4, limits: { cellsInMemoryMax: 8, idleEvictMs: 2_000 } });
    await createCells(colony, 30);
    for (let index = 0; index < 30; index += 1)
      expect(
        committed(
          await submitUntilCommitted(colony, 'n1', cell(`c${index}`), putRequest('v', BigInt(index * 10))),
        ),
      ).toBe(true);
    await colony.world.runFor(10_000);
    for (const name of colony.names) {
      const metrics = colony.node(name).metrics();
      expect(metrics.cellsInMemory).toBe(0); // all idle past idleEvictMs
      expect(metrics.cellsEvicted).toBeGreaterThan(0);
    }
    for (let index = 0; index < 30; index += 1)
      expect(readValue(await submitUntilCommitted(colony, 'n4', cell(`c${index}`), getRequest('v')))).toBe(
        BigInt(index * 10),
      );
    const loaded = colony.names.map((name) => colony.node(name).metrics().cellsLoaded);
    expect(loaded.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(30);
    for (const name of colony.names) expect(colony.node(name).metrics().cellsInMemory).toBeLessThanOrEqual(8);
  });

  it('a replica evicted after it learned a commit reloads with it (the commit index is saved first)', async () => {
    // The commit index is written lazily (with a replica's next write, or before eviction):
    // a member that applied the last write before it was evicted must still have it.
    const colony = simColony({ seed: 6, limits: { idleEvictMs: 2_000 } });
    await createCells(colony, 12);
    for (let index = 0; index < 12; index += 1)
      for (let round = 1; round <= 3; round += 1)
        expect(
          committed(
            await submitUntilCommitted(
              colony,
              'n1',
              cell(`c${index}`),
              putRequest('v', BigInt(index * 10 + round)),
            ),
          ),
        ).toBe(true);
    const describeAll = async () => {
      const summaries: CellSummary[] = [];
      for (let index = 0; index < 12; index += 1)
        for (const member of rotatingMembers(colony, index)) {
          const described = await colony.world.settle(colony.node(member).describeCell(cell(`c${index}`)));
          if (described.kind !== 'described' || described.answeredBy !== member)
            throw new Error('not described');
          summaries.push(described.summary);
        }
      return summaries.map(({ appliedIndex, commitIndex, digest }) => ({
        appliedIndex,
        commitIndex,
        digest,
      }));
    };
    await colony.world.runFor(500); // every member has heard and applied the last commit
    const inMemory = await describeAll();
    await colony.world.runFor(10_000);
    for (const name of colony.names) expect(colony.node(name).metrics().cellsInMemory).toBe(0);
    expect(await describeAll()).toEqual(inMemory); // loaded from disk
  });

  it('answers with a forwarding pointer after a cell left a node, until the pointer expires (§2.5)', async () => {
    const colony = simColony({ seed: 5, limits: { forwardingPointerMs: 20_000 } });
    const old = members('n1', 'n2', 'n3');
    const moved = members('n5', 'n6', 'n7');
    await colony.world.settle(colony.node('n1').createCell(cell('m'), old));
    await colony.world.settle(colony.node('n5').createCell(cell('m'), moved));
    for (const name of old) {
      const deleted = await colony.world.settle(colony.node(name).deleteCell(cell('m'), moved));
      expect(deleted).toEqual({ kind: 'deleted', cellId: 'm' });
    }
    expect(colony.node('n1').listCells()).toEqual([]);
    const write = await submitUntilCommitted(colony, 'n1', cell('m'), putRequest('k', 5n));
    expect(committed(write)).toBe(true);
    expect(colony.node('n1').metrics().forwardingPointersAnswered).toBeGreaterThan(0);
    expect(await colony.world.settle(colony.node('n2').describeCell(cell('m')))).toMatchObject({
      kind: 'described',
      summary: { members: ['n5', 'n6', 'n7'] },
    });
    // A pointer to nodes that never held the cell: n3 and n4 each ask the colony where it is.
    await colony.world.settle(colony.node('n1').deleteCell(cell('gone'), members('n6')));
    const answeredBefore = colony.node('n1').metrics().forwardingPointersAnswered;
    expect(await colony.world.settle(colony.node('n3').submit(cell('gone'), getRequest('k')))).toEqual({
      kind: 'not-found',
      cellId: 'gone',
    });
    expect(colony.node('n1').metrics().forwardingPointersAnswered).toBe(answeredBefore + 1);
    await colony.world.runFor(21_000);
    expect(await colony.world.settle(colony.node('n4').submit(cell('gone'), getRequest('k')))).toEqual({
      kind: 'not-found',
      cellId: 'gone',
    });
    expect(colony.node('n1').metrics().forwardingPointersAnswered).toBe(answeredBefore + 1); // expired
  });

  it('after a crash, a node reloads its registry and cells from disk and serves them', async () => {
    const colony = simColony({ seed: 6 });
    await createCells(colony, 20);
    for (let index = 0; index < 20; index += 1)
      expect(
        committed(
          await submitUntilCommitted(colony, 'n3', cell(`c${index}`), putRequest('d', BigInt(index + 100))),
        ),
      ).toBe(true);
    const hostedBefore = colony
      .node('n1')
      .listCells()
      .map((hosted) => hosted.cellId);
    expect(hostedBefore.length).toBeGreaterThan(0);
    colony.world.crash('n1');
    await colony.world.runFor(500);
    colony.world.restart('n1');
    const restarted = colony.node('n1');
    expect(restarted.listCells().map((hosted) => hosted.cellId)).toEqual(hostedBefore);
    expect(restarted.metrics().cellsInMemory).toBe(0);
    for (let index = 0; index < 20; index += 1)
      expect(readValue(await submitUntilCommitted(colony, 'n1', cell(`c${index}`), getRequest('d')))).toBe(
        BigInt(index + 100),
      );
    expect(restarted.metrics().cellsLoaded).toBeGreaterThan(0);
  });

  it('keeps serving a cell while two of its five members are down', async () => {
    const colony = simColony({ seed: 7 });
    await colony.world.settle(colony.node('n1').createCell(cell('q'), members('n1', 'n2', 'n3', 'n4', 'n5')));
    expect(committed(await submitUntilCommitted(colony, 'n6', cell('q'), putRequest('k', 1n)))).toBe(true);
    colony.world.crash('n1');
    colony.world.crash('n2');
    expect(committed(await submitUntilCommitted(colony, 'n7', cell('q'), putRequest('k', 2n)))).toBe(true);
    expect(readValue(await submitUntilCommitted(colony, 'n3', cell('q'), getRequest('k')))).toBe(2n);
  });

  it('routes and commits through a lossy, duplicating, reordering network, a history checked linearizable', async () => {
    const colony = simColony({ seed: 10 });
    await createCells(colony, 6);
    colony.world.net.loss(0.05);
    colony.world.net.duplicate(0.05);
    colony.world.net.reorder(5);
    const recorder = new HistoryRecorder();
    let process = 0;
    for (let round = 0; round < 30; round += 1) {
      const index = round % 6;
      const via = `n${((round * 3) % 7) + 1}`;
      const write = round % 2 === 0;
      const key = `c${index}/r`;
      recorder.invoke(process, write ? 'write' : 'read', key, write ? round : null, colony.world.nowMs);
      const request = write ? putRequest('r', BigInt(round)) : getRequest('r');
      const response = await colony.world.settle(colony.node(via).submit(cell(`c${index}`), request));
      if (response.kind === 'result' && response.result.kind === 'committed') {
        const value = readValue(response);
        recorder.ok(
          process,
          colony.world.nowMs,
          write ? undefined : value === 'absent' ? null : Number(value),
        );
      } else if (response.kind === 'outcome-unknown') {
        recorder.info(process, colony.world.nowMs);
        process += 1;
      } else recorder.fail(process, colony.world.nowMs);
      await colony.world.runFor(50);
    }
    const okCount = recorder.events().filter((event) => event.type === 'ok').length;
    expect(okCount).toBeGreaterThan(20);
    expect(checkHistoryLinearizable(recorder.events())).toMatchObject({ kind: 'linearizable' });
    const dropped = colony.names.map((name) => colony.node(name).metrics().framesDropped);
    expect(dropped.every((reasons) => reasons.malformed === 0)).toBe(true); // loss is not garbage
  });

  it('replays the same run from the same seed (same trace)', async () => {
    const run = async (): Promise<string> => {
      const colony = simColony({ seed: 8 });
      await createCells(colony, 5);
      await submitUntilCommitted(colony, 'n6', cell('c1'), putRequest('k', 1n));
      return colony.world.traceHash();
    };
    expect(await run()).toBe(await run());
  });
});
