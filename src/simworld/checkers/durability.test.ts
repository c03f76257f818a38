// Durability: an acknowledged write must survive to the final read unless something could
// have overwritten it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bruteForceLinearizable } from './brute-force.ts';
import type { HistoryEvent, HistoryScalar } from './history.ts';
import { checkHistoryDurability, lastReadsPerKey, type FinalRead } from './durability.ts';
import { SeededRandom } from '../../env/seeded-random.ts';
import { generateRegisterHistory } from './history-generator.ts';
import { operationsFromHistory } from './operations.ts';
import { historyFromSteps, historyOf, spec, step } from './test-histories.ts';

const { read, write, cas, incr } = spec;

function finalRead(
  value: FinalRead['value'],
  invokeTimeMs = 100,
  completeTimeMs = 101,
  key = 'x',
): FinalRead {
  return { key, value, invokeTimeMs, completeTimeMs };
}

function lost(events: ReturnType<typeof historyOf>, finalReads: readonly FinalRead[]) {
  const result = checkHistoryDurability(events, finalReads);
  if (result.kind !== 'checked') throw new Error(result.error.message);
  return result;
}

describe('durability checker', () => {
  it('accepts a final read showing the last acknowledged write', () => {
    const result = lost(historyOf(write(1, 1, [0, 1]), write(1, 2, [2, 3])), [finalRead(2)]);
    expect(result.violations).toEqual([]);
    expect(result.acknowledgedWritesChecked).toBe(2);
  });

  it('reports an acknowledged write the final read does not show, with a clear message', () => {
    const result = lost(historyOf(write(1, 1, [0, 1]), write(1, 2, [2, 3])), [finalRead(1)]);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toMatchObject({ kind: 'lost-write', key: 'x', writtenValue: 2 });
    expect(result.violations[0]?.message).toContain(`process 1's write of 2 was acknowledged at t=3 ms`);
  });

  it('reports a write lost entirely (the key reads as absent)', () => {
    expect(lost(historyOf(write(1, 1, [0, 1])), [finalRead(null)]).violations).toHaveLength(1);
  });

  it('accepts a write superseded by a concurrent write, an indeterminate one, or an unfinished one', () => {
    expect(lost(historyOf(write(1, 1, [0, 10]), write(2, 2, [5, 6])), [finalRead(1)]).violations).toEqual([]);
    expect(
      lost(historyOf(write(1, 2, [0, 1]), write(2, 3, [5, 6], 'info')), [finalRead(3)]).violations,
    ).toEqual([]);
    expect(
      lost(historyOf(write(1, 2, [0, 1]), incr(2, 1, [5, undefined])), [finalRead(3)]).violations,
    ).toEqual([]);
  });

  it('lets a write that completed after the lost-looking write was invoked supersede it (boundary)', () => {
    expect(lost(historyOf(write(2, 2, [0, 3]), write(1, 3, [2, 5])), [finalRead(2)]).violations).toEqual([]);
    expect(lost(historyOf(write(2, 2, [0, 2]), write(1, 3, [2, 5])), [finalRead(2)]).violations).toEqual([]);
    expect(lost(historyOf(write(2, 2, [0, 1]), write(1, 3, [2, 5])), [finalRead(2)]).violations).toHaveLength(
      1,
    );
  });

  it('does not let a failed write, or a write known to come before, supersede', () => {
    expect(
      lost(historyOf(write(1, 2, [0, 1]), write(2, 3, [5, 6], 'fail')), [finalRead(3)]).violations,
    ).toHaveLength(1);
    // Write 2 completed before write 3 was invoked, so it cannot explain 3's disappearance.
    expect(lost(historyOf(write(2, 2, [0, 1]), write(1, 3, [2, 3])), [finalRead(2)]).violations).toHaveLength(
      1,
    );
  });

  it('does not let a change invoked after the final read completed supersede', () => {
    expect(
      lost(historyOf(write(1, 2, [0, 1]), write(2, 3, [200, 201])), [finalRead(3)]).violations,
    ).toHaveLength(1);
  });

  it('checks acknowledged cas by its new value, and skips writes not finished before the final read', () => {
    expect(lost(historyOf(cas(1, [null, 4], [0, 1])), [finalRead(null)]).violations).toHaveLength(1);
    expect(lost(historyOf(write(1, 2, [0, 100])), [finalRead(null)]).acknowledgedWritesChecked).toBe(0);
  });

  it('checks each key against its own final read', () => {
    const events = historyOf(write(1, 1, [0, 1], 'ok', 'a'), write(1, 2, [2, 3], 'ok', 'b'));
    const result = lost(events, [finalRead(1, 100, 101, 'a'), finalRead(null, 100, 101, 'b')]);
    expect(result.violations.map((violation) => violation.key)).toEqual(['b']);
  });

  it('takes the last ok read of each key from a history as its final read', () => {
    const paired = operationsFromHistory(
      historyOf(
        read(1, 1, [5, 6], 'ok', 'b'),
        read(1, 7, [8, 9], 'ok', 'a'),
        read(1, 8, [10, 11], 'ok', 'a'),
      ),
    );
    if (paired.kind !== 'ok') throw new Error('malformed');
    expect(lastReadsPerKey(paired.operations)).toEqual([
      { key: 'a', value: 8, invokeTimeMs: 10, completeTimeMs: 11 },
      { key: 'b', value: 1, invokeTimeMs: 5, completeTimeMs: 6 },
    ]);
  });

  it('answers a typed error for a malformed history', () => {
    expect(
      checkHistoryDurability([{ process: 1, type: 'ok', f: 'read', key: 'x', value: 1, time: 0 }], []),
    ).toMatchObject({
      kind: 'malformed-history',
    });
  });

  it('never reports a loss in histories of a linearizable register (soundness)', () => {
    let checked = 0;
    for (let seed = 1; seed <= 40; seed += 1) {
      const events = generateRegisterHistory(new SeededRandom(seed), {
        operationCount: 300,
        keyCount: 4,
        processCount: 5,
        indeterminateProbability: 0.1,
        operationDurationMsMax: 10,
      });
      const paired = operationsFromHistory(events);
      if (paired.kind !== 'ok') throw new Error(paired.error.message);
      const result = checkHistoryDurability(events, lastReadsPerKey(paired.operations));
      if (result.kind !== 'checked') throw new Error(result.error.message);
      expect(result.violations).toEqual([]);
      checked += result.acknowledgedWritesChecked;
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('reports a loss only when the history with its final read is not linearizable (fast-check)', () => {
    let losses = 0;
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 12 }),
        fc.constantFrom<HistoryScalar>(null, 1, 2, 3),
        (steps, value) => {
          const events = historyFromSteps(steps);
          const endMs = events.length + 10;
          const read: FinalRead = { key: 'x', value, invokeTimeMs: endMs, completeTimeMs: endMs + 1 };
          const result = lost(events, [read]);
          if (result.violations.length === 0) return;
          losses += 1;
          const withRead: HistoryEvent[] = [
            ...events,
            { process: 99, type: 'invoke', f: 'read', key: 'x', value: null, time: endMs },
            { process: 99, type: 'ok', f: 'read', key: 'x', value, time: endMs + 1 },
          ];
          expect(
            bruteForceLinearizable(withRead.filter((event) => event.key === 'x' || event.process === 99)),
          ).toBe(false);
        },
      ),
      { numRuns: 2000, seed: 20261125 },
    );
    expect(losses).toBeGreaterThan(100);
  });
});
