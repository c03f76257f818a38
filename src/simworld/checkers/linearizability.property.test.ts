// Property: on random small histories (valid and invalid, with failed and indeterminate
// operations, over two keys) the WGL checker and the brute-force checker agree.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../env/seeded-random.ts';
import { bruteForceLinearizable } from './brute-force.ts';
import { generateRegisterHistory } from './history-generator.ts';
import { checkHistoryLinearizable } from './linearizability.ts';
import { historyFromSteps, narrowStep, step } from './test-histories.ts';

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
