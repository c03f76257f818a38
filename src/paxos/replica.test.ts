// Unit tests of the replica, one message handler or call at a time: what it persists, what
// it sends, what it hands out to apply, and what it refuses (paper §2.2, §3.5).
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../env/seeded-random.ts';
import { InvariantViolation } from './invariants.ts';
import type { PaxosMessage, PromiseMessage } from './messages.ts';
import type { PersistedState, Ready, ReplicaOptions } from './ready.ts';
import { applyPersistDelta, defaultReplicaOptions, initialPersistedState } from './ready.ts';
import { Replica } from './replica.ts';
import { takeReadyDurably } from './harness.ts';
import type { Ballot, EntryValue, LogEntry, LogIndex, NodeId } from './types.ts';
import { ballot, nodeId } from './types.ts';

const [n1, n2, n3] = [nodeId('n1'), nodeId('n2'), nodeId('n3')];
const members = [n1, n2, n3];
const idx = (i: number): LogIndex => i as LogIndex;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const payload = (text: string): EntryValue => ({ kind: 'payload', payload: bytes(text) });
const entry = (i: number, b: Ballot, value: EntryValue): LogEntry => ({ index: idx(i), ballot: b, value });

/** One replica (n1 of n1..n3 unless told) and the state its shell has persisted. */
class Fixture {
  replica: Replica;
  durable: PersistedState;
  constructor(
    readonly options: ReplicaOptions = defaultReplicaOptions(n1, new SeededRandom(7)),
    state: PersistedState = initialPersistedState(members),
  ) {
    this.durable = state;
    this.replica = new Replica(options, state, state.snapshot.index);
  }
  ready(): Ready {
    const ready = takeReadyDurably(this.replica);
    if (ready.persist !== undefined) this.durable = applyPersistDelta(this.durable, ready.persist);
    return ready;
  }
  /** A replica restarted from what was persisted, its state machine at `appliedIndex`. */
  restarted(appliedIndex: LogIndex = idx(0)): Replica {
    return new Replica(this.options, this.durable, appliedIndex);
  }
  step(from: NodeId, message: PaxosMessage): Ready {
    this.replica.step(from, message);
    return this.ready();
  }
  sent(ready: Ready, kind: PaxosMessage['kind']): { to: NodeId; message: PaxosMessage }[] {
    return ready.messages.filter((m) => m.message.kind === kind);
  }
  /** Makes n1 leader at round 1 with promises from n2 (empty logs). */
  elect(): Ready {
    expect(this.replica.propose(bytes('first'))).toMatchObject({ kind: 'accepted' });
    this.ready();
    return this.step(n2, { kind: 'promise', ballot: ballot(1, n1), commitIndex: idx(0), entries: [] });
  }
}

describe('acceptor: prepare', () => {
  it('promises a higher ballot, persisting the promise before the reply is sent', () => {
    const f = new Fixture();
    const b = ballot(3, n2);
    const ready = f.step(n2, { kind: 'prepare', ballot: b, fromIndex: idx(1) });
    expect(ready.persist?.promisedBallot).toEqual(b);
    expect(ready.messages).toEqual([
      { to: n2, message: { kind: 'promise', ballot: b, commitIndex: 0, entries: [] } },
    ]);
    expect(f.replica.leader).toBe(n2);
  });

  it('nacks a lower ballot and changes nothing', () => {
    const f = new Fixture();
    f.step(n3, { kind: 'prepare', ballot: ballot(5, n3), fromIndex: idx(1) });
    const ready = f.step(n2, { kind: 'prepare', ballot: ballot(4, n2), fromIndex: idx(1) });
    expect(ready.persist).toBeUndefined();
    expect(ready.messages).toEqual([
      { to: n2, message: { kind: 'nack', ballot: ballot(4, n2), promisedBallot: ballot(5, n3) } },
    ]);
  });

  it('answers a duplicate prepare again without persisting anything new', () => {
    const f = new Fixture();
    const prepare: PaxosMessage = { kind: 'prepare', ballot: ballot(2, n2), fromIndex: idx(1) };
    f.step(n2, prepare);
    const again = f.step(n2, prepare);
    expect(again.persist).toBeUndefined();
    expect(f.sent(again, 'promise')).toHaveLength(1);
  });

  it('ignores a prepare whose ballot is not the sender’s own', () => {
    const f = new Fixture();
    const ready = f.step(n2, { kind: 'prepare', ballot: ballot(9, n3), fromIndex: idx(1) });
    expect(ready.messages).toEqual([]);
    expect(ready.persist).toBeUndefined();
  });

  it('reports accepted entries above its commit index in the promise', () => {
    const f = new Fixture();
    f.step(n2, { kind: 'accept', entry: entry(1, ballot(1, n2), payload('x')), commitIndex: idx(0) });
    const ready = f.step(n3, { kind: 'prepare', ballot: ballot(2, n3), fromIndex: idx(1) });
    const promise = f.sent(ready, 'promise')[0]?.message as PromiseMessage;
    expect(promise.entries).toEqual([entry(1, ballot(1, n2), payload('x'))]);
  });
});

describe('acceptor: accept', () => {
  it('stores and persists the entry, then acknowledges it', () => {
    const f = new Fixture();
    const e = entry(1, ballot(1, n2), payload('x'));
    const ready = f.step(n2, { kind: 'accept', entry: e, commitIndex: idx(0) });
    expect(ready.persist?.entries).toEqual([e]);
    expect(ready.persist?.promisedBallot).toEqual(ballot(1, n2));
    expect(ready.messages).toEqual([
      { to: n2, message: { kind: 'accepted', ballot: ballot(1, n2), index: 1 } },
    ]);
  });

  it('nacks an accept below its promise and keeps its log', () => {
    const f = new Fixture();
    f.step(n3, { kind: 'prepare', ballot: ballot(2, n3), fromIndex: idx(1) });
    const ready = f.step(n2, {
      kind: 'accept',
      entry: entry(1, ballot(1, n2), payload('x')),
      commitIndex: idx(0),
    });
    expect(ready.persist).toBeUndefined();
    expect(f.sent(ready, 'nack')).toHaveLength(1);
    expect(f.replica.inspect().log.size).toBe(0);
  });

  it('learns the commit index for entries it holds at the leader’s ballot', () => {
    const f = new Fixture();
    const b = ballot(1, n2);
    f.step(n2, { kind: 'accept', entry: entry(1, b, payload('x')), commitIndex: idx(0) });
    const ready = f.step(n2, { kind: 'accept', entry: entry(2, b, payload('y')), commitIndex: idx(1) });
    expect(ready.committed).toEqual([entry(1, b, payload('x'))]);
    // Entry 2 lies within the accept window of the stored commit index (0): not stored with it.
    expect(ready.persist?.entries).toEqual([entry(2, b, payload('y'))]);
    expect(ready.persist?.commitIndex).toBeUndefined();
  });

  it('stores the commit index with accepted entries once one lies beyond the accept window of the stored one, so a restart keeps recovery’s window (§2.2)', () => {
    const f = new Fixture();
    const b = ballot(1, n2);
    const window = f.options.acceptWindowEntries;
    const storedWith: number[] = [];
    for (let i = 1; i <= 2 * window + 2; i += 1) {
      const ready = f.step(n2, {
        kind: 'accept',
        entry: entry(i, b, payload(`v${i}`)),
        commitIndex: idx(i - 1),
      });
      if (ready.persist?.commitIndex !== undefined) storedWith.push(i);
      expect(f.durable.entries.at(-1)!.index - f.durable.commitIndex).toBeLessThanOrEqual(window);
    }
    expect(storedWith).toEqual([window + 1, 2 * window + 1]);
    expect(f.durable.commitIndex).toBe(2 * window);
    // A restart from what was stored passes every invariant (the unchosen tail is within the window).
    expect(f.restarted().inspect().commitIndex).toBe(2 * window);
  });

  it('asks for chosen entries it holds at another ballot instead of assuming them', () => {
    const f = new Fixture();
    f.step(n3, { kind: 'accept', entry: entry(1, ballot(1, n3), payload('old')), commitIndex: idx(0) });
    const ready = f.step(n2, { kind: 'commit', ballot: ballot(2, n2), commitIndex: idx(1) });
    expect(ready.committed).toEqual([]);
    expect(ready.messages).toEqual([{ to: n2, message: { kind: 'catchupRequest', fromIndex: 1 } }]);
    expect(ready.wantsTick).toBe(true);
  });

  it('refuses an accept beyond its window and catches up first', () => {
    const f = new Fixture();
    const far = f.options.acceptWindowEntries + 1;
    const ready = f.step(n2, {
      kind: 'accept',
      entry: entry(far, ballot(1, n2), payload('x')),
      commitIndex: idx(far - 1),
    });
    expect(f.sent(ready, 'accepted')).toEqual([]);
    expect(f.sent(ready, 'catchupRequest')).toHaveLength(1);
    expect(f.replica.inspect().log.size).toBe(0);
  });
});

describe('learner: catch-up', () => {
  it('serves chosen entries, and a snapshot request below its snapshot', () => {
    const f = new Fixture();
    const b = ballot(1, n2);
    f.step(n2, { kind: 'accept', entry: entry(1, b, payload('x')), commitIndex: idx(0) });
    f.step(n2, { kind: 'commit', ballot: b, commitIndex: idx(1) });
    const reply = f.step(n3, { kind: 'catchupRequest', fromIndex: idx(1) });
    expect(reply.messages).toEqual([
      { to: n3, message: { kind: 'catchupReply', commitIndex: 1, entries: [entry(1, b, payload('x'))] } },
    ]);
    f.replica.compact(idx(1));
    const snapshot = f.step(n3, { kind: 'catchupRequest', fromIndex: idx(1) });
    expect(snapshot.messages).toEqual([]);
    expect(snapshot.snapshotsToSend).toEqual([n3]);
  });

  it('installs chosen entries from a reply, in order, and applies them', () => {
    const f = new Fixture();
    const b = ballot(1, n2);
    f.step(n2, { kind: 'commit', ballot: b, commitIndex: idx(2) });
    const ready = f.step(n2, {
      kind: 'catchupReply',
      commitIndex: idx(2),
      entries: [entry(1, b, payload('x')), entry(2, b, noop())],
    });
    expect(ready.committed.map((e) => e.index)).toEqual([1, 2]);
    expect(ready.wantsTick).toBe(false);
    // Entries stored as already chosen carry the commit index: a restart must not hold them
    // above it (as if accepted at a ballot this replica promised).
    expect(ready.persist?.commitIndex).toBe(2);
    expect(f.restarted().inspect().commitIndex).toBe(2);
  });

  it('ignores entries that do not continue its log', () => {
    const f = new Fixture();
    const ready = f.step(n2, {
      kind: 'catchupReply',
      commitIndex: idx(5),
      entries: [entry(3, ballot(1, n2), noop())],
    });
    expect(ready.committed).toEqual([]);
    expect(f.replica.inspect().log.size).toBe(0);
  });

  it('installs a snapshot from a teacher and refuses a stale one', () => {
    const f = new Fixture();
    const meta = { index: idx(10), configs: [{ effectiveFrom: idx(1), members }] };
    expect(f.replica.installSnapshot(meta)).toBe('installed');
    const ready = f.ready();
    expect(ready.persist?.snapshot).toEqual(meta);
    expect(ready.committed).toEqual([]);
    expect(f.replica.inspect().commitIndex).toBe(10);
    expect(f.replica.installSnapshot({ ...meta, index: idx(9) })).toBe('stale');
  });
});

function noop(): EntryValue {
  return { kind: 'noop' };
}

describe('proposer', () => {
  it('campaigns when given work with no leader known, then runs phase 2 and reports the choice', () => {
    const f = new Fixture();
    const result = f.replica.propose(bytes('a'));
    expect(result).toEqual({ kind: 'accepted', id: 1 });
    const prepares = f.ready();
    expect(prepares.persist?.promisedBallot).toEqual(ballot(1, n1));
    expect(f.sent(prepares, 'prepare').map((m) => m.to)).toEqual([n2, n3]);
    const accepts = f.step(n2, { kind: 'promise', ballot: ballot(1, n1), commitIndex: idx(0), entries: [] });
    expect(f.replica.isLeader).toBe(true);
    expect(accepts.persist?.entries).toEqual([entry(1, ballot(1, n1), payload('a'))]);
    expect(f.sent(accepts, 'accept').map((m) => m.to)).toEqual([n2, n3]);
    const chosen = f.step(n3, { kind: 'accepted', ballot: ballot(1, n1), index: idx(1) });
    expect(chosen.committed).toEqual([entry(1, ballot(1, n1), payload('a'))]);
    expect(chosen.proposalResults).toEqual([{ kind: 'chosen', id: 1, index: 1 }]);
    // The pipeline drained: the commit index goes to the followers on the next tick (a new
    // accept would have carried it sooner), and then the leader is idle.
    expect(f.sent(chosen, 'commit')).toEqual([]);
    expect(chosen.wantsTick).toBe(true);
    f.replica.tick();
    const announced = f.ready();
    expect(f.sent(announced, 'commit').map((m) => m.to)).toEqual([n2, n3]);
    expect(announced.wantsTick).toBe(false);
  });

  it('a new accept carries the commit index, so no separate commit message goes out', () => {
    const f = new Fixture();
    f.elect();
    f.step(n3, { kind: 'accepted', ballot: ballot(1, n1), index: idx(1) });
    f.replica.propose(bytes('second'));
    const next = f.ready();
    expect(f.sent(next, 'accept').map((m) => m.message)).toEqual([
      { kind: 'accept', entry: entry(2, ballot(1, n1), payload('second')), commitIndex: 1 },
      { kind: 'accept', entry: entry(2, ballot(1, n1), payload('second')), commitIndex: 1 },
    ]);
    f.step(n2, { kind: 'accepted', ballot: ballot(1, n1), index: idx(2) });
    f.replica.tick();
    expect(f.sent(f.ready(), 'commit').map((m) => m.message)).toEqual([
      { kind: 'commit', ballot: ballot(1, n1), commitIndex: 2 },
      { kind: 'commit', ballot: ballot(1, n1), commitIndex: 2 },
    ]);
  });

  it('re-proposes the highest-ballot accepted value of each slot and fills holes with no-ops (§2.2)', () => {
    const five = [n1, n2, n3, nodeId('n4'), nodeId('n5')];
    const f = new Fixture(defaultReplicaOptions(n1, new SeededRandom(7)), initialPersistedState(five));
    f.replica.propose(bytes('mine'));
    f.ready();
    const low = ballot(1, n2);
    const high = ballot(1, n3);
    const fromN2: PromiseMessage = {
      kind: 'promise',
      ballot: ballot(2, n1),
      commitIndex: idx(0),
      entries: [entry(1, low, payload('x')), entry(3, low, payload('z'))],
    };
    f.replica.step(n2, { kind: 'nack', ballot: ballot(1, n1), promisedBallot: high });
    f.ready();
    f.replica.tick();
    for (let i = 0; i < 200 && f.replica.inspect().role === 'follower'; i += 1) f.replica.tick();
    const campaign = f.ready();
    expect(f.sent(campaign, 'prepare')[0]?.message).toMatchObject({ ballot: ballot(2, n1) });
    f.step(n3, {
      kind: 'promise',
      ballot: ballot(2, n1),
      commitIndex: idx(0),
      entries: [entry(1, high, payload('y'))],
    });
    const ready = f.step(n2, fromN2);
    const proposed = f
      .sent(ready, 'accept')
      .filter((m) => m.to === n2)
      .map((m) => m.message);
    expect(proposed).toEqual([
      { kind: 'accept', entry: entry(1, ballot(2, n1), payload('y')), commitIndex: 0 },
      { kind: 'accept', entry: entry(2, ballot(2, n1), noop()), commitIndex: 0 },
      { kind: 'accept', entry: entry(3, ballot(2, n1), payload('z')), commitIndex: 0 },
    ]);
  });

  it('catches up to the highest commit index a promise reports before leading', () => {
    const f = new Fixture();
    f.replica.propose(bytes('a'));
    f.ready();
    const ready = f.step(n2, { kind: 'promise', ballot: ballot(1, n1), commitIndex: idx(2), entries: [] });
    expect(f.replica.isLeader).toBe(false);
    expect(ready.messages).toEqual([{ to: n2, message: { kind: 'catchupRequest', fromIndex: 1 } }]);
    const b = ballot(1, n3);
    const led = f.step(n2, {
      kind: 'catchupReply',
      commitIndex: idx(2),
      entries: [entry(1, b, noop()), entry(2, b, noop())],
    });
    expect(f.replica.isLeader).toBe(true);
    expect(f.sent(led, 'accept')[0]?.message).toMatchObject({ entry: { index: 3 } });
  });

  it('keeps at most alpha entries in flight and queues the rest (§2.2)', () => {
    const f = new Fixture();
    f.elect();
    for (const text of ['b', 'c', 'd', 'e']) f.replica.propose(bytes(text));
    const view = f.replica.inspect();
    expect(view.inFlightIndices).toEqual([1, 2, 3]);
    expect(view.queued).toBe(2);
    f.ready();
    const next = f.step(n2, { kind: 'accepted', ballot: ballot(1, n1), index: idx(1) });
    expect(next.committed.map((e) => e.index)).toEqual([1]);
    expect(
      f.sent(next, 'accept').map((m) => (m.message.kind === 'accept' ? m.message.entry.index : 0)),
    ).toEqual([4, 4]);
  });

  it('answers overloaded with a retry hint when the pipeline and its queue are full (§3.5)', () => {
    const options = { ...defaultReplicaOptions(n1, new SeededRandom(1)), queuedProposalsMax: 2 };
    const f = new Fixture(options);
    f.elect();
    for (const text of ['b', 'c', 'd', 'e']) expect(f.replica.propose(bytes(text)).kind).toBe('accepted');
    const refused = f.replica.propose(bytes('f'));
    expect(refused.kind).toBe('overloaded');
    if (refused.kind === 'overloaded') expect(refused.retryAfterTicks).toBeGreaterThan(0);
    expect(f.replica.inspect().queued).toBe(2);
  });

  it('refuses a payload over the size limit', () => {
    const options = { ...defaultReplicaOptions(n1, new SeededRandom(1)), payloadBytesMax: 4 };
    const f = new Fixture(options);
    expect(f.replica.propose(new Uint8Array(5))).toEqual({ kind: 'tooLarge', payloadBytesMax: 4 });
    expect(f.ready().messages).toEqual([]);
  });

  it('resends unacknowledged accepts after retransmitTicks', () => {
    const f = new Fixture();
    f.elect();
    f.step(n3, { kind: 'accepted', ballot: ballot(1, n1), index: idx(1) });
    f.replica.propose(bytes('second'));
    f.ready();
    for (let i = 1; i < f.options.retransmitTicks; i += 1) f.replica.tick();
    expect(f.ready().messages).toEqual([]);
    f.replica.tick();
    expect(f.sent(f.ready(), 'accept').map((m) => m.to)).toEqual([n2, n3]);
    f.step(n2, { kind: 'accepted', ballot: ballot(1, n1), index: idx(2) });
    for (let i = 0; i < 3 * f.options.retransmitTicks; i += 1) f.replica.tick();
    // Chosen: no accept is resent, only the commit index is announced (once).
    const after = f.ready();
    expect(f.sent(after, 'accept')).toEqual([]);
    expect(f.sent(after, 'commit').map((m) => m.to)).toEqual([n2, n3]);
    expect(after.messages).toHaveLength(2);
  });

  it('stands down for a late promise that knows more chosen, learns it, then campaigns again', () => {
    const f = new Fixture();
    f.elect();
    const b = ballot(1, n1);
    const late = f.step(n3, { kind: 'promise', ballot: b, commitIndex: idx(1), entries: [] });
    expect(f.replica.isLeader).toBe(false);
    expect(late.proposalResults).toEqual([{ kind: 'unknown', id: 1 }]);
    expect(f.sent(late, 'catchupRequest')).toEqual([
      { to: n3, message: { kind: 'catchupRequest', fromIndex: 1 } },
    ]);
    f.step(n3, { kind: 'catchupReply', commitIndex: idx(1), entries: [entry(1, ballot(1, n3), noop())] });
    expect(f.replica.inspect().commitIndex).toBe(1);
    let ticks = 0;
    while (f.replica.inspect().role === 'follower' && ticks < 100) {
      f.replica.tick();
      ticks += 1;
    }
    // Not left leaderless until someone else happens to campaign: it campaigns, higher.
    expect(f.replica.inspect().role).toBe('candidate');
    expect(f.replica.inspect().ballot).toEqual(ballot(2, n1));
  });

  it('when deposed reports sent work as unknown and queued work as dropped', () => {
    const options = { ...defaultReplicaOptions(n1, new SeededRandom(1)), alpha: 1, acceptWindowEntries: 4 };
    const f = new Fixture(options);
    f.elect();
    f.replica.propose(bytes('queued'));
    f.ready();
    const ready = f.step(n2, { kind: 'prepare', ballot: ballot(5, n2), fromIndex: idx(1) });
    expect(ready.proposalResults).toEqual([
      { kind: 'unknown', id: 1 },
      { kind: 'dropped', id: 2 },
    ]);
    expect(f.replica.isLeader).toBe(false);
    expect(f.replica.leader).toBe(n2);
  });

  it('after losing a duel backs off with jitter, then campaigns with a higher round', () => {
    const f = new Fixture();
    f.replica.propose(bytes('a'));
    f.ready();
    const lost = f.step(n2, { kind: 'nack', ballot: ballot(1, n1), promisedBallot: ballot(4, n3) });
    expect(lost.proposalResults).toEqual([{ kind: 'dropped', id: 1 }]);
    expect(lost.wantsTick).toBe(true);
    let ticks = 0;
    while (f.replica.inspect().role === 'follower' && ticks < 100) {
      f.replica.tick();
      ticks += 1;
    }
    expect(ticks).toBeGreaterThanOrEqual(f.options.backoffBaseTicks);
    expect(f.replica.inspect().ballot).toEqual(ballot(5, n1));
  });

  it('draws different backoffs from different seeds (jitter comes from the injected Random)', () => {
    const delays = new Set<number>();
    for (let seed = 0; seed < 20; seed += 1) {
      const f = new Fixture(defaultReplicaOptions(n1, new SeededRandom(seed)));
      f.replica.propose(bytes('a'));
      f.step(n2, { kind: 'nack', ballot: ballot(1, n1), promisedBallot: ballot(4, n3) });
      let ticks = 0;
      while (f.replica.inspect().role === 'follower' && ticks < 100) {
        f.replica.tick();
        ticks += 1;
      }
      delays.add(ticks);
    }
    expect(delays.size).toBeGreaterThan(1);
  });
});

describe('thrifty accepts (a leader of 7)', () => {
  const seven = [1, 2, 3, 4, 5, 6, 7].map((k) => nodeId(`n${k}`));
  const [, m2, m3, m4, m5, m6, m7] = seven as [NodeId, NodeId, NodeId, NodeId, NodeId, NodeId, NodeId];
  const b1 = ballot(1, n1);
  const accepted = (i: number): PaxosMessage => ({ kind: 'accepted', ballot: b1, index: idx(i) });
  const promise = (commitIndex = 0): PaxosMessage => ({
    kind: 'promise',
    ballot: b1,
    commitIndex: idx(commitIndex),
    entries: [],
  });

  /** n1 leads a cell of 7 after promises from m4, m2, m6 (in that order); 'first' is in flight. */
  function leaderOfSeven(): { f: Fixture; firstAccepts: Ready } {
    const options = { ...defaultReplicaOptions(n1, new SeededRandom(3)), thriftyAccepts: true };
    const f = new Fixture(options, initialPersistedState(seven));
    f.replica.propose(bytes('first'));
    f.ready();
    f.step(m4, promise());
    f.step(m2, promise());
    return { f, firstAccepts: f.step(m6, promise()) };
  }

  function ticks(f: Fixture, count: number): Ready[] {
    const readies: Ready[] = [];
    for (let i = 0; i < count; i += 1) {
      f.replica.tick();
      readies.push(f.ready());
    }
    return readies;
  }

  it('sends an accept only to the followers that promised first, and commits on their votes', () => {
    const { f, firstAccepts } = leaderOfSeven();
    expect(f.replica.isLeader).toBe(true);
    expect(f.sent(firstAccepts, 'accept').map((m) => m.to)).toEqual([m4, m2, m6]);
    f.step(m4, accepted(1));
    f.step(m2, accepted(1));
    const chosen = f.step(m6, accepted(1));
    expect(chosen.committed.map((e) => e.index)).toEqual([1]);
    expect(chosen.proposalResults).toEqual([{ kind: 'chosen', id: 1, index: 1 }]);
  });

  it('hands the chosen entries to the other followers on the next tick, in one message each', () => {
    const { f } = leaderOfSeven();
    f.step(m3, promise()); // late promises: m3 and m5 are known to hold nothing chosen
    f.step(m5, promise());
    for (const peer of [m4, m2, m6]) f.step(peer, accepted(1));
    f.replica.propose(bytes('second'));
    const second = f.ready();
    expect(f.sent(second, 'accept').map((m) => m.to)).toEqual([m4, m2, m6]);
    for (const peer of [m4, m2, m6]) f.step(peer, accepted(2));
    const [tick] = ticks(f, 1);
    const log = f.replica.inspect().log;
    const both = [log.get(1), log.get(2)];
    // m7 never promised, so what it holds is unknown: it is told the commit index and asks.
    expect(tick?.messages).toEqual([
      { to: m3, message: { kind: 'catchupReply', commitIndex: 2, entries: both } },
      { to: m5, message: { kind: 'catchupReply', commitIndex: 2, entries: both } },
      { to: m7, message: { kind: 'commit', ballot: b1, commitIndex: 2 } },
      { to: m2, message: { kind: 'commit', ballot: b1, commitIndex: 2 } },
      { to: m4, message: { kind: 'commit', ballot: b1, commitIndex: 2 } },
      { to: m6, message: { kind: 'commit', ballot: b1, commitIndex: 2 } },
    ]);
    expect(tick?.wantsTick).toBe(false);
    // Everyone has been told: a later tick sends nothing.
    f.replica.tick();
    expect(f.ready().messages).toEqual([]);
  });

  it('a quorum follower that lets an accept go unanswered loses its place to the others', () => {
    const { f } = leaderOfSeven();
    f.step(m4, accepted(1));
    f.step(m2, accepted(1));
    const resent = ticks(f, f.options.retransmitTicks).flatMap((r) => f.sent(r, 'accept'));
    // The retransmit reaches every member that has not answered, not just the quorum.
    expect(resent.map((m) => m.to).sort()).toEqual([m3, m5, m6, m7]);
    f.step(m5, accepted(1));
    f.replica.propose(bytes('second'));
    const next = f.ready();
    expect(f.sent(next, 'accept').map((m) => m.to)).toEqual([m4, m2, m3]);
  });

  it('a follower outside the quorum takes pushed entries from its leader as progress, and does not campaign', () => {
    const f = new Fixture();
    const b = ballot(1, n2);
    f.step(n2, { kind: 'commit', ballot: b, commitIndex: idx(0) });
    expect(f.replica.propose(bytes('x'))).toEqual({ kind: 'notLeader', leaderHint: n2 });
    f.ready();
    for (let i = 1; i <= 4 * f.options.leaderTimeoutTicks; i += 1) {
      f.step(n2, { kind: 'catchupReply', commitIndex: idx(i), entries: [entry(i, b, noop())] });
      f.replica.tick();
      expect(f.sent(f.ready(), 'prepare')).toEqual([]);
    }
    expect(f.replica.inspect()).toMatchObject({
      role: 'follower',
      commitIndex: 4 * f.options.leaderTimeoutTicks,
    });
  });

  it('a follower given chosen entries past a gap asks for the gap', () => {
    const f = new Fixture();
    const b = ballot(1, n2);
    const ready = f.step(n2, {
      kind: 'catchupReply',
      commitIndex: idx(3),
      entries: [entry(2, b, noop()), entry(3, b, noop())],
    });
    expect(ready.committed).toEqual([]);
    expect(ready.messages).toEqual([{ to: n2, message: { kind: 'catchupRequest', fromIndex: 1 } }]);
  });
});

describe('follower given work', () => {
  it('points to the known leader, then campaigns if the leader shows no progress', () => {
    const f = new Fixture();
    f.step(n2, { kind: 'prepare', ballot: ballot(1, n2), fromIndex: idx(1) });
    expect(f.replica.propose(bytes('a'))).toEqual({ kind: 'notLeader', leaderHint: n2 });
    expect(f.ready().wantsTick).toBe(true);
    for (let i = 0; i < f.options.leaderTimeoutTicks; i += 1) f.replica.tick();
    expect(f.sent(f.ready(), 'prepare')).toHaveLength(2);
  });

  it('stays a follower when the leader shows progress before the timeout', () => {
    const f = new Fixture();
    f.step(n2, { kind: 'prepare', ballot: ballot(1, n2), fromIndex: idx(1) });
    f.replica.propose(bytes('a'));
    f.step(n2, { kind: 'accept', entry: entry(1, ballot(1, n2), payload('a')), commitIndex: idx(0) });
    for (let i = 0; i < 3 * f.options.leaderTimeoutTicks; i += 1) f.replica.tick();
    const ready = f.ready();
    expect(f.sent(ready, 'prepare')).toEqual([]);
    expect(ready.wantsTick).toBe(false);
  });

  it('an idle replica wants no ticks and does nothing on them', () => {
    const f = new Fixture();
    expect(f.ready().wantsTick).toBe(false);
    for (let i = 0; i < 1000; i += 1) f.replica.tick();
    const ready = f.ready();
    expect(ready.messages).toEqual([]);
    expect(ready.persist).toBeUndefined();
  });
});

describe('restart and invariants', () => {
  it('restores promise, log and commit index from persisted state and re-hands unapplied entries', () => {
    const f = new Fixture();
    f.elect();
    f.step(n2, { kind: 'accepted', ballot: ballot(1, n1), index: idx(1) });
    // A commit index alone is not written on a timer (it is only a hint after a restart):
    // it goes with a write that needs it, or when the host asks before evicting the replica.
    expect(f.durable.commitIndex).toBe(0);
    f.replica.tick();
    expect(f.ready().persist).toBeUndefined();
    f.replica.saveCommitIndex();
    expect(f.ready().persist).toEqual({ entries: [], commitIndex: 1 });
    f.replica.saveCommitIndex();
    expect(f.ready().persist).toBeUndefined(); // already saved: nothing to write
    const restarted = f.restarted();
    const view = restarted.inspect();
    expect(view.promised).toEqual(ballot(1, n1));
    expect(view.commitIndex).toBe(1);
    expect(view.role).toBe('follower');
    expect(takeReadyDurably(restarted).committed.map((e) => e.index)).toEqual([1]);
    const applied = f.restarted(idx(1));
    expect(takeReadyDurably(applied).committed).toEqual([]);
  });

  it('never reuses a ballot after a restart', () => {
    const f = new Fixture();
    f.replica.propose(bytes('a'));
    f.ready();
    const restarted = new Fixture(f.options, f.durable);
    restarted.replica.propose(bytes('b'));
    expect(restarted.ready().persist?.promisedBallot).toEqual(ballot(2, n1));
  });

  it('rejects a persisted state that breaks an invariant', () => {
    const state: PersistedState = {
      ...initialPersistedState(members),
      entries: [entry(1, ballot(3, n2), noop())],
    };
    expect(() => new Replica(defaultReplicaOptions(n1, new SeededRandom(1)), state, idx(0))).toThrow(
      InvariantViolation,
    );
  });

  it('commits at once in a cell of one', () => {
    const f = new Fixture(defaultReplicaOptions(n1, new SeededRandom(1)), initialPersistedState([n1]));
    for (const text of ['a', 'b', 'c', 'd', 'e']) f.replica.propose(bytes(text));
    const ready = f.ready();
    expect(ready.committed.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(ready.messages).toEqual([]);
    expect(ready.wantsTick).toBe(false); // no timer writes the commit index
    f.replica.saveCommitIndex();
    const saved = f.ready();
    expect(saved.persist?.commitIndex).toBe(5);
    expect(saved.wantsTick).toBe(false);
  });
});

describe('hostile or corrupt peer input changes nothing harmful', () => {
  it('a leader ignores promise entries far beyond any window', () => {
    const five = [n1, n2, n3, nodeId('n4'), nodeId('n5')];
    const f = new Fixture(defaultReplicaOptions(n1, new SeededRandom(7)), initialPersistedState(five));
    f.replica.propose(bytes('a'));
    f.ready();
    const far = entry(2 ** 40, ballot(0 + 1, n2), payload('evil'));
    f.replica.step(n2, { kind: 'promise', ballot: ballot(1, n1), commitIndex: idx(0), entries: [far] });
    f.replica.step(n3, { kind: 'promise', ballot: ballot(1, n1), commitIndex: idx(0), entries: [] });
    const ready = f.ready();
    expect(f.replica.isLeader).toBe(true);
    const indices = ready.messages.flatMap((m) =>
      m.message.kind === 'accept' ? [m.message.entry.index] : [],
    );
    expect(indices.every((i) => i === 1)).toBe(true);
  });

  it('huge indices in prepare, accept, commit and catch-up requests do not loop or throw', () => {
    const f = new Fixture();
    const huge = idx(2 ** 50);
    f.step(n2, { kind: 'prepare', ballot: ballot(1, n2), fromIndex: huge });
    f.step(n2, { kind: 'accept', entry: entry(2 ** 50, ballot(1, n2), noop()), commitIndex: huge });
    f.step(n2, { kind: 'commit', ballot: ballot(1, n2), commitIndex: huge });
    const ready = f.step(n3, { kind: 'catchupRequest', fromIndex: huge });
    expect(ready.messages).toEqual([]);
    expect(f.replica.inspect().log.size).toBe(0);
  });
});
