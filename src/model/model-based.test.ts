// Model-based test: random command sequences run against the real state machine and a
// deliberately naive reference (a plain Map, sorted by UTF-8 bytes on every scan,
// partition size recomputed from scratch). After every command the two must agree on
// results and entries, and the real state's incremental bookkeeping (digest, byte total,
// tree balance) must equal a from-scratch recomputation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply } from './apply.ts';
import { decodeSnapshot, encodeSnapshot } from './codec.ts';
import { logIndex } from './keys.ts';
import { DEFAULT_MODEL_LIMITS } from './limits.ts';
import type { ModelLimits } from './limits.ts';
import type { Condition, Operation, Scan, Transaction } from './operation.ts';
import { treeCheckInvariants } from './ordered-map.ts';
import type { OperationResult, ReadResult, StoredEntry, TransactionFailure } from './result.ts';
import { allEntries, createState, entryHash } from './state.ts';
import type { ModelState } from './state.ts';
import { operationArbitrary } from './test-arbitraries.ts';
import { validate } from './validate.ts';
import type { Value } from './value.ts';

const LIMITS: ModelLimits = { ...DEFAULT_MODEL_LIMITS, partitionBytesMax: 60, integerBitsMax: 4 };

/** Integers must stay strictly between -16 and 16 (4 bits), so overflow is common. */
const INTEGER_BOUND = 16n;

interface NaiveEntry {
  value: Value;
  version: number;
}

/** The reference: a plain Map and the rules of docs/semantics.md written the obvious way. */
class NaiveModel {
  entries = new Map<string, NaiveEntry>();
  appliedIndex = 0;

  static utf8(key: string): Buffer {
    return Buffer.from(key, 'utf8');
  }

  static payloadBytes(value: Value): number {
    if (typeof value === 'boolean') return 1;
    if (value instanceof Uint8Array) return value.length;
    let magnitude = value < 0n ? -value : value;
    let bytes = 0;
    while (magnitude > 0n) {
      magnitude /= 256n;
      bytes++;
    }
    return Math.max(1, bytes);
  }

  static partitionBytes(entries: Map<string, NaiveEntry>): number {
    let total = 0;
    for (const [key, entry] of entries)
      total += NaiveModel.utf8(key).length + NaiveModel.payloadBytes(entry.value) + 8;
    return total;
  }

  read(key: string): ReadResult {
    const entry = this.entries.get(key);
    return entry === undefined
      ? { key, found: false }
      : { key, found: true, value: entry.value, version: logIndex(entry.version) };
  }

  conditionReason(condition: Condition): string | undefined {
    const entry = this.entries.get(condition.key);
    if (condition.kind === 'absent') return entry ? 'present' : undefined;
    if (!entry) return 'missing';
    if (condition.kind === 'exists') return undefined;
    if (condition.kind === 'version-equals')
      return entry.version === condition.version ? undefined : 'version-mismatch';
    if (condition.kind === 'equals') {
      const same =
        entry.value instanceof Uint8Array && condition.value instanceof Uint8Array
          ? Buffer.compare(entry.value, condition.value) === 0
          : entry.value === condition.value;
      return same ? undefined : 'not-equal';
    }
    if (typeof entry.value !== 'bigint') return 'not-an-integer';
    const difference = entry.value - condition.operand;
    const holds = { lt: difference < 0n, le: difference <= 0n, gt: difference > 0n, ge: difference >= 0n }[
      condition.comparison
    ];
    return holds ? undefined : 'comparison-false';
  }

  transaction(transaction: Transaction, index: number): OperationResult {
    const reads = transaction.reads.map((key) => this.read(key));
    const fail = (failure: TransactionFailure): OperationResult => ({
      kind: 'not-committed',
      reads,
      failure,
    });
    for (const [i, condition] of transaction.conditions.entries()) {
      const reason = this.conditionReason(condition);
      if (reason !== undefined)
        return fail({ kind: 'condition-failed', index: i, key: condition.key, reason } as TransactionFailure);
    }
    const next = new Map(this.entries);
    for (const [i, write] of transaction.writes.entries()) {
      if (write.kind === 'delete') next.delete(write.key);
      else if (write.kind === 'put') next.set(write.key, { value: write.value, version: index });
      else {
        const old = next.get(write.key)?.value ?? 0n;
        if (typeof old !== 'bigint')
          return fail({ kind: 'write-failed', index: i, key: write.key, reason: 'not-an-integer' });
        const sum = old + write.delta;
        if (sum >= INTEGER_BOUND || sum <= -INTEGER_BOUND)
          return fail({ kind: 'write-failed', index: i, key: write.key, reason: 'integer-overflow' });
        next.set(write.key, { value: sum, version: index });
      }
    }
    const bytes = NaiveModel.partitionBytes(next);
    if (bytes > LIMITS.partitionBytesMax && bytes > NaiveModel.partitionBytes(this.entries)) {
      return fail({
        kind: 'partition-full',
        partitionBytes: bytes,
        partitionBytesMax: LIMITS.partitionBytesMax,
      });
    }
    this.entries = next;
    return { kind: 'committed', reads };
  }

  sortedEntries(): StoredEntry[] {
    return [...this.entries.entries()]
      .sort(([a], [b]) => Buffer.compare(NaiveModel.utf8(a), NaiveModel.utf8(b)))
      .map(([key, entry]) => ({ key, value: entry.value, version: logIndex(entry.version) }));
  }

  scan(scan: Scan): OperationResult {
    const bytesOf = (key: string): Buffer => NaiveModel.utf8(key);
    const inRange = (key: string): boolean =>
      scan.range.kind === 'prefix'
        ? bytesOf(key).subarray(0, bytesOf(scan.range.prefix).length).equals(bytesOf(scan.range.prefix))
        : Buffer.compare(bytesOf(key), bytesOf(scan.range.start)) >= 0 &&
          (scan.range.end === undefined || Buffer.compare(bytesOf(key), bytesOf(scan.range.end)) < 0);
    const cursor = scan.cursor;
    const matching = this.sortedEntries().filter(
      (entry) =>
        inRange(entry.key) &&
        (cursor === undefined || Buffer.compare(bytesOf(entry.key), bytesOf(cursor)) > 0),
    );
    const entries = matching.slice(0, scan.limit);
    const last = entries[entries.length - 1];
    return matching.length > scan.limit && last
      ? { kind: 'scanned', entries, nextCursor: last.key }
      : { kind: 'scanned', entries };
  }
}

interface Real {
  state: ModelState;
}

function checkBookkeeping(state: ModelState, model: NaiveModel): void {
  expect(allEntries(state)).toEqual(model.sortedEntries());
  expect(treeCheckInvariants(state.tree)).toBe(state.entryCount);
  expect(state.entryCount).toBe(model.entries.size);
  expect(state.partitionBytes).toBe(NaiveModel.partitionBytes(model.entries));
  let digest = 0n;
  for (const entry of allEntries(state)) digest += entryHash(entry.key, entry.value, entry.version);
  expect(state.digest).toBe(digest % (1n << 256n));
  expect(state.appliedIndex).toBe(model.appliedIndex);
}

class ApplyCommand implements fc.Command<NaiveModel, Real> {
  constructor(readonly operation: Operation) {}
  check(): boolean {
    return true;
  }
  run(model: NaiveModel, real: Real): void {
    const before = real.state;
    const beforeBytes = encodeSnapshot(before);
    const index = model.appliedIndex + 1;
    const outcome = apply(real.state, this.operation, logIndex(index));
    const validation = validate(this.operation, LIMITS);
    let expected: OperationResult;
    if (validation.kind === 'invalid') expected = { kind: 'rejected', error: validation };
    else if (this.operation.kind === 'scan') expected = model.scan(this.operation);
    else expected = model.transaction(this.operation, index);
    model.appliedIndex = index;
    expect(outcome.result).toEqual(expected);
    real.state = outcome.state;
    checkBookkeeping(real.state, model);
    expect(Buffer.from(encodeSnapshot(before)).equals(Buffer.from(beforeBytes))).toBe(true);
  }
  toString(): string {
    return `apply ${JSON.stringify(this.operation, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}`;
  }
}

/** Replaces the real state by its snapshot's decoding: a taught replica must behave the same. */
class RestoreFromSnapshotCommand implements fc.Command<NaiveModel, Real> {
  check(): boolean {
    return true;
  }
  run(model: NaiveModel, real: Real): void {
    const decoded = decodeSnapshot(encodeSnapshot(real.state));
    if (decoded.kind !== 'decoded') throw new Error(decoded.message);
    real.state = decoded.value;
    checkBookkeeping(real.state, model);
  }
  toString(): string {
    return 'restore from snapshot';
  }
}

describe('model-based', () => {
  it('M-01 the state machine agrees with a naive reference model on every command sequence', () => {
    const commands = [
      operationArbitrary.map((operation) => new ApplyCommand(operation)),
      fc.constant(new RestoreFromSnapshotCommand()),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60, size: 'medium' }), (sequence) => {
        fc.modelRun(() => ({ model: new NaiveModel(), real: { state: createState(LIMITS) } }), sequence);
      }),
      { numRuns: 200 },
    );
  });
});
