// The generator of linearizable histories, and the checker on a full-size one: 20,000
// operations over 100 keys (its time is printed by bench-linearizability.ts, not asserted).
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../env/seeded-random.ts';
import type { HistoryEvent } from './history.ts';
import { generateRegisterHistory, type HistoryGeneratorOptions } from './history-generator.ts';
import { checkHistoryLinearizable } from './linearizability.ts';
import { operationsFromHistory } from './operations.ts';

const fullSize: HistoryGeneratorOptions = {
  operationCount: 20_000,
  keyCount: 100,
  processCount: 8,
  indeterminateProbability: 0.05,
  operationDurationMsMax: 20,
};

describe('generateRegisterHistory', () => {
  it('is deterministic per seed and well-formed, with concurrency and every outcome', () => {
    const options = { ...fullSize, operationCount: 2000 };
    const events = generateRegisterHistory(new SeededRandom(7), options);
    expect(generateRegisterHistory(new SeededRandom(7), options)).toEqual(events);
    const paired = operationsFromHistory(events);
    if (paired.kind !== 'ok') throw new Error(paired.error.message);
    expect(paired.operations).toHaveLength(2000);
    const statuses = new Set(paired.operations.map((operation) => operation.status));
    expect([...statuses].sort()).toEqual(['fail', 'info', 'ok']);
    const overlapping = paired.operations.filter((operation, index) => {
      const next = paired.operations[index + 1];
      return next !== undefined && next.invokePosition < operation.completePosition;
    });
    expect(overlapping.length).toBeGreaterThan(1000);
  });
});

describe('linearizability checker at full size', () => {
  const events = generateRegisterHistory(new SeededRandom(1), fullSize);

  it('accepts a 20,000-operation history over 100 keys', () => {
    expect(checkHistoryLinearizable(events).kind).toBe('linearizable');
  });

  it('finds one corrupted read among 20,000 operations and names its key', () => {
    const position = events.findIndex(
      (event, index) => index > 20_000 && event.type === 'ok' && event.f === 'read',
    );
    const corrupted: HistoryEvent[] = events.slice();
    const original = events[position] as HistoryEvent;
    corrupted[position] = { ...original, value: -1 };
    const result = checkHistoryLinearizable(corrupted);
    if (result.kind !== 'not-linearizable') throw new Error(`expected a violation, got ${result.kind}`);
    expect(result.key).toBe(original.key);
    expect(result.window.some((operation) => operation.output === -1)).toBe(true);
  });
});
