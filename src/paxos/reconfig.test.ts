// Tests of membership changes in the log (paper §2.4): a config chosen at i governs from
// i + alpha; add, remove and replace; deposed replicas stand down; random schedules with
// reconfigurations keep agreement and liveness.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../env/seeded-random.ts';
import { Cluster, payloadOf, takeReadyDurably } from './harness.ts';
import { defaultReplicaOptions, initialPersistedState } from './ready.ts';
import { Replica } from './replica.ts';
import type { EntryValue, LogEntry, LogIndex, NodeId } from './types.ts';
import { ballot, nodeId } from './types.ts';

/** `PAXOS_RUNS_SCALE=50 npx vitest run src/paxos` runs fifty times the schedules. */
const runsScale = Number(process.env.PAXOS_RUNS_SCALE ?? '1');

function settle(cluster: Cluster, rounds = 100): void {
  for (let i = 0; i < rounds && !cluster.quiet(); i += 1) cluster.settleRound();
}

function node(cluster: Cluster, i: number): NodeId {
  const n = cluster.nodes[i];
  if (n === undefined) throw new Error(`no node ${i}`);
  return n;
}

describe('membership in the log', () => {
  it('a config chosen at i governs indices from i + alpha on (§2.4)', () => {
    const cluster = new Cluster(4, 1, {}, 3);
    const [n1, n2, n3, n4] = [0, 1, 2, 3].map((i) => node(cluster, i)) as [NodeId, NodeId, NodeId, NodeId];
    expect(cluster.submitUntilChosen(payloadOf('a'), 50)).toBe(1);
    const at = cluster.reconfigureUntilChosen([n1, n2, n3, n4], 50);
    expect(at).toBe(2);
    const replica = cluster.replica(n1);
    const alpha = replica.inspect().alpha;
    expect(replica.membersAt((2 + alpha - 1) as LogIndex)).toEqual([n1, n2, n3]);
    expect(replica.membersAt((2 + alpha) as LogIndex)).toEqual([n1, n2, n3, n4]);
  });

  it('refuses a second change while one is pending, and invalid memberships', () => {
    const r = new Replica(
      defaultReplicaOptions(nodeId('a'), new SeededRandom(1)),
      initialPersistedState([nodeId('a')]),
      0 as LogIndex,
    );
    expect(r.proposeConfig([])).toMatchObject({ kind: 'invalidConfig' });
    expect(r.proposeConfig([nodeId('a'), nodeId('a')])).toMatchObject({ kind: 'invalidConfig' });
    expect(r.proposeConfig([nodeId('a'), nodeId('b')])).toMatchObject({ kind: 'accepted' });
    takeReadyDurably(r);
    expect(r.proposeConfig([nodeId('a')])).toEqual({ kind: 'configChangeInProgress' });
    // Chosen at 1 (cell of one), in effect from 1 + alpha: no-ops make it take effect.
    const alpha = r.inspect().alpha;
    for (let i = 1; i < alpha; i += 1) {
      r.proposeNoop();
      takeReadyDurably(r);
    }
    expect(r.currentMembers()).toEqual([nodeId('a'), nodeId('b')]);
    expect(r.proposeConfig([nodeId('a')])).not.toEqual({ kind: 'configChangeInProgress' });
  });

  it('adds a node: it catches up and then votes', () => {
    const cluster = new Cluster(4, 2, {}, 3);
    const n4 = node(cluster, 3);
    for (const text of ['a', 'b', 'c']) cluster.submitUntilChosen(payloadOf(text), 50);
    cluster.reconfigureUntilChosen(cluster.nodes, 50);
    for (const text of ['d', 'e', 'f', 'g'])
      expect(cluster.submitUntilChosen(payloadOf(text), 50)).toBeDefined();
    settle(cluster);
    const view = cluster.replica(n4).inspect();
    expect(view.commitIndex).toBe(cluster.replica(node(cluster, 0)).inspect().commitIndex);
    expect(cluster.replica(n4).currentMembers()).toContain(n4);
    // It accepted entries of the new configuration from the leader itself.
    const leaderBallot = cluster.replica(node(cluster, 0)).inspect().promised;
    expect([...view.log.values()].some((e) => e.ballot.round === leaderBallot.round)).toBe(true);
  });

  it('the leader removes itself, stands down once the change takes effect, and cannot campaign', () => {
    const cluster = new Cluster(3, 3);
    const [n1, n2, n3] = [0, 1, 2].map((i) => node(cluster, i)) as [NodeId, NodeId, NodeId];
    cluster.submitUntilChosen(payloadOf('a'), 50);
    expect(cluster.leaderNode()).toBe(n1);
    cluster.reconfigureUntilChosen([n2, n3], 50);
    for (let i = 0; i < 4; i += 1) cluster.submitUntilChosen(payloadOf(`x${i}`), 100);
    settle(cluster);
    expect(cluster.replica(n1).isLeader).toBe(false);
    expect(cluster.replica(n1).campaign()).toBe('notMember');
    expect(cluster.leaderNode()).not.toBe(n1);
    expect(cluster.submitUntilChosen(payloadOf('after'), 100)).toBeDefined();
  });

  it('replaces every node of a cell one at a time while work continues (§2.4, Figure 7)', () => {
    const cluster = new Cluster(6, 4, {}, 3);
    const members = cluster.nodes.slice(0, 3);
    for (let step = 0; step < 3; step += 1) {
      const incoming = node(cluster, 3 + step);
      const next = [...members.slice(1), incoming];
      expect(cluster.reconfigureUntilChosen(next, 200)).toBeDefined();
      for (let i = 0; i < 4; i += 1)
        expect(cluster.submitUntilChosen(payloadOf(`w${step}.${i}`), 200)).toBeDefined();
      settle(cluster);
      members.splice(0, members.length, ...next);
    }
    for (const old of cluster.nodes.slice(0, 3)) cluster.crash(old);
    expect(cluster.submitUntilChosen(payloadOf('only-new-nodes'), 200)).toBeDefined();
    const last = cluster.replica(node(cluster, 5));
    expect(last.currentMembers()).toEqual(cluster.nodes.slice(3));
  });
});

describe('random schedules with reconfiguration', () => {
  it('agree and stay live while members are added, removed and replaced', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const cluster = new Cluster(5, seed, { leaderTimeoutTicks: 6, electionTimeoutTicks: 25 }, 3);
        const rng = cluster.random.fork('schedule');
        let payloads = 0;
        for (let step = 0; step < 800; step += 1) {
          const roll = rng.intBelow(100);
          const target = node(cluster, rng.intBelow(5));
          const pending = cluster.inFlight.length;
          if (roll < 3) {
            if (cluster.isUp(target)) cluster.crash(target);
            else cluster.restart(target);
          } else if (roll < 6) {
            const leader = cluster.leaderNode();
            if (leader !== undefined) {
              // Half single-node changes (the policy), half arbitrary jumps (the protocol allows them).
              const current = cluster.replica(leader).currentMembers();
              const single = current.includes(target)
                ? current.filter((m) => m !== target)
                : [...current, target];
              const jump = cluster.nodes.filter(() => rng.intBelow(2) === 0);
              const change = rng.intBelow(2) === 0 ? single : jump;
              if (change.length >= 1) cluster.proposeConfig(leader, change);
            }
          } else if (roll < 15) {
            if (cluster.isUp(target)) cluster.propose(target, payloadOf(`p${(payloads += 1)}`));
          } else if (roll < 35) {
            if (cluster.isUp(target)) cluster.tick(target);
          } else if (pending > 0) {
            const position = rng.intBelow(pending);
            const fault = rng.intBelow(100);
            const kind = cluster.kindAt(position);
            const learning = kind === 'commit' || kind === 'catchupRequest' || kind === 'catchupReply';
            if (fault < 15 || (learning && fault < 60)) cluster.drop(position);
            else if (fault < 25) cluster.duplicate(position);
            else cluster.deliver(position);
          }
        }
        for (const n of cluster.nodes) if (!cluster.isUp(n)) cluster.restart(n);
        expect(cluster.submitUntilChosen(payloadOf('after-heal'), 400)).toBeDefined();
        settle(cluster, 200);
        expect(cluster.quiet()).toBe(true);
        const leader = cluster.leaderNode();
        const members = leader === undefined ? [] : cluster.replica(leader).currentMembers();
        const commits = members.map((m) => cluster.replica(m).inspect().commitIndex);
        expect(new Set(commits).size).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 * runsScale },
    );
  });
});

describe('phase 1 across a membership change', () => {
  it('asks the members of a newly reached configuration for promises and re-proposes what they hold', () => {
    const [n1, n2, n3, n4, n5] = ['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => nodeId(n)) as [
      NodeId,
      NodeId,
      NodeId,
      NodeId,
      NodeId,
    ];
    const r = new Replica(
      defaultReplicaOptions(n1, new SeededRandom(3)),
      initialPersistedState([n1, n2, n3]),
      0 as LogIndex,
    );
    const old = ballot(1, n3);
    r.step(n3, { kind: 'prepare', ballot: old, fromIndex: 1 as LogIndex });
    expect(r.campaign()).toBe('started');
    const mine = ballot(2, n1);
    const config: EntryValue = { kind: 'config', members: [n1, n4, n5] };
    r.step(n2, {
      kind: 'promise',
      ballot: mine,
      commitIndex: 0 as LogIndex,
      entries: [{ index: 1 as LogIndex, ballot: old, value: config }],
    });
    expect(r.isLeader).toBe(true);
    r.step(n2, { kind: 'accepted', ballot: mine, index: 1 as LogIndex }); // config chosen at 1: {n1,n4,n5} from 4
    takeReadyDurably(r);
    for (const text of ['a', 'b', 'c']) r.propose(payloadOf(text));
    const ready = takeReadyDurably(r);
    const accepts = ready.messages.flatMap((m) =>
      m.message.kind === 'accept' ? [m.message.entry.index] : [],
    );
    expect(accepts).toEqual([2, 2, 3, 3]); // index 4 waits for promises from the new members
    const prepares = ready.messages.filter((m) => m.message.kind === 'prepare').map((m) => m.to);
    expect(prepares).toEqual([n4, n5]);
    const held: LogEntry = {
      index: 4 as LogIndex,
      ballot: old,
      value: { kind: 'payload', payload: payloadOf('v') },
    };
    r.step(n4, { kind: 'promise', ballot: mine, commitIndex: 0 as LogIndex, entries: [held] });
    const after = takeReadyDurably(r);
    const fourth = after.messages.find((m) => m.message.kind === 'accept' && m.message.entry.index === 4);
    expect(fourth?.message).toMatchObject({ entry: { value: held.value, ballot: mine } });
    expect(after.messages.filter((m) => m.message.kind === 'accept').map((m) => m.to)).toEqual([n4, n5]);
  });
});
