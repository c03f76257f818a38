// One test per row of docs/semantics.md (rows S-xx): what every transaction and scan
// does on every input case. Paper §2.3 (the data model) and §3.3 (no poison pills).
import { describe, expect, it } from 'vitest';
import { apply } from './apply.ts';
import { logIndex } from './keys.ts';
import type { LogIndex } from './keys.ts';
import { DEFAULT_MODEL_LIMITS } from './limits.ts';
import type { ModelLimits } from './limits.ts';
import { scan, transaction } from './operation.ts';
import type { Condition, Operation, ScanRange, Write } from './operation.ts';
import type { OperationResult, StoredEntry } from './result.ts';
import { allEntries, createState, entryBytes, getEntry, stateDigestHex } from './state.ts';
import type { ModelState } from './state.ts';
import type { Value } from './value.ts';

/** A state holding `entries`, each put at its own log index 1, 2, ... in order. */
function stateWith(entries: Record<string, Value>, limits: ModelLimits = DEFAULT_MODEL_LIMITS): ModelState {
  let state = createState(limits);
  for (const [key, value] of Object.entries(entries)) {
    state = apply(
      state,
      transaction({ writes: [{ kind: 'put', key, value }] }),
      logIndex(state.appliedIndex + 1),
    ).state;
  }
  return state;
}

function next(state: ModelState): LogIndex {
  return logIndex(state.appliedIndex + 1);
}

function run(state: ModelState, operation: Operation): { state: ModelState; result: OperationResult } {
  return apply(state, operation, next(state));
}

function checkCondition(state: ModelState, condition: Condition): OperationResult {
  return run(
    state,
    transaction({ conditions: [condition], writes: [{ kind: 'put', key: 'marker', value: true }] }),
  ).result;
}

const conditionFailed = (key: string, reason: string, index = 0): OperationResult => ({
  kind: 'not-committed',
  reads: [],
  failure: { kind: 'condition-failed', index, key, reason } as never,
});

function writeOnce(state: ModelState, write: Write): { state: ModelState; result: OperationResult } {
  return run(state, transaction({ writes: [write] }));
}

function unchangedExceptIndex(before: ModelState, after: ModelState): void {
  expect(allEntries(after)).toEqual(allEntries(before));
  expect(stateDigestHex(after)).toBe(stateDigestHex(before));
  expect(after.partitionBytes).toBe(before.partitionBytes);
  expect(after.appliedIndex).toBe(before.appliedIndex + 1);
}

describe('reads', () => {
  it('S-01 a read of a present key returns its value and version', () => {
    const state = stateWith({ a: 7n, b: new Uint8Array([1]) });
    expect(run(state, transaction({ reads: ['b', 'a'] })).result).toEqual({
      kind: 'committed',
      reads: [
        { key: 'b', found: true, value: new Uint8Array([1]), version: 2 },
        { key: 'a', found: true, value: 7n, version: 1 },
      ],
    });
  });

  it('S-02 a read of a missing key returns found: false', () => {
    expect(run(createState(), transaction({ reads: ['x'] })).result).toEqual({
      kind: 'committed',
      reads: [{ key: 'x', found: false }],
    });
  });

  it("S-03 reads see the state before the transaction's own writes", () => {
    const state = stateWith({ a: 1n });
    const outcome = run(
      state,
      transaction({
        reads: ['a', 'b'],
        writes: [
          { kind: 'increment', key: 'a', delta: 1n },
          { kind: 'put', key: 'b', value: true },
        ],
      }),
    );
    expect(outcome.result).toEqual({
      kind: 'committed',
      reads: [
        { key: 'a', found: true, value: 1n, version: 1 },
        { key: 'b', found: false },
      ],
    });
    expect(getEntry(outcome.state, 'a')?.value).toBe(2n);
  });

  it('S-04 reads are returned when the transaction does not commit', () => {
    const state = stateWith({ a: 1n });
    const result = run(
      state,
      transaction({ reads: ['a'], conditions: [{ kind: 'absent', key: 'a' }] }),
    ).result;
    expect(result).toEqual({
      kind: 'not-committed',
      reads: [{ key: 'a', found: true, value: 1n, version: 1 }],
      failure: { kind: 'condition-failed', index: 0, key: 'a', reason: 'present' },
    });
  });
});

describe('conditions', () => {
  const state = stateWith({ n: 5n, bytes: new Uint8Array([1, 2]), flag: false });

  it('S-10 exists on a present key holds', () => {
    expect(checkCondition(state, { kind: 'exists', key: 'flag' }).kind).toBe('committed');
  });

  it('S-11 exists on a missing key fails with reason missing', () => {
    expect(checkCondition(state, { kind: 'exists', key: 'x' })).toEqual(conditionFailed('x', 'missing'));
  });

  it('S-12 absent on a missing key holds', () => {
    expect(checkCondition(state, { kind: 'absent', key: 'x' }).kind).toBe('committed');
  });

  it('S-13 absent on a present key fails with reason present', () => {
    expect(checkCondition(state, { kind: 'absent', key: 'n' })).toEqual(conditionFailed('n', 'present'));
  });

  it('S-14 equals holds on an equal value of each kind', () => {
    expect(checkCondition(state, { kind: 'equals', key: 'n', value: 5n }).kind).toBe('committed');
    expect(checkCondition(state, { kind: 'equals', key: 'bytes', value: new Uint8Array([1, 2]) }).kind).toBe(
      'committed',
    );
    expect(checkCondition(state, { kind: 'equals', key: 'flag', value: false }).kind).toBe('committed');
  });

  it('S-15 equals fails with not-equal on a different value or a different kind', () => {
    expect(checkCondition(state, { kind: 'equals', key: 'n', value: 6n })).toEqual(
      conditionFailed('n', 'not-equal'),
    );
    expect(checkCondition(state, { kind: 'equals', key: 'bytes', value: new Uint8Array([1]) })).toEqual(
      conditionFailed('bytes', 'not-equal'),
    );
    expect(checkCondition(state, { kind: 'equals', key: 'n', value: new Uint8Array([5]) })).toEqual(
      conditionFailed('n', 'not-equal'),
    );
    expect(checkCondition(state, { kind: 'equals', key: 'flag', value: 0n })).toEqual(
      conditionFailed('flag', 'not-equal'),
    );
  });

  it('S-16 equals on a missing key fails with reason missing', () => {
    expect(checkCondition(state, { kind: 'equals', key: 'x', value: false })).toEqual(
      conditionFailed('x', 'missing'),
    );
  });

  it('S-17 version-equals holds when the version is the log index of the last write', () => {
    expect(checkCondition(state, { kind: 'version-equals', key: 'bytes', version: 2 }).kind).toBe(
      'committed',
    );
  });

  it('S-18 version-equals fails with version-mismatch on another version', () => {
    expect(checkCondition(state, { kind: 'version-equals', key: 'bytes', version: 3 })).toEqual(
      conditionFailed('bytes', 'version-mismatch'),
    );
  });

  it('S-19 version-equals on a missing key fails with reason missing, even for version 0', () => {
    expect(checkCondition(state, { kind: 'version-equals', key: 'x', version: 0 })).toEqual(
      conditionFailed('x', 'missing'),
    );
  });

  it('S-20 integer comparisons lt, le, gt, ge compare the stored integer with the operand', () => {
    const cases: ['lt' | 'le' | 'gt' | 'ge', bigint, boolean][] = [
      ['lt', 6n, true],
      ['lt', 5n, false],
      ['le', 5n, true],
      ['le', 4n, false],
      ['gt', 4n, true],
      ['gt', 5n, false],
      ['ge', 5n, true],
      ['ge', 6n, false],
    ];
    for (const [comparison, operand, holds] of cases) {
      const result = checkCondition(state, { kind: 'compare', key: 'n', comparison, operand });
      expect(result).toEqual(
        holds ? { kind: 'committed', reads: [] } : conditionFailed('n', 'comparison-false'),
      );
    }
  });

  it('S-21 a comparison on a missing key fails with reason missing', () => {
    expect(checkCondition(state, { kind: 'compare', key: 'x', comparison: 'ge', operand: 0n })).toEqual(
      conditionFailed('x', 'missing'),
    );
  });

  it('S-22 a comparison on bytes or a boolean fails with reason not-an-integer', () => {
    expect(checkCondition(state, { kind: 'compare', key: 'bytes', comparison: 'lt', operand: 9n })).toEqual(
      conditionFailed('bytes', 'not-an-integer'),
    );
    expect(checkCondition(state, { kind: 'compare', key: 'flag', comparison: 'ge', operand: 0n })).toEqual(
      conditionFailed('flag', 'not-an-integer'),
    );
  });

  it('S-23 the first failing condition (lowest index) is reported and nothing is written', () => {
    const conditions: Condition[] = [
      { kind: 'exists', key: 'n' },
      { kind: 'absent', key: 'flag' },
      { kind: 'exists', key: 'x' },
    ];
    const outcome = run(state, transaction({ conditions, writes: [{ kind: 'put', key: 'n', value: 0n }] }));
    expect(outcome.result).toEqual(conditionFailed('flag', 'present', 1));
    unchangedExceptIndex(state, outcome.state);
  });

  it('S-24 several conditions on one key must all hold', () => {
    const between = (low: bigint, high: bigint): Condition[] => [
      { kind: 'compare', key: 'n', comparison: 'ge', operand: low },
      { kind: 'compare', key: 'n', comparison: 'le', operand: high },
    ];
    expect(run(state, transaction({ conditions: between(0n, 10n) })).result.kind).toBe('committed');
    expect(run(state, transaction({ conditions: between(0n, 4n) })).result).toEqual(
      conditionFailed('n', 'comparison-false', 1),
    );
  });
});

describe('writes', () => {
  it('S-30 put on a missing key creates it with version = log index', () => {
    const outcome = writeOnce(stateWith({ a: 1n }), { kind: 'put', key: 'b', value: new Uint8Array([9]) });
    expect(getEntry(outcome.state, 'b')).toEqual({ key: 'b', value: new Uint8Array([9]), version: 2 });
  });

  it('S-31 put on a present key replaces the value (of any kind) and sets version = log index', () => {
    const outcome = writeOnce(stateWith({ a: 1n, b: 2n }), { kind: 'put', key: 'a', value: true });
    expect(getEntry(outcome.state, 'a')).toEqual({ key: 'a', value: true, version: 3 });
  });

  it('S-32 delete removes a present key', () => {
    const outcome = writeOnce(stateWith({ a: 1n }), { kind: 'delete', key: 'a' });
    expect(outcome.result.kind).toBe('committed');
    expect(getEntry(outcome.state, 'a')).toBeUndefined();
    expect(outcome.state.partitionBytes).toBe(0);
    expect(stateDigestHex(outcome.state)).toBe('0'.repeat(64));
  });

  it('S-33 delete of a missing key is a no-op that still commits', () => {
    const before = stateWith({ a: 1n });
    const outcome = writeOnce(before, { kind: 'delete', key: 'x' });
    expect(outcome.result).toEqual({ kind: 'committed', reads: [] });
    unchangedExceptIndex(before, outcome.state);
  });

  it('S-34 increment adds delta to an integer and sets version = log index', () => {
    const outcome = writeOnce(stateWith({ a: 10n }), { kind: 'increment', key: 'a', delta: -15n });
    expect(getEntry(outcome.state, 'a')).toEqual({ key: 'a', value: -5n, version: 2 });
  });

  it('S-35 increment of a missing key creates it with value 0 + delta', () => {
    expect(getEntry(writeOnce(createState(), { kind: 'increment', key: 'a', delta: 3n }).state, 'a')).toEqual(
      { key: 'a', value: 3n, version: 1 },
    );
    expect(
      getEntry(writeOnce(createState(), { kind: 'increment', key: 'a', delta: 0n }).state, 'a')?.value,
    ).toBe(0n);
  });

  it('S-36 increment of bytes or a boolean does not commit (not-an-integer) and writes nothing', () => {
    for (const value of [new Uint8Array([1]), true]) {
      const before = stateWith({ a: value });
      const outcome = run(
        before,
        transaction({
          writes: [
            { kind: 'put', key: 'b', value: 1n },
            { kind: 'increment', key: 'a', delta: 1n },
          ],
        }),
      );
      expect(outcome.result).toEqual({
        kind: 'not-committed',
        reads: [],
        failure: { kind: 'write-failed', index: 1, key: 'a', reason: 'not-an-integer' },
      });
      unchangedExceptIndex(before, outcome.state);
    }
  });

  it('S-37 increment past the integer limit, up or down, does not commit (integer-overflow)', () => {
    const top = (1n << 256n) - 1n;
    for (const [start, delta] of [
      [top, 1n],
      [-top, -1n],
    ] as const) {
      const before = stateWith({ a: start });
      const outcome = writeOnce(before, { kind: 'increment', key: 'a', delta });
      expect(outcome.result).toEqual({
        kind: 'not-committed',
        reads: [],
        failure: { kind: 'write-failed', index: 0, key: 'a', reason: 'integer-overflow' },
      });
      unchangedExceptIndex(before, outcome.state);
    }
  });

  it('S-38 increment up to exactly the largest integer (2^integerBitsMax - 1) commits', () => {
    const top = (1n << 256n) - 1n;
    const outcome = writeOnce(stateWith({ a: top - 1n }), { kind: 'increment', key: 'a', delta: 1n });
    expect(getEntry(outcome.state, 'a')?.value).toBe(top);
  });

  const smallPartition: ModelLimits = { ...DEFAULT_MODEL_LIMITS, partitionBytesMax: 40 };

  it('S-39 a put or increment that would push the partition over its limit does not commit (partition-full)', () => {
    const before = stateWith({ a: new Uint8Array(20) }, smallPartition); // 1 + 20 + 8 = 29 bytes
    const put = writeOnce(before, { kind: 'put', key: 'b', value: new Uint8Array(3) }); // + 1 + 3 + 8 = 41
    expect(put.result).toEqual({
      kind: 'not-committed',
      reads: [],
      failure: { kind: 'partition-full', partitionBytes: 41, partitionBytesMax: 40 },
    });
    unchangedExceptIndex(before, put.state);
    // 30 + 10 = 40 bytes; 1 + 256 = 257 needs a second magnitude byte: 41 bytes.
    const full = stateWith({ a: new Uint8Array(21), n: 1n }, smallPartition);
    expect(full.partitionBytes).toBe(40);
    const increment = writeOnce(full, { kind: 'increment', key: 'n', delta: 256n });
    expect(increment.result).toEqual({
      kind: 'not-committed',
      reads: [],
      failure: { kind: 'partition-full', partitionBytes: 41, partitionBytesMax: 40 },
    });
  });

  it('S-40 a transaction that frees space with deletes may add data as long as the final size fits', () => {
    const before = stateWith({ a: new Uint8Array(20) }, smallPartition);
    const outcome = run(
      before,
      transaction({
        writes: [
          { kind: 'delete', key: 'a' },
          { kind: 'put', key: 'b', value: new Uint8Array(31) },
        ],
      }),
    );
    expect(outcome.result.kind).toBe('committed');
    expect(outcome.state.partitionBytes).toBe(entryBytes('b', new Uint8Array(31)));
  });

  it('S-41 a partition filled to exactly its limit commits', () => {
    const outcome = writeOnce(createState(smallPartition), {
      kind: 'put',
      key: 'a',
      value: new Uint8Array(31),
    });
    expect(outcome.result.kind).toBe('committed');
    expect(outcome.state.partitionBytes).toBe(40);
  });

  it('S-42 a committed transaction applies all its writes at one version and leaves other keys alone', () => {
    const before = stateWith({ a: 1n, b: 2n, c: 3n });
    const outcome = run(
      before,
      transaction({
        writes: [
          { kind: 'delete', key: 'a' },
          { kind: 'increment', key: 'b', delta: 1n },
          { kind: 'put', key: 'd', value: false },
        ],
      }),
    );
    expect(allEntries(outcome.state)).toEqual<StoredEntry[]>([
      { key: 'b', value: 3n, version: logIndex(4) },
      { key: 'c', value: 3n, version: logIndex(3) },
      { key: 'd', value: false, version: logIndex(4) },
    ]);
  });

  it('S-43 an empty transaction commits and changes nothing but the applied index', () => {
    const before = stateWith({ a: 1n });
    const outcome = run(before, transaction({}));
    expect(outcome.result).toEqual({ kind: 'committed', reads: [] });
    unchangedExceptIndex(before, outcome.state);
  });

  it('S-44 a transaction that does not commit changes nothing but the applied index, and the old state stays intact', () => {
    const before = stateWith({ a: 1n });
    const digest = stateDigestHex(before);
    const outcome = run(
      before,
      transaction({
        conditions: [{ kind: 'absent', key: 'a' }],
        writes: [{ kind: 'put', key: 'a', value: 2n }],
      }),
    );
    unchangedExceptIndex(before, outcome.state);
    expect(stateDigestHex(before)).toBe(digest);
    expect(getEntry(before, 'a')?.value).toBe(1n);
  });

  it('S-45 an operation that fails validation is rejected and changes nothing but the applied index', () => {
    const before = stateWith({ a: 1n });
    const outcome = run(
      before,
      transaction({
        writes: [
          { kind: 'put', key: 'a', value: 2n },
          { kind: 'delete', key: 'a' },
        ],
      }),
    );
    expect(outcome.result).toMatchObject({
      kind: 'rejected',
      error: { kind: 'invalid', field: 'writes[1].key' },
    });
    unchangedExceptIndex(before, outcome.state);
  });
});

describe('scans', () => {
  const state = stateWith({ b: 1n, a: 2n, ab: 3n, 'a\uffff': 4n, 'a😀': 5n, c: 6n, ba: 7n });
  const keysOf = (
    range: ScanRange,
    limit = 100,
    cursor?: string,
  ): { keys: string[]; nextCursor?: string } => {
    const result = run(state, scan(range, limit, cursor)).result;
    if (result.kind !== 'scanned') throw new Error(`expected a scan page, got ${result.kind}`);
    const keys = result.entries.map((entry) => entry.key);
    return result.nextCursor === undefined ? { keys } : { keys, nextCursor: result.nextCursor };
  };

  it('S-50 a range scan returns keys in [start, end) in UTF-8 byte order', () => {
    expect(keysOf({ kind: 'range', start: 'a', end: 'b' })).toEqual({ keys: ['a', 'ab', 'a\uffff', 'a😀'] });
    expect(keysOf({ kind: 'range', start: 'ab', end: 'ba' })).toEqual({
      keys: ['ab', 'a\uffff', 'a😀', 'b'],
    });
  });

  it('S-51 a range scan without an end runs to the last key', () => {
    expect(keysOf({ kind: 'range', start: 'b' })).toEqual({ keys: ['b', 'ba', 'c'] });
  });

  it('S-52 a prefix scan returns exactly the keys that start with the prefix', () => {
    expect(keysOf({ kind: 'prefix', prefix: 'a' })).toEqual({ keys: ['a', 'ab', 'a\uffff', 'a😀'] });
    expect(keysOf({ kind: 'prefix', prefix: 'b' })).toEqual({ keys: ['b', 'ba'] });
    expect(keysOf({ kind: 'prefix', prefix: 'd' })).toEqual({ keys: [] });
  });

  it('S-53 a scan returns at most limit entries, with a cursor exactly when more remain', () => {
    expect(keysOf({ kind: 'prefix', prefix: 'a' }, 3)).toEqual({
      keys: ['a', 'ab', 'a\uffff'],
      nextCursor: 'a\uffff',
    });
    expect(keysOf({ kind: 'prefix', prefix: 'a' }, 4)).toEqual({ keys: ['a', 'ab', 'a\uffff', 'a😀'] });
  });

  it('S-54 a cursor resumes strictly after itself, so pages concatenate to the whole range', () => {
    const keys: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = keysOf({ kind: 'range', start: '' }, 2, cursor);
      keys.push(...result.keys);
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    expect(keys).toEqual(keysOf({ kind: 'range', start: '' }).keys);
    expect(keys).toHaveLength(7);
  });

  it('S-55 a cursor before the range start is ignored; a cursor past the range end gives an empty page', () => {
    expect(keysOf({ kind: 'prefix', prefix: 'b' }, 10, 'a')).toEqual({ keys: ['b', 'ba'] });
    expect(keysOf({ kind: 'prefix', prefix: 'a' }, 10, 'b')).toEqual({ keys: [] });
  });

  it('S-56 a scan changes no entry; it advances the applied index', () => {
    const outcome = run(state, scan({ kind: 'range', start: '' }, 1));
    unchangedExceptIndex(state, outcome.state);
  });

  it('S-57 key order is UTF-8 byte order, not UTF-16 order', () => {
    // In UTF-16, '\uD83D...' (😀) sorts before '\uFFFF'; in UTF-8 (EF BF BF < F0 9F 98 80) after it.
    expect(keysOf({ kind: 'range', start: 'a\uffff' }, 2).keys).toEqual(['a\uffff', 'a😀']);
    expect(allEntries(state).map((entry) => entry.key)).toEqual([
      'a',
      'ab',
      'a\uffff',
      'a😀',
      'b',
      'ba',
      'c',
    ]);
  });
});
