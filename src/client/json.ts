// The SDK side of the API's JSON: values to {"bytes"}/{"int"}/{"bool"} and back, conditions
// and writes to their wire objects, and decoding of reads and scan entries.
import type { Value } from '../model/index.ts';
import type { ConditionInput, ReadOutcome, ScanEntry, ValueInput, WriteInput } from './types.ts';

const utf8 = new TextEncoder();

export function toValue(input: ValueInput): Value {
  return typeof input === 'string' ? utf8.encode(input) : input;
}

export function encodeValue(input: ValueInput): Record<string, unknown> {
  const value = toValue(input);
  if (typeof value === 'bigint') return { int: value.toString() };
  if (typeof value === 'boolean') return { bool: value };
  return { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
}

/** Decodes a response value; undefined when it is not one of the documented forms. */
export function decodeValue(candidate: unknown): Value | undefined {
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  const record = candidate as Record<string, unknown>;
  if (typeof record.bytes === 'string') return new Uint8Array(Buffer.from(record.bytes, 'base64'));
  if (typeof record.int === 'string' && /^-?\d+$/.test(record.int)) return BigInt(record.int);
  if (typeof record.bool === 'boolean') return record.bool;
  if (typeof record.string === 'string') return utf8.encode(record.string);
  return undefined;
}

export function encodeCondition(condition: ConditionInput): Record<string, unknown> {
  switch (condition.kind) {
    case 'exists':
    case 'absent':
      return { kind: condition.kind, key: condition.key };
    case 'equals':
      return { kind: 'equals', key: condition.key, value: encodeValue(condition.value) };
    case 'version-equals':
      return { kind: 'version-equals', key: condition.key, version: condition.version };
    case 'compare':
      return { ...condition, operand: condition.operand.toString() };
  }
}

export function encodeWrite(write: WriteInput): Record<string, unknown> {
  switch (write.kind) {
    case 'put':
      return { kind: 'put', key: write.key, value: encodeValue(write.value) };
    case 'delete':
      return { kind: 'delete', key: write.key };
    case 'increment':
      return { kind: 'increment', key: write.key, delta: write.delta.toString() };
  }
}

function isRecord(candidate: unknown): candidate is Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate);
}

export function decodeRead(candidate: unknown): ReadOutcome | undefined {
  if (!isRecord(candidate) || typeof candidate.key !== 'string') return undefined;
  if (candidate.found !== true) return { key: candidate.key, found: false };
  const value = decodeValue(candidate.value);
  if (value === undefined || typeof candidate.version !== 'number') return undefined;
  return { key: candidate.key, found: true, value, version: candidate.version };
}

export function decodeEntry(candidate: unknown): ScanEntry | undefined {
  if (!isRecord(candidate) || typeof candidate.key !== 'string' || typeof candidate.version !== 'number') {
    return undefined;
  }
  const value = decodeValue(candidate.value);
  return value === undefined ? undefined : { key: candidate.key, value, version: candidate.version };
}

/** Decodes an array with `decode`, or undefined if any item does not decode. */
export function decodeAll<T>(candidate: unknown, decode: (item: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(candidate)) return undefined;
  const items: T[] = [];
  for (const item of candidate) {
    const decoded = decode(item);
    if (decoded === undefined) return undefined;
    items.push(decoded);
  }
  return items;
}
