// Property: on random small histories (valid and invalid, with failed and indeterminate
// operations, over two keys) the WGL checker and the brute-force checker agree.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../env/seeded-random.ts';
import { bruteForceLinearizable } from './brute-force.ts';
import type { HistoryEvent, HistoryScalar, HistoryValue, OperationFunction } from './history.ts';
import { generateRegisterHistory } from './history-generator.ts';
import { checkHistoryLinearizable } from './linearizability.ts';

/** Invokes per random history: the brute force is factorial. */
const INVOKES_MAX = 8;

/** Random steps; narrow domains make equal values and twin operations common. */
function stepArbitrary(values: readonly HistoryScalar[], deltaMax: number, outcomes: readonly string[]) {
  const scalar = fc.constantFrom(...values);
  return fc.record({
    process: fc.nat({ max: 2 }),
    f: fc.constantFrom<OperationFunction>('read', 'write', 'cas', 'incr'),
    key: fc.constantFrom('x', 'y'),
    first: scalar,
    second: scalar,
    delta: fc.integer({ min: 1, max: deltaMax }),
    outcome: fc.constantFrom(...outcomes),
  });
}

const step = stepArbitrary([null, 1, 2, 3], 2, ['ok', 'ok', 'ok', 'fail', 'info']);
const narrowStep = stepArbitrary([null, 1], 1, ['ok', 'info', 'info']);

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** Turns random steps into a well-formed history: an idle process invokes, a busy one completes. */
function historyFromSteps(steps: readonly Step[]): HistoryEvent[] {
  const outstanding = new Map<number, HistoryEvent>();
  const events: HistoryEvent[] = [];
  let invokes = 0;
  steps.forEach((s, time) => {
    const open = outstanding.get(s.process);
    if (open === undefined) {
      if (invokes >= INVOKES_MAX) return;
      invokes += 1;
      const value: HistoryValue =
        s.f === 'read' ? null : s.f === 'write' ? s.first : s.f === 'cas' ? [s.first, s.second] : s.delta;
      const invoke: HistoryEvent = { process: s.process, type: 'invoke', f: s.f, key: s.key, value, time };
      outstanding.set(s.process, invoke);
      events.push(invoke);
      return;
    }
    outstanding.delete(s.process);
    const type = s.outcome as 'ok' | 'fail' | 'info';
    const value = open.f === 'read' && type === 'ok' ? s.first : open.value;
    events.push({ ...open, type, value, time });
  });
  return events;
}

describe('WGL agrees with brute force', () => {
  const cases = [
    { name: 'wide values, some failed and indeterminate operations', arbitrary: step },
    { name: 'narrow values, mostly indeterminate operations (many twins)', arbitrary: narrowStep },
  ];
  for (const { name, arbitrary } of cases) {
    it(`on random small histories, valid and invalid: ${name} (fast-check)`, () => {
      const verdicts = { true: 0, false: 0 };
      fc.assert(
        fc.property(fc.array(arbitrary, { maxLength: 16 }), (steps) => {
          const events = historyFromSteps(steps);
          const expected = bruteForceLinearizable(events);
          const result = checkHistoryLinearizable(events);
          verdicts[expected ? 'true' : 'false'] += 1;
          expect(result.kind).toBe(expected ? 'linearizable' : 'not-linearizable');
        }),
        { numRuns: 3000, seed: 20261125 },
      );
      // The property is only worth something if both verdicts occur often.
      expect(verdicts.true).toBeGreaterThan(150);
      expect(verdicts.false).toBeGreaterThan(150);
    });
  }

  it('on small histories from the simulated linearizable register (all valid)', () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const events = generateRegisterHistory(new SeededRandom(seed), {
        operationCount: 7,
        keyCount: 2,
        processCount: 3,
        indeterminateProbability: 0.3,
        operationDurationMsMax: 6,
      });
      expect(bruteForceLinearizable(events)).toBe(true);
      expect(checkHistoryLinearizable(events).kind).toBe('linearizable');
    }
  });
});
