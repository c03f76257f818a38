// The records of LmdbStorage's write-ahead log, a file apart from LMDB: each commit's batches
// as one checksummed record, so a commit costs one append and one flush. A record names its
// segment file and its number, so a torn tail, or stale bytes of a recycled segment, end a
// segment's records instead of being replayed. Also the checkpoint marker kept in LMDB.
import { crc32 } from 'node:zlib';
import { storageReservedPrefix, type StorageWrite } from '../env/index.ts';
import { asBuffer } from './buffers.ts';

/**
 * Header: body length (u32), CRC-32 of everything after it (u32), segment id (u32), record
 * number (u48). The body is the number of writes (u32), then each write: kind (u8), key
 * length (u16), key, and for a put the value length (u32) and the value.
 */
export const logRecordHeaderBytes = 18;
const BODY_START = logRecordHeaderBytes;
const KIND_PUT = 1;
const KIND_DELETE = 2;

/** The largest record number a header holds (2^48 - 1). */
export const logRecordNumberMax = 2 ** 48 - 1;

/** The bounds of the keys LMDB holds for the store itself: the reserved prefix, and just above. */
export const reservedKeysStart = Buffer.from(storageReservedPrefix);
/** The prefix ends below 0xff, so raising its last byte bounds every key that begins with it. */
export const reservedKeysEnd = Buffer.from([
  ...storageReservedPrefix.subarray(0, -1),
  storageReservedPrefix.at(-1)! + 1,
]);

/** Where LMDB keeps the checkpoint marker: the log records it covers, and segment ids used. */
export const checkpointMarkerKey = Buffer.concat([reservedKeysStart, Buffer.from('checkpoint')]);

/** What the last durable checkpoint covers. */
export interface CheckpointMarker {
  /** Every write of the log records numbered below this is at its own key in LMDB. */
  readonly recordsBelow: number;
  /** Segment ids below this have been used: a new segment takes a higher one. */
  readonly segmentIdsBelow: number;
}

export function encodeCheckpointMarker(marker: CheckpointMarker): Buffer {
  const bytes = Buffer.alloc(10);
  bytes.writeUIntBE(marker.recordsBelow, 0, 6);
  bytes.writeUInt32BE(marker.segmentIdsBelow, 6);
  return bytes;
}

/** The marker in `bytes`, or undefined when they are not one. */
export function decodeCheckpointMarker(bytes: Uint8Array): CheckpointMarker | undefined {
  if (bytes.byteLength !== 10) return undefined;
  const buffer = asBuffer(bytes);
  return { recordsBelow: buffer.readUIntBE(0, 6), segmentIdsBelow: buffer.readUInt32BE(6) };
}

/** The bytes a record of these batches takes, header included. */
export function logRecordBytes(batches: ReadonlyArray<readonly StorageWrite[]>): number {
  let bytes = BODY_START + 4;
  for (const batch of batches) {
    for (const write of batch)
      bytes += 3 + write.key.byteLength + (write.kind === 'put' ? 4 + write.value.byteLength : 0);
  }
  return bytes;
}

/** The batches' writes, in order, as record `recordNumber` of segment `segmentId`. */
export function encodeLogRecord(
  segmentId: number,
  recordNumber: number,
  batches: ReadonlyArray<readonly StorageWrite[]>,
): Buffer {
  const record = Buffer.allocUnsafe(logRecordBytes(batches));
  record.writeUInt32BE(record.byteLength - BODY_START, 0);
  record.writeUInt32BE(segmentId, 8);
  record.writeUIntBE(recordNumber, 12, 6);
  let writes = 0;
  let offset = BODY_START + 4;
  for (const batch of batches) {
    for (const write of batch) {
      writes += 1;
      record[offset] = write.kind === 'put' ? KIND_PUT : KIND_DELETE;
      record.writeUInt16BE(write.key.byteLength, offset + 1);
      record.set(write.key, offset + 3);
      offset += 3 + write.key.byteLength;
      if (write.kind === 'put') {
        record.writeUInt32BE(write.value.byteLength, offset);
        record.set(write.value, offset + 4);
        offset += 4 + write.value.byteLength;
      }
    }
  }
  record.writeUInt32BE(writes, BODY_START);
  record.writeUInt32BE(crc32(record.subarray(8)), 4);
  return record;
}

/** One record read back: its number, its writes (values are copies), and its size. */
export interface LogRecord {
  readonly recordNumber: number;
  readonly writes: StorageWrite[];
  readonly bytes: number;
}

/**
 * The records at the start of a segment's bytes, in order, up to the first that is not a
 * whole record of this segment numbered one above the one before it (a torn append, zeros
 * or stale bytes of a recycled segment), and the offset where that one starts.
 */
export function readLogRecords(
  segmentId: number,
  bytes: Uint8Array,
): { records: LogRecord[]; endOffset: number } {
  const buffer = asBuffer(bytes);
  const records: LogRecord[] = [];
  let offset = 0;
  while (offset + BODY_START + 4 <= buffer.byteLength) {
    const end = offset + BODY_START + buffer.readUInt32BE(offset);
    if (end > buffer.byteLength || end < offset + BODY_START + 4) break;
    if (buffer.readUInt32BE(offset + 8) !== segmentId) break;
    const recordNumber = buffer.readUIntBE(offset + 12, 6);
    const previous = records.at(-1);
    if (previous !== undefined && recordNumber !== previous.recordNumber + 1) break;
    if (buffer.readUInt32BE(offset + 4) !== crc32(buffer.subarray(offset + 8, end))) break;
    const writes = decodeBody(buffer.subarray(offset + BODY_START, end));
    if (writes === undefined) break;
    records.push({ recordNumber, writes, bytes: end - offset });
    offset = end;
  }
  return { records, endOffset: offset };
}

/** A record's writes, or undefined when its body does not parse exactly. */
function decodeBody(body: Buffer): StorageWrite[] | undefined {
  const count = body.readUInt32BE(0);
  const writes: StorageWrite[] = [];
  let offset = 4;
  const fits = (length: number): boolean => offset + length <= body.byteLength;
  for (let i = 0; i < count; i += 1) {
    if (!fits(3)) return undefined;
    const kind = body[offset];
    const keyBytes = body.readUInt16BE(offset + 1);
    offset += 3;
    if (!fits(keyBytes)) return undefined;
    const key = new Uint8Array(body.subarray(offset, offset + keyBytes));
    offset += keyBytes;
    if (kind === KIND_DELETE) {
      writes.push({ kind: 'delete', key });
      continue;
    }
    if (kind !== KIND_PUT || !fits(4)) return undefined;
    const valueBytes = body.readUInt32BE(offset);
    offset += 4;
    if (!fits(valueBytes)) return undefined;
    writes.push({ kind: 'put', key, value: new Uint8Array(body.subarray(offset, offset + valueBytes)) });
    offset += valueBytes;
  }
  return offset === body.byteLength ? writes : undefined;
}
