// Scenario tests of cell reconfiguration and teaching on the simworld (paper §2.4): add,
// remove and replace one node under loss, partitions and crashes; a whole cell of seven
// moved one node at a time under a workload (linearizable, no acknowledged write lost);
// a cell moving off a node and back (ABA); a learner taught by snapshot, by log segment
// and by whack-a-mole.
import { describe, expect, it } from 'vitest';
import { transaction } from '../model/index.ts';
import { ballot, logIndex, nodeId } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { nextMembers } from './reconfig.ts';
import { cellCluster, unframe } from './testing/sim-cell-host.ts';
import { decodeCellMessage } from './wire.ts';
import type { CellCluster } from './testing/sim-cell-host.ts';
import { moveCell, reconfigureCell } from './testing/move-cell.ts';
import { cellWorkload } from './testing/workload.ts';
import type { CellRequest } from './types.ts';

const fast = { snapshotEveryEntries: 50 };
const n = (name: string): NodeId => nodeId(name);
const put = (key: string, value: bigint): CellRequest => ({
  kind: 'operation',
  consistency: 'consistent',
  operation: transaction({ writes: [{ kind: 'put', key, value }] }),
});

/** A cluster with a leader elected and `writes` keys written. */
async function started(seed: number, replicas: number, writes = 1): Promise<CellCluster> {
  const c = cellCluster({ seed, replicas, cellOptions: fast });
  await c.world.runFor(20);
  for (let i = 0; i < writes; i += 1)
    await c.settle(c.submit(c.leader() ?? 'n1', put(`warm${i}`, BigInt(i))));
  await c.world.runUntil(() => c.leader() !== undefined, 2_000);
  return c;
}

/** Every live replica's membership, by host. */
function memberships(c: CellCluster): Record<string, readonly NodeId[]> {
  return Object.fromEntries(c.liveCells().map(([host, cell]) => [host, cell.membership().members]));
}

describe('membership changes (pure)', () => {
  it('nextMembers: add, remove, replace, and typed refusals', () => {
    const current = [n('a'), n('b'), n('c')];
    expect(nextMembers(current, { kind: 'add', node: n('d') })).toEqual({
      kind: 'ok',
      members: ['a', 'b', 'c', 'd'],
    });
    expect(nextMembers(current, { kind: 'remove', node: n('b') })).toEqual({
      kind: 'ok',
      members: ['a', 'c'],
    });
    expect(nextMembers(current, { kind: 'replace', remove: n('a'), add: n('z') })).toEqual({
      kind: 'ok',
      members: ['b', 'c', 'z'],
    });
    expect(nextMembers(current, { kind: 'add', node: n('a') }).kind).toBe('invalid-change');
    expect(nextMembers(current, { kind: 'remove', node: n('x') }).kind).toBe('invalid-change');
    expect(nextMembers([n('a')], { kind: 'remove', node: n('a') }).kind).toBe('invalid-change');
    expect(nextMembers(current, { kind: 'replace', remove: n('a'), add: n('b') }).kind).toBe(
      'invalid-change',
    );
  });
});

describe('cell reconfiguration (paper §2.4)', () => {
  it('adds a node to an idle cell: chosen at i, in effect at i + alpha after no-ops, the learner catches up', async () => {
    const c = await started(31, 3, 5);
    const leader = c.leader()!;
    c.startLearner(n('n4'), c.members);
    const answer = await c.settle(
      c.admin(leader, { kind: 'reconfigure', change: { kind: 'add', node: n('n4') } }),
    );
    expect(answer).toMatchObject({ kind: 'reconfigured', members: ['n1', 'n2', 'n3', 'n4'] });
    if (answer.kind !== 'reconfigured') return;
    expect(answer.effectiveFrom).toBe(answer.chosenIndex + 3);
    // A second change while the first is not yet in effect is refused.
    const second = await c.settle(
      c.admin(leader, { kind: 'reconfigure', change: { kind: 'remove', node: n('n1') } }),
    );
    expect(second).toEqual({ kind: 'config-change-in-progress' });
    // An idle cell: explicit no-ops make the change take effect.
    for (let i = 0; i < 3; i += 1) await c.settle(c.admin(leader, { kind: 'noop' }));
    expect(c.cell(leader)!.membership().members).toEqual(['n1', 'n2', 'n3', 'n4']);
    await c.world.runUntil(() => c.cell('n4')?.membership().isMember === true, 5_000);
    await c.settle(c.submit(leader, put('after', 9n)));
    await c.world.runFor(500);
    expect(c.cell('n4')!.describe().appliedIndex).toBe(c.cell(leader)!.describe().appliedIndex);
    expect(c.agreementViolations).toEqual([]);
  });

  it('a follower answers not-leader; a bad change is refused and changes nothing', async () => {
    const c = await started(32, 3);
    const leader = c.leader()!;
    const follower = c.members.find((m) => m !== leader)!;
    const refused = await c.settle(
      c.admin(follower, { kind: 'reconfigure', change: { kind: 'add', node: n('n9') } }),
    );
    expect(refused).toEqual({ kind: 'not-leader', leaderHint: leader });
    const bad = await c.settle(
      c.admin(leader, { kind: 'reconfigure', change: { kind: 'remove', node: n('n9') } }),
    );
    expect(bad.kind).toBe('invalid-change');
    expect(c.cell(leader)!.membership().members).toEqual(['n1', 'n2', 'n3']);
  });
});

describe('single changes under faults (paper §2.4)', () => {
  it('removes a node: it learns its removal, retires, and the rest commit without it', async () => {
    const c = await started(33, 5, 3);
    const victim = c.members.find((m) => m !== c.leader())!;
    const outcome = await c.settle(reconfigureCell(c, { kind: 'remove', node: victim }), 40_000);
    expect(outcome.kind).toBe('done');
    await c.world.runFor(c.retireAfterMs + 200);
    expect(c.cell(victim)).toBeUndefined();
    expect(c.stats.retired).toBe(1);
    for (const [, cell] of c.liveCells()) expect(cell.membership().members).not.toContain(victim);
    const w = cellWorkload(c, { clients: 2 });
    await c.world.runFor(500);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBeGreaterThan(20);
  });

  it('a removed follower learns its removal by itself (onRemoved) and retires after the grace period', async () => {
    const c = await started(44, 5, 3);
    const victim = c.members.find((m) => m !== c.leader())!;
    const outcome = await c.settle(
      reconfigureCell(c, { kind: 'remove', node: victim }, { retire: false }),
      20_000,
    );
    expect(outcome.kind).toBe('done');
    if (outcome.kind !== 'done' || outcome.chosenIndex === undefined) return;
    await c.settle(c.submit(c.leader() ?? c.members[0]!, put('after', 1n)));
    await c.world.runFor(100);
    expect(c.cell(victim)!.membership().removedFrom).toBe(outcome.chosenIndex + 3);
    await c.world.runFor(c.retireAfterMs + 100);
    expect(c.cell(victim)).toBeUndefined();
    expect(c.stats.retired).toBe(1);
  });

  it('replaces a node under 10% message loss while a workload runs', async () => {
    const c = await started(34, 5, 3);
    const w = cellWorkload(c, { clients: 2 });
    c.world.net.loss(0.1);
    const outcome = await c.settle(
      reconfigureCell(c, { kind: 'replace', remove: n('n2'), add: n('n6') }),
      40_000,
    );
    expect(outcome.kind).toBe('done');
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(c.cell('n6')!.membership().members).toEqual(['n1', 'n3', 'n4', 'n5', 'n6']);
  });

  it('replaces a node while the leader crashes and a minority is partitioned off', async () => {
    const c = await started(35, 5, 3);
    const w = cellWorkload(c, { clients: 2 });
    const change = c.settle(reconfigureCell(c, { kind: 'replace', remove: n('n5'), add: n('n6') }), 40_000);
    c.world.after(15, () => c.world.crash(c.leader() ?? 'n1'));
    c.world.after(400, () => c.world.net.partitionOff('minority', ['n4']));
    c.world.after(1_500, () => c.world.healAll());
    c.world.after(1_600, () => {
      for (const host of c.serverHosts) if (c.world.host(host).state !== 'up') c.world.restart(host);
    });
    const outcome = await change;
    expect(outcome.kind).toBe('done');
    const report = await w.finish();
    expect(report.violations).toEqual([]);
  });

  it('a deposed node can never form a quorum: removed nodes alone commit nothing', async () => {
    const c = await started(36, 3, 3);
    c.retireAfterMs = 60_000; // keep the removed replicas running (no wipe)
    expect((await c.settle(reconfigureCell(c, { kind: 'add', node: n('n4') }), 20_000)).kind).toBe('done');
    expect((await c.settle(reconfigureCell(c, { kind: 'add', node: n('n5') }), 20_000)).kind).toBe('done');
    for (const old of ['n1', 'n2']) {
      const outcome = await c.settle(
        reconfigureCell(c, { kind: 'remove', node: n(old) }, { retire: false }),
        20_000,
      );
      expect(outcome.kind).toBe('done');
    }
    // n1 and n2 (deposed) plus n3 (a member) would be a majority of the OLD jury {n1,n2,n3}.
    c.world.net.partitionOff('old', ['n1', 'n2', 'n3']);
    const answers = await c.settle(
      Promise.all(['n1', 'n2'].map((h) => c.submit(h, put('split', 1n)))),
      5_000,
    );
    await c.world.runFor(2_000);
    for (const answer of answers) expect(answer.kind).not.toBe('result');
    expect(c.cell('n1')).toBeDefined(); // still running, with its old state
    c.world.healAll();
    await c.world.runFor(500);
    expect(c.agreementViolations).toEqual([]);
  });
});

describe('moving a whole cell (paper §2.4, Figure 7)', () => {
  it('replaces all seven nodes one by one under a workload: linearizable, no acknowledged write lost', async () => {
    const c = await started(37, 7, 3);
    const w = cellWorkload(c, { clients: 3 });
    const targets = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'].map(n);
    const steps = await c.settle(moveCell(c, targets), 120_000);
    expect(steps.map((s) => s.kind)).toEqual(Array<string>(7).fill('done'));
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBeGreaterThan(50);
    await c.world.runFor(c.retireAfterMs + 500);
    expect(Object.keys(memberships(c)).sort()).toEqual(targets);
    for (const members of Object.values(memberships(c))) expect(members).toEqual(targets);
    expect(c.stats.retired).toBe(7);
  });
});

describe('ABA: a cell moves off a node and back onto it (paper §2.4)', () => {
  it('the returning replica is a new incarnation (n3#2): fresh state, stale messages for n3 dropped', async () => {
    const c = await started(38, 5, 3);
    const w = cellWorkload(c, { clients: 2 });
    // n3 is down when the cell moves off it: its disk keeps the old incarnation's state.
    c.world.crash('n3');
    expect(
      (await c.settle(reconfigureCell(c, { kind: 'replace', remove: n('n3'), add: n('m1') }), 30_000)).kind,
    ).toBe('done');
    c.world.restart('n3');
    await c.world.runFor(300);
    expect(c.cell('n3')).toBeUndefined(); // retired: it does not load the old state
    const back = await c.settle(
      reconfigureCell(c, { kind: 'replace', remove: n('m1'), add: n('n3#2') }),
      30_000,
    );
    expect(back.kind).toBe('done');
    const returned = c.cell('n3')!.describe();
    expect(returned.self).toBe('n3#2');
    expect(c.cell('n3')!.membership().members).toEqual(['n1', 'n2', 'n3#2', 'n4', 'n5']);
    // A message addressed to the old incarnation (an old leader's accept) is not delivered.
    const before = c.stats.staleIncarnationDrops;
    c.inject('n1', n('n3'), {
      kind: 'accept',
      entry: { index: logIndex(1), ballot: ballot(1, n('n1')), value: { kind: 'noop' } },
      commitIndex: logIndex(0),
    });
    await c.world.runFor(50);
    expect(c.stats.staleIncarnationDrops).toBe(before + 1);
    const report = await w.finish();
    expect(report.violations).toEqual([]);
    expect(c.cell('n3')!.describe().digest).toBe(c.cell(c.leader()!)!.describe().digest);
  });
});

describe('teaching a learner (paper §2.4)', () => {
  it('bulk: a new node joining a cell whose log was compacted gets a snapshot', async () => {
    const c = await started(39, 3, 120); // snapshot every 50 entries: the log starts above 1
    const outcome = await c.settle(reconfigureCell(c, { kind: 'add', node: n('n4') }), 30_000);
    expect(outcome.kind).toBe('done');
    const learner = c.cell('n4')!.describe();
    expect(learner.counters.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(learner.digest).toBe(c.cell(c.leader()!)!.describe().digest);
  });

  it('log: a node that fell behind (partitioned) is taught the missing log segment, no snapshot', async () => {
    const c = await started(40, 3, 3);
    const leader = c.leader()!;
    const behind = c.members.find((m) => m !== leader)!;
    c.world.net.partitionOff('behind', [behind]);
    for (let i = 0; i < 20; i += 1) await c.settle(c.submit(leader, put(`late${i}`, BigInt(i))));
    c.world.healAll();
    await c.settle(c.submit(leader, put('wake', 1n)));
    await c.world.runFor(500);
    const learner = c.cell(behind)!.describe();
    expect(learner.counters.snapshotsInstalled).toBe(0);
    expect(learner.appliedIndex).toBe(c.cell(leader)!.describe().appliedIndex);
    expect(learner.digest).toBe(c.cell(leader)!.describe().digest);
  });

  it('log: a new node joining a cell with a short log learns it entry by entry', async () => {
    const c = await started(41, 3, 5);
    expect((await c.settle(reconfigureCell(c, { kind: 'add', node: n('n4') }), 30_000)).kind).toBe('done');
    const learner = c.cell('n4')!.describe();
    expect(learner.counters.snapshotsInstalled).toBe(0);
    expect(learner.counters.entriesApplied).toBeGreaterThanOrEqual(5);
  });
});

describe('whack-a-mole learning (paper §2.4)', () => {
  it('the leader dies with entries nobody else knows chosen: a follower campaigns after jitter and everyone learns', async () => {
    const c = await started(42, 3, 2);
    const leader = c.leader()!;
    // Followers never hear the leader's commits, nor get the chosen entries a thrifty
    // leader pushes to those outside its quorum: the tail stays unlearned on them.
    c.world.net.loss(1, { kind: 'commit', from: leader });
    c.world.net.loss(1, { kind: 'catchupReply', from: leader });
    const answers = await c.settle(
      Promise.all([1n, 2n, 3n].map((v) => c.submit(leader, put(`tail${v}`, v)))),
    );
    const acknowledged = Math.max(...answers.map((a) => (a.kind === 'result' ? a.index : 0)));
    expect(acknowledged).toBeGreaterThan(0);
    const followers = c.members.filter((m) => m !== leader);
    expect(followers.some((f) => c.cell(f)!.describe().commitIndex < acknowledged)).toBe(true);
    c.world.crash(leader);
    c.world.net.healAll(); // the old leader stays down: the followers must learn by themselves
    // No client traffic at all: only whack-a-mole can make the followers learn.
    await c.world.runFor(3_000);
    for (const f of followers)
      expect(c.cell(f)!.describe().appliedIndex).toBeGreaterThanOrEqual(acknowledged);
    const campaigns = followers.reduce((sum, f) => sum + c.cell(f)!.describe().counters.holeCampaigns, 0);
    expect(campaigns).toBeGreaterThanOrEqual(1);
    expect(c.agreementViolations).toEqual([]);
  });
});

describe('whack-a-mole fills a true hole (paper §2.4)', () => {
  it('no one accepted index i, the leader died; i+1 and i+2 were chosen: a no-op fills i, both survive', async () => {
    const c = await started(43, 3, 2);
    const leader = c.leader()!;
    const hole = c.cell(leader)!.describe().commitIndex + 1;
    c.world.net.addRule({
      match: {
        kind: 'accept',
        from: leader, // only the old leader's accepts for the hole index are lost
        predicate: (info) => {
          const decoded = decodeCellMessage(unframe(info.from, info.to, info.payload).message);
          return decoded.kind === 'decoded' &&
            decoded.value.kind === 'paxos' &&
            decoded.value.message.kind === 'accept'
            ? decoded.value.message.entry.index === hole
            : false;
        },
      },
      action: { kind: 'drop' },
      probability: 1,
    });
    const pending = [1n, 2n, 3n].map((v) => c.submit(leader, put(`hole${v}`, v)));
    await c.world.runFor(30);
    c.world.crash(leader);
    void pending;
    await c.world.runFor(3_000);
    const followers = c.members.filter((m) => m !== leader);
    for (const f of followers) expect(c.cell(f)!.describe().appliedIndex).toBeGreaterThanOrEqual(hole + 2);
    const read = await c.settle(
      c.submit(followers[0]!, {
        kind: 'operation',
        consistency: 'eventual',
        operation: transaction({ reads: ['hole1', 'hole2', 'hole3'] }),
      }),
    );
    // Index `hole` (hole1) was never accepted by anyone else: a no-op took it. hole2 and hole3
    // were accepted by a majority (chosen): whack-a-mole must find and keep them.
    expect(read).toMatchObject({
      kind: 'result',
      result: {
        kind: 'committed',
        reads: [
          { key: 'hole1', found: false },
          { key: 'hole2', value: 2n },
          { key: 'hole3', value: 3n },
        ],
      },
    });
    expect(
      followers.reduce((s, f) => s + c.cell(f)!.describe().counters.holeCampaigns, 0),
    ).toBeGreaterThanOrEqual(1);
    expect(c.agreementViolations).toEqual([]);
  });
});
