// fast-check generators for the model's tests: keys from a small alphabet that mixes
// one-, two-, three- and four-byte UTF-8 characters (so key order and byte limits are
// exercised), values of every kind, and operations that are mostly valid.
import fc from 'fast-check';
import type { Key } from './keys.ts';
import type { Condition, Operation, Scan, ScanRange, Transaction, Write } from './operation.ts';
import { FORMAT_VERSION } from './operation.ts';
import type { Value } from './value.ts';

/** Characters whose UTF-16 order differs from their UTF-8 order ('\uffff' < '😀' in UTF-8). */
const KEY_CHARACTERS = ['a', 'b', 'c', 'é', '\uffff', '😀'];

/** Mostly a few common keys (so conditions and writes meet existing keys), sometimes any. */
export const keyArbitrary: fc.Arbitrary<Key> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('a', 'ab', 'b', 'é', 'a\uffff', 'a😀') },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom(...KEY_CHARACTERS), { maxLength: 3 })
      .map((characters) => characters.join('')),
  },
);

export const integerArbitrary: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: -3n, max: 3n }) },
  fc.bigInt({ min: -20n, max: 20n }),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
);

export const valueArbitrary: fc.Arbitrary<Value> = fc.oneof(
  fc.uint8Array({ maxLength: 6 }),
  integerArbitrary,
  fc.boolean(),
);

export const conditionArbitrary: fc.Arbitrary<Condition> = fc.oneof(
  keyArbitrary.map((key): Condition => ({ kind: 'exists', key })),
  keyArbitrary.map((key): Condition => ({ kind: 'absent', key })),
  fc.record({ kind: fc.constant('equals' as const), key: keyArbitrary, value: valueArbitrary }),
  fc.record({
    kind: fc.constant('version-equals' as const),
    key: keyArbitrary,
    version: fc.nat({ max: 12 }),
  }),
  fc.record({
    kind: fc.constant('compare' as const),
    key: keyArbitrary,
    comparison: fc.constantFrom('lt' as const, 'le' as const, 'gt' as const, 'ge' as const),
    operand: integerArbitrary,
  }),
);

export const writeArbitrary: fc.Arbitrary<Write> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key: keyArbitrary, value: valueArbitrary }),
  keyArbitrary.map((key): Write => ({ kind: 'delete', key })),
  fc.record({ kind: fc.constant('increment' as const), key: keyArbitrary, delta: integerArbitrary }),
);

export const transactionArbitrary: fc.Arbitrary<Transaction> = fc
  .record({
    reads: fc.uniqueArray(keyArbitrary, { maxLength: 4 }),
    conditions: fc.oneof(fc.constant([]), fc.array(conditionArbitrary, { maxLength: 2 })),
    writes: fc.uniqueArray(writeArbitrary, { maxLength: 4, selector: (write) => write.key }),
  })
  .map((parts) => ({ kind: 'transaction', formatVersion: FORMAT_VERSION, ...parts }));

export const scanRangeArbitrary: fc.Arbitrary<ScanRange> = fc.oneof(
  fc
    .record({ start: keyArbitrary, end: fc.option(keyArbitrary, { nil: undefined }) })
    .map(({ start, end }): ScanRange =>
      end === undefined ? { kind: 'range', start } : { kind: 'range', start, end },
    ),
  keyArbitrary.map((prefix): ScanRange => ({ kind: 'prefix', prefix })),
);

export const scanArbitrary: fc.Arbitrary<Scan> = fc
  .record({
    range: scanRangeArbitrary,
    limit: fc.integer({ min: 1, max: 5 }),
    cursor: fc.option(keyArbitrary, { nil: undefined }),
  })
  .map(({ range, limit, cursor }): Scan => {
    const base = { kind: 'scan', formatVersion: FORMAT_VERSION, range, limit } as const;
    return cursor === undefined ? base : { ...base, cursor };
  });

export const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: transactionArbitrary },
  { weight: 1, arbitrary: scanArbitrary },
);
