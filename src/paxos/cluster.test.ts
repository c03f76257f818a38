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
