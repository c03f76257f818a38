// The canonical encoding of operation results (reads, failures, scan pages, refusals).
import { readList, readOptionalKey, writeList, writeOptionalKey } from './codec-io.ts';
import type { ByteReader, ByteWriter } from './codec-io.ts';
import { logIndex } from './keys.ts';
import type {
  ConditionFailureReason,
  OperationResult,
  ReadResult,
  StoredEntry,
  TransactionFailure,
  WriteFailureReason,
} from './result.ts';
import { readValue, writeValue } from './value-codec.ts';

const RESULT_TAGS = ['committed', 'not-committed', 'scanned', 'rejected'] as const;
const FAILURE_TAGS = ['condition-failed', 'write-failed', 'partition-full'] as const;
const CONDITION_REASONS: readonly ConditionFailureReason[] = [
  'missing',
  'present',
  'not-equal',
  'version-mismatch',
  'not-an-integer',
  'comparison-false',
];
const WRITE_REASONS: readonly WriteFailureReason[] = ['not-an-integer', 'integer-overflow'];

function readTag<T>(reader: ByteReader, field: string, tags: readonly T[]): T {
  const start = reader.position;
  const tag = tags[reader.byte(field)];
  return tag ?? reader.fail(field, 'unknown-tag', `${field} tag`, start);
}

function writeRead(writer: ByteWriter, read: ReadResult): void {
  writer.text(read.key);
  writer.bool(read.found);
  if (read.found) {
    writeValue(writer, read.value);
    writer.uint(read.version);
  }
}

function readRead(reader: ByteReader, field: string): ReadResult {
  const key = reader.text(`${field}.key`);
  if (!reader.bool(`${field}.found`)) return { key, found: false };
  const value = readValue(reader, `${field}.value`);
  return { key, found: true, value, version: logIndex(reader.uint(`${field}.version`)) };
}

export function writeEntry(writer: ByteWriter, entry: StoredEntry): void {
  writer.text(entry.key);
  writeValue(writer, entry.value);
  writer.uint(entry.version);
}

export function readEntry(reader: ByteReader, field: string): StoredEntry {
  const key = reader.text(`${field}.key`);
  const value = readValue(reader, `${field}.value`);
  return { key, value, version: logIndex(reader.uint(`${field}.version`)) };
}

function writeFailure(writer: ByteWriter, failure: TransactionFailure): void {
  writer.byte(FAILURE_TAGS.indexOf(failure.kind));
  switch (failure.kind) {
    case 'condition-failed':
    case 'write-failed':
      writer.uint(failure.index);
      writer.text(failure.key);
      writer.byte(
        failure.kind === 'condition-failed'
          ? CONDITION_REASONS.indexOf(failure.reason)
          : WRITE_REASONS.indexOf(failure.reason),
      );
      return;
    case 'partition-full':
      writer.uint(failure.partitionBytes);
      writer.uint(failure.partitionBytesMax);
      return;
  }
}

function readFailure(reader: ByteReader): TransactionFailure {
  const kind = readTag(reader, 'failure.kind', FAILURE_TAGS);
  if (kind === 'partition-full') {
    const partitionBytes = reader.uint('failure.partitionBytes');
    return { kind, partitionBytes, partitionBytesMax: reader.uint('failure.partitionBytesMax') };
  }
  const index = reader.uint('failure.index');
  const key = reader.text('failure.key');
  if (kind === 'condition-failed') {
    return { kind, index, key, reason: readTag(reader, 'failure.reason', CONDITION_REASONS) };
  }
  return { kind, index, key, reason: readTag(reader, 'failure.reason', WRITE_REASONS) };
}

export function writeResult(writer: ByteWriter, result: OperationResult): void {
  writer.byte(RESULT_TAGS.indexOf(result.kind));
  switch (result.kind) {
    case 'committed':
      return writeList(writer, result.reads, (read) => writeRead(writer, read));
    case 'not-committed':
      writeList(writer, result.reads, (read) => writeRead(writer, read));
      return writeFailure(writer, result.failure);
    case 'scanned':
      writeList(writer, result.entries, (entry) => writeEntry(writer, entry));
      return writeOptionalKey(writer, result.nextCursor);
    case 'rejected':
      writer.text(result.error.field);
      writer.text(result.error.reason);
      writer.text(result.error.message);
      return;
  }
}

export function readResult(reader: ByteReader): OperationResult {
  const kind = readTag(reader, 'result.kind', RESULT_TAGS);
  switch (kind) {
    case 'committed':
      return { kind, reads: readList(reader, 'reads', (field) => readRead(reader, field)) };
    case 'not-committed': {
      const reads = readList(reader, 'reads', (field) => readRead(reader, field));
      return { kind, reads, failure: readFailure(reader) };
    }
    case 'scanned': {
      const entries = readList(reader, 'entries', (field) => readEntry(reader, field));
      const nextCursor = readOptionalKey(reader, 'nextCursor');
      return nextCursor === undefined ? { kind, entries } : { kind, entries, nextCursor };
    }
    case 'rejected': {
      const field = reader.text('error.field');
      const reason = reader.text('error.reason');
      return { kind, error: { kind: 'invalid', field, reason, message: reader.text('error.message') } };
    }
  }
}
