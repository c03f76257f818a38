// The public surface of the data model: values, keys, limits, operations, validation,
// the deterministic apply, the cell state with its digest, and the canonical codec.
export type { Key, LogIndex, PartitionKey } from './keys.ts';
export { compareKeys, logIndex, partitionKey, utf8ByteLength } from './keys.ts';
export type { ModelLimits } from './limits.ts';
export { DEFAULT_MODEL_LIMITS } from './limits.ts';
export type { Value } from './value.ts';
export { valueEquals } from './value.ts';
export type { Comparison, Condition, Operation, Scan, ScanRange, Transaction, Write } from './operation.ts';
export { FORMAT_VERSION, scan, transaction } from './operation.ts';
export type {
  ConditionFailureReason,
  InvalidOperation,
  OperationResult,
  ReadResult,
  StoredEntry,
  TransactionFailure,
  WriteFailureReason,
} from './result.ts';
export type { ValidationResult } from './validate.ts';
export { validate } from './validate.ts';
export type { ApplyOutcome } from './apply.ts';
export { apply, scanPage } from './apply.ts';
export type { ModelState } from './state.ts';
export {
  allEntries,
  createState,
  ENTRY_OVERHEAD_BYTES,
  entryBytes,
  getEntry,
  stateDigestHex,
} from './state.ts';
export type { DecodeError, DecodeReason, Decoded } from './codec.ts';
export {
  decodeOperation,
  decodeResult,
  decodeSnapshot,
  decodeValue,
  encodeOperation,
  encodeResult,
  encodeSnapshot,
  encodeValue,
} from './codec.ts';
/** The canonical byte writer (shortest LEB128, length-prefixed bytes and UTF-8), shared by every layer's codec. */
export { ByteWriter } from './codec-io.ts';
