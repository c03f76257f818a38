// Benchmark of cell reconfiguration (issue 5 figures, paper §2.4): simulated time to
// replace one node of a 7-replica cell, and to move the whole cell (7 replacements, one at
// a time, each waiting for the new node to catch up), for a cell holding 10 keys and one
// holding 10,000 keys (8-byte values: far under the model's 4 MiB partition bound). Idle
// cell (no workload), 1-3 ms links, the simworld's default disk; times are virtual ms
// measured from the first admin request to the new node caught up (applied index within
// 2 * alpha of the leader's) and the leaving node retired.
// Run: npm run bench:reconfig [-- --seed 1 --runs 3]
import { transaction } from '../src/model/index.ts';
import { nodeId } from '../src/paxos/index.ts';
import { cellCluster } from '../src/cell/testing/sim-cell-host.ts';
import type { CellCluster } from '../src/cell/testing/sim-cell-host.ts';
import { moveCell, reconfigureCell } from '../src/cell/testing/move-cell.ts';

const REPLICAS = 7;
const KEY_COUNTS = [10, 10_000] as const;
/** Writes in flight while loading the cell (the leader batches them). */
const LOAD_WINDOW = 256;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at < 0 ? undefined : Number(process.argv[at + 1]);
  return value === undefined || !Number.isFinite(value) ? fallback : value;
}

/** A 7-replica cell holding `keys` keys, idle, with a leader. */
async function loadedCell(seed: number, keys: number): Promise<CellCluster> {
  const c = cellCluster({
    seed,
    replicas: REPLICAS,
    cellOptions: { checkInvariants: false, snapshotEveryEntries: 100 },
  });
  await c.world.runFor(20);
  for (let start = 0; start < keys; start += LOAD_WINDOW) {
    const writes = [];
    for (let k = start; k < Math.min(keys, start + LOAD_WINDOW); k += 1) {
      const operation = transaction({ writes: [{ kind: 'put', key: `key${k}`, value: BigInt(k) }] });
      writes.push(c.submit(c.leader() ?? 'n1', { kind: 'operation', consistency: 'consistent', operation }));
    }
    const answers = await c.settle(Promise.all(writes), 60_000);
    const failed = answers.filter((a) => a.kind !== 'result').length;
    if (failed > 0) start -= LOAD_WINDOW; // retry the window (writes are idempotent puts)
  }
  await c.world.runFor(1_000);
  return c;
}

/** How the new node was taught: snapshots installed and entries applied. */
let taught = '';

async function replaceOne(seed: number, keys: number): Promise<number> {
  const c = await loadedCell(seed, keys);
  const outcome = await c.settle(
    reconfigureCell(c, { kind: 'replace', remove: nodeId('n1'), add: nodeId('m1') }),
    120_000,
  );
  if (outcome.kind !== 'done') throw new Error(`replace failed: ${outcome.reason}`);
  await c.world.runFor(500);
  const learner = c.cell('m1')!.describe();
  const others = c.members.filter((m) => m !== 'm1').map((m) => c.cell(m)!.describe());
  const ahead = others.reduce((a, b) => (b.appliedIndex > a.appliedIndex ? b : a));
  if (learner.digest !== ahead.digest || c.agreementViolations.length > 0)
    throw new Error('the new node does not hold the leader state');
  taught = `new node: ${learner.counters.snapshotsInstalled} snapshot(s) installed, ${learner.counters.entriesApplied} log entries applied, at index ${learner.appliedIndex}`;
  return outcome.elapsedMs;
}

async function moveAll(seed: number, keys: number): Promise<number> {
  const c = await loadedCell(seed, keys);
  const targets = Array.from({ length: REPLICAS }, (_, i) => nodeId(`m${i + 1}`));
  const started = c.world.nowMs;
  const steps = await c.settle(moveCell(c, targets), 600_000);
  const failed = steps.find((s) => s.kind === 'failed');
  if (failed !== undefined || steps.length !== REPLICAS)
    throw new Error(`move failed: ${JSON.stringify(failed)}`);
  return c.world.nowMs - started;
}

function summary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  return `median ${median.toFixed(0)} ms (min ${sorted[0]!.toFixed(0)}, max ${sorted[sorted.length - 1]!.toFixed(0)})`;
}

async function main(): Promise<void> {
  const seed = arg('seed', 1);
  const runs = arg('runs', 3);
  console.log(`cell reconfiguration, ${REPLICAS} replicas, simulated time, ${runs} seeds from ${seed}`);
  for (const keys of KEY_COUNTS) {
    const replace: number[] = [];
    const move: number[] = [];
    for (let r = 0; r < runs; r += 1) {
      replace.push(await replaceOne(seed + r, keys));
      move.push(await moveAll(seed + r, keys));
    }
    console.log(
      `${String(keys).padStart(6)} keys: replace one node ${summary(replace)}; move whole cell ${summary(move)}`,
    );
    console.log(`             (last run's ${taught})`);
  }
}

await main();
