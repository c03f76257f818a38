// The records of LmdbStorage's write log: each commit's batches as one value at a sequential
// key under the reserved prefix, so a commit appends one record instead of updating a page
// of every cell it touches. A record is checksummed, so a damaged one is refused at replay.
import { crc32 } from 'node:zlib';
import { StorageError, storageReservedPrefix, type StorageWrite } from '../env/index.ts';

const RECORD_NUMBER_BYTES = 8;
const HEADER_BYTES = 8; // CRC-32 of the rest, then the number of writes
const KIND_PUT = 1;
const KIND_DELETE = 2;

/** The bounds of every log record's key: the reserved prefix, and the key just above its keys. */
export const logKeysStart = Buffer.from(storageReservedPrefix);
/** The prefix ends below 0xff, so raising its last byte bounds every key that begins with it. */
export const logKeysEnd = Buffer.from([
  ...storageReservedPrefix.subarray(0, -1),
  storageReservedPrefix.at(-1)! + 1,
]);

/** The key of log record `recordNumber`: the reserved prefix, then the number big-endian. */
export function logRecordKey(recordNumber: number): Buffer {
  const key = Buffer.alloc(storageReservedPrefix.byteLength + RECORD_NUMBER_BYTES);
  key.set(storageReservedPrefix);
  key.writeBigUInt64BE(BigInt(recordNumber), storageReservedPrefix.byteLength);
  return key;
}

/** The number of the log record at `key`. */
export function logRecordNumber(key: Uint8Array): number {
  return Number(
    Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(storageReservedPrefix.byteLength),
  );
}

/** The batches' writes, in order, as one record. */
export function encodeLogRecord(batches: ReadonlyArray<readonly StorageWrite[]>): Buffer {
  let bytes = HEADER_BYTES;
  let writes = 0;
  for (const batch of batches) {
    for (const write of batch) {
      writes += 1;
      bytes += 1 + 2 + write.key.byteLength + (write.kind === 'put' ? 4 + write.value.byteLength : 0);
    }
  }
  const record = Buffer.allocUnsafe(bytes);
  record.writeUInt32BE(writes, 4);
  let offset = HEADER_BYTES;
  for (const batch of batches) {
    for (const write of batch) {
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
  record.writeUInt32BE(crc32(record.subarray(4)), 0);
  return record;
}

/**
 * The writes of a record, in order; the values are copies. Throws an 'io-error' StorageError
 * when the record is damaged (a checksum mismatch or a length that runs past its end).
 */
export function decodeLogRecord(recordNumber: number, record: Uint8Array): StorageWrite[] {
  const buffer = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const damaged = (): StorageError =>
    new StorageError('io-error', `write log record ${recordNumber} is damaged`);
  if (buffer.byteLength < HEADER_BYTES || buffer.readUInt32BE(0) !== crc32(buffer.subarray(4)))
    throw damaged();
  const count = buffer.readUInt32BE(4);
  const writes: StorageWrite[] = [];
  let offset = HEADER_BYTES;
  const take = (length: number): Uint8Array => {
    if (offset + length > buffer.byteLength) throw damaged();
    const bytes = new Uint8Array(buffer.subarray(offset, offset + length));
    offset += length;
    return bytes;
  };
  const length = (bytes: 2 | 4): number => {
    if (offset + bytes > buffer.byteLength) throw damaged();
    const value = bytes === 2 ? buffer.readUInt16BE(offset) : buffer.readUInt32BE(offset);
    offset += bytes;
    return value;
  };
  for (let i = 0; i < count; i += 1) {
    const kind = take(1)[0];
    const key = take(length(2));
    if (kind === KIND_DELETE) writes.push({ kind: 'delete', key });
    else if (kind === KIND_PUT) writes.push({ kind: 'put', key, value: take(length(4)) });
    else throw damaged();
  }
  if (offset !== buffer.byteLength) throw damaged();
  return writes;
}
