// Behaviour of one cell replica: batching with per-request results, load shedding (§3.5),
// eventual and session reads (§2.3), redirects, idleness, log compaction and snapshot
// teaching (§2.4), malformed peer bytes, and the storage layout across restarts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { partitionKey, scan, transaction } from '../model/index.ts';
import type { Operation } from '../model/index.ts';
import { nodeId } from '../paxos/index.ts';
import type { Ballot, LogEntry, LogIndex } from '../paxos/index.ts';
import type { Storage } from '../env/index.ts';
import { constant, uniform } from '../simworld/index.ts';
import { CellReplica } from './replica.ts';
import { cellKeyPrefix, CellStore } from './storage-layout.ts';
import { cellCluster } from './testing/sim-cell-host.ts';
import type { CellCluster } from './testing/sim-cell-host.ts';
import type { CellRequest, CellResponse } from './types.ts';
import { encodePaxosEnvelope } from './wire.ts';

const put = (key: string, value: bigint): CellRequest => ({
  kind: 'operation',
  consistency: 'consistent',
  operation: transaction({ writes: [{ kind: 'put', key, value }] }),
});
const read = (
  key: string,
  consistency: 'consistent' | 'eventual' = 'consistent',
  sessionIndex?: number,
): CellRequest => ({
  kind: 'operation',
  consistency,
  operation: transaction({ reads: [key] }) as Operation,
  ...(sessionIndex === undefined ? {} : { sessionIndex }),
});

async function withLeader(seed: number, options = {}): Promise<{ c: CellCluster; leader: string }> {
  const c = cellCluster({ seed, replicas: 3, cellOptions: options });
  await c.world.runFor(20);
  await c.settle(c.submit('n1', put('warm', 1n)));
  return { c, leader: c.leader()! };
}

function readValue(response: CellResponse): unknown {
  if (response.kind !== 'result' || response.result.kind !== 'committed') return response.kind;
  const first = response.result.reads[0];
  return first?.found === true ? first.value : null;
}

describe('batching (paper §2.2)', () => {
  it('packs concurrent requests into few entries; each gets its own result; a failed condition spoils nothing', async () => {
    const { c, leader } = await withLeader(31);
    const before = c.cell(leader)!.describe().appliedIndex;
    const requests: CellRequest[] = Array.from({ length: 40 }, (_, i) => put(`k${i}`, BigInt(i)));
    requests[20] = {
      kind: 'operation',
      consistency: 'consistent',
      operation: transaction({
        conditions: [{ kind: 'exists', key: 'missing' }],
        writes: [{ kind: 'put', key: 'x', value: 1n }],
      }),
    };
    const answers = await c.settle(Promise.all(requests.map((r) => c.submit(leader, r))));
    const kinds = answers.map((a) => (a.kind === 'result' ? a.result.kind : a.kind));
    expect(kinds.filter((k) => k === 'committed')).toHaveLength(39);
    expect(kinds[20]).toBe('not-committed');
    const entries = c.cell(leader)!.describe().appliedIndex - before;
    expect(entries).toBeLessThan(10);
    expect(readValue(await c.settle(c.submit(leader, read('k39'))))).toBe(39n);
  });

  it('never puts two writes of one key in one entry (each write gets its own version)', async () => {
    const { c, leader } = await withLeader(32);
    const answers = await c.settle(Promise.all([1n, 2n, 3n].map((v) => c.submit(leader, put('same', v)))));
    const indices = answers.map((a) => (a.kind === 'result' ? a.index : -1));
    expect(new Set(indices).size).toBe(3);
    expect(readValue(await c.settle(c.submit(leader, read('same'))))).toBe(3n);
  });
});

describe('load shedding (paper §3.5)', () => {
  it('answers overloaded at once, with a retry hint, when the queue is full', async () => {
    const { c, leader } = await withLeader(33, {
      waitingRequestsMax: 8,
      batchRequestsMax: 2,
      queuedBatchesMax: 0,
    });
    const answers = await c.settle(
      Promise.all(Array.from({ length: 40 }, (_, i) => c.submit(leader, put(`k${i}`, 1n)))),
    );
    const overloaded = answers.filter((a) => a.kind === 'overloaded');
    expect(overloaded.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.kind === 'result').length).toBeGreaterThan(0);
    for (const a of overloaded) expect(a.kind === 'overloaded' && a.retryAfterMs > 0).toBe(true);
    expect(c.cell(leader)!.describe().counters.overloaded).toBe(overloaded.length);
  });
});

describe('a stalled disk', () => {
  it('bounds the Readies waiting for it: peer messages are dropped and counted, clients told overloaded', async () => {
    const { c, leader } = await withLeader(48, { unpersistedReadiesMax: 4 });
    const follower = c.members.find((m) => m !== leader)!;
    c.world.disk(follower).syncLatency(constant(2_000));
    for (let i = 0; i < 10; i += 1) void c.submit(leader, put(`k${i}`, 1n));
    await c.world.runFor(500);
    const stalled = c.cell(follower)!.describe();
    expect(stalled.unpersistedReadies).toBeLessThanOrEqual(4);
    expect(stalled.counters.droppedDiskBusy).toBeGreaterThan(0);
    expect((await c.cell(follower)!.submit(read('a', 'consistent'))).kind).toBe('overloaded');
    c.world.disk(follower).syncLatency(constant(1));
    await c.world.runFor(2_100);
    await c.settle(c.submit(leader, put('after', 1n))); // idle cells learn on the next activity
    await c.world.runFor(500);
    expect(c.cell(follower)!.describe().appliedIndex).toBe(c.cell(leader)!.describe().appliedIndex);
  });
});

describe('reads (paper §2.3)', () => {
  it('eventual reads come from the local replica; a session token above it answers behind', async () => {
    const { c, leader } = await withLeader(34);
    const follower = c.members.find((m) => m !== leader)!;
    const written = await c.settle(c.submit(leader, put('a', 7n)));
    const token = written.kind === 'result' ? written.index : 0;
    const cell = c.cell(follower)!;
    const local = await cell.submit(read('a', 'eventual', token + 100));
    expect(local).toEqual({ kind: 'behind', appliedIndex: cell.describe().appliedIndex });
    await c.world.runUntil(() => cell.describe().appliedIndex >= token, 1_000);
    const fresh = await cell.submit(read('a', 'eventual', token));
    expect(readValue(fresh)).toBe(7n);
    const write = await cell.submit({
      kind: 'operation',
      consistency: 'eventual',
      operation: transaction({ writes: [{ kind: 'put', key: 'a', value: 1n }] }),
    });
    expect(write.kind).toBe('invalid');
  });

  it('session tokens give monotonic eventual reads across replicas while a counter grows', async () => {
    const { c, leader } = await withLeader(43);
    c.world.net.delay(uniform(0, 40)); // replicas lag one another
    const increment: CellRequest = {
      kind: 'operation',
      consistency: 'consistent',
      operation: transaction({ writes: [{ kind: 'increment', key: 'n', delta: 1n }] }),
    };
    let token = 0;
    let last = 0n;
    let behind = 0;
    for (let i = 0; i < 30; i += 1) {
      void c.submit(leader, increment);
      await c.world.runFor(7);
      const replica = c.members[i % c.members.length]!;
      const answer = await c.settle(c.submit(replica, read('n', 'eventual', token)));
      if (answer.kind === 'behind') {
        behind += 1;
        continue;
      }
      const value = readValue(answer);
      const seen = typeof value === 'bigint' ? value : 0n;
      expect(seen).toBeGreaterThanOrEqual(last);
      last = seen;
      if (answer.kind === 'result') token = Math.max(token, answer.index);
    }
    expect(last).toBeGreaterThan(0n);
    expect(behind).toBeGreaterThan(0);
  });

  it('a follower redirects consistent requests to the leader', async () => {
    const { c, leader } = await withLeader(35);
    const follower = c.members.find((m) => m !== leader)!;
    expect(await c.settle(c.submit(follower, read('a')))).toEqual({ kind: 'not-leader', leaderHint: leader });
  });

  it('paged scans run through the log (consistent) and locally (eventual)', async () => {
    const { c, leader } = await withLeader(49);
    await c.settle(
      Promise.all(['p/a', 'p/b', 'p/c', 'q/x'].map((k, i) => c.submit(leader, put(k, BigInt(i))))),
    );
    const page = (consistency: 'consistent' | 'eventual', cursor?: string): CellRequest => ({
      kind: 'operation',
      consistency,
      operation: scan({ kind: 'prefix', prefix: 'p/' }, 2, cursor),
    });
    const first = await c.settle(c.submit(leader, page('consistent')));
    expect(first).toMatchObject({ kind: 'result', result: { kind: 'scanned', nextCursor: 'p/b' } });
    const second = await c.cell(leader)!.submit(page('eventual', 'p/b'));
    const keys =
      second.kind === 'result' && second.result.kind === 'scanned'
        ? second.result.entries.map((e) => e.key)
        : [];
    expect(keys).toEqual(['p/c']);
  });

  it('invalid operations are refused before proposal', async () => {
    const { c, leader } = await withLeader(36);
    const before = c.cell(leader)!.describe().appliedIndex;
    const bad = {
      kind: 'transaction',
      formatVersion: 99,
      reads: [],
      conditions: [],
      writes: [],
    } as unknown as Operation;
    const answer = await c.settle(
      c.submit(leader, { kind: 'operation', consistency: 'consistent', operation: bad }),
    );
    expect(answer.kind).toBe('invalid');
    expect(c.cell(leader)!.describe().appliedIndex).toBe(before);
  });
});

describe('idle cells cost nothing', () => {
  it('after the work, no replica wants ticks, every one is quiescent, and no timer is pending', async () => {
    const { c, leader } = await withLeader(37);
    await c.settle(Promise.all([1n, 2n].map((v) => c.submit(leader, put('a', v)))));
    await c.world.runFor(500);
    for (const [host, cell] of c.liveCells()) {
      expect(cell.wantsTick).toBe(false);
      expect(cell.isQuiescent).toBe(true);
      expect(c.world.host(host).clock.pendingTimers).toBe(0);
    }
    const ticks = c.stats.ticks;
    await c.world.runFor(10_000);
    expect(c.stats.ticks).toBe(ticks);
    expect(readValue(await c.settle(c.submit(leader, read('a'))))).toBe(2n); // the first request wakes it
  });
});

describe('eviction', () => {
  it('a quiescent replica is closed, loaded again from storage, and carries on', async () => {
    const { c, leader } = await withLeader(46, { snapshotEveryEntries: 3 });
    for (let i = 0; i < 8; i += 1) await c.settle(c.submit(leader, put(`k${i}`, BigInt(i))));
    await c.world.runFor(300);
    const before = c
      .liveCells()
      .map(([host, cell]) => [host, cell.describe().appliedIndex, cell.describe().digest]);
    for (const host of c.members) expect(c.evict(host)).toBe(true);
    await c.world.runFor(1);
    const after = c
      .liveCells()
      .map(([host, cell]) => [host, cell.describe().appliedIndex, cell.describe().digest]);
    expect(after).toEqual(before);
    const answer = await c.settle(c.submit(leader, read('k7')));
    const redirected =
      answer.kind === 'not-leader' ? await c.settle(c.submit(answer.leaderHint ?? 'n1', read('k7'))) : answer;
    expect(readValue(redirected)).toBe(7n);
  });

  it('a replica with work in flight is not evicted', async () => {
    const { c, leader } = await withLeader(47);
    void c.submit(leader, put('a', 1n));
    expect(c.evict(leader)).toBe(false);
  });
});

describe('log compaction and snapshots (paper §2.4)', () => {
  it('compacts every N entries and teaches a replica that fell behind with a snapshot', async () => {
    const { c, leader } = await withLeader(38, { snapshotEveryEntries: 10 });
    const behind = c.members.find((m) => m !== leader)!;
    c.world.net.partitionOff('behind', [behind]);
    for (let i = 0; i < 40; i += 1) await c.settle(c.submit(leader, put(`k${i % 5}`, BigInt(i))));
    const ahead = c.cell(leader)!.describe();
    expect(ahead.snapshotIndex).toBeGreaterThanOrEqual(30);
    c.world.net.healPartition('behind');
    await c.settle(c.submit(leader, put('wake', 1n)));
    await c.world.runUntil(
      () => c.cell(behind)!.describe().appliedIndex === c.cell(leader)!.describe().appliedIndex,
      2_000,
    );
    const learner = c.cell(behind)!.describe();
    expect(learner.counters.snapshotsInstalled).toBeGreaterThan(0);
    expect(learner.digest).toBe(c.cell(leader)!.describe().digest);
    expect(c.agreementViolations).toEqual([]);
  });

  it('a snapshot travels in chunks through loss, duplication and reordering', async () => {
    const options = { snapshotEveryEntries: 10, snapshotChunkBytes: 1024, snapshotResendMs: 200 };
    const { c, leader } = await withLeader(45, options);
    const behind = c.members.find((m) => m !== leader)!;
    c.world.net.partitionOff('behind', [behind]);
    const blob = new Uint8Array(600).fill(7);
    const big = (i: number): CellRequest => ({
      kind: 'operation',
      consistency: 'consistent',
      operation: transaction({ writes: [{ kind: 'put', key: `big${i}`, value: blob }] }),
    });
    for (let i = 0; i < 30; i += 1) await c.settle(c.submit(leader, big(i)));
    c.world.net.healPartition('behind');
    c.world.net.loss(0.2, { kind: 'snapshot-chunk' });
    c.world.net.duplicate(0.3);
    c.world.net.reorder(10);
    await c.settle(c.submit(leader, put('wake', 1n)));
    const caughtUp = () =>
      c.cell(behind)!.describe().appliedIndex === c.cell(leader)!.describe().appliedIndex;
    expect(await c.world.runUntil(caughtUp, 5_000)).toBe(true);
    const learner = c.cell(behind)!.describe();
    expect(learner.counters.snapshotsInstalled).toBe(1);
    expect(learner.digest).toBe(c.cell(leader)!.describe().digest);
    const sent = c.liveCells().reduce((sum, [, cell]) => sum + cell.describe().counters.snapshotsSent, 0);
    expect(sent).toBeGreaterThanOrEqual(2); // chunks were lost: the snapshot was sent again
  });

  it('a snapshot over the size bound is not sent, and counted', async () => {
    const { c, leader } = await withLeader(39, { snapshotEveryEntries: 5, snapshotBytesMax: 64 });
    const behind = c.members.find((m) => m !== leader)!;
    c.world.net.partitionOff('behind', [behind]);
    for (let i = 0; i < 12; i += 1) await c.settle(c.submit(leader, put(`k${i}`, BigInt(i))));
    c.world.net.healPartition('behind');
    await c.settle(c.submit(leader, put('wake', 1n)));
    await c.world.runFor(1_000);
    const teachers = c
      .liveCells()
      .filter(([h]) => h !== behind)
      .map(([, cell]) => cell.describe().counters.snapshotsTooLarge);
    expect(teachers.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(c.cell(behind)!.describe().counters.snapshotsInstalled).toBe(0);
  });
});

describe('peer bytes and storage', () => {
  it('drops and counts malformed peer messages without throwing or changing state', async () => {
    const { c, leader } = await withLeader(40);
    const cell = c.cell(leader)!;
    const before = cell.describe();
    const valid = encodePaxosEnvelope({ kind: 'catchupRequest', fromIndex: 1 as never });
    const garbage = [
      new Uint8Array(0),
      new Uint8Array([1]),
      new Uint8Array([9, 9, 9]),
      new Uint8Array([1, 2, 0xff]),
    ];
    for (let i = 0; i < 200; i += 1)
      garbage.push(valid.map((b, j) => (j === i % valid.length ? b ^ (1 + (i % 255)) : b)));
    for (const bytes of garbage) expect(() => cell.receive(nodeId('n2'), bytes)).not.toThrow();
    const after = cell.describe();
    expect(after.counters.malformedMessages).toBeGreaterThanOrEqual(4);
    expect(after.digest).toBe(before.digest);
    expect(after.failed).toBeUndefined();
  });

  it('keeps every key under its prefix, reloads the same state after a crash, and destroy removes it all', async () => {
    const { c, leader } = await withLeader(41, { snapshotEveryEntries: 4 });
    for (let i = 0; i < 10; i += 1) await c.settle(c.submit(leader, put(`k${i}`, BigInt(i))));
    await c.world.runFor(100);
    const before = c.cell(leader)!.describe();
    const disk = c.world.disk(leader);
    const prefix = cellKeyPrefix(c.cellId);
    const keys = disk.durableRange({}).map(([k]) => k);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect([...k.subarray(0, prefix.length)]).toEqual([...prefix]);
    c.world.crash(leader);
    c.world.restart(leader);
    await c.world.runUntil(() => c.cell(leader) !== undefined, 100);
    // The commit index is written with the replica's writes, not after each commit, so a
    // crash may lose what was learned after the last write (it is a hint); the entries are
    // durable, and the replica relearns the commit from the cell and applies the same state.
    const reloaded = c.cell(leader)!.describe();
    expect(reloaded.appliedIndex).toBeLessThanOrEqual(before.appliedIndex);
    await c.world.runUntil(() => c.cell(leader)!.describe().appliedIndex >= before.appliedIndex, 5_000);
    const after = c.cell(leader)!.describe();
    expect([after.appliedIndex, after.digest]).toEqual([before.appliedIndex, before.digest]);
    c.world.crash(leader);
    const storage = {
      get: () => undefined,
      range: () => disk.durableRange({}),
      write: () => Promise.resolve(),
    };
    let deleted = 0;
    await CellReplica.destroy(
      { ...storage, write: (b) => ((deleted = b.length), Promise.resolve()) },
      c.cellId,
    );
    expect(deleted).toBe(keys.length);
  });

  it('a replica whose stored state is corrupted refuses to load (it must not vote again)', async () => {
    const { c, leader } = await withLeader(44);
    await c.world.runFor(100);
    const follower = c.members.find((m) => m !== leader)!;
    c.world.crash(follower);
    const promised = [...cellKeyPrefix(c.cellId), 0x01];
    expect(c.world.disk(follower).corrupt(new Uint8Array(promised))).toBe(true);
    c.world.restart(follower);
    await c.world.runFor(100);
    expect(c.stats.loadFailures).toBe(1);
    expect(c.cell(follower)).toBeUndefined();
    expect(readValue(await c.settle(c.submit(leader, read('warm'))))).toBe(1n); // the others carry on
  });

  it('detects any flipped bit in any stored record, and a record moved under another key (§2.2)', async () => {
    const { c, leader } = await withLeader(45, { snapshotEveryEntries: 4 });
    for (let i = 0; i < 6; i += 1) await c.settle(c.submit(leader, put(`k${i}`, BigInt(i))));
    await c.world.runFor(100);
    const records = c.world.disk(leader).durableRange({});
    const loadOf = (stored: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): string => {
      const storage = { get: () => undefined, range: () => stored, write: () => Promise.resolve() };
      return new CellStore(storage, c.cellId).load().kind;
    };
    expect(loadOf(records)).toBe('found');
    expect(records.length).toBeGreaterThan(5);
    let flips = 0;
    records.forEach(([key, value], at) => {
      // Every bit of small records; for large ones (the state snapshot) every 7th bit.
      const step = value.byteLength <= 64 ? 1 : 7;
      for (let bit = 0; bit < value.byteLength * 8; bit += step) {
        const flipped = new Uint8Array(value);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const damaged = records.map((record, other) => (other === at ? ([key, flipped] as const) : record));
        expect(loadOf(damaged), `record ${at}, bit ${bit}`).toBe('corrupt');
        flips += 1;
      }
    });
    expect(flips).toBeGreaterThan(500);
    // Two log entries with their values swapped: each checksum covers its key too.
    const entries = records.filter(([key]) => key[cellKeyPrefix(c.cellId).length] === 0x10);
    expect(entries.length).toBeGreaterThan(1);
    const [first, second] = [entries[0]!, entries[1]!];
    const swapped = records.map(([key, value]) =>
      key === first[0]
        ? ([key, second[1]] as const)
        : key === second[0]
          ? ([key, first[1]] as const)
          : ([key, value] as const),
    );
    expect(loadOf(swapped)).toBe('corrupt');
  });

  it('loads records written in the earlier checksum format (8 bytes of SHA-256), and catches a flipped bit in them', async () => {
    const { c, leader } = await withLeader(46, { snapshotEveryEntries: 4 });
    for (let i = 0; i < 6; i += 1) await c.settle(c.submit(leader, put(`k${i}`, BigInt(i))));
    await c.world.runFor(100);
    const records = c.world.disk(leader).durableRange({});
    const loadOf = (stored: ReadonlyArray<readonly [Uint8Array, Uint8Array]>) => {
      const storage = { get: () => undefined, range: () => stored, write: () => Promise.resolve() };
      return new CellStore(storage, c.cellId).load();
    };
    const legacy = records.map(([key, value]) => {
      const body = value.subarray(4); // the current format: CRC-32, then the body
      const digest = createHash('sha256').update(key).update(body).digest().subarray(0, 8);
      return [key, new Uint8Array([...digest, ...body])] as const;
    });
    const current = loadOf(records);
    const old = loadOf(legacy);
    expect(current.kind).toBe('found');
    expect(old).toEqual(current);
    const flipped = legacy.map(([key, value], at) => {
      if (at !== 0) return [key, value] as const;
      const damaged = new Uint8Array(value);
      damaged[damaged.length - 1]! ^= 1;
      return [key, damaged] as const;
    });
    expect(loadOf(flipped).kind).toBe('corrupt');
  });

  it('refuses to create a cell that already has state (it would forget its promises)', async () => {
    const { c, leader } = await withLeader(42);
    const host = c.world.host(leader);
    const env = {
      cellId: c.cellId,
      self: nodeId(leader),
      storage: { get: () => undefined, range: () => host.disk.range({}), write: () => Promise.resolve() },
      clock: host.clock,
      random: c.world.random,
      send: () => undefined,
    };
    await expect(CellReplica.create(env, c.members)).rejects.toThrow(/already exists/);
  });
});

describe('storage layout', () => {
  it('keys log entries by their index as 8 bytes big-endian: they sort by index across 2^32 and load back whole', () => {
    const cellId = partitionKey('wide');
    const members = [nodeId('n1'), nodeId('n2'), nodeId('n3')];
    const ballot = { round: 7, nodeId: nodeId('n2') } as Ballot;
    const indices = [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 256, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
    const entries = indices.map((index) => ({
      index: index as LogIndex,
      ballot,
      value: { kind: 'payload' as const, payload: Uint8Array.of(index % 251) },
    }));
    const base = (2 ** 32 - 2) as LogIndex;
    const empty = { get: () => undefined, range: () => [], write: () => Promise.resolve() };
    const writes = new CellStore(empty, cellId).batchFor(
      {
        entries,
        commitIndex: base,
        snapshot: { index: base, configs: [{ effectiveFrom: 1 as LogIndex, members }] },
      },
      { appliedIndex: base, bytes: Uint8Array.of(1, 2, 3) },
    );
    const stored = writes
      .map((write) => [write.key, write.kind === 'put' ? write.value : new Uint8Array()] as const)
      .sort(([a], [b]) => Buffer.compare(a, b));
    const entryKeys = stored.filter(([key]) => key[cellKeyPrefix(cellId).length] === 0x10);
    const at = cellKeyPrefix(cellId).length + 1;
    expect(entryKeys.map(([key]) => Number(Buffer.from(key).readBigUInt64BE(at)))).toEqual(indices);
    const loaded = new CellStore({ ...empty, range: () => stored }, cellId).load();
    expect(loaded.kind === 'found' && loaded.state.entries).toEqual(entries);
  });

  it('a compaction deletes the entries it drops by key, without a range read, once it knows the last snapshot index', () => {
    const cellId = partitionKey('compacting');
    const configs = [{ effectiveFrom: 1 as LogIndex, members: [nodeId('n1'), nodeId('n2'), nodeId('n3')] }];
    const ballot = { round: 2, nodeId: nodeId('n1') } as Ballot;
    const entry = (index: number): LogEntry => ({
      index: index as LogIndex,
      ballot,
      value: { kind: 'payload', payload: Uint8Array.of(index) },
    });
    const stored = new Map<string, readonly [Uint8Array, Uint8Array]>();
    let rangeReads = 0;
    const storage: Storage = {
      get: (key) => stored.get(Buffer.from(key).toString('hex'))?.[1],
      range: (range) => {
        rangeReads += 1;
        return [...stored.values()]
          .filter(([key]) => range.start === undefined || Buffer.compare(key, range.start) >= 0)
          .filter(([key]) => range.end === undefined || Buffer.compare(key, range.end) < 0)
          .sort(([a], [b]) => Buffer.compare(a, b));
      },
      write: (batch) => {
        for (const write of batch) {
          const hex = Buffer.from(write.key).toString('hex');
          if (write.kind === 'put') stored.set(hex, [write.key, write.value]);
          else stored.delete(hex);
        }
        return Promise.resolve();
      },
    };
    const compact = (store: CellStore, index: number): number => {
      const before = rangeReads;
      void storage.write(
        store.batchFor(
          { entries: [], snapshot: { index: index as LogIndex, configs } },
          { appliedIndex: index, bytes: Uint8Array.of(index) },
        ),
      );
      return rangeReads - before;
    };
    const entriesStored = (): number[] => {
      const loaded = new CellStore(storage, cellId).load();
      return loaded.kind === 'found' ? loaded.state.entries.map((e) => e.index) : [];
    };
    const store = new CellStore(storage, cellId);
    void storage.write(
      store.batchFor(
        {
          entries: [1, 2, 3, 4, 5, 6, 7, 8].map(entry),
          commitIndex: 8 as LogIndex,
          snapshot: { index: 0 as LogIndex, configs },
        },
        { appliedIndex: 0, bytes: Uint8Array.of(0) },
      ),
    );
    expect(compact(store, 5)).toBe(0);
    expect(entriesStored()).toEqual([6, 7, 8]);
    // A store loaded from storage knows the snapshot index it found.
    const reloaded = new CellStore(storage, cellId);
    expect(reloaded.load().kind).toBe('found');
    expect(compact(reloaded, 7)).toBe(0);
    expect(entriesStored()).toEqual([8]);
    // An entry left at or below the snapshot (ignored by a load) makes the next compaction
    // list the stored entry keys, so it is deleted too.
    void storage.write(store.batchFor({ entries: [entry(3)] }));
    const withLeftover = new CellStore(storage, cellId);
    expect(withLeftover.load().kind).toBe('found');
    expect(compact(withLeftover, 8)).toBe(1);
    expect(entriesStored()).toEqual([]);
    expect([...stored.values()].filter(([key]) => key[cellKeyPrefix(cellId).length] === 0x10)).toEqual([]);
  });
});
