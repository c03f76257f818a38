// Dirty reboots (paper §2.2: "durable across dirty reboots"): SIGKILL a node in the middle of
// heavy writes, many times; each time it restarts from its LMDB data with every acknowledged
// write present. Cells have the node as their only member, so an ack rests on its fsync alone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionKey, transaction } from '../../src/model/index.ts';
import type { CellId } from '../../src/node/index.ts';
import type { NodeId } from '../../src/paxos/index.ts';
import { ProcessColony, sleep } from './harness.ts';

const n1 = 'n1' as NodeId;
const cells: CellId[] = Array.from({ length: 8 }, (_, index) => partitionKey(`dirty${index}`));
const readBatchKeys = 64;

describe('dirty reboot of a node under heavy writes', () => {
  let colony: ProcessColony;
  beforeAll(async () => {
    colony = await ProcessColony.start({ nodes: 1 });
  }, 60_000);
  afterAll(async () => {
    await colony.close();
  }, 30_000);

  it('keeps every acknowledged write across 6 SIGKILLs mid-write', async () => {
    for (const cellId of cells) {
      const outcomes = await colony.client.createCell(cellId, [n1]);
      expect(outcomes.get(n1)?.kind).toBe('created');
    }
    const acknowledged = new Map<CellId, Map<string, bigint>>(cells.map((cellId) => [cellId, new Map()]));
    let nextValue = 0;
    let unknown = 0;
    for (let cycle = 0; cycle < 6; cycle += 1) {
      let writing = true;
      const writer = async (): Promise<void> => {
        while (writing) {
          const value = nextValue++;
          const cellId = cells[value % cells.length] as CellId;
          const key = `w${value}`;
          const put = transaction({ writes: [{ kind: 'put', key, value: BigInt(value) }] });
          const response = await colony.client.submit(
            n1,
            cellId,
            { kind: 'operation', operation: put, consistency: 'consistent' },
            2_000,
          );
          if (response.kind === 'result' && response.result.kind === 'committed')
            acknowledged.get(cellId)?.set(key, BigInt(value));
          else if (response.kind === 'timeout' || response.kind === 'outcome-unknown') unknown += 1;
          else await sleep(10);
        }
      };
      const writers = Array.from({ length: 32 }, () => writer());
      await sleep(400 + Math.floor(Math.random() * 600));
      await colony.node(n1).stop('SIGKILL');
      writing = false;
      colony.client.abandon(n1);
      await Promise.all(writers);
      await colony.node(n1).start();
      await expectAllPresent(colony, acknowledged);
    }
    const total = [...acknowledged.values()].reduce((sum, keys) => sum + keys.size, 0);
    console.info(
      `dirty reboot: ${total} acknowledged writes checked after 6 SIGKILLs; ${unknown} unacknowledged`,
    );
    expect(total).toBeGreaterThan(300);
  }, 120_000);

  it('refuses a second node process on a data directory in use, naming the holder, and the first keeps serving', async () => {
    const holder = colony.node(n1);
    const cellId = partitionKey('twin');
    expect((await colony.client.createCell(cellId, [n1])).get(n1)?.kind).toBe('created');
    const put = transaction({ writes: [{ kind: 'put', key: 'twin', value: 1n }] });
    const before = await colony.client.submit(n1, cellId, {
      kind: 'operation',
      operation: put,
      consistency: 'consistent',
    });
    expect(before.kind === 'result' && before.result.kind).toBe('committed');
    const twinLog = join(colony.dir, 'twin.log');
    const twin = holder.twin(twinLog);
    await expect(twin.start()).rejects.toThrow(/exited during start \(2\)/);
    let log = '';
    for (let attempt = 0; attempt < 40 && !log.includes('in use'); attempt += 1) {
      await sleep(50);
      log = readFileSync(twinLog, 'utf8');
    }
    twin.closeLog();
    expect(log).toContain(`is in use by process ${holder.child?.pid}`);
    expect(holder.up).toBe(true);
    const read = transaction({ reads: ['twin'] });
    const after = await colony.client.submit(n1, cellId, {
      kind: 'operation',
      operation: read,
      consistency: 'consistent',
    });
    if (after.kind !== 'result' || after.result.kind !== 'committed')
      throw new Error(`read failed: ${after.kind}`);
    expect(after.result.reads[0]?.found === true && after.result.reads[0].value).toBe(1n);
  }, 60_000);
});

async function expectAllPresent(
  colony: ProcessColony,
  acknowledged: ReadonlyMap<CellId, ReadonlyMap<string, bigint>>,
): Promise<void> {
  for (const [cellId, keys] of acknowledged) {
    const names = [...keys.keys()];
    for (let start = 0; start < names.length; start += readBatchKeys) {
      const batch = names.slice(start, start + readBatchKeys);
      const read = {
        kind: 'operation',
        operation: transaction({ reads: batch }),
        consistency: 'consistent',
      } as const;
      let response = await colony.client.submit(n1, cellId, read);
      for (let attempt = 0; response.kind !== 'result' && attempt < 50; attempt += 1) {
        await sleep(50);
        response = await colony.client.submit(n1, cellId, read);
      }
      if (response.kind !== 'result' || response.result.kind !== 'committed')
        throw new Error(`read failed: ${response.kind}`);
      for (const result of response.result.reads) {
        expect(result.found ? result.value : 'missing', `${cellId}/${result.key}`).toBe(keys.get(result.key));
      }
    }
  }
}
