// A 7-node colony as separate OS processes on loopback (paper §2.1, §2.2): commits through
// any node; SIGKILL of up to three nodes and restarts while a workload runs; no acknowledged
// write lost; the recorded history is linearizable (exported as JSON Lines).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../src/model/index.ts';
import type { NodeId } from '../../src/paxos/index.ts';
import { ProcessColony } from './harness.ts';
import { cellsOf, createCells, runWorkload } from './workload.ts';

describe('7-node colony of real processes', () => {
  let colony: ProcessColony;
  beforeAll(async () => {
    colony = await ProcessColony.start({ nodes: 7, testHooks: true });
  }, 60_000);
  afterAll(async () => {
    await colony.close();
  }, 30_000);

  it('commits a write through a member and reads it through every node', async () => {
    const [cellId] = cellsOf(1);
    if (cellId === undefined) throw new Error('no cell');
    await createCells(colony, [cellId]);
    const put = {
      kind: 'operation',
      operation: transaction({ writes: [{ kind: 'put', key: 'x', value: 41n }] }),
      consistency: 'consistent',
    } as const;
    let write = await colony.client.submit('n1' as NodeId, cellId, put);
    for (let attempt = 0; write.kind !== 'result' && attempt < 20; attempt += 1)
      write = await colony.client.submit('n1' as NodeId, cellId, put);
    expect(write).toMatchObject({ kind: 'result', result: { kind: 'committed' } });
    for (const via of colony.ids) {
      const read = await colony.client.submit(via, cellId, {
        kind: 'operation',
        operation: transaction({ reads: ['x'] }),
        consistency: 'consistent',
      });
      expect(read).toMatchObject({
        kind: 'result',
        result: { kind: 'committed', reads: [{ key: 'x', found: true, value: 41n }] },
      });
    }
  }, 60_000);

  it('loses no acknowledged write and stays linearizable while up to three nodes are SIGKILLed and restarted and nodes are partitioned', async () => {
    await createCells(colony, cellsOf(3));
    const report = await runWorkload(colony, {
      cells: 3,
      keysPerCell: 2,
      clients: 6,
      durationMs: 12_000,
      killEveryMs: 1_500,
      downMax: 3,
      restartAfterMs: 1_500,
      partitionEveryMs: 3_000,
    });
    const historyPath = join(colony.dir, '..', `physalia-colony-history-${process.pid}.jsonl`);
    writeFileSync(historyPath, report.recorder.toJsonLines());
    console.info(
      `colony workload: ok ${report.ok}, fail ${report.fail}, info ${report.info}, kills ${report.kills}, partitions ${report.partitions}; history ${historyPath}`,
    );
    expect(report.kills).toBeGreaterThanOrEqual(3);
    expect(report.partitions).toBeGreaterThanOrEqual(2);
    expect(report.ok).toBeGreaterThan(100);
    expect(report.linearizable).toMatchObject({ kind: 'linearizable' });
    expect(report.durability).toMatchObject({ kind: 'checked', violations: [] });
    if (report.durability.kind === 'checked')
      expect(report.durability.acknowledgedWritesChecked).toBeGreaterThan(0);
  }, 90_000);
});
