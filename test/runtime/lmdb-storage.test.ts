// Tests of LmdbStorage against the Storage contract of src/env/storage.ts: atomic ordered
// batches, read-your-writes before the commit, bytewise range reads and group commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom, StorageError, type StorageWrite } from '../../src/env/index.ts';
import { LmdbStorage, storageErrorFrom, type LmdbStorageOptions } from '../../src/runtime/lmdb-storage.ts';
import { encodeLogRecord, logRecordKey } from '../../src/runtime/storage-log.ts';

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
    expect(storage.counters()).toMatchObject({ commits: 3, checkpoints: 1, logRecords: 0 });
    const expected = [
      [text('b'), text('2')],
      [text('c'), text('3')],
      [text('d'), text('4')],
    ];
    expect([...storage.range({})]).toEqual(expected);
    await storage.write([{ kind: 'put', key: text('e'), value: text('5') }]);
    expect(storage.counters().logRecords).toBe(1);
    await storage.close();
    const raw = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    const stored = [...raw.getRange({})].map(({ key, value }) => [key.toString(), value.toString()]);
    await raw.close();
    expect(stored, 'close checkpoints the log: only the keys remain').toEqual([
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
      ['e', '5'],
    ]);
  });

  it('replays its write log at open, and refuses to open over a damaged log record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'physalia-lmdb-'));
    const put = (key: string, value: string): StorageWrite => ({
      kind: 'put',
      key: text(key),
      value: text(value),
    });
    const raw = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    await raw.put(Buffer.from('a'), Buffer.from('old'));
    await raw.put(Buffer.from('z'), Buffer.from('26'));
    await raw.put(
      logRecordKey(7),
      encodeLogRecord([[put('a', '1'), put('b', '2')], [{ kind: 'delete', key: text('z') }]]),
    );
    await raw.put(logRecordKey(8), encodeLogRecord([[put('b', '3')]]));
    await raw.close();
    const { storage } = openStorage(dir);
    expect(storage.counters().logRecords).toBe(2);
    expect(storage.get(text('z'))).toBeUndefined();
    expect([...storage.range({})]).toEqual([
      [text('a'), text('1')],
      [text('b'), text('3')],
    ]);
    await storage.write([put('c', '4')]);
    expect(storage.counters().logRecords).toBe(3);
    await storage.close();

    const damaged = encodeLogRecord([[put('a', '5')]]);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 1, damaged.length - 1);
    const again = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary' });
    await again.put(logRecordKey(100), damaged);
    await again.close();
    let failure: unknown;
    try {
      LmdbStorage.open({ path: dir });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure).toMatchObject({ kind: 'io-error', message: 'write log record 100 is damaged' });
  });

  it('reads as a plain ordered map whatever the checkpoint size and slice, across reopens (random ops)', async () => {
    const configurations = [
      { checkpointKeys: 0, checkpointSliceKeys: 512 },
      { checkpointKeys: 3, checkpointSliceKeys: 1 },
      { checkpointKeys: 10, checkpointSliceKeys: 2 },
      { checkpointKeys: 50, checkpointSliceKeys: 512 },
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
        if (random.intBelow(60) === 0) {
          await storage.close();
          ({ storage, dir } = openStorage(dir, options));
        }
      }
      expectSame(false, 0, 39);
      expect(storage.counters().checkpoints > 0 || checkpointKeys === 50).toBe(true);
    }
  });

  it('checkpoints the whole log, a slice per turn, once no write has committed for checkpointIdleMs', async () => {
    const { storage, dir } = openStorage(undefined, { checkpointIdleMs: 100, checkpointSliceKeys: 3 });
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    for (let round = 0; round < 5; round += 1) {
      await storage.write(
        [0, 1, 2].map((i) => ({ kind: 'put' as const, key: bytes(round, i), value: bytes(i) })),
      );
      await sleep(20);
    }
    expect(storage.counters()).toMatchObject({ checkpoints: 0, logRecords: 5 });
    await sleep(400);
    // 15 keys at 3 per slice: five slice commits, back to back; the fifth deletes the log.
    expect(storage.counters()).toMatchObject({ checkpoints: 1, logRecords: 0, logBytes: 0, commits: 10 });
    expect([...storage.range({})]).toHaveLength(15);
    await storage.close();
    const reopened = openStorage(dir, { checkpointIdleMs: 100 }).storage;
    expect(reopened.counters().logRecords).toBe(0);
    expect(reopened.get(bytes(4, 2))).toEqual(bytes(2));
  });
});
