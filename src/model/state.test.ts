// The cell state: apply is deterministic, the digest depends only on the entries (not on
// the history that produced them), old states stay valid snapshots, and the tree stays
// balanced (rows D-xx of docs/semantics.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply } from './apply.ts';
import { encodeResult, encodeSnapshot } from './codec.ts';
import { logIndex } from './keys.ts';
import { transaction } from './operation.ts';
import type { Operation } from './operation.ts';
import { treeCheckInvariants } from './ordered-map.ts';
import { allEntries, createState, stateDigestHex } from './state.ts';
import type { ModelState } from './state.ts';
import { keyArbitrary, operationArbitrary, valueArbitrary } from './test-arbitraries.ts';

function runAll(
  operations: readonly Operation[],
  start: ModelState = createState(),
): { state: ModelState; results: Uint8Array[] } {
  let state = start;
  const results: Uint8Array[] = [];
  for (const operation of operations) {
    const outcome = apply(state, operation, logIndex(state.appliedIndex + 1));
    results.push(encodeResult(outcome.result));
    state = outcome.state;
  }
  return { state, results };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('state', () => {
  it('D-01 apply is deterministic: the same operations give the same result bytes and snapshot bytes', () => {
    fc.assert(
      fc.property(fc.array(operationArbitrary, { maxLength: 20 }), (operations) => {
        const first = runAll(operations);
        const second = runAll(operations);
        expect(second.results.map(hex)).toEqual(first.results.map(hex));
        expect(hex(encodeSnapshot(second.state))).toBe(hex(encodeSnapshot(first.state)));
        expect(stateDigestHex(second.state)).toBe(stateDigestHex(first.state));
      }),
      { numRuns: 100 },
    );
  });

  it('D-02 the digest depends only on the entries: puts in any order and through any detour give one digest', () => {
    const entriesArbitrary = fc.uniqueArray(fc.tuple(keyArbitrary, valueArbitrary), {
      maxLength: 8,
      selector: ([key]) => key,
    });
    fc.assert(
      fc.property(entriesArbitrary, (entries) => {
        const puts = (list: typeof entries): Operation =>
          transaction({ writes: list.map(([key, value]) => ({ kind: 'put', key, value })) });
        const reversed = [...entries].reverse();
        // Both end with the same puts at log index 3; the second in another order, after a detour.
        const direct = runAll([transaction({}), transaction({}), puts(entries)]).state;
        const detour = runAll([
          puts(reversed.map(([key]) => [key, 1n])),
          transaction({ writes: reversed.map(([key]) => ({ kind: 'delete', key })) }),
          puts(reversed),
        ]).state;
        expect(stateDigestHex(detour)).toBe(stateDigestHex(direct));
        expect(detour.partitionBytes).toBe(direct.partitionBytes);
        expect(allEntries(detour)).toEqual(allEntries(direct));
      }),
      { numRuns: 100 },
    );
  });

  it('D-03 the digest covers versions: the same value written at another log index changes it', () => {
    const once = runAll([transaction({ writes: [{ kind: 'put', key: 'a', value: 1n }] })]).state;
    const twice = runAll([
      transaction({}),
      transaction({ writes: [{ kind: 'put', key: 'a', value: 1n }] }),
    ]).state;
    expect(stateDigestHex(twice)).not.toBe(stateDigestHex(once));
    expect(stateDigestHex(createState())).toBe('0'.repeat(64));
  });

  it('D-04 an earlier state is an unchanged snapshot after later applies', () => {
    fc.assert(
      fc.property(
        fc.array(operationArbitrary, { maxLength: 10 }),
        fc.array(operationArbitrary, { maxLength: 10 }),
        (before, after) => {
          const snapshot = runAll(before).state;
          const bytes = hex(encodeSnapshot(snapshot));
          runAll(after, snapshot);
          expect(hex(encodeSnapshot(snapshot))).toBe(bytes);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('D-05 applying at a log index not after the applied index is a programmer error', () => {
    const state = runAll([transaction({})]).state;
    expect(() => apply(state, transaction({}), logIndex(1))).toThrow(RangeError);
    expect(() => apply(state, transaction({}), logIndex(0))).toThrow(RangeError);
  });

  it('D-06 the tree stays balanced under sequential inserts and deletes (height within AVL bounds)', () => {
    let state = createState();
    const keys = Array.from({ length: 2000 }, (_, i) => `key/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      const writes = keys.slice(i, i + 50).map((key) => ({ kind: 'put', key, value: true }) as const);
      state = apply(state, transaction({ writes }), logIndex(state.appliedIndex + 1)).state;
    }
    expect(treeCheckInvariants(state.tree)).toBe(2000);
    expect(state.tree?.height ?? 0).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(2000 + 2)));
    for (let i = 0; i < keys.length; i += 100) {
      const writes = keys.slice(i, i + 50).map((key) => ({ kind: 'delete', key }) as const);
      state = apply(state, transaction({ writes }), logIndex(state.appliedIndex + 1)).state;
    }
    expect(treeCheckInvariants(state.tree)).toBe(1000);
    expect(allEntries(state).map((entry) => entry.key)).toEqual(keys.filter((_, i) => i % 100 >= 50));
  });
});
