// Resident bytes per idle cell replica, measured in this process (V8 heap + external after a
// full GC; needs --expose-gc): a Node on LMDB hosting N single-member cells, each written
// once, (a) all loaded, (b) all evicted after their first message following a restart.
// The evicted figure is a slope: the growth from a tenth of the cells touched to all of them,
// per cell, so the node's fixed costs (JIT code, LMDB's read buffers) do not count. Each
// sample waits until the store has checkpointed its write log (the values it holds until
// then are the store's, bounded by its checkpoint size, not the cells').
import { partitionKey, transaction } from '../src/model/index.ts';
import { hostId } from '../src/env/index.ts';
import type { Network } from '../src/env/index.ts';
import { realCellBinding } from '../src/node/cell-binding.ts';
import type { CellId } from '../src/node/index.ts';
import { Node } from '../src/node/node.ts';
import type { NodeLimits } from '../src/node/limits.ts';
import { nodeId } from '../src/paxos/index.ts';
import { LmdbStorage, SystemClock, systemRandom } from '../src/runtime/index.ts';

const self = nodeId('m1');

function heapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** A network with no peers: single-member cells never send. */
const lonelyNetwork: Network = { self: hostId(self), send: () => undefined, onReceive: () => undefined };

function startNode(storage: LmdbStorage, limits: Partial<NodeLimits>): Node {
  return new Node({
    self,
    env: { clock: new SystemClock(), network: lonelyNetwork, storage, random: systemRandom() },
    cells: realCellBinding(),
    peers: [],
    limits,
  });
}

async function forEach(
  cells: readonly CellId[],
  parallel: number,
  action: (cellId: CellId) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < cells.length) await action(cells[next++] as CellId);
    }),
  );
}

/**
 * Waits until the store's write log has been checkpointed (after a second without commits):
 * the values it holds in memory until then are the store's, bounded by its checkpoint size,
 * not the cells'.
 */
async function checkpointed(storage: LmdbStorage): Promise<void> {
  const deadlineMs = performance.now() + 60_000;
  while (storage.counters().logRecords > 0) {
    if (performance.now() > deadlineMs) throw new Error('the write log was not checkpointed within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function measureIdleCellBytes(
  dir: string,
  count: number,
): Promise<{ loadedBytesPerCell: number; evictedBytesPerCell: number }> {
  const storage = LmdbStorage.open({ path: dir });
  const cells = Array.from({ length: count }, (_, index) => partitionKey(`mem${index}`));
  const baseline = heapBytes();
  const keeper = startNode(storage, { cellsInMemoryMax: count + 1, idleEvictMs: 3_600_000 });
  await forEach(cells, 256, async (cellId) => {
    const created = await keeper.createCell(cellId, [self]);
    if (created.kind !== 'created') throw new Error(`create ${cellId}: ${created.kind}`);
    const write = transaction({ writes: [{ kind: 'put', key: 'k', value: 1n }] });
    await keeper.submit(cellId, { kind: 'operation', operation: write, consistency: 'consistent' });
  });
  if (keeper.metrics().cellsInMemory !== count) throw new Error('not all cells in memory');
  await checkpointed(storage);
  const loadedBytesPerCell = (heapBytes() - baseline) / count;
  await keeper.close();

  const evicting = startNode(storage, {
    cellsInMemoryMax: count + 1,
    idleEvictMs: 2_000,
    evictScanMax: count + 1,
  });
  const touchAndEvict = async (touched: readonly CellId[]): Promise<number> => {
    await forEach(touched, 256, async (cellId) => {
      const read = transaction({ reads: ['k'] });
      const response = await evicting.submit(cellId, {
        kind: 'operation',
        operation: read,
        consistency: 'consistent',
      });
      if (response.kind !== 'result') throw new Error(`read ${cellId}: ${response.kind}`);
    });
    while (evicting.metrics().cellsInMemory > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    await checkpointed(storage);
    return heapBytes();
  };
  const tenth = Math.max(1, Math.floor(count / 10));
  const afterTenth = await touchAndEvict(cells.slice(0, tenth));
  const afterAll = await touchAndEvict(cells.slice(tenth));
  const evictedBytesPerCell = (afterAll - afterTenth) / (count - tenth);
  await evicting.close();
  await storage.close();
  return { loadedBytesPerCell, evictedBytesPerCell };
}
