// Leases (paper §2.3): granted, renewed and released through the log, taken over only after
// the proposing leader saw them expire on its own clock, and never held by two holders at
// one moment of simulated real time while clocks differ in rate by up to 3x.
import { describe, expect, it } from 'vitest';
import { cellCluster } from './testing/sim-cell-host.ts';
import { cellWorkload } from './testing/workload.ts';
import type { CellResponse } from './types.ts';

const acquire = (holder: string, durationMs = 300) =>
  ({ kind: 'lease-acquire', name: 'L', holder, durationMs }) as const;

function outcome(response: CellResponse): string {
  return response.kind === 'lease' ? response.outcome.kind : response.kind;
}

describe('leases (paper §2.3)', () => {
  it('acquire, held-by-other, renew, not-holder, release, then another holder gets it', async () => {
    const c = cellCluster({ seed: 21, replicas: 3 });
    await c.world.runFor(20);
    const granted = await c.settle(c.submit('n1', acquire('alice')));
    expect(granted).toMatchObject({
      kind: 'lease',
      outcome: { kind: 'granted', holder: 'alice', holderValidMs: 100 },
    });
    expect(outcome(await c.settle(c.submit('n1', acquire('bob'))))).toBe('held-by-other');
    const renew = { kind: 'lease-renew', name: 'L', holder: 'alice', durationMs: 600 } as const;
    expect(outcome(await c.settle(c.submit('n1', renew)))).toBe('granted');
    expect(outcome(await c.settle(c.submit('n1', { ...renew, holder: 'bob' })))).toBe('not-holder');
    expect(outcome(await c.settle(c.submit('n1', { kind: 'lease-release', name: 'L', holder: 'bob' })))).toBe(
      'not-holder',
    );
    expect(
      outcome(await c.settle(c.submit('n1', { kind: 'lease-release', name: 'L', holder: 'alice' }))),
    ).toBe('released');
    expect(outcome(await c.settle(c.submit('n1', acquire('bob'))))).toBe('granted');
  });

  it('an abandoned lease is taken over only after its duration on the leader clock', async () => {
    const c = cellCluster({ seed: 22, replicas: 3 });
    await c.world.runFor(20);
    await c.settle(c.submit('n1', acquire('alice', 1_000)));
    const leader = c.leader()!;
    await c.world.runFor(900);
    expect(outcome(await c.settle(c.submit(leader, acquire('bob', 1_000))))).toBe('held-by-other');
    await c.world.runFor(150);
    expect(outcome(await c.settle(c.submit(leader, acquire('bob', 1_000))))).toBe('granted');
  });

  it('a restarted replica counts every grant as applied at its restart (conservative)', async () => {
    const c = cellCluster({ seed: 23, replicas: 3 });
    await c.world.runFor(20);
    await c.settle(c.submit('n1', acquire('alice', 1_000)));
    const leader = c.leader()!;
    await c.world.runFor(800);
    for (const m of c.members) c.world.reboot(m, 10);
    await c.world.runFor(400); // 1,200 ms after the grant, but only ~390 since the restart
    const early = await c.settle(c.submit(leader, acquire('bob', 1_000)));
    expect(['held-by-other', 'not-leader', 'unavailable', 'outcome-unknown']).toContain(outcome(early));
    await c.world.runFor(1_100);
    let answer = await c.settle(c.submit(c.leader() ?? leader, acquire('bob', 1_000)));
    if (answer.kind === 'not-leader')
      answer = await c.settle(c.submit(answer.leaderHint!, acquire('bob', 1_000)));
    expect(outcome(answer)).toBe('granted');
  });

  it('invalid lease requests are refused before proposal', async () => {
    const c = cellCluster({ seed: 24, replicas: 3 });
    await c.world.runFor(20);
    expect((await c.settle(c.submit('n1', acquire('', 300)))).kind).toBe('invalid');
    expect((await c.settle(c.submit('n1', acquire('alice', 0)))).kind).toBe('invalid');
    expect((await c.settle(c.submit('n1', acquire('alice', 1.5)))).kind).toBe('invalid');
  });

  it('clock skew and drift up to 3x: no two holders ever believe they hold the lease at once', async () => {
    const c = cellCluster({ seed: 25, replicas: 5, clientHosts: 3 });
    const rates: Record<string, number> = {
      n1: 1.85,
      n2: 0.62,
      n3: 1.3,
      n4: 0.9,
      n5: 1.6,
      c1: 0.62,
      c2: 1.85,
      c3: 1,
    };
    for (const [host, rate] of Object.entries(rates)) c.world.clock(host).rate(rate);
    c.world.clock('n2').jump(-60_000);
    const w = cellWorkload(c, { clients: 1 });
    for (const holder of ['c1', 'c2', 'c3']) w.startLeaseClient(holder, 'L', 240);
    await c.world.runFor(1_500);
    c.world.crash(c.leader() ?? 'n1');
    await c.world.runFor(1_500);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(w.leaseGrants).toBeGreaterThan(10);
    expect(w.leaseIntervals.length).toBeGreaterThan(10);
    expect(new Set(w.leaseIntervals.map((i) => i.holder)).size).toBe(3);
  });
});
