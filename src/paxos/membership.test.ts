// MembershipHistory: the members that vote on an index, and on a range of indices (the
// audience of a commit announcement), against their definition (paper §2.4: a config chosen
// at index i governs from i + alpha on).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MembershipHistory } from './membership.ts';
import type { LogIndex, NodeId } from './types.ts';
import { nodeId } from './types.ts';

const idx = (n: number): LogIndex => n as LogIndex;
const pool = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'].map(nodeId);

/** The definition: the union of membersAt over every index of the range, sorted. */
function naiveBetween(history: MembershipHistory, from: number, to: number): NodeId[] {
  const all = new Set<NodeId>();
  for (let i = from; i <= to; i += 1) for (const m of history.membersAt(idx(i))) all.add(m);
  return [...all].sort();
}

describe('membership history', () => {
  it('membersBetween is the union of membersAt over the range, for any history', () => {
    const arbitraryHistory = fc.record({
      alpha: fc.integer({ min: 1, max: 8 }),
      initial: fc.subarray(pool, { minLength: 1 }),
      changes: fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.subarray(pool, { minLength: 1 })), {
        maxLength: 5,
      }),
      from: fc.integer({ min: 1, max: 60 }),
      span: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(
      fc.property(arbitraryHistory, ({ alpha, initial, changes, from, span }) => {
        const history = new MembershipHistory([{ effectiveFrom: idx(1), members: initial }], alpha);
        let index = 0;
        for (const [gap, members] of changes) {
          index += gap;
          history.noteChosen(idx(index), { kind: 'config', members });
        }
        const to = from + span;
        expect(history.membersBetween(idx(from), idx(to))).toEqual(naiveBetween(history, from, to));
        // Asked twice, the same answer (the one-membership case is cached).
        expect(history.membersBetween(idx(from), idx(to))).toEqual(naiveBetween(history, from, to));
      }),
      { numRuns: 500 },
    );
  });

  it('with one membership in the range, the answer is sorted and cannot be changed by a caller', () => {
    const history = new MembershipHistory(
      [{ effectiveFrom: idx(1), members: [pool[2]!, pool[0]!, pool[1]!] }],
      4,
    );
    const members = history.membersBetween(idx(1), idx(4));
    expect(members).toEqual([pool[0], pool[1], pool[2]]);
    expect(Object.isFrozen(members)).toBe(true);
  });
});
