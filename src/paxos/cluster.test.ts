// Whole-group tests of the Paxos core on the in-test driver: normal commits, dueling
// proposers, leader crash mid-pipeline, and random schedules with loss, duplication,
// reordering and crashes, checking agreement and liveness after faults stop (paper §2.2).
import { describe, expect, it } from 'vitest';
import { Cluster, payloadOf } from './harness.ts';

describe('cluster of replicas', () => {
  it.each([1, 3, 5, 7, 9])('commits proposals in order on a cell of %i', (size) => {
    const cluster = new Cluster(size, 42);
    const first = cluster.submitUntilChosen(payloadOf('a'), 50);
    const second = cluster.submitUntilChosen(payloadOf('b'), 50);
    expect(first).toBeDefined();
    expect(second).toBeGreaterThan(first ?? Infinity);
    for (let i = 0; i < 5 && !cluster.quiet(); i += 1) cluster.settleRound();
    expect(cluster.quiet()).toBe(true);
    const commits = cluster.nodes.map((n) => cluster.replica(n).inspect().commitIndex);
    expect(new Set(commits).size).toBe(1);
  });
});

describe('scenarios', () => {
  it('dueling proposers settle: both clients get their values chosen (§2.2)', () => {
    for (let seed = 0; seed < 20; seed += 1) {
      const cluster = new Cluster(5, seed);
      const [a, b] = [cluster.nodes[0], cluster.nodes[4]];
      if (a === undefined || b === undefined) throw new Error('nodes');
      expect(cluster.propose(a, payloadOf('from-a')).kind).toBe('accepted');
      expect(cluster.propose(b, payloadOf('from-b')).kind).toBe('accepted');
      for (let round = 0; round < 100 && !cluster.quiet(); round += 1) cluster.settleRound();
      const leaders = cluster.nodes.filter((n) => cluster.replica(n).isLeader);
      expect(leaders.length).toBeLessThanOrEqual(1);
      for (const p of cluster.proposals) {
        if (p.result === 'pending' || p.result === 'lostInCrash') throw new Error('unsettled proposal');
        if (p.result.kind !== 'chosen') {
          expect(cluster.submitUntilChosen(p.payload, 200)).toBeDefined();
        }
      }
      const values = [...cluster.chosen.values()].flatMap((v) => (v.kind === 'payload' ? [v.payload] : []));
      expect(values).toContainEqual(payloadOf('from-a'));
      expect(values).toContainEqual(payloadOf('from-b'));
    }
  });

  it('a leader crashing mid-pipeline: what any surviving acceptor holds is re-proposed', () => {
    const cluster = new Cluster(3, 1);
    const [n1, n2, n3] = cluster.nodes;
    if (n1 === undefined || n2 === undefined || n3 === undefined) throw new Error('nodes');
    cluster.propose(n1, payloadOf('a'));
    cluster.settleRound(); // n1 leads; 'a' chosen
    cluster.settleRound(); // the commit index announced on n1's tick reaches n2 and n3
    for (const text of ['b', 'c', 'd']) cluster.propose(n1, payloadOf(text));
    // Deliver: accept(2) to n2 and n3, accept(3) to n2 only; drop the rest; crash the leader.
    const accepts = cluster.inFlight.map((w, i) => ({ i, kind: cluster.kindAt(i), to: w.to }));
    const keep = accepts.filter((_, k) => k === 0 || k === 1 || k === 2).map((a) => a.i);
    expect(accepts.every((a) => a.kind === 'accept')).toBe(true);
    for (const position of keep.reverse()) cluster.deliver(position);
    cluster.crash(n1);
    cluster.inFlight.length = 0;
    const index = cluster.submitUntilChosen(payloadOf('after'), 100);
    expect(index).toBe(4); // 'd' reached no acceptor: its slot is free
    const at = (i: number) => cluster.chosen.get(i);
    expect(at(2)).toEqual({ kind: 'payload', payload: payloadOf('b') });
    // The only quorum left is {n2, n3}, so phase 1 finds n2's 'c' and must re-propose it.
    expect(at(3)).toEqual({ kind: 'payload', payload: payloadOf('c') });
    cluster.restart(n1);
    for (let round = 0; round < 50 && !cluster.quiet(); round += 1) cluster.settleRound();
    cluster.submitUntilChosen(payloadOf('wake'), 50);
    for (let round = 0; round < 50 && !cluster.quiet(); round += 1) cluster.settleRound();
    expect(cluster.replica(n1).inspect().commitIndex).toBe(cluster.replica(n2).inspect().commitIndex);
  });

  it('survives every replica dirty-rebooting at once: chosen entries stay chosen', () => {
    const cluster = new Cluster(5, 3);
    for (const text of ['a', 'b', 'c']) expect(cluster.submitUntilChosen(payloadOf(text), 50)).toBeDefined();
    const before = new Map(cluster.chosen);
    for (const node of cluster.nodes) cluster.crash(node);
    cluster.inFlight.length = 0;
    for (const node of cluster.nodes) cluster.restart(node);
    expect(cluster.submitUntilChosen(payloadOf('d'), 100)).toBeGreaterThan(3);
    for (const [index, value] of before) expect(cluster.chosen.get(index)).toEqual(value);
  });
});

describe('message cost', () => {
  it.each([3, 5, 7, 9])(
    'a commit on an established leader of %i costs accept + accepted + commit to each peer, nothing more',
    (size) => {
      const cluster = new Cluster(size, 11);
      cluster.submitUntilChosen(payloadOf('elect'), 50);
      for (let i = 0; i < 5 && !cluster.quiet(); i += 1) cluster.settleRound();
      const before = cluster.messagesSent;
      expect(cluster.submitUntilChosen(payloadOf('one'), 50)).toBe(2);
      for (let i = 0; i < 5 && !cluster.quiet(); i += 1) cluster.settleRound();
      expect(cluster.messagesSent - before).toBe(3 * (size - 1));
    },
  );
});
