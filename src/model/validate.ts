// Validation before proposal: shape, every limit, no two writes to one key, known format
// version and operation kind. Anything that passes can be applied without failing
// (paper §3.3: no poison pills); anything that fails names the field at fault.
import { isWellFormedUnicode, utf8ByteLength } from './keys.ts';
import type { ModelLimits } from './limits.ts';
import { FORMAT_VERSION } from './operation.ts';
import type { Operation, Scan, Transaction } from './operation.ts';
import type { InvalidOperation } from './result.ts';
import { integerFits, isValue, valuePayloadBytes } from './value.ts';

export type ValidationResult = { readonly kind: 'valid'; readonly operation: Operation } | InvalidOperation;

export function invalid(field: string, reason: string): InvalidOperation {
  return { kind: 'invalid', field, reason, message: `${field}: ${reason}` };
}

type Check = InvalidOperation | undefined;

/** Names a hostile field value without ever throwing (JSON.stringify throws on bigint). */
function describe(candidate: unknown): string {
  return typeof candidate === 'string' || typeof candidate === 'number'
    ? JSON.stringify(candidate)
    : typeof candidate;
}

function isRecord(candidate: unknown): candidate is Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate);
}

/** Checks a key; returns its UTF-8 byte length or the error. */
function checkKey(candidate: unknown, field: string, limits: ModelLimits): InvalidOperation | number {
  if (typeof candidate !== 'string') return invalid(field, 'key must be a string');
  if (!isWellFormedUnicode(candidate))
    return invalid(field, 'key must be well-formed Unicode (no lone surrogates)');
  const bytes = utf8ByteLength(candidate);
  if (bytes > limits.keyBytesMax)
    return invalid(field, `key is ${bytes} bytes, over keyBytesMax ${limits.keyBytesMax}`);
  return bytes;
}

function checkInteger(candidate: unknown, field: string, limits: ModelLimits): Check {
  if (typeof candidate !== 'bigint') return invalid(field, 'must be a bigint');
  if (!integerFits(candidate, limits.integerBitsMax)) {
    return invalid(field, `integer magnitude is not below 2^${limits.integerBitsMax} (integerBitsMax)`);
  }
  return undefined;
}

/** Checks a value; returns its payload bytes or the error. */
function checkValue(candidate: unknown, field: string, limits: ModelLimits): InvalidOperation | number {
  if (!isValue(candidate)) return invalid(field, 'value must be a Uint8Array, a bigint or a boolean');
  if (typeof candidate === 'bigint') {
    const error = checkInteger(candidate, field, limits);
    if (error !== undefined) return error;
  }
  const bytes = valuePayloadBytes(candidate);
  if (bytes > limits.valueBytesMax) {
    return invalid(field, `value is ${bytes} bytes, over valueBytesMax ${limits.valueBytesMax}`);
  }
  return bytes;
}

function checkList(
  candidate: unknown,
  field: string,
  limits: ModelLimits,
): InvalidOperation | readonly unknown[] {
  if (!Array.isArray(candidate)) return invalid(field, 'must be an array');
  if (candidate.length > limits.keysPerTransactionMax) {
    return invalid(
      field,
      `${candidate.length} entries, over keysPerTransactionMax ${limits.keysPerTransactionMax}`,
    );
  }
  return candidate as readonly unknown[];
}

/** Running totals over one transaction: distinct keys and payload bytes. */
class TransactionTally {
  readonly keys = new Set<string>();
  bytes = 0;
}

function checkRead(
  candidate: unknown,
  field: string,
  limits: ModelLimits,
  tally: TransactionTally,
  reads: Set<string>,
): Check {
  const keyBytes = checkKey(candidate, field, limits);
  if (typeof keyBytes !== 'number') return keyBytes;
  const key = candidate as string;
  if (reads.has(key)) return invalid(field, `duplicate read of key ${JSON.stringify(key)}`);
  reads.add(key);
  tally.keys.add(key);
  tally.bytes += keyBytes;
  return undefined;
}

function checkConditionOperand(
  condition: Record<string, unknown>,
  field: string,
  limits: ModelLimits,
): InvalidOperation | number {
  switch (condition['kind']) {
    case 'exists':
    case 'absent':
      return 0;
    case 'equals':
      return checkValue(condition['value'], `${field}.value`, limits);
    case 'version-equals': {
      const version = condition['version'];
      if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
        return invalid(`${field}.version`, 'version must be a non-negative safe integer');
      }
      return 0;
    }
    case 'compare': {
      const comparison = condition['comparison'];
      if (comparison !== 'lt' && comparison !== 'le' && comparison !== 'gt' && comparison !== 'ge') {
        return invalid(`${field}.comparison`, 'comparison must be one of lt, le, gt, ge');
      }
      return checkInteger(condition['operand'], `${field}.operand`, limits) ?? 0;
    }
    default:
      return invalid(`${field}.kind`, `unknown condition kind ${describe(condition['kind'])}`);
  }
}

function checkCondition(
  candidate: unknown,
  field: string,
  limits: ModelLimits,
  tally: TransactionTally,
): Check {
  if (!isRecord(candidate)) return invalid(field, 'condition must be an object');
  const operandBytes = checkConditionOperand(candidate, field, limits);
  if (typeof operandBytes !== 'number') return operandBytes;
  const keyBytes = checkKey(candidate['key'], `${field}.key`, limits);
  if (typeof keyBytes !== 'number') return keyBytes;
  tally.keys.add(candidate['key'] as string);
  tally.bytes += keyBytes + operandBytes;
  return undefined;
}

function checkWriteOperand(
  write: Record<string, unknown>,
  field: string,
  limits: ModelLimits,
): InvalidOperation | number {
  switch (write['kind']) {
    case 'put':
      return checkValue(write['value'], `${field}.value`, limits);
    case 'delete':
      return 0;
    case 'increment':
      return checkInteger(write['delta'], `${field}.delta`, limits) ?? 0;
    default:
      return invalid(`${field}.kind`, `unknown write kind ${describe(write['kind'])}`);
  }
}

function checkWrite(
  candidate: unknown,
  field: string,
  limits: ModelLimits,
  tally: TransactionTally,
  written: Map<string, string>,
): Check {
  if (!isRecord(candidate)) return invalid(field, 'write must be an object');
  const operandBytes = checkWriteOperand(candidate, field, limits);
  if (typeof operandBytes !== 'number') return operandBytes;
  const keyBytes = checkKey(candidate['key'], `${field}.key`, limits);
  if (typeof keyBytes !== 'number') return keyBytes;
  const key = candidate['key'] as string;
  const earlier = written.get(key);
  if (earlier !== undefined)
    return invalid(`${field}.key`, `second write to key ${JSON.stringify(key)} (first at ${earlier})`);
  written.set(key, field);
  tally.keys.add(key);
  tally.bytes += keyBytes + operandBytes;
  return undefined;
}

function validateTransaction(candidate: Record<string, unknown>, limits: ModelLimits): Check {
  const reads = checkList(candidate['reads'], 'reads', limits);
  if (!Array.isArray(reads)) return reads as InvalidOperation;
  const conditions = checkList(candidate['conditions'], 'conditions', limits);
  if (!Array.isArray(conditions)) return conditions as InvalidOperation;
  const writes = checkList(candidate['writes'], 'writes', limits);
  if (!Array.isArray(writes)) return writes as InvalidOperation;
  const tally = new TransactionTally();
  const readKeys = new Set<string>();
  const written = new Map<string, string>();
  // Plain loops (this runs on every replica for every entry applied): no closures.
  for (let i = 0; i < reads.length; i++) {
    const error = checkRead(reads[i], `reads[${i}]`, limits, tally, readKeys);
    if (error !== undefined) return error;
  }
  for (let i = 0; i < conditions.length; i++) {
    const error = checkCondition(conditions[i], `conditions[${i}]`, limits, tally);
    if (error !== undefined) return error;
  }
  for (let i = 0; i < writes.length; i++) {
    const error = checkWrite(writes[i], `writes[${i}]`, limits, tally, written);
    if (error !== undefined) return error;
  }
  if (tally.keys.size > limits.keysPerTransactionMax) {
    return invalid(
      'keys',
      `${tally.keys.size} distinct keys, over keysPerTransactionMax ${limits.keysPerTransactionMax}`,
    );
  }
  if (tally.bytes > limits.transactionBytesMax) {
    return invalid(
      'transaction',
      `${tally.bytes} payload bytes, over transactionBytesMax ${limits.transactionBytesMax}`,
    );
  }
  return undefined;
}

function validateScanRange(range: unknown, limits: ModelLimits): Check {
  if (!isRecord(range)) return invalid('range', 'range must be an object');
  const keyError = (candidate: unknown, field: string): Check => {
    const result = checkKey(candidate, field, limits);
    return typeof result === 'number' ? undefined : result;
  };
  switch (range['kind']) {
    case 'range':
      return (
        keyError(range['start'], 'range.start') ??
        (range['end'] === undefined ? undefined : keyError(range['end'], 'range.end'))
      );
    case 'prefix':
      return keyError(range['prefix'], 'range.prefix');
    default:
      return invalid('range.kind', `unknown range kind ${describe(range['kind'])}`);
  }
}

function validateScan(candidate: Record<string, unknown>, limits: ModelLimits): Check {
  const rangeError = validateScanRange(candidate['range'], limits);
  if (rangeError !== undefined) return rangeError;
  const limit = candidate['limit'];
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > limits.scanLimitMax) {
    return invalid('limit', `limit must be an integer from 1 to scanLimitMax ${limits.scanLimitMax}`);
  }
  const cursor = candidate['cursor'];
  if (cursor === undefined) return undefined;
  const cursorBytes = checkKey(cursor, 'cursor', limits);
  return typeof cursorBytes === 'number' ? undefined : cursorBytes;
}

/** Validates an operation from anywhere (client, peer, log) against a cell's limits. */
export function validate(candidate: unknown, limits: ModelLimits): ValidationResult {
  if (!isRecord(candidate)) return invalid('operation', 'operation must be an object');
  if (candidate['formatVersion'] !== FORMAT_VERSION) {
    return invalid(
      'formatVersion',
      `unknown format version ${describe(candidate['formatVersion'])} (known: ${FORMAT_VERSION})`,
    );
  }
  let error: Check;
  switch (candidate['kind']) {
    case 'transaction':
      error = validateTransaction(candidate, limits);
      break;
    case 'scan':
      error = validateScan(candidate, limits);
      break;
    default:
      return invalid('kind', `unknown operation kind ${describe(candidate['kind'])}`);
  }
  return error ?? { kind: 'valid', operation: candidate as unknown as Transaction | Scan };
}
