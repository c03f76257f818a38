// Scenario tests of the cell on the simworld DSL: register clients against one cell under a
// fault, then healing; every run is checked for linearizability, replica agreement and
// durability (final reads after healing must see every acknowledged write) and must make
// progress once healed (paper §2.2, §4.1).
import { describe, expect, it } from 'vitest';
import { uniform } from '../simworld/index.ts';
import { cellCluster } from './testing/sim-cell-host.ts';
import { cellWorkload } from './testing/workload.ts';

const fast = { snapshotEveryEntries: 50 };

describe('cell scenarios (paper §2.2)', () => {
  it('normal commits: every operation is answered and replicas agree', async () => {
    const c = cellCluster({ seed: 1, replicas: 5, cellOptions: fast });
    const w = cellWorkload(c, { clients: 4 });
    await c.world.runFor(1_000);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBeGreaterThan(100);
    expect(report.info).toBe(0);
  });

  it('proposer crash: another replica takes over, the old one recovers from its disk', async () => {
    const c = cellCluster({ seed: 2, replicas: 5, cellOptions: fast });
    const w = cellWorkload(c, { clients: 3 });
    await c.world.runUntil(() => c.leader() !== undefined && w.okOperations > 20, 2_000);
    const old = c.leader()!;
    c.world.crash(old);
    const before = w.okOperations;
    await c.world.runFor(1_500);
    expect(w.okOperations).toBeGreaterThan(before + 20);
    c.world.restart(old);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
  });

  it('minority partition: the majority side keeps committing', async () => {
    const c = cellCluster({ seed: 3, replicas: 5, cellOptions: fast });
    const w = cellWorkload(c, { clients: 3 });
    await c.world.runUntil(() => c.leader() !== undefined, 2_000);
    c.world.net.partitionOff('minority', [c.leader()!, c.members.find((m) => m !== c.leader())!]);
    const before = w.okOperations;
    await c.world.runFor(1_500);
    expect(w.okOperations).toBeGreaterThan(before + 20);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
  });

  it('no majority anywhere: nothing commits, nothing is acknowledged wrongly, healing restores progress', async () => {
    const c = cellCluster({ seed: 4, replicas: 5, cellOptions: fast });
    const w = cellWorkload(c, { clients: 3, operationDeadlineMs: 800 });
    await c.world.runFor(300);
    c.world.net.partitionOff('a', ['n1', 'n2']);
    c.world.net.partitionOff('b', ['n3', 'n4']);
    await c.world.runFor(500);
    const stalled = w.okOperations;
    await c.world.runFor(1_000);
    expect(w.okOperations).toBe(stalled);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
  });

  it('one-way partition: a leader that cannot be heard is replaced', async () => {
    const c = cellCluster({ seed: 5, replicas: 5, cellOptions: fast });
    const w = cellWorkload(c, { clients: 3 });
    await c.world.runUntil(() => c.leader() !== undefined, 2_000);
    const leader = c.leader()!;
    c.world.net.partitionOneWay(
      'deaf',
      c.members.filter((m) => m !== leader),
      [leader],
    );
    await c.world.runFor(1_500);
    c.world.net.partitionOneWay(
      'mute',
      [leader],
      c.members.filter((m) => m !== leader),
    );
    await c.world.runFor(1_000);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBeGreaterThan(50);
  });

  it('loss, duplication and reordering of messages', async () => {
    const c = cellCluster({ seed: 6, replicas: 5, cellOptions: fast });
    const w = cellWorkload(c, { clients: 4 });
    c.world.net.loss(0.15);
    c.world.net.duplicate(0.2);
    c.world.net.reorder(15);
    await c.world.runFor(2_000);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBeGreaterThan(50);
  });

  it('every replica dirty-rebooted at once, again and again: no acknowledged write is lost', async () => {
    const c = cellCluster({ seed: 7, replicas: 3, cellOptions: fast });
    for (const m of c.members) c.world.disk(m).syncLatency(uniform(1, 30)); // much is unsynced at each crash
    const w = cellWorkload(c, { clients: 4 });
    for (let round = 0; round < 4; round += 1) {
      await c.world.runFor(200 + c.world.random.intBelow(300));
      for (const m of c.members) c.world.reboot(m, 10 + c.world.random.intBelow(50));
    }
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(c.stats.loadFailures).toBe(0);
    expect(report.ok).toBeGreaterThan(5);
  });

  it('slow disks on a majority (group commit still orders persistence before sends)', async () => {
    const c = cellCluster({ seed: 8, replicas: 5, cellOptions: fast });
    for (const m of ['n1', 'n2', 'n3']) c.world.disk(m).syncLatency(uniform(5, 60));
    const w = cellWorkload(c, { clients: 4 });
    await c.world.runFor(800);
    c.world.crash('n2');
    await c.world.runFor(800);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBeGreaterThan(30);
  });

  it('a full disk fails its replica (nothing acknowledged from it); a reboot reloads it', async () => {
    const c = cellCluster({ seed: 9, replicas: 3, cellOptions: fast });
    const w = cellWorkload(c, { clients: 3 });
    await c.world.runUntil(() => c.leader() !== undefined && w.okOperations > 10, 2_000);
    const leader = c.leader()!;
    c.world.disk(leader).full(true);
    await c.world.runFor(1_000);
    expect(c.cell(leader)?.describe().failed).toMatch(/disk/);
    c.world.disk(leader).full(false);
    c.world.restart(leader);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
  });

  for (const replicas of [3, 5, 7, 9]) {
    it(`a cell of ${replicas} survives losing a minority, including its proposer`, async () => {
      const c = cellCluster({ seed: 10 + replicas, replicas, cellOptions: fast });
      const w = cellWorkload(c, { clients: 3 });
      await c.world.runUntil(() => c.leader() !== undefined && w.okOperations > 10, 2_000);
      const victims = [c.leader()!, ...c.members.filter((m) => m !== c.leader())].slice(
        0,
        (replicas - 1) / 2,
      );
      for (const v of victims) c.world.crash(v);
      const before = w.okOperations;
      await c.world.runFor(1_000);
      expect(w.okOperations).toBeGreaterThan(before + 10);
      const report = await w.finish();
      expect(report.violations).toEqual([]);
    });
  }
});
