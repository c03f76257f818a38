// The JSON wire form of the HTTP API: values ({"bytes"}, {"int"}, {"bool"}, {"string"}),
// transactions, scans and results, with decoders that name the field at fault.
import type {
  Condition,
  Key,
  OperationResult,
  ReadResult,
  ScanRange,
  StoredEntry,
  Value,
  Write,
} from '../model/index.ts';
import { scan, transaction } from '../model/index.ts';
import type { Operation } from '../model/index.ts';
import type { Consistency } from '../cell/index.ts';

/** A value as JSON. Responses carry `bytes` and, when the bytes are UTF-8 text, `string` too. */
export type JsonValue =
  | { readonly bytes: string; readonly string?: string }
  | { readonly int: string }
  | { readonly bool: boolean }
  | { readonly string: string };

/** A request field that failed to decode: its path (`writes[0].value`) and why. */
export interface FieldError {
  readonly kind: 'field-error';
  readonly field: string;
  readonly message: string;
}

export type Decoded<T> = { readonly kind: 'ok'; readonly value: T } | FieldError;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

/** Most characters of a decimal integer accepted before parsing (the model bounds the bits). */
export const decimalCharsMax = 100;

function fail(field: string, message: string): FieldError {
  return { kind: 'field-error', field, message: `${field}: ${message}` };
}

function ok<T>(value: T): Decoded<T> {
  return { kind: 'ok', value };
}

function isRecord(candidate: unknown): candidate is Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate);
}

/** Decodes an integer written as a decimal string (or a safe JSON integer). */
export function decodeBigint(candidate: unknown, field: string): Decoded<bigint> {
  if (typeof candidate === 'number' && Number.isSafeInteger(candidate)) return ok(BigInt(candidate));
  if (typeof candidate !== 'string' || candidate.length > decimalCharsMax || !/^-?\d+$/.test(candidate)) {
    return fail(field, 'expected a decimal integer string, e.g. "42"');
  }
  return ok(BigInt(candidate));
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes one JSON value object into a model value. */
export function decodeValue(candidate: unknown, field: string): Decoded<Value> {
  if (!isRecord(candidate)) return fail(field, 'expected {"bytes"|"int"|"bool"|"string": ...}');
  const keys = Object.keys(candidate);
  if (keys.length !== 1) return fail(field, 'expected exactly one of "bytes", "int", "bool", "string"');
  if ('bytes' in candidate) {
    const text = candidate.bytes;
    if (typeof text !== 'string' || !base64Pattern.test(text))
      return fail(`${field}.bytes`, 'expected base64');
    return ok(new Uint8Array(Buffer.from(text, 'base64')));
  }
  if ('int' in candidate) return decodeBigint(candidate.int, `${field}.int`);
  if ('bool' in candidate) {
    if (typeof candidate.bool !== 'boolean') return fail(`${field}.bool`, 'expected true or false');
    return ok(candidate.bool);
  }
  if ('string' in candidate) {
    if (typeof candidate.string !== 'string') return fail(`${field}.string`, 'expected a string');
    return ok(utf8.encode(candidate.string));
  }
  return fail(field, 'expected exactly one of "bytes", "int", "bool", "string"');
}

/** Encodes a model value; bytes that are valid UTF-8 also carry their text. */
export function encodeValue(value: Value): JsonValue {
  if (typeof value === 'bigint') return { int: value.toString() };
  if (typeof value === 'boolean') return { bool: value };
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  try {
    return { bytes, string: utf8Strict.decode(value) };
  } catch {
    return { bytes };
  }
}

function decodeKey(candidate: unknown, field: string): Decoded<Key> {
  if (typeof candidate !== 'string') return fail(field, 'expected a string key');
  return ok(candidate);
}

function decodeArray<T>(
  candidate: unknown,
  field: string,
  itemsMax: number,
  decodeItem: (item: unknown, field: string) => Decoded<T>,
): Decoded<T[]> {
  if (candidate === undefined) return ok([]);
  if (!Array.isArray(candidate)) return fail(field, 'expected an array');
  if (candidate.length > itemsMax) return fail(field, `at most ${itemsMax} items`);
  const items: T[] = [];
  for (const [index, item] of candidate.entries()) {
    const decoded = decodeItem(item, `${field}[${index}]`);
    if (decoded.kind !== 'ok') return decoded;
    items.push(decoded.value);
  }
  return ok(items);
}

const comparisons = ['lt', 'le', 'gt', 'ge'] as const;

function decodeCondition(candidate: unknown, field: string): Decoded<Condition> {
  if (!isRecord(candidate)) return fail(field, 'expected an object');
  const key = decodeKey(candidate.key, `${field}.key`);
  if (key.kind !== 'ok') return key;
  switch (candidate.kind) {
    case 'exists':
    case 'absent':
      return ok({ kind: candidate.kind, key: key.value });
    case 'equals': {
      const value = decodeValue(candidate.value, `${field}.value`);
      return value.kind === 'ok' ? ok({ kind: 'equals', key: key.value, value: value.value }) : value;
    }
    case 'version-equals': {
      const version = candidate.version;
      if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
        return fail(`${field}.version`, 'expected a non-negative integer');
      }
      return ok({ kind: 'version-equals', key: key.value, version });
    }
    case 'compare': {
      const comparison = comparisons.find((name) => name === candidate.comparison);
      if (comparison === undefined) return fail(`${field}.comparison`, 'expected lt, le, gt or ge');
      const operand = decodeBigint(candidate.operand, `${field}.operand`);
      if (operand.kind !== 'ok') return operand;
      return ok({ kind: 'compare', key: key.value, comparison, operand: operand.value });
    }
    default:
      return fail(`${field}.kind`, 'expected exists, absent, equals, version-equals or compare');
  }
}

function decodeWrite(candidate: unknown, field: string): Decoded<Write> {
  if (!isRecord(candidate)) return fail(field, 'expected an object');
  const key = decodeKey(candidate.key, `${field}.key`);
  if (key.kind !== 'ok') return key;
  switch (candidate.kind) {
    case 'put': {
      const value = decodeValue(candidate.value, `${field}.value`);
      return value.kind === 'ok' ? ok({ kind: 'put', key: key.value, value: value.value }) : value;
    }
    case 'delete':
      return ok({ kind: 'delete', key: key.value });
    case 'increment': {
      const delta = decodeBigint(candidate.delta ?? '1', `${field}.delta`);
      return delta.kind === 'ok' ? ok({ kind: 'increment', key: key.value, delta: delta.value }) : delta;
    }
    default:
      return fail(`${field}.kind`, 'expected put, delete or increment');
  }
}

/** Entries of reads/conditions/writes accepted by the decoder (the model's limit is lower). */
export const transactionItemsMax = 1024;

/** How a read is served, and the client's session token for eventual reads. */
export interface ReadOptions {
  readonly consistency: Consistency;
  readonly sessionIndex?: number;
}

function decodeReadOptions(body: Record<string, unknown>): Decoded<ReadOptions> {
  const consistency = body.consistency ?? 'consistent';
  if (consistency !== 'consistent' && consistency !== 'eventual') {
    return fail('consistency', 'expected "consistent" or "eventual"');
  }
  const sessionIndex = body.sessionIndex;
  if (sessionIndex === undefined) return ok({ consistency });
  if (typeof sessionIndex !== 'number' || !Number.isSafeInteger(sessionIndex) || sessionIndex < 0) {
    return fail('sessionIndex', 'expected a non-negative integer');
  }
  return ok({ consistency, sessionIndex });
}

/** Decodes `{reads, conditions, writes, consistency?, sessionIndex?}`. */
export function decodeTransactionBody(
  body: unknown,
): Decoded<{ operation: Operation; options: ReadOptions }> {
  if (!isRecord(body)) return fail('body', 'expected a JSON object');
  const reads = decodeArray(body.reads, 'reads', transactionItemsMax, decodeKey);
  if (reads.kind !== 'ok') return reads;
  const conditions = decodeArray(body.conditions, 'conditions', transactionItemsMax, decodeCondition);
  if (conditions.kind !== 'ok') return conditions;
  const writes = decodeArray(body.writes, 'writes', transactionItemsMax, decodeWrite);
  if (writes.kind !== 'ok') return writes;
  const options = decodeReadOptions(body);
  if (options.kind !== 'ok') return options;
  const operation = transaction({ reads: reads.value, conditions: conditions.value, writes: writes.value });
  return ok({ operation, options: options.value });
}

/** Default page size of a scan when the request names none. */
export const scanLimitDefault = 100;

/** Decodes `{prefix} | {start, end?}` with `limit?`, `cursor?`, `consistency?`, `sessionIndex?`. */
export function decodeScanBody(body: unknown): Decoded<{ operation: Operation; options: ReadOptions }> {
  if (!isRecord(body)) return fail('body', 'expected a JSON object');
  let range: ScanRange;
  if (body.prefix !== undefined) {
    if (body.start !== undefined || body.end !== undefined)
      return fail('prefix', 'give prefix or start/end, not both');
    const prefix = decodeKey(body.prefix, 'prefix');
    if (prefix.kind !== 'ok') return prefix;
    range = { kind: 'prefix', prefix: prefix.value };
  } else {
    const start = decodeKey(body.start ?? '', 'start');
    if (start.kind !== 'ok') return start;
    if (body.end === undefined) range = { kind: 'range', start: start.value };
    else {
      const end = decodeKey(body.end, 'end');
      if (end.kind !== 'ok') return end;
      range = { kind: 'range', start: start.value, end: end.value };
    }
  }
  const limit = body.limit ?? scanLimitDefault;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    return fail('limit', 'expected a positive integer');
  }
  let cursor: Key | undefined;
  if (body.cursor !== undefined) {
    const decoded = decodeKey(body.cursor, 'cursor');
    if (decoded.kind !== 'ok') return decoded;
    cursor = decoded.value;
  }
  const options = decodeReadOptions(body);
  if (options.kind !== 'ok') return options;
  return ok({ operation: scan(range, limit, cursor), options: options.value });
}

export interface JsonRead {
  readonly key: Key;
  readonly found: boolean;
  readonly value?: JsonValue;
  readonly version?: number;
}

function encodeRead(read: ReadResult): JsonRead {
  return read.found
    ? { key: read.key, found: true, value: encodeValue(read.value), version: read.version }
    : { key: read.key, found: false };
}

function encodeEntry(entry: StoredEntry): { key: Key; value: JsonValue; version: number } {
  return { key: entry.key, value: encodeValue(entry.value), version: entry.version };
}

/** The 200 body of a transaction or scan (a `rejected` result is mapped to 400 by the caller). */
export function encodeResultBody(
  result: Exclude<OperationResult, { kind: 'rejected' }>,
  index: number,
): Record<string, unknown> {
  switch (result.kind) {
    case 'committed':
      return { committed: true, index, reads: result.reads.map(encodeRead) };
    case 'not-committed':
      return { committed: false, index, reads: result.reads.map(encodeRead), failure: result.failure };
    case 'scanned':
      return {
        index,
        entries: result.entries.map(encodeEntry),
        ...(result.nextCursor === undefined ? {} : { nextCursor: result.nextCursor }),
      };
  }
}
