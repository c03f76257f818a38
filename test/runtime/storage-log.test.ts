// Tests of LmdbStorage's write-log records: they decode to the writes encoded, in order, and
// any damage to a record is refused with a typed error instead of replayed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isReservedStorageKey, StorageError, type StorageWrite } from '../../src/env/index.ts';
import {
  decodeLogRecord,
  encodeLogRecord,
  logKeysEnd,
  logKeysStart,
  logRecordKey,
  logRecordNumber,
} from '../../src/runtime/storage-log.ts';

const writeArbitrary: fc.Arbitrary<StorageWrite> = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    key: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    value: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
);
const batchesArbitrary = fc.array(fc.array(writeArbitrary, { maxLength: 5 }), { minLength: 1, maxLength: 5 });

describe('write log records', () => {
  it('decode to the writes of every batch, in order', () => {
    fc.assert(
      fc.property(batchesArbitrary, (batches) => {
        expect(decodeLogRecord(0, encodeLogRecord(batches))).toEqual(batches.flat());
      }),
    );
  });

  it('refuse any flipped bit or truncation with an io-error', () => {
    fc.assert(
      fc.property(batchesArbitrary, fc.nat(), fc.integer({ min: 0, max: 7 }), (batches, at, bit) => {
        const record = encodeLogRecord(batches);
        const flipped = Buffer.from(record);
        flipped[at % flipped.length]! ^= 1 << bit;
        expect(() => decodeLogRecord(3, flipped)).toThrow(StorageError);
        expect(() => decodeLogRecord(3, record.subarray(0, at % record.length))).toThrow(
          expect.objectContaining({ kind: 'io-error', message: 'write log record 3 is damaged' }),
        );
      }),
    );
  });

  it('sit at keys that order by record number', () => {
    const numbers = [0, 1, 255, 256, 2 ** 32, 2 ** 40 + 7];
    const keys = numbers.map(logRecordKey);
    expect(keys.map(logRecordNumber)).toEqual(numbers);
    expect([...keys].sort((a, b) => Buffer.compare(a, b))).toEqual(keys);
    for (const key of keys) {
      expect(isReservedStorageKey(key)).toBe(true);
      expect(Buffer.compare(key, logKeysStart)).toBeGreaterThanOrEqual(0);
      expect(Buffer.compare(key, logKeysEnd)).toBeLessThan(0);
    }
    expect(isReservedStorageKey(logKeysEnd)).toBe(false);
  });
});
