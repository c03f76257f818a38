// What applying an operation reports: committed or not (and exactly why not), a scan
// page, or a refusal of an operation that did not pass validation.
import type { Key, LogIndex } from './keys.ts';
import type { Value } from './value.ts';

/** A rejected operation: the field at fault (e.g. `writes[2].key`) and why. */
export interface InvalidOperation {
  readonly kind: 'invalid';
  readonly field: string;
  readonly reason: string;
  readonly message: string;
}

/** One key as read at the transaction's log position (before its own writes). */
export type ReadResult =
  | { readonly key: Key; readonly found: true; readonly value: Value; readonly version: LogIndex }
  | { readonly key: Key; readonly found: false };

export type ConditionFailureReason =
  'missing' | 'present' | 'not-equal' | 'version-mismatch' | 'not-an-integer' | 'comparison-false';

export type WriteFailureReason = 'not-an-integer' | 'integer-overflow';

/** Why a valid transaction wrote nothing. */
export type TransactionFailure =
  | {
      readonly kind: 'condition-failed';
      readonly index: number;
      readonly key: Key;
      readonly reason: ConditionFailureReason;
    }
  | {
      readonly kind: 'write-failed';
      readonly index: number;
      readonly key: Key;
      readonly reason: WriteFailureReason;
    }
  | { readonly kind: 'partition-full'; readonly partitionBytes: number; readonly partitionBytesMax: number };

export interface StoredEntry {
  readonly key: Key;
  readonly value: Value;
  readonly version: LogIndex;
}

export type OperationResult =
  | { readonly kind: 'committed'; readonly reads: readonly ReadResult[] }
  | {
      readonly kind: 'not-committed';
      readonly reads: readonly ReadResult[];
      readonly failure: TransactionFailure;
    }
  | { readonly kind: 'scanned'; readonly entries: readonly StoredEntry[]; readonly nextCursor?: Key }
  | { readonly kind: 'rejected'; readonly error: InvalidOperation };
