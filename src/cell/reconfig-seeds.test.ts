// Randomized reconfiguration runs (paper §2.4): per seed, a 5-replica cell under a register
// workload, 5% message loss, random reboots (old members, new learners, leaders alike) and a
// partition, is moved onto four new nodes one replacement at a time and then back onto two
// of its first hosts as new incarnations (ABA: n1#2, n2#2). Every run must complete every
// step, stay linearizable and durable, and end with every member holding the same state.
// `CELL_RECONFIG_SEEDS=500 npx vitest run src/cell/reconfig-seeds.test.ts` runs more seeds.
import { expect, it } from 'vitest';
import { transaction } from '../model/index.ts';
import { nodeId } from '../paxos/index.ts';
import { cellCluster } from './testing/sim-cell-host.ts';
import { moveCell } from './testing/move-cell.ts';
import { cellWorkload } from './testing/workload.ts';

const seeds = Number(process.env.CELL_RECONFIG_SEEDS ?? '20');

async function run(seed: number): Promise<string[]> {
  const problems: string[] = [];
  const c = cellCluster({ seed, replicas: 5, cellOptions: { snapshotEveryEntries: 30 } });
  await c.world.runFor(20);
  const w = cellWorkload(c, { clients: 3 });
  c.world.net.loss(0.05);
  const random = c.world.random.fork('faults');
  for (let k = 0; k < 8; k += 1) {
    c.world.after(50 + random.intBelow(3_000), () => {
      const host = c.serverHosts[random.intBelow(c.serverHosts.length)]!;
      if (c.world.host(host).state === 'up') c.world.reboot(host, 50 + random.intBelow(200));
    });
  }
  c.world.after(200 + random.intBelow(500), () =>
    c.world.net.partitionOff('p', [c.serverHosts[random.intBelow(5)]!]),
  );
  c.world.after(1_200, () => c.world.healAll());
  for (const targets of [
    ['m1', 'm2', 'm3', 'm4', 'n5'],
    ['n1#2', 'n2#2', 'm3', 'm4', 'n5'],
  ]) {
    const steps = await c.settle(moveCell(c, targets.map(nodeId), { deadlineMs: 20_000 }), 100_000);
    if (steps.some((s) => s.kind !== 'done'))
      problems.push(`seed ${seed}: move to ${targets.join(',')}: ${JSON.stringify(steps)}`);
  }
  const report = await w.finish();
  problems.push(...report.violations.map((v) => `seed ${seed}: ${v}`));
  // Idle followers learn on the next activity: a write a second until every member agrees.
  const digests = (): Set<string> =>
    new Set(c.members.map((m) => c.cell(m)?.describe().digest ?? `${m} not running`));
  for (let attempt = 0; attempt < 5 && digests().size !== 1; attempt += 1) {
    const operation = transaction({ writes: [{ kind: 'put', key: 'z', value: BigInt(attempt) }] });
    for (const m of c.members) void c.submit(m, { kind: 'operation', consistency: 'consistent', operation });
    await c.world.runFor(1_000);
  }
  if (digests().size !== 1)
    problems.push(`seed ${seed}: members differ: ${[...digests()].join(' ')} ${JSON.stringify(c.stats)}`);
  return problems;
}

it(`moves a cell away and back (ABA) under loss, reboots and a partition: ${seeds} seeds`, async () => {
  const problems: string[] = [];
  for (let seed = 1_000; seed < 1_000 + seeds; seed += 1) problems.push(...(await run(seed)));
  expect(problems).toEqual([]);
});
