// Tests of the write-ahead log's records: they read back as the writes encoded, in order; a
// segment's records end at the first one that is damaged, torn, of another segment or out of
// sequence, so none of those is ever replayed. Also the checkpoint marker LMDB keeps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isReservedStorageKey, type StorageWrite } from '../../src/env/index.ts';
import {
  checkpointMarkerKey,
  decodeCheckpointMarker,
  encodeCheckpointMarker,
  encodeLogRecord,
  logRecordBytes,
  readLogRecords,
  reservedKeysEnd,
  reservedKeysStart,
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
const recordsArbitrary = fc.array(batchesArbitrary, { minLength: 1, maxLength: 6 });

/** Records `first`, `first + 1`, ... of segment 7, back to back. */
function segmentOf(recordBatches: ReadonlyArray<ReadonlyArray<readonly StorageWrite[]>>, first = 40): Buffer {
  return Buffer.concat(recordBatches.map((batches, index) => encodeLogRecord(7, first + index, batches)));
}

describe('write log records', () => {
  it('read back as the writes of every batch, in order, numbered, each its encoded size', () => {
    fc.assert(
      fc.property(recordsArbitrary, (recordBatches) => {
        const segment = segmentOf(recordBatches);
        const { records, endOffset } = readLogRecords(7, Buffer.concat([segment, Buffer.alloc(64)]));
        expect(endOffset).toBe(segment.byteLength);
        expect(records.map((record) => record.recordNumber)).toEqual(recordBatches.map((_, i) => 40 + i));
        expect(records.map((record) => record.writes)).toEqual(
          recordBatches.map((batches) => batches.flat()),
        );
        expect(records.map((record) => record.bytes)).toEqual(recordBatches.map(logRecordBytes));
      }),
    );
  });

  it('end before any record with a flipped bit, and before a torn (truncated) one', () => {
    fc.assert(
      fc.property(recordsArbitrary, fc.nat(), fc.integer({ min: 0, max: 7 }), (recordBatches, at, bit) => {
        const segment = segmentOf(recordBatches);
        const position = at % segment.byteLength;
        let damagedRecord = 0;
        for (let offset = 0; ; damagedRecord += 1) {
          offset += logRecordBytes(recordBatches[damagedRecord]!);
          if (offset > position) break;
        }
        const flipped = Buffer.from(segment);
        flipped[position]! ^= 1 << bit;
        expect(readLogRecords(7, flipped).records).toHaveLength(damagedRecord);
        expect(readLogRecords(7, segment.subarray(0, position)).records).toHaveLength(damagedRecord);
      }),
    );
  });

  it('end at a record of another segment (a recycled file) or out of sequence', () => {
    const batches = [[{ kind: 'put' as const, key: Uint8Array.of(1), value: Uint8Array.of(2) }]];
    const stale = Buffer.concat([encodeLogRecord(7, 0, batches), encodeLogRecord(3, 1, batches)]);
    expect(readLogRecords(7, stale).records.map((record) => record.recordNumber)).toEqual([0]);
    const skipped = Buffer.concat([encodeLogRecord(7, 0, batches), encodeLogRecord(7, 2, batches)]);
    expect(readLogRecords(7, skipped).records).toHaveLength(1);
    expect(readLogRecords(7, Buffer.alloc(4096)).records).toHaveLength(0);
  });

  it('keep the checkpoint marker at a reserved key, within the reserved bounds', () => {
    const marker = { recordsBelow: 2 ** 40 + 5, segmentIdsBelow: 77 };
    expect(decodeCheckpointMarker(encodeCheckpointMarker(marker))).toEqual(marker);
    expect(decodeCheckpointMarker(Uint8Array.of(1, 2, 3))).toBeUndefined();
    expect(isReservedStorageKey(checkpointMarkerKey)).toBe(true);
    expect(isReservedStorageKey(reservedKeysStart)).toBe(true);
    expect(isReservedStorageKey(reservedKeysEnd)).toBe(false);
    expect(Buffer.compare(checkpointMarkerKey, reservedKeysEnd)).toBeLessThan(0);
  });
});
