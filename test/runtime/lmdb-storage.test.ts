// Tests of LmdbStorage against the Storage contract of src/env/storage.ts: atomic ordered
// batches, read-your-writes before the commit, bytewise range reads and group commit; and of
// its write-ahead log: replay, segments, checkpoints into LMDB.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom, StorageError, type StorageWrite } from '../../src/env/index.ts';
import { LmdbStorage, storageErrorFrom, type LmdbStorageOptions } from '../../src/runtime/lmdb-storage.ts';
import {
  checkpointMarkerKey,
  decodeCheckpointMarker,
  encodeCheckpointMarker,
  encodeLogRecord,
  reservedKeysStart,
} from '../../src/runtime/storage-log.ts';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

const opened: Array<{ storage: LmdbStorage; dir: string }> = [];

function openStorage(
  dir = mkdtempSync(join(tmpdir(), 'physalia-lmdb-')),
  options: Omit<LmdbStorageOptions, 'path'> = {},
): {
  storage: LmdbStorage;
  dir: string;
} {
  const entry = { storage: LmdbStorage.open({ path: dir, ...options }), dir };
  opened.push(entry);
  return entry;
}

afterEach(async () => {
  for (const { storage, dir } of opened.splice(0)) {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('LmdbStorage', () => {
  it('reads its own writes before the commit resolves, and after', async () => {
    const { storage } = openStorage();
    const written = storage.write([{ kind: 'put', key: text('a'), value: text('1') }]);
    expect(storage.get(text('a'))).toEqual(text('1'));
    expect([...storage.range({})]).toEqual([[text('a'), text('1')]]);
    await written;
    expect(storage.get(text('a'))).toEqual(text('1'));
    const deleted = storage.write([{ kind: 'delete', key: text('a') }]);
    expect(storage.get(text('a'))).toBeUndefined();
    expect([...storage.range({})]).toEqual([]);
    await deleted;
    expect(storage.get(text('a'))).toBeUndefined();
  });

  it('applies batches in call order, the last write to a key winning', async () => {
    const { storage } = openStorage();
    const writes = [];
    for (let i = 0; i < 50; i += 1)
      writes.push(storage.write([{ kind: 'put', key: text('k'), value: bytes(i) }]));
    await Promise.all(writes);
    expect(storage.get(text('k'))).toEqual(bytes(49));
  });

  it('returns buffers the caller owns', async () => {
    const { storage } = openStorage();
    await storage.write([{ kind: 'put', key: text('a'), value: text('xyz') }]);
    storage.get(text('a'))![0] = 0;
    for (const [, value] of storage.range({})) value[0] = 0;
    expect(storage.get(text('a'))).toEqual(text('xyz'));
  });

  it('keeps every acknowledged batch across close and reopen', async () => {
    const first = openStorage();
    await first.storage.write([
      { kind: 'put', key: bytes(1), value: bytes(10) },
      { kind: 'put', key: bytes(2), value: bytes(20) },
    ]);
    void first.storage.write([{ kind: 'put', key: bytes(3), value: bytes(30) }]);
    await first.storage.close();
    const second = LmdbStorage.open({ path: first.dir });
    expect([...second.range({})]).toEqual([
      [bytes(1), bytes(10)],
      [bytes(2), bytes(20)],
      [bytes(3), bytes(30)],
    ]);
    await second.close();
  });

  it('reads ranges in bytewise order: start inclusive, end exclusive, reverse, limit', async () => {
    const { storage } = openStorage();
    const keys = [bytes(0), bytes(1), bytes(1, 0), bytes(1, 255), bytes(2), bytes(255), bytes(255, 255)];
    await storage.write(keys.map((key) => ({ kind: 'put' as const, key, value: key })));
    const keysOf = (range: Parameters<LmdbStorage['range']>[0]): Uint8Array[] =>
      [...storage.range(range)].map(([key]) => key);
    expect(keysOf({})).toEqual(keys);
    expect(keysOf({ start: bytes(1), end: bytes(2) })).toEqual([bytes(1), bytes(1, 0), bytes(1, 255)]);
    expect(keysOf({ start: bytes(1), end: bytes(2), reverse: true })).toEqual([
      bytes(1, 255),
      bytes(1, 0),
      bytes(1),
    ]);
    expect(keysOf({ start: bytes(1), limit: 2 })).toEqual([bytes(1), bytes(1, 0)]);
    expect(keysOf({ reverse: true, limit: 2 })).toEqual([bytes(255, 255), bytes(255)]);
    expect(keysOf({ end: bytes(1), reverse: true })).toEqual([bytes(0)]);
    expect(keysOf({ start: bytes(3), end: bytes(3) })).toEqual([]);
    expect(keysOf({ limit: 0 })).toEqual([]);
  });

  it('merges pending writes into range reads in order, shadowing and deleting', async () => {
    const { storage } = openStorage();
    await storage.write([1, 3, 5, 7].map((k) => ({ kind: 'put' as const, key: bytes(k), value: bytes(k) })));
    void storage.write([
      { kind: 'put', key: bytes(2), value: bytes(2) },
      { kind: 'put', key: bytes(5), value: bytes(50) },
      { kind: 'delete', key: bytes(3) },
      { kind: 'put', key: bytes(8), value: bytes(8) },
    ]);
    const entries = (range: Parameters<LmdbStorage['range']>[0]): number[][] =>
      [...storage.range(range)].map(([key, value]) => [key[0]!, value[0]!]);
    expect(entries({})).toEqual([
      [1, 1],
      [2, 2],
      [5, 50],
      [7, 7],
      [8, 8],
    ]);
    expect(entries({ reverse: true })).toEqual([
      [8, 8],
      [7, 7],
      [5, 50],
      [2, 2],
      [1, 1],
    ]);
    expect(entries({ start: bytes(2), end: bytes(8), limit: 2 })).toEqual([
      [2, 2],
      [5, 50],
    ]);
    expect(entries({ reverse: true, limit: 3 })).toEqual([
      [8, 8],
      [7, 7],
      [5, 50],
    ]);
  });

  it('tells its commit observers of each commit: its duration and its batches', async () => {
    const { storage } = openStorage();
    const seen: Array<{ durationMs: number; batches: number }> = [];
    storage.onCommit((durationMs, batches) => seen.push({ durationMs, batches }));
    await Promise.all([1, 2, 3].map((i) => storage.write([{ kind: 'put', key: bytes(i), value: bytes(i) }])));
    await storage.write([{ kind: 'delete', key: bytes(1) }]);
    expect(seen.map((commit) => commit.batches)).toEqual([3, 1]);
    for (const { durationMs } of seen) expect(durationMs).toBeGreaterThanOrEqual(0);
    expect(storage.counters().commits).toBe(2);
    for (let i = 2; i <= 8; i += 1) storage.onCommit(() => undefined);
    expect(() => storage.onCommit(() => undefined)).toThrow(RangeError);
  });

  it('shares one commit among all writes of one event-loop turn (group commit)', async () => {
    const { storage } = openStorage();
    await storage.write([{ kind: 'put', key: text('warm'), value: text('up') }]);
    const before = storage.counters().commits;
    const writes = [];
    for (let i = 0; i < 1000; i += 1) {
      writes.push(storage.write([{ kind: 'put', key: text(`key-${i}`), value: text(`value-${i}`) }]));
    }
    await Promise.all(writes);
    expect(storage.counters().commits - before).toBe(1);
    expect(storage.counters().groupBatchesLargest).toBe(1000);
    for (let i = 0; i < 1000; i += 10) expect(storage.get(text(`key-${i}`))).toEqual(text(`value-${i}`));
  });

  it('groups writes that arrive while a commit is in flight into the next commit', async () => {
    const { storage } = openStorage();
    const writes = [storage.write([{ kind: 'put', key: text('first'), value: text('1') }])];
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 100; i += 1) {
      writes.push(storage.write([{ kind: 'put', key: text(`later-${i}`), value: text('x') }]));
      await Promise.resolve();
    }
    await Promise.all(writes);
    expect(storage.counters().commits).toBeLessThanOrEqual(3);
  });

  it('rejects writes with the typed "closed" error after close, and invalid keys at once', async () => {
    const { storage } = openStorage();
    await expect(storage.write([{ kind: 'put', key: new Uint8Array(0), value: text('v') }])).rejects.toThrow(
      RangeError,
    );
    await expect(
      storage.write([{ kind: 'put', key: new Uint8Array(1979), value: text('v') }]),
    ).rejects.toThrow(RangeError);
    expect(storage.get(new Uint8Array(0))).toBeUndefined();
    await storage.close();
    const rejected = await storage
      .write([{ kind: 'put', key: text('a'), value: text('v') }])
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(StorageError);
    expect((rejected as StorageError).kind).toBe('closed');
    expect(() => storage.get(text('a'))).toThrow(StorageError);
  });

  it('maps disk-full and other failures to typed kinds', () => {
    expect(storageErrorFrom(Object.assign(new Error('write failed'), { code: 'ENOSPC' })).kind).toBe(
      'disk-full',
    );
    expect(storageErrorFrom(new Error('MDB_MAP_FULL: Environment mapsize limit reached')).kind).toBe(
      'disk-full',
    );
    expect(storageErrorFrom(new Error('Database is closed')).kind).toBe('closed');
    expect(storageErrorFrom(new Error('EIO: i/o error')).kind).toBe('io-error');
  });

  it('appends each commit to its write log, and checkpoints the log to the keys (4 keys here)', async () => {
    const { storage, dir } = openStorage(undefined, { checkpointKeys: 4 });
    await storage.write([
      { kind: 'put', key: text('a'), value: text('1') },
      { kind: 'put', key: text('b'), value: text('2') },
    ]);
    expect(storage.counters()).toMatchObject({ commits: 1, checkpoints: 0, logRecords: 1 });
    expect([...storage.range({})]).toEqual([
      [text('a'), text('1')],
      [text('b'), text('2')],
    ]);
    await storage.write([{ kind: 'delete', key: text('a') }]);
    expect(storage.counters()).toMatchObject({ commits: 2, checkpoints: 0, logRecords: 2 });
    await storage.write([
      { kind: 'put', key: text('c'), value: text('3') },
      { kind: 'put', key: text('d'), value: text('4') },
    ]);
    // Four keys: the commit starts a checkpoint; reads see the same while it runs and after.
    const expected = [
      [text('b'), text('2')],
      [text('c'), text('3')],
      [text('d'), text('4')],
    ];
    expect([...storage.range({})]).toEqual(expected);
    await storage.checkpointSettled();
    expect(storage.counters()).toMatchObject({ commits: 3, checkpoints: 1, logRecords: 0, logBytes: 0 });
    expect([...storage.range({})]).toEqual(expected);
    await storage.write([{ kind: 'put', key: text('e'), value: text('5') }]);
    expect(storage.counters().logRecords).toBe(1);
    await storage.close();
    const raw = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    const stored = [...raw.getRange({ end: reservedKeysStart })].map(({ key, value }) => [
      key.toString(),
      value.toString(),
    ]);
    const marker = decodeCheckpointMarker(raw.get(checkpointMarkerKey)!);
    await raw.close();
    expect(stored, 'close checkpoints the log: the keys hold every write').toEqual([
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
      ['e', '5'],
    ]);
    expect(marker?.recordsBelow, 'the marker covers all four records').toBe(4);
    const files = logFiles(dir);
    expect(files.length, 'the segment is recycled as a spare, beside one written ahead').toBe(2);
    expect(
      files.every((name) => /^wal-spare-\d+\.log$/.test(name)),
      'no segment is left to replay',
    ).toBe(true);
  });

  it('replays the records its checkpoint marker does not cover, in order, from every segment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'physalia-lmdb-'));
    const raw = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    await raw.put(Buffer.from('a'), Buffer.from('old'));
    await raw.put(Buffer.from('z'), Buffer.from('26'));
    await raw.put(checkpointMarkerKey, encodeCheckpointMarker({ recordsBelow: 7, segmentIdsBelow: 3 }));
    await raw.close();
    // Segment 1: record 6 (covered: its write is already in LMDB) and 7; segment 2: record 8,
    // then a torn record 9 (never acknowledged).
    writeSegment(dir, 1, [
      encodeLogRecord(1, 6, [[put('a', 'old')]]),
      encodeLogRecord(1, 7, [[put('a', '1'), put('b', '2')], [{ kind: 'delete', key: text('z') }]]),
    ]);
    writeSegment(dir, 2, [
      encodeLogRecord(2, 8, [[put('b', '3')]]),
      encodeLogRecord(2, 9, [[put('c', 'x')]]).subarray(0, 30),
    ]);
    const { storage } = openStorage(dir);
    expect(storage.counters().logRecords).toBe(2);
    const replayed = [
      [text('a'), text('1')],
      [text('b'), text('3')],
    ];
    expect(storage.get(text('z'))).toBeUndefined();
    expect([...storage.range({})]).toEqual(replayed);
    await storage.checkpointSettled();
    expect(storage.counters()).toMatchObject({ checkpoints: 1, logRecords: 0 });
    expect(logFiles(dir), 'covered segments are recycled as spares; appends start a new one (id 3)').toEqual([
      'wal-spare-1.log',
      'wal-spare-2.log',
    ]);
    await storage.write([put('c', '4')]);
    expect(logFiles(dir)).toContain('wal-0000000003.log');
    expect([...storage.range({})]).toEqual([...replayed, [text('c'), text('4')]]);
  });

  it('refuses to open when a record it must replay is missing (a damaged segment before a later one)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'physalia-lmdb-'));
    const damaged = encodeLogRecord(1, 1, [[put('a', '2')]]);
    damaged[damaged.length - 1]! ^= 1;
    writeSegment(dir, 1, [encodeLogRecord(1, 0, [[put('a', '1')]]), damaged]);
    writeSegment(dir, 2, [encodeLogRecord(2, 2, [[put('a', '3')]])]);
    let failure: unknown;
    try {
      LmdbStorage.open({ path: dir });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(StorageError);
    expect((failure as StorageError).kind).toBe('io-error');
    expect((failure as StorageError).message).toContain('record 1 is missing');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses options that cannot work with a RangeError, before touching the directory', () => {
    const dir = join(tmpdir(), `physalia-lmdb-never-${process.pid}`);
    expect(() => LmdbStorage.open({ path: dir, checkpointChunkKeys: 0 })).toThrow(RangeError);
    expect(() => LmdbStorage.open({ path: dir, logSegmentBytes: 1.5 })).toThrow(/logSegmentBytes/);
    expect(() => LmdbStorage.open({ path: dir, checkpointPauseMs: -1 })).toThrow(RangeError);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses to open over a write log an older version kept inside LMDB', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'physalia-lmdb-'));
    const raw = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    await raw.put(Buffer.concat([reservedKeysStart, Buffer.alloc(8)]), Buffer.from('a record'));
    await raw.close();
    expect(() => LmdbStorage.open({ path: dir })).toThrow(/older version/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads as a plain ordered map whatever the checkpoint size, chunk and segment size, across reopens (random ops)', async () => {
    const configurations = [
      { checkpointKeys: 0, checkpointChunkKeys: 512, checkpointPauseMs: 0 },
      { checkpointKeys: 3, checkpointChunkKeys: 1, checkpointPauseMs: 1, logSegmentBytes: 64 },
      { checkpointKeys: 10, checkpointChunkKeys: 2, checkpointPauseMs: 0, logSegmentBytes: 300 },
      { checkpointKeys: 50, checkpointChunkKeys: 512 },
    ];
    for (const options of configurations) {
      const { checkpointKeys } = options;
      const random = new SeededRandom(checkpointKeys + 1);
      let { storage, dir } = openStorage(undefined, options);
      const model = new Map<number, number>();
      const keyOf = (k: number): Uint8Array => (k < 20 ? bytes(k) : bytes(0xff, 0xff, 0xff, 0xff, k));
      const expectSame = (reverse: boolean, from: number, to: number): void => {
        const keys = [...model.keys()].filter((k) => k >= from && k < to).sort((x, y) => x - y);
        if (reverse) keys.reverse();
        const range = { start: keyOf(from), end: keyOf(to), reverse };
        const got = [...storage.range(range)].map(([key, value]) => [key[key.length - 1], value[0]]);
        expect(got, `${JSON.stringify(options)} range ${from}..${to}`).toEqual(
          keys.map((k) => [k, model.get(k)]),
        );
        const k = from + random.intBelow(to - from);
        expect(storage.get(keyOf(k))?.[0], `${JSON.stringify(options)} get ${k}`).toBe(model.get(k));
      };
      for (let step = 0; step < 300; step += 1) {
        const writes: StorageWrite[] = [];
        for (let i = random.intBelow(4); i >= 0; i -= 1) {
          const k = random.intBelow(40);
          if (random.intBelow(4) === 0) {
            writes.push({ kind: 'delete', key: keyOf(k) });
            model.delete(k);
          } else {
            const value = random.intBelow(256);
            writes.push({ kind: 'put', key: keyOf(k), value: bytes(value) });
            model.set(k, value);
          }
        }
        const written = storage.write(writes);
        const from = random.intBelow(40);
        expectSame(random.intBelow(2) === 0, from, from + random.intBelow(40 - from) + 1);
        if (random.intBelow(3) === 0) await written;
        if (random.intBelow(5) === 0) await new Promise((resolve) => setImmediate(resolve));
        if (random.intBelow(60) === 0) {
          await storage.close();
          ({ storage, dir } = openStorage(dir, options));
        }
      }
      expectSame(false, 0, 39);
      await storage.checkpointSettled();
      expect(storage.counters().checkpoints > 0 || checkpointKeys === 50).toBe(true);
    }
  });

  it('checkpoints the whole log once no write has committed for checkpointIdleMs', async () => {
    const { storage, dir } = openStorage(undefined, { checkpointIdleMs: 100, checkpointChunkKeys: 3 });
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    for (let round = 0; round < 5; round += 1) {
      await storage.write(
        [0, 1, 2].map((i) => ({ kind: 'put' as const, key: bytes(round, i), value: bytes(i) })),
      );
      await sleep(20);
    }
    expect(storage.counters()).toMatchObject({ checkpoints: 0, logRecords: 5 });
    await sleep(400);
    expect(storage.counters()).toMatchObject({ checkpoints: 1, logRecords: 0, logBytes: 0, commits: 5 });
    expect([...storage.range({})]).toHaveLength(15);
    // Killed now (no close), a restart would find every key in LMDB and nothing to replay.
    const raw = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    expect([...raw.getRange({ end: reservedKeysStart })]).toHaveLength(15);
    expect(decodeCheckpointMarker(raw.get(checkpointMarkerKey)!)?.recordsBelow).toBe(5);
    await raw.close();
  });

  it('starts a new segment when a record does not fit, and recycles covered ones after a checkpoint', async () => {
    const { storage, dir } = openStorage(undefined, { logSegmentBytes: 100, checkpointKeys: 1_000_000 });
    for (let i = 0; i < 6; i += 1) await storage.write([put(`key-${i}`, 'x'.repeat(60))]);
    expect(logFiles(dir).filter((name) => name.startsWith('wal-0'))).toHaveLength(6);
    expect(storage.counters().logRecords).toBe(6);
    await storage.close();
    expect(logFiles(dir), 'four of the six segments are kept as spares').toHaveLength(4);
    expect(logFiles(dir).every((name) => name.startsWith('wal-spare-'))).toBe(true);
    const reopened = openStorage(dir).storage;
    expect(reopened.get(text('key-5'))).toEqual(text('x'.repeat(60)));
  });
});

function put(key: string, value: string): StorageWrite {
  return { kind: 'put', key: text(key), value: text(value) };
}

function writeSegment(dir: string, id: number, records: readonly Uint8Array[]): void {
  writeFileSync(
    join(dir, `wal-${String(id).padStart(10, '0')}.log`),
    Buffer.concat([...records, Buffer.alloc(100)]),
  );
}

function logFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('wal-'))
    .sort();
}
