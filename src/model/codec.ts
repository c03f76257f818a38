// The canonical binary encoding of values, operations, results and state snapshots:
// fixed-order tuples behind a format version byte. Encoding is deterministic (same input,
// same bytes); decoding accepts only canonical bytes and reports every other input as a
// typed `DecodeError`, never an exception.
import {
  ByteReader,
  ByteWriter,
  DecodeFailure,
  readList,
  readOptionalKey,
  writeList,
  writeOptionalKey,
} from './codec-io.ts';
import type { DecodeReason } from './codec-io.ts';
import { FORMAT_VERSION } from './operation.ts';
import type { Condition, Operation, Scan, ScanRange, Transaction, Write } from './operation.ts';
import type { OperationResult } from './result.ts';
import { readResult, writeResult } from './result-codec.ts';
import { readSnapshot, writeSnapshot } from './snapshot-codec.ts';
import type { ModelState } from './state.ts';
import type { Value } from './value.ts';
import { readValue, writeValue } from './value-codec.ts';

export type { DecodeReason } from './codec-io.ts';

export interface DecodeError {
  readonly kind: 'decode-error';
  readonly field: string;
  readonly offset: number;
  readonly reason: DecodeReason;
  readonly message: string;
}

export type Decoded<T> = { readonly kind: 'decoded'; readonly value: T } | DecodeError;

const CONDITION_TAGS = ['exists', 'absent', 'equals', 'version-equals', 'lt', 'le', 'gt', 'ge'] as const;
const WRITE_TAGS = ['put', 'delete', 'increment'] as const;

function withVersion(write: (writer: ByteWriter) => void): Uint8Array {
  const writer = new ByteWriter();
  writer.byte(FORMAT_VERSION);
  write(writer);
  return writer.finish();
}

/** Runs a reader over the whole input behind the version byte; failures become values. */
function decodeWhole<T>(input: Uint8Array, read: (reader: ByteReader) => T): Decoded<T> {
  const reader = new ByteReader(input);
  try {
    const version = reader.byte('formatVersion');
    if (version !== FORMAT_VERSION) reader.fail('formatVersion', 'unknown-version', `version ${version}`, 0);
    const value = read(reader);
    reader.end();
    return { kind: 'decoded', value };
  } catch (error) {
    if (!(error instanceof DecodeFailure)) throw error;
    const { field, offset, reason, message } = error;
    return { kind: 'decode-error', field, offset, reason, message };
  }
}

export function encodeValue(value: Value): Uint8Array {
  return withVersion((writer) => writeValue(writer, value));
}

export function decodeValue(input: Uint8Array): Decoded<Value> {
  return decodeWhole(input, (reader) => readValue(reader, 'value'));
}

function writeCondition(writer: ByteWriter, condition: Condition): void {
  const tag = condition.kind === 'compare' ? condition.comparison : condition.kind;
  writer.byte(CONDITION_TAGS.indexOf(tag));
  writer.text(condition.key);
  switch (condition.kind) {
    case 'exists':
    case 'absent':
      return;
    case 'equals':
      return writeValue(writer, condition.value);
    case 'version-equals':
      writer.uint(condition.version);
      return;
    case 'compare':
      writer.bigint(condition.operand);
      return;
  }
}

function readCondition(reader: ByteReader, field: string): Condition {
  const start = reader.position;
  const tag = CONDITION_TAGS[reader.byte(`${field}.kind`)];
  if (tag === undefined) return reader.fail(`${field}.kind`, 'unknown-tag', 'condition tag', start);
  const key = reader.text(`${field}.key`);
  switch (tag) {
    case 'exists':
    case 'absent':
      return { kind: tag, key };
    case 'equals':
      return { kind: 'equals', key, value: readValue(reader, `${field}.value`) };
    case 'version-equals':
      return { kind: 'version-equals', key, version: reader.uint(`${field}.version`) };
    default:
      return { kind: 'compare', key, comparison: tag, operand: reader.bigint(`${field}.operand`) };
  }
}

function writeWrite(writer: ByteWriter, write: Write): void {
  writer.byte(WRITE_TAGS.indexOf(write.kind));
  writer.text(write.key);
  switch (write.kind) {
    case 'put':
      return writeValue(writer, write.value);
    case 'delete':
      return;
    case 'increment':
      writer.bigint(write.delta);
      return;
  }
}

function readWrite(reader: ByteReader, field: string): Write {
  const start = reader.position;
  const tag = WRITE_TAGS[reader.byte(`${field}.kind`)];
  if (tag === undefined) return reader.fail(`${field}.kind`, 'unknown-tag', 'write tag', start);
  const key = reader.text(`${field}.key`);
  switch (tag) {
    case 'put':
      return { kind: 'put', key, value: readValue(reader, `${field}.value`) };
    case 'delete':
      return { kind: 'delete', key };
    case 'increment':
      return { kind: 'increment', key, delta: reader.bigint(`${field}.delta`) };
  }
}

function writeTransaction(writer: ByteWriter, transaction: Transaction): void {
  writeList(writer, transaction.reads, (key) => writer.text(key));
  writeList(writer, transaction.conditions, (condition) => writeCondition(writer, condition));
  writeList(writer, transaction.writes, (write) => writeWrite(writer, write));
}

function readTransaction(reader: ByteReader): Transaction {
  const reads = readList(reader, 'reads', (field) => reader.text(field));
  const conditions = readList(reader, 'conditions', (field) => readCondition(reader, field));
  const writes = readList(reader, 'writes', (field) => readWrite(reader, field));
  return { kind: 'transaction', formatVersion: FORMAT_VERSION, reads, conditions, writes };
}

function writeScan(writer: ByteWriter, scan: Scan): void {
  if (scan.range.kind === 'range') {
    writer.byte(0);
    writer.text(scan.range.start);
    writeOptionalKey(writer, scan.range.end);
  } else {
    writer.byte(1);
    writer.text(scan.range.prefix);
  }
  writer.uint(scan.limit);
  writeOptionalKey(writer, scan.cursor);
}

function readScanRange(reader: ByteReader): ScanRange {
  const start = reader.position;
  const tag = reader.byte('range.kind');
  if (tag === 1) return { kind: 'prefix', prefix: reader.text('range.prefix') };
  if (tag !== 0) return reader.fail('range.kind', 'unknown-tag', `range tag ${tag}`, start);
  const rangeStart = reader.text('range.start');
  const end = readOptionalKey(reader, 'range.end');
  return end === undefined ? { kind: 'range', start: rangeStart } : { kind: 'range', start: rangeStart, end };
}

function readScan(reader: ByteReader): Scan {
  const range = readScanRange(reader);
  const limit = reader.uint('limit');
  const cursor = readOptionalKey(reader, 'cursor');
  const base = { kind: 'scan', formatVersion: FORMAT_VERSION, range, limit } as const;
  return cursor === undefined ? base : { ...base, cursor };
}

/** Encodes an operation of the current format (anything else is a programmer error). */
export function encodeOperation(operation: Operation): Uint8Array {
  if (operation.formatVersion !== FORMAT_VERSION) {
    throw new RangeError(`cannot encode format version ${operation.formatVersion}`);
  }
  return withVersion((writer) => {
    switch (operation.kind) {
      case 'transaction':
        writer.byte(0);
        return writeTransaction(writer, operation);
      case 'scan':
        writer.byte(1);
        return writeScan(writer, operation);
    }
  });
}

/** Decodes an operation's shape; `validate` still checks its limits before proposal. */
export function decodeOperation(input: Uint8Array): Decoded<Operation> {
  return decodeWhole(input, (reader): Operation => {
    const start = reader.position;
    const tag = reader.byte('kind');
    if (tag === 0) return readTransaction(reader);
    if (tag === 1) return readScan(reader);
    return reader.fail('kind', 'unknown-tag', `operation tag ${tag}`, start);
  });
}

export function encodeResult(result: OperationResult): Uint8Array {
  return withVersion((writer) => writeResult(writer, result));
}

export function decodeResult(input: Uint8Array): Decoded<OperationResult> {
  return decodeWhole(input, (reader) => readResult(reader));
}

/** A whole state (limits, applied index, entries in key order, digest), for teaching. */
export function encodeSnapshot(state: ModelState): Uint8Array {
  return withVersion((writer) => writeSnapshot(writer, state));
}

/** Rebuilds a state; rejects unordered keys, entries over the limits and a wrong digest. */
export function decodeSnapshot(input: Uint8Array): Decoded<ModelState> {
  return decodeWhole(input, (reader) => readSnapshot(reader));
}
