// The deterministic state machine of one cell: apply(state, operation, logIndex) is total
// (every input has a defined outcome, docs/semantics.md) and pure (it returns a new state;
// the old one is untouched). A transaction commits whole or writes nothing.
import { compareKeys } from './keys.ts';
import type { Key, LogIndex } from './keys.ts';
import type { Condition, Operation, Scan, Transaction, Write } from './operation.ts';
import { treeDelete, treeGet, treeSet, treeVisitFrom } from './ordered-map.ts';
import type { Tree } from './ordered-map.ts';
import type {
  ConditionFailureReason,
  OperationResult,
  ReadResult,
  StoredEntry,
  TransactionFailure,
} from './result.ts';
import { digestAdd, digestRemove, makeEntry } from './state.ts';
import type { EntryRecord, ModelState } from './state.ts';
import { validate } from './validate.ts';
import { integerFits, valueEquals } from './value.ts';

export interface ApplyOutcome {
  readonly state: ModelState;
  readonly result: OperationResult;
}

/**
 * Applies one operation at `logIndex`. An operation that fails validation is reported as
 * `rejected` and changes nothing but `appliedIndex`. `logIndex` must exceed
 * `state.appliedIndex` (a programmer error otherwise: the cell applies its log in order).
 */
export function apply(state: ModelState, operation: Operation, logIndex: LogIndex): ApplyOutcome {
  if (!(logIndex > state.appliedIndex)) {
    throw new RangeError(
      `apply at log index ${logIndex} after ${state.appliedIndex}: the log applies in order`,
    );
  }
  const advanced: ModelState = { ...state, appliedIndex: logIndex };
  const validation = validate(operation, state.limits);
  if (validation.kind === 'invalid')
    return { state: advanced, result: { kind: 'rejected', error: validation } };
  const valid = validation.operation;
  switch (valid.kind) {
    case 'transaction':
      return applyTransaction(advanced, valid, logIndex);
    case 'scan':
      return { state: advanced, result: scanPage(state, valid) };
  }
}

function readKey(tree: Tree<EntryRecord>, key: Key): ReadResult {
  const record = treeGet(tree, key);
  return record === undefined
    ? { key, found: false }
    : { key, found: true, value: record.value, version: record.version };
}

/** Why `condition` does not hold on `record`, or undefined when it holds. */
export function conditionFailure(
  condition: Condition,
  record: EntryRecord | undefined,
): ConditionFailureReason | undefined {
  if (condition.kind === 'absent') return record === undefined ? undefined : 'present';
  if (record === undefined) return 'missing';
  switch (condition.kind) {
    case 'exists':
      return undefined;
    case 'equals':
      return valueEquals(record.value, condition.value) ? undefined : 'not-equal';
    case 'version-equals':
      return record.version === condition.version ? undefined : 'version-mismatch';
    case 'compare':
      if (typeof record.value !== 'bigint') return 'not-an-integer';
      return compareHolds(record.value, condition.comparison, condition.operand)
        ? undefined
        : 'comparison-false';
  }
}

function compareHolds(stored: bigint, comparison: 'lt' | 'le' | 'gt' | 'ge', operand: bigint): boolean {
  switch (comparison) {
    case 'lt':
      return stored < operand;
    case 'le':
      return stored <= operand;
    case 'gt':
      return stored > operand;
    case 'ge':
      return stored >= operand;
  }
}

/** A transaction's private copy of the state, which its writes update in place. */
type WorkingState = { -readonly [K in keyof ModelState]: ModelState[K] };

/** Applies one write to the working copy, or says why it cannot be applied. */
function applyWrite(
  working: WorkingState,
  write: Write,
  index: number,
  logIndex: LogIndex,
  state: ModelState,
): TransactionFailure | undefined {
  const previous = treeGet(working.tree, write.key);
  let next: EntryRecord | undefined;
  switch (write.kind) {
    case 'delete':
      next = undefined;
      break;
    case 'put':
      next = makeEntry(write.key, write.value, logIndex);
      break;
    case 'increment': {
      const base = previous === undefined ? 0n : previous.value;
      if (typeof base !== 'bigint')
        return { kind: 'write-failed', index, key: write.key, reason: 'not-an-integer' };
      const sum = base + write.delta;
      if (!integerFits(sum, state.limits.integerBitsMax)) {
        return { kind: 'write-failed', index, key: write.key, reason: 'integer-overflow' };
      }
      next = makeEntry(write.key, sum, logIndex);
      break;
    }
  }
  if (previous !== undefined) {
    working.partitionBytes -= previous.bytes;
    working.digest = digestRemove(working.digest, previous.hash);
    working.entryCount--;
  }
  if (next === undefined) {
    working.tree = treeDelete(working.tree, write.key);
    return undefined;
  }
  working.partitionBytes += next.bytes;
  working.digest = digestAdd(working.digest, next.hash);
  working.entryCount++;
  working.tree = treeSet(working.tree, write.key, next);
  return undefined;
}

function applyTransaction(state: ModelState, transaction: Transaction, logIndex: LogIndex): ApplyOutcome {
  // Runs for every committed entry on every replica: plain loops, no closures.
  const reads: ReadResult[] = [];
  for (let index = 0; index < transaction.reads.length; index++)
    reads.push(readKey(state.tree, transaction.reads[index] as Key));
  for (let index = 0; index < transaction.conditions.length; index++) {
    const condition = transaction.conditions[index] as Condition;
    const reason = conditionFailure(condition, treeGet(state.tree, condition.key));
    if (reason !== undefined)
      return notCommitted(state, reads, { kind: 'condition-failed', index, key: condition.key, reason });
  }
  const working: WorkingState = { ...state };
  for (let index = 0; index < transaction.writes.length; index++) {
    const failure = applyWrite(working, transaction.writes[index] as Write, index, logIndex, state);
    if (failure !== undefined) return notCommitted(state, reads, failure);
  }
  const { partitionBytesMax } = state.limits;
  if (working.partitionBytes > partitionBytesMax && working.partitionBytes > state.partitionBytes) {
    return notCommitted(state, reads, {
      kind: 'partition-full',
      partitionBytes: working.partitionBytes,
      partitionBytesMax,
    });
  }
  return { state: working, result: { kind: 'committed', reads } };
}

/** A transaction that changed nothing: the state as it was, the reads, and why. */
function notCommitted(state: ModelState, reads: ReadResult[], failure: TransactionFailure): ApplyOutcome {
  return { state, result: { kind: 'not-committed', reads, failure } };
}

/** Whether `key` is past the end of `range` (so the scan stops). */
function pastRangeEnd(scan: Scan, key: Key): boolean {
  if (scan.range.kind === 'prefix') return !key.startsWith(scan.range.prefix);
  return scan.range.end !== undefined && compareKeys(key, scan.range.end) >= 0;
}

/**
 * One page of a valid scan on `state`, read only. Starts at the range start, or strictly
 * after `cursor` when that is later; `nextCursor` is present exactly when more keys of
 * the range remain.
 */
export function scanPage(state: ModelState, scan: Scan): OperationResult {
  const rangeStart = scan.range.kind === 'prefix' ? scan.range.prefix : scan.range.start;
  const afterCursor = scan.cursor !== undefined && compareKeys(scan.cursor, rangeStart) >= 0;
  const from = afterCursor ? scan.cursor : rangeStart;
  const entries: StoredEntry[] = [];
  let more = false;
  treeVisitFrom(state.tree, from, afterCursor, (node) => {
    if (pastRangeEnd(scan, node.key)) return false;
    if (entries.length === scan.limit) {
      more = true;
      return false;
    }
    entries.push({ key: node.key, value: node.value.value, version: node.value.version });
    return true;
  });
  const last = entries[entries.length - 1];
  return more && last !== undefined
    ? { kind: 'scanned', entries, nextCursor: last.key }
    : { kind: 'scanned', entries };
}
