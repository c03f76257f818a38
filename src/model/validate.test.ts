// One test per validation row of docs/semantics.md (rows V-xx): what is refused before
// proposal, and that the error names the field at fault (paper §3.3: refuse what could
// not be applied, so no poison pill ever reaches the log).
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_LIMITS } from './limits.ts';
import { FORMAT_VERSION, scan, transaction } from './operation.ts';
import type { Write } from './operation.ts';
import { validate } from './validate.ts';

const limits = DEFAULT_MODEL_LIMITS;

function expectInvalid(candidate: unknown, field: string, reasonPart: string): void {
  const result = validate(candidate, limits);
  expect(result).toMatchObject({ kind: 'invalid', field });
  if (result.kind !== 'invalid') return;
  expect(result.reason).toContain(reasonPart);
  expect(result.message).toContain(field);
}

const put = (key: unknown, value: unknown): unknown => ({ kind: 'put', key, value });

describe('validation', () => {
  it('V-01 an unknown format version is refused (field formatVersion)', () => {
    expectInvalid({ ...transaction({}), formatVersion: 2 }, 'formatVersion', 'unknown format version 2');
    expectInvalid(
      { ...transaction({}), formatVersion: undefined },
      'formatVersion',
      'unknown format version',
    );
  });

  it('V-02 an unknown operation kind is refused (field kind)', () => {
    expectInvalid({ kind: 'merge', formatVersion: FORMAT_VERSION }, 'kind', 'unknown operation kind "merge"');
    expectInvalid({ kind: 5n, formatVersion: FORMAT_VERSION }, 'kind', 'bigint');
  });

  it('V-03 something that is not an object is refused (field operation)', () => {
    for (const candidate of [null, undefined, 7, 'tx', [], 1n])
      expectInvalid(candidate, 'operation', 'must be an object');
  });

  it('V-04 reads, conditions and writes must be arrays of well-shaped entries', () => {
    expectInvalid({ ...transaction({}), reads: 'a' }, 'reads', 'must be an array');
    expectInvalid({ ...transaction({}), conditions: undefined }, 'conditions', 'must be an array');
    expectInvalid({ ...transaction({}), writes: [null] }, 'writes[0]', 'must be an object');
    expectInvalid({ ...transaction({}), conditions: [7] }, 'conditions[0]', 'must be an object');
  });

  it('V-05 a key must be a string (field names the entry)', () => {
    expectInvalid({ ...transaction({}), reads: ['a', 5] }, 'reads[1]', 'key must be a string');
    expectInvalid(
      { ...transaction({}), writes: [put(undefined, 1n)] },
      'writes[0].key',
      'key must be a string',
    );
  });

  it('V-06 a key with a lone surrogate (no UTF-8 form) is refused', () => {
    expectInvalid(transaction({ reads: ['ok', 'bad\ud800'] }), 'reads[1]', 'well-formed');
    expectInvalid(
      transaction({ writes: [{ kind: 'delete', key: '\udc00x' }] }),
      'writes[0].key',
      'well-formed',
    );
  });

  it('V-07 a key over keyBytesMax UTF-8 bytes is refused; exactly keyBytesMax is accepted', () => {
    expect(validate(transaction({ reads: ['k'.repeat(256)] }), limits).kind).toBe('valid');
    expectInvalid(transaction({ reads: ['k'.repeat(257)] }), 'reads[0]', '257 bytes, over keyBytesMax 256');
    // 86 three-byte characters: 86 characters but 258 bytes.
    expectInvalid(
      transaction({ writes: [{ kind: 'delete', key: '€'.repeat(86) }] }),
      'writes[0].key',
      '258 bytes',
    );
  });

  it('V-08 a value over valueBytesMax is refused; exactly valueBytesMax is accepted', () => {
    expect(
      validate(transaction({ writes: [{ kind: 'put', key: 'a', value: new Uint8Array(65536) }] }), limits)
        .kind,
    ).toBe('valid');
    expectInvalid(
      transaction({ writes: [{ kind: 'put', key: 'a', value: new Uint8Array(65537) }] }),
      'writes[0].value',
      'over valueBytesMax',
    );
    expectInvalid(
      transaction({ conditions: [{ kind: 'equals', key: 'a', value: new Uint8Array(65537) }] }),
      'conditions[0].value',
      'over valueBytesMax',
    );
  });

  it('V-09 a value that is not bytes, bigint or boolean is refused', () => {
    for (const value of [1, 'text', null, undefined, [1], { a: 1 }, new Uint16Array(1)]) {
      expectInvalid(
        { ...transaction({}), writes: [put('a', value)] },
        'writes[0].value',
        'Uint8Array, a bigint or a boolean',
      );
    }
  });

  it('V-10 an integer of integerBitsMax bits or more is refused in puts, increments, equals and comparisons', () => {
    const tooBig = 1n << 256n;
    const largest = tooBig - 1n;
    expect(validate(transaction({ writes: [{ kind: 'put', key: 'a', value: -largest }] }), limits).kind).toBe(
      'valid',
    );
    expectInvalid(
      transaction({ writes: [{ kind: 'put', key: 'a', value: -tooBig }] }),
      'writes[0].value',
      'integerBitsMax',
    );
    expectInvalid(
      transaction({ writes: [{ kind: 'increment', key: 'a', delta: tooBig }] }),
      'writes[0].delta',
      'integerBitsMax',
    );
    expectInvalid(
      transaction({ conditions: [{ kind: 'equals', key: 'a', value: tooBig }] }),
      'conditions[0].value',
      'integerBitsMax',
    );
    expectInvalid(
      transaction({ conditions: [{ kind: 'compare', key: 'a', comparison: 'lt', operand: tooBig }] }),
      'conditions[0].operand',
      'integerBitsMax',
    );
    expectInvalid(
      { ...transaction({}), writes: [{ kind: 'increment', key: 'a', delta: 1 }] },
      'writes[0].delta',
      'must be a bigint',
    );
  });

  it('V-11 two writes to one key are refused, naming the second and the first', () => {
    const writes: Write[] = [
      { kind: 'put', key: 'a', value: true },
      { kind: 'put', key: 'b', value: true },
      { kind: 'increment', key: 'a', delta: 1n },
    ];
    expectInvalid(transaction({ writes }), 'writes[2].key', 'second write to key "a" (first at writes[0])');
  });

  it('V-12 reading one key twice is refused', () => {
    expectInvalid(transaction({ reads: ['a', 'b', 'a'] }), 'reads[2]', 'duplicate read');
  });

  it('V-13 more than keysPerTransactionMax entries in a list, or distinct keys in all, are refused', () => {
    const keys = (count: number, prefix: string): string[] =>
      Array.from({ length: count }, (_, i) => `${prefix}${i}`);
    expect(validate(transaction({ reads: keys(64, 'r') }), limits).kind).toBe('valid');
    expectInvalid(
      transaction({ reads: keys(65, 'r') }),
      'reads',
      '65 entries, over keysPerTransactionMax 64',
    );
    expectInvalid(
      transaction({ reads: keys(40, 'r'), writes: keys(40, 'w').map((key) => ({ kind: 'delete', key })) }),
      'keys',
      '80 distinct keys',
    );
    const sameKeys = keys(40, 'k');
    expect(
      validate(
        transaction({ reads: sameKeys, writes: sameKeys.map((key) => ({ kind: 'delete', key })) }),
        limits,
      ).kind,
    ).toBe('valid');
  });

  it('V-14 more than transactionBytesMax payload bytes are refused', () => {
    const writes = (valueBytes: number): Write[] =>
      ['a', 'b', 'c', 'd'].map((key) => ({ kind: 'put', key, value: new Uint8Array(valueBytes) }));
    expect(validate(transaction({ writes: writes(65535) }), limits).kind).toBe('valid'); // 4 * (1 + 65535) = 262144
    expectInvalid(
      transaction({ writes: writes(65536) }),
      'transaction',
      '262148 payload bytes, over transactionBytesMax 262144',
    );
  });

  it('V-15 unknown condition and write kinds, comparisons and bad versions are refused', () => {
    expectInvalid(
      { ...transaction({}), conditions: [{ kind: 'matches', key: 'a' }] },
      'conditions[0].kind',
      'unknown condition kind',
    );
    expectInvalid(
      { ...transaction({}), writes: [{ kind: 'append', key: 'a' }] },
      'writes[0].kind',
      'unknown write kind',
    );
    expectInvalid(
      { ...transaction({}), conditions: [{ kind: 'compare', key: 'a', comparison: 'eq', operand: 1n }] },
      'conditions[0].comparison',
      'lt, le, gt, ge',
    );
    for (const version of [-1, 1.5, 1n, Number.MAX_SAFE_INTEGER + 1]) {
      expectInvalid(
        { ...transaction({}), conditions: [{ kind: 'version-equals', key: 'a', version }] },
        'conditions[0].version',
        'non-negative safe integer',
      );
    }
  });

  it('V-16 a scan limit must be an integer from 1 to scanLimitMax', () => {
    expect(validate(scan({ kind: 'prefix', prefix: '' }, 1000), limits).kind).toBe('valid');
    for (const limit of [0, 1001, 2.5, -1, '10']) {
      expectInvalid(
        { ...scan({ kind: 'prefix', prefix: '' }, 1), limit },
        'limit',
        'from 1 to scanLimitMax 1000',
      );
    }
  });

  it('V-17 a scan range must be a known kind with valid keys, and a cursor a valid key', () => {
    expectInvalid(
      { ...scan({ kind: 'prefix', prefix: '' }, 1), range: { kind: 'all' } },
      'range.kind',
      'unknown range kind',
    );
    expectInvalid({ ...scan({ kind: 'prefix', prefix: '' }, 1), range: null }, 'range', 'must be an object');
    expectInvalid(
      scan({ kind: 'range', start: 'a', end: 'x'.repeat(300) }, 1),
      'range.end',
      'over keyBytesMax',
    );
    expectInvalid(
      { ...scan({ kind: 'range', start: 'a' }, 1), range: { kind: 'range', start: 1 } },
      'range.start',
      'must be a string',
    );
    expectInvalid(scan({ kind: 'prefix', prefix: '\ud800' }, 1), 'range.prefix', 'well-formed');
    expectInvalid(scan({ kind: 'prefix', prefix: 'a' }, 1, '\ud800'), 'cursor', 'well-formed');
  });

  it('V-18 validation uses the limits it is given', () => {
    const tight = { ...limits, keyBytesMax: 2, keysPerTransactionMax: 100 };
    expect(validate(transaction({ reads: ['abc'] }), tight)).toMatchObject({
      kind: 'invalid',
      field: 'reads[0]',
    });
    const reads = Array.from({ length: 100 }, (_, i) => `${i}`);
    expect(validate(transaction({ reads }), tight).kind).toBe('valid');
  });
});
