// The operations a cell's log carries: a transaction that names every key up front, and a
// read-only paged scan. A tagged union, so the cell can add its own kinds beside these.
import type { Key } from './keys.ts';
import type { Value } from './value.ts';

/** The operation format this code understands; anything else is refused before proposal. */
export const FORMAT_VERSION = 1;

export type Comparison = 'lt' | 'le' | 'gt' | 'ge';

/** A condition on one key; all of a transaction's conditions must hold for it to commit. */
export type Condition =
  | { readonly kind: 'exists'; readonly key: Key }
  | { readonly kind: 'absent'; readonly key: Key }
  | { readonly kind: 'equals'; readonly key: Key; readonly value: Value }
  | { readonly kind: 'version-equals'; readonly key: Key; readonly version: number }
  | {
      readonly kind: 'compare';
      readonly key: Key;
      readonly comparison: Comparison;
      readonly operand: bigint;
    };

export type Write =
  | { readonly kind: 'put'; readonly key: Key; readonly value: Value }
  | { readonly kind: 'delete'; readonly key: Key }
  | { readonly kind: 'increment'; readonly key: Key; readonly delta: bigint };

/** Reads, conditions and writes, all evaluated at the transaction's log position. */
export interface Transaction {
  readonly kind: 'transaction';
  readonly formatVersion: number;
  readonly reads: readonly Key[];
  readonly conditions: readonly Condition[];
  readonly writes: readonly Write[];
}

/** Keys in [start, end) (no end: to the last key), or keys starting with `prefix`. */
export type ScanRange =
  | { readonly kind: 'range'; readonly start: Key; readonly end?: Key }
  | { readonly kind: 'prefix'; readonly prefix: Key };

/** One page of keys in order; `cursor` (from the previous page) resumes strictly after it. */
export interface Scan {
  readonly kind: 'scan';
  readonly formatVersion: number;
  readonly range: ScanRange;
  readonly limit: number;
  readonly cursor?: Key;
}

export type Operation = Transaction | Scan;

/** Builds a transaction of the current format; omitted parts are empty. */
export function transaction(parts: {
  reads?: readonly Key[];
  conditions?: readonly Condition[];
  writes?: readonly Write[];
}): Transaction {
  return {
    kind: 'transaction',
    formatVersion: FORMAT_VERSION,
    reads: parts.reads ?? [],
    conditions: parts.conditions ?? [],
    writes: parts.writes ?? [],
  };
}

/** Builds a scan of the current format. */
export function scan(range: ScanRange, limit: number, cursor?: Key): Scan {
  const base = { kind: 'scan', formatVersion: FORMAT_VERSION, range, limit } as const;
  return cursor === undefined ? base : { ...base, cursor };
}
