// TEST-ONLY figures: batching (requests per log entry), messages per entry and requests per
// CPU-second of the whole simulation (5 replicas, 1 ms disk syncs, 1-3 ms links), for 1 to 64 closed-loop
// clients. Run: npx tsx src/cell/testing/cell-figures.ts
import { cellCluster } from './sim-cell-host.ts';
import { cellWorkload } from './workload.ts';
for (const clients of [1, 4, 16, 64]) {
  const t0 = process.cpuUsage();
  const c = cellCluster({ seed: 5, replicas: 5, cellOptions: { checkInvariants: false } });
  const w = cellWorkload(c, { clients, thinkMs: 0 });
  await c.world.runFor(2_000);
  w.stop();
  await c.world.runFor(500);
  const cpu = process.cpuUsage(t0);
  const cells = c.liveCells().map(([, x]) => x.describe());
  const leader = cells.find((d) => d.isLeader)!;
  const sent = cells.reduce((a, d) => a + d.counters.messagesSent, 0);
  const applied = leader.counters.requestsApplied;
  const entries = leader.appliedIndex;
  console.log(
    `clients=${clients} requests=${applied} entries=${entries} requests/entry=${(applied / entries).toFixed(2)} messages/entry=${(sent / entries).toFixed(2)} ok=${w.okOperations} cpuMs=${((cpu.user + cpu.system) / 1000).toFixed(0)} requests/cpu-s=${(applied / ((cpu.user + cpu.system) / 1e6)).toFixed(0)}`,
  );
}
