// The canonical codec: round trips, byte stability, a golden encoding, every decode
// failure reason, and fuzzing with random and mutated bytes (rows C-xx of
// docs/semantics.md). Hostile bytes give a typed error, never an exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply } from './apply.ts';
import {
  decodeOperation,
  decodeResult,
  decodeSnapshot,
  decodeValue,
  encodeOperation,
  encodeResult,
  encodeSnapshot,
  encodeValue,
} from './codec.ts';
import type { Decoded } from './codec.ts';
import { logIndex } from './keys.ts';
import { DEFAULT_MODEL_LIMITS } from './limits.ts';
import { transaction } from './operation.ts';
import type { Operation } from './operation.ts';
import type { OperationResult } from './result.ts';
import { allEntries, createState } from './state.ts';
import { integerMagnitudeBytes } from './value.ts';
import type { ModelState } from './state.ts';
import { operationArbitrary, valueArbitrary } from './test-arbitraries.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/ /g, ''), 'hex'));

/** Applies operations in order from an empty state; returns the results and final state. */
function history(operations: readonly Operation[]): { results: OperationResult[]; state: ModelState } {
  let state = createState({ ...DEFAULT_MODEL_LIMITS, partitionBytesMax: 120, integerBitsMax: 72 });
  const results: OperationResult[] = [];
  operations.forEach((operation, i) => {
    const outcome = apply(state, operation, logIndex(i + 1));
    results.push(outcome.result);
    state = outcome.state;
  });
  return { results, state };
}

function decodedValue<T>(decoded: Decoded<T>): T {
  if (decoded.kind !== 'decoded') throw new Error(`decode failed: ${decoded.message}`);
  return decoded.value;
}

function expectSameState(actual: ModelState, expected: ModelState): void {
  expect(allEntries(actual)).toEqual(allEntries(expected));
  expect(actual.digest).toBe(expected.digest);
  expect(actual.partitionBytes).toBe(expected.partitionBytes);
  expect(actual.entryCount).toBe(expected.entryCount);
  expect(actual.appliedIndex).toBe(expected.appliedIndex);
  expect(actual.limits).toEqual(expected.limits);
}

const historyArbitrary = fc.array(operationArbitrary, { maxLength: 12 });

describe('codec round trips', () => {
  it('C-01 values, operations, results and snapshots decode to what was encoded', () => {
    fc.assert(
      fc.property(valueArbitrary, (value) => {
        expect(decodedValue(decodeValue(encodeValue(value)))).toEqual(value);
      }),
    );
    fc.assert(
      fc.property(historyArbitrary, (operations) => {
        const { results, state } = history(operations);
        for (const operation of operations)
          expect(decodedValue(decodeOperation(encodeOperation(operation)))).toEqual(operation);
        for (const result of results)
          expect(decodedValue(decodeResult(encodeResult(result)))).toEqual(result);
        expectSameState(decodedValue(decodeSnapshot(encodeSnapshot(state))), state);
      }),
      { numRuns: 150 },
    );
  });

  it('C-02 encoding is byte-stable: re-encoding a decoded value gives the same bytes', () => {
    fc.assert(
      fc.property(historyArbitrary, (operations) => {
        const { results, state } = history(operations);
        for (const operation of operations) {
          const bytes = encodeOperation(operation);
          expect(hex(encodeOperation(decodedValue(decodeOperation(bytes))))).toBe(hex(bytes));
        }
        for (const result of results) {
          const bytes = encodeResult(result);
          expect(hex(encodeResult(decodedValue(decodeResult(bytes))))).toBe(hex(bytes));
        }
        const snapshot = encodeSnapshot(state);
        expect(hex(encodeSnapshot(decodedValue(decodeSnapshot(snapshot))))).toBe(hex(snapshot));
      }),
      { numRuns: 100 },
    );
  });

  it('C-03 a fixed transaction has a fixed, hand-checked encoding', () => {
    const operation = transaction({ reads: ['a'], writes: [{ kind: 'put', key: 'b', value: 1n }] });
    // version 1, transaction 0, 1 read: "a", 0 conditions, 1 write: put 0, key "b", integer tag 1, sign 0, 1 byte: 01.
    expect(hex(encodeOperation(operation))).toBe(
      '01' + '00' + '01' + '0161' + '00' + '01' + '00' + '0162' + '01' + '00' + '0101',
    );
    expect(hex(encodeValue(-256n))).toBe('01' + '01' + '01' + '020100');
    expect(hex(encodeValue(0n))).toBe('01' + '01' + '00' + '00');
    expect(hex(encodeValue(new Uint8Array(200)).subarray(0, 4))).toBe('0100c801');
  });
});

describe('codec rejects', () => {
  const expectError = (decoded: Decoded<unknown>, reason: string, field?: string): void => {
    expect(decoded).toMatchObject({
      kind: 'decode-error',
      reason,
      ...(field === undefined ? {} : { field }),
    });
  };

  it('C-04 integers at each magnitude length from 0 to 9 bytes, both signs, round trip and are counted right', () => {
    // Decoding takes a short path below 2^48 and counting one below 2^53: cover both edges.
    const magnitudes = [0n, 1n, 255n, 256n];
    for (let bits = 15n; bits <= 72n; bits += 1n) magnitudes.push((1n << bits) - 1n, 1n << bits);
    for (const magnitude of magnitudes) {
      for (const value of magnitude === 0n ? [0n] : [magnitude, -magnitude]) {
        const encoded = encodeValue(value);
        expect(decodedValue(decodeValue(encoded))).toBe(value);
        const byHex = magnitude === 0n ? 0 : Math.ceil(magnitude.toString(16).length / 2);
        expect(integerMagnitudeBytes(value)).toBe(byHex);
        // format version, tag, sign, length, then the magnitude's bytes
        expect(encoded.length).toBe(4 + byHex);
      }
    }
  });

  it('C-05 byte values of every length from 0 to 300 round trip (the writer grows past its first 64 bytes)', () => {
    for (let length = 0; length <= 300; length += 1) {
      const value = Uint8Array.from({ length }, (_, index) => (index * 7 + length) & 0xff);
      const encoded = encodeValue(value);
      expect(decodedValue(decodeValue(encoded))).toEqual(value);
      expect(hex(encodeValue(decodedValue(decodeValue(encoded))))).toBe(hex(encoded));
    }
  });

  it('C-10 an unknown format version', () => {
    expectError(decodeValue(bytesOf('02 02 01')), 'unknown-version', 'formatVersion');
    expectError(decodeOperation(bytesOf('00 00 00 00 00')), 'unknown-version', 'formatVersion');
  });

  it('C-11 an unknown operation, condition, write, value, range or result tag', () => {
    expectError(decodeOperation(bytesOf('01 02')), 'unknown-tag', 'kind');
    expectError(decodeOperation(bytesOf('01 00 00 01 08 00')), 'unknown-tag', 'conditions[0].kind');
    expectError(decodeOperation(bytesOf('01 00 00 00 01 03 00')), 'unknown-tag', 'writes[0].kind');
    expectError(decodeValue(bytesOf('01 03')), 'unknown-tag', 'value.tag');
    expectError(decodeOperation(bytesOf('01 01 02')), 'unknown-tag', 'range.kind');
    expectError(decodeResult(bytesOf('01 04')), 'unknown-tag', 'result.kind');
  });

  it('C-12 truncated input: every proper prefix of a valid encoding is refused', () => {
    const bytes = encodeOperation(
      transaction({
        reads: ['ab'],
        conditions: [{ kind: 'equals', key: 'x', value: 5n }],
        writes: [{ kind: 'increment', key: 'y', delta: -3n }],
      }),
    );
    for (let length = 0; length < bytes.length; length++)
      expectError(decodeOperation(bytes.subarray(0, length)), 'truncated');
  });

  it('C-13 trailing bytes after a valid encoding', () => {
    expectError(decodeValue(bytesOf('01 02 01 00')), 'trailing-bytes', 'end');
    expectError(decodeOperation(new Uint8Array([...encodeOperation(transaction({})), 0])), 'trailing-bytes');
  });

  it('C-14 non-canonical encodings: long varints, negative zero, leading zero bytes, booleans other than 0 and 1', () => {
    expectError(decodeValue(bytesOf('01 00 8100')), 'non-canonical', 'value');
    expectError(decodeValue(bytesOf('01 01 01 00')), 'non-canonical', 'value');
    expectError(decodeValue(bytesOf('01 01 00 02 0001')), 'non-canonical', 'value');
    expectError(decodeValue(bytesOf('01 01 02 00')), 'non-canonical', 'value');
    expectError(decodeValue(bytesOf('01 02 02')), 'non-canonical', 'value');
    expectError(decodeValue(bytesOf('01 00 ffffffffffffffff01')), 'out-of-range', 'value');
  });

  it('C-15 invalid UTF-8 in a key (bad bytes, overlong forms, encoded surrogates); a BOM is kept', () => {
    for (const key of ['ff', 'c0af', 'eda080', 'e282']) {
      const length = (key.length / 2).toString(16).padStart(2, '0');
      expectError(decodeOperation(bytesOf(`01 00 01 ${length}${key} 00 00`)), 'invalid-utf8', 'reads[0]');
    }
    const withBom = transaction({ reads: ['\ufeffa'] });
    expect(decodedValue(decodeOperation(encodeOperation(withBom)))).toEqual(withBom);
  });

  it('C-16 snapshots with unordered keys, versions after the applied index, entries over the limits or a wrong digest', () => {
    const { state } = history([
      transaction({
        writes: [
          { kind: 'put', key: 'a', value: 1n },
          { kind: 'put', key: 'b', value: 2n },
        ],
      }),
    ]);
    const good = encodeSnapshot(state);
    expect(decodeSnapshot(good).kind).toBe('decoded');
    const corrupt = (from: string, to: string): Uint8Array => {
      expect(hex(good)).toContain(from);
      return bytesOf(hex(good).replace(from, to));
    };
    // Entries are "01 61 01 00 01 01 01" (a = 1n at version 1) and "01 62 01 00 01 02 01": swap the keys.
    expectError(
      decodeSnapshot(corrupt('016101000101010162', '016201000101010161')),
      'non-canonical',
      'entries[1].key',
    );
    expectError(
      decodeSnapshot(corrupt('02016101000101010162', '02016101000101020162')),
      'out-of-range',
      'entries[0].version',
    );
    const lastByte = good.length - 1;
    const badDigest = new Uint8Array(good);
    badDigest[lastByte] = (good[lastByte] ?? 0) ^ 1;
    expectError(decodeSnapshot(badDigest), 'digest-mismatch', 'digest');
    const tight = encodeSnapshot({ ...state, limits: { ...state.limits, integerBitsMax: 1 } });
    expectError(decodeSnapshot(tight), 'out-of-range', 'entries[1]');
  });
});

describe('decoder fuzzing', () => {
  const decoders = [
    { name: 'value', decode: decodeValue, encode: (value: never) => encodeValue(value) },
    { name: 'operation', decode: decodeOperation, encode: (value: never) => encodeOperation(value) },
    { name: 'result', decode: decodeResult, encode: (value: never) => encodeResult(value) },
    { name: 'snapshot', decode: decodeSnapshot, encode: (value: never) => encodeSnapshot(value) },
  ] as const;

  /** A decoder's answer to any bytes: a typed error inside the input, or a value whose encoding is exactly the input. */
  function checkAnyBytes(bytes: Uint8Array): void {
    for (const { decode, encode } of decoders) {
      const decoded = decode(bytes) as Decoded<never>;
      if (decoded.kind === 'decoded') {
        expect(hex(encode(decoded.value))).toBe(hex(bytes));
      } else {
        expect(decoded.offset).toBeGreaterThanOrEqual(0);
        expect(decoded.offset).toBeLessThanOrEqual(bytes.length);
        expect(decoded.message).toContain(decoded.field);
      }
    }
  }

  it('C-20 random bytes give a typed error or a canonical value, never an exception', () => {
    const versioned = fc.uint8Array({ maxLength: 48 }).map((rest) => new Uint8Array([1, ...rest]));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 48 }), versioned), checkAnyBytes), {
      numRuns: 3000,
    });
  });

  it('C-21 mutated valid encodings give a typed error or a canonical value, never an exception', () => {
    const mutation = fc.record({
      position: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
      how: fc.constantFrom('set', 'insert', 'delete', 'cut'),
    });
    fc.assert(
      fc.property(
        historyArbitrary,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (operations, mutations) => {
          const { results, state } = history(operations);
          const encodings = [
            encodeSnapshot(state),
            ...operations.map(encodeOperation),
            ...results.map(encodeResult),
          ];
          for (const encoding of encodings) {
            const bytes = [...encoding];
            for (const { position, byte, how } of mutations) {
              const at = position % (bytes.length + 1);
              if (how === 'set') bytes[at] = byte;
              else if (how === 'insert') bytes.splice(at, 0, byte);
              else if (how === 'delete') bytes.splice(at, 1);
              else bytes.length = at;
            }
            checkAnyBytes(new Uint8Array(bytes));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
