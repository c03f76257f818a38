// Hand-made good and bad histories for the linearizability checker; each verdict is also
// confirmed by the brute-force checker, so a wrong expectation here cannot hide.
import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from './history.ts';
import { bruteForceLinearizable } from './brute-force.ts';
import { checkHistoryLinearizable, type HistoryCheckResult } from './linearizability.ts';
import { historyOf, spec } from './test-histories.ts';

const { read, write, cas, incr } = spec;

function verdict(events: readonly HistoryEvent[]): HistoryCheckResult {
  const result = checkHistoryLinearizable(events);
  if (result.kind === 'linearizable' || result.kind === 'not-linearizable') {
    expect(bruteForceLinearizable(events)).toBe(result.ok);
  }
  return result;
}

function expectLinearizable(events: readonly HistoryEvent[]): void {
  expect(verdict(events).kind).toBe('linearizable');
}

function expectViolation(events: readonly HistoryEvent[]) {
  const result = verdict(events);
  if (result.kind !== 'not-linearizable') throw new Error(`expected a violation, got ${result.kind}`);
  return result;
}

describe('linearizability checker: good histories', () => {
  it('accepts the empty history', () => {
    expectLinearizable([]);
  });

  it('accepts a sequential write then read, and a read of an absent key as null', () => {
    expectLinearizable(historyOf(read(1, null, [0, 1]), write(1, 5, [2, 3]), read(2, 5, [4, 5])));
  });

  it('accepts a read concurrent with a write seeing either the old or the new value', () => {
    expectLinearizable(
      historyOf(write(1, 1, [0, 1]), write(1, 2, [2, 10]), read(2, 1, [3, 4]), read(2, 2, [5, 6])),
    );
    expectLinearizable(historyOf(write(1, 1, [0, 1]), write(1, 2, [2, 10]), read(2, 2, [3, 4])));
  });

  it('accepts reads that order concurrent writes (later reads agree with the order)', () => {
    expectLinearizable(
      historyOf(
        write(1, 1, [0, 10]),
        write(2, 2, [0, 10]),
        read(3, 2, [1, 2]),
        read(3, 1, [3, 4]),
        read(4, 1, [11, 12]),
      ),
    );
  });

  it('accepts a chain of cas operations and an increment of an absent key creating the delta', () => {
    expectLinearizable(historyOf(cas(1, [null, 1], [0, 1]), cas(2, [1, 2], [2, 3]), read(1, 2, [4, 5])));
    expectLinearizable(
      historyOf(incr(1, 3, [0, 1]), incr(2, 4, [2, 3]), read(1, 7, [4, 5]), read(1, 7, [6, 7], 'ok', 'x')),
    );
    expectLinearizable(historyOf(incr(1, 3, [0, 1], 'ok', 'c'), read(2, 3, [2, 3], 'ok', 'c')));
  });

  it('accepts an indeterminate write that takes effect long after it timed out', () => {
    expectLinearizable(
      historyOf(
        write(1, 1, [0, 1]),
        write(2, 2, [2, 5], 'info'),
        read(1, 1, [10, 11]),
        read(1, 2, [20, 21]),
        read(3, 2, [22, 23]),
      ),
    );
  });

  it('accepts an indeterminate write that never appears', () => {
    expectLinearizable(
      historyOf(write(1, 1, [0, 1]), write(2, 2, [2, 5], 'info'), read(1, 1, [10, 11]), read(3, 1, [30, 31])),
    );
  });

  it('accepts an invoke that never completes as indeterminate', () => {
    expectLinearizable(historyOf(write(1, 1, [0, 1]), write(2, 2, [2, undefined]), read(1, 2, [10, 11])));
    expectLinearizable(historyOf(write(1, 1, [0, 1]), write(2, 2, [2, undefined]), read(1, 1, [10, 11])));
  });

  it('accepts indeterminate cas and increments that take effect later, or never', () => {
    expectLinearizable(
      historyOf(write(1, 1, [0, 1]), cas(2, [1, 9], [2, 3], 'info'), read(1, 1, [4, 5]), read(1, 9, [6, 7])),
    );
    expectLinearizable(
      historyOf(incr(1, 1, [0, 1]), incr(2, 5, [2, 3], 'info'), read(1, 1, [4, 5]), read(1, 6, [6, 7])),
    );
    expectLinearizable(
      historyOf(incr(1, 1, [0, 1]), incr(2, 5, [2, 3], 'info'), read(1, 1, [4, 5]), read(1, 1, [6, 7])),
    );
  });

  it('lets equal indeterminate operations take effect together or one at a time', () => {
    const twins = [incr(1, 1, [0, 1], 'info'), incr(2, 1, [0, 1], 'info'), write(3, 5, [0, 1], 'info')];
    expectLinearizable(historyOf(...twins, read(1, 2, [2, 3]), read(1, 2, [4, 5])));
    expectLinearizable(historyOf(...twins, read(1, 1, [2, 3]), read(1, 2, [4, 5])));
    expectLinearizable(historyOf(...twins, read(1, 1, [2, 3]), read(1, 5, [4, 5]), read(1, 6, [6, 7])));
    expectViolation(historyOf(...twins, read(1, 2, [2, 3]), read(1, 5, [4, 5]), read(1, 8, [6, 7])));
    expectLinearizable(
      historyOf(
        incr(1, 1, [0, 1], 'info'),
        read(2, 1, [2, 3]),
        incr(1, 1, [4, 5], 'info'),
        read(2, 2, [6, 7]),
      ),
    );
  });

  it('ignores failed operations entirely', () => {
    expectLinearizable(
      historyOf(
        write(1, 1, [0, 1]),
        write(2, 2, [2, 3], 'fail'),
        cas(2, [1, 3], [4, 5], 'fail'),
        read(1, 1, [6, 7]),
      ),
    );
  });

  it('checks keys independently (a value on one key says nothing about another)', () => {
    expectLinearizable(
      historyOf(
        write(1, 1, [0, 1], 'ok', 'a'),
        write(2, 2, [0, 1], 'ok', 'b'),
        read(1, null, [2, 3], 'ok', 'c'),
      ),
    );
  });
});

describe('linearizability checker: bad histories', () => {
  it('reports a stale read with the key, the window and the operation that completed too early', () => {
    const result = expectViolation(historyOf(write(1, 1, [0, 1]), write(1, 2, [2, 3]), read(2, 1, [4, 5])));
    expect(result.key).toBe('x');
    expect(result.blockedBy).toMatchObject({ f: 'read', output: 1, process: 2 });
    expect(result.window.map((operation) => operation.f)).toEqual(['read']);
    expect(result.stateBeforeWindow).toBe(2);
    expect(result.linearizedCount).toBe(2);
    expect(result.message).toContain('key "x"');
  });

  it('reports a lost write: an acknowledged write no later read sees', () => {
    expectViolation(historyOf(write(1, 1, [0, 1]), read(2, null, [2, 3])));
    expectViolation(
      historyOf(write(1, 1, [0, 1]), write(2, 2, [2, 3]), read(1, 1, [4, 5]), read(1, 1, [6, 7])),
    );
  });

  it('reports a read of a value never written', () => {
    const result = expectViolation(historyOf(write(1, 1, [0, 1]), read(2, 7, [2, 3])));
    expect(result.blockedBy.output).toBe(7);
  });

  it('reports cas anomalies: two successful cas from the same expected value, a cas on a wrong value', () => {
    expectViolation(historyOf(cas(1, [null, 1], [0, 5]), cas(2, [null, 2], [0, 5]), read(3, 2, [6, 7])));
    expectViolation(historyOf(write(1, 1, [0, 1]), cas(2, [3, 4], [2, 3])));
    expectViolation(historyOf(write(1, 1, [0, 1]), cas(2, [1, 4], [2, 3]), read(1, 1, [4, 5])));
  });

  it('reports increment anomalies: a lost increment, an increment of a non-number, a wrong sum', () => {
    expectViolation(historyOf(incr(1, 1, [0, 1]), incr(2, 1, [2, 3]), read(1, 1, [4, 5])));
    expectViolation(historyOf(write(1, 'text', [0, 1]), incr(2, 1, [2, 3])));
    expectViolation(historyOf(incr(1, 2, [0, 10]), incr(2, 3, [0, 10]), read(3, 4, [11, 12])));
  });

  it('reports an indeterminate write seen before it was invoked', () => {
    expectViolation(historyOf(write(1, 1, [0, 1]), read(2, 2, [2, 3]), write(1, 2, [4, 5], 'info')));
  });

  it('reports an indeterminate write that would have to take effect twice', () => {
    expectViolation(
      historyOf(
        write(1, 1, [0, 1]),
        write(2, 2, [2, 3], 'info'),
        read(1, 2, [4, 5]),
        write(1, 1, [6, 7]),
        read(1, 2, [8, 9]),
      ),
    );
  });

  it('reports a failed write whose value is read', () => {
    expectViolation(historyOf(write(1, 1, [0, 1]), write(2, 2, [2, 3], 'fail'), read(1, 2, [4, 5])));
  });

  it('names the failing key among many good ones', () => {
    const result = expectViolation(
      historyOf(
        write(1, 1, [0, 1], 'ok', 'a'),
        read(2, 1, [2, 3], 'ok', 'a'),
        write(1, 1, [4, 5], 'ok', 'm'),
        read(2, null, [6, 7], 'ok', 'm'),
        write(1, 1, [8, 9], 'ok', 'z'),
      ),
    );
    expect(result.key).toBe('m');
  });
});

describe('linearizability checker: limits and bad input', () => {
  const busy = historyOf(
    write(1, 1, [0, 20]),
    write(2, 2, [0, 20]),
    write(3, 3, [0, 20]),
    write(4, 4, [0, 20]),
    read(5, 9, [21, 22]),
  );

  it('answers unknown, not a hang, when the search budget runs out', () => {
    const result = checkHistoryLinearizable(busy, { searchStepsPerKeyMax: 5 });
    expect(result).toMatchObject({
      kind: 'unknown',
      ok: 'unknown',
      key: 'x',
      reason: 'search-steps-exhausted',
    });
    expect(checkHistoryLinearizable(busy).kind).toBe('not-linearizable');
  });

  it('answers unknown when the budget over all keys runs out, yet still reports a violation found first', () => {
    const good = historyOf(write(1, 1, [0, 1], 'ok', 'a'), read(2, 1, [2, 3], 'ok', 'a'));
    const both = [...good, ...busy.map((event) => ({ ...event, time: event.time + 3 }))];
    expect(checkHistoryLinearizable(both, { searchStepsTotalMax: 4 })).toMatchObject({
      kind: 'unknown',
      key: 'x',
    });
    expect(checkHistoryLinearizable(both, { searchStepsTotalMax: 1000 }).kind).toBe('not-linearizable');
  });

  it('answers unknown when the memo cache is full', () => {
    expect(checkHistoryLinearizable(busy, { cacheEntriesPerKeyMax: 3 })).toMatchObject({
      kind: 'unknown',
      reason: 'cache-full',
    });
  });

  it('answers a typed error for a malformed history', () => {
    const result = checkHistoryLinearizable([
      { process: 1, type: 'ok', f: 'write', key: 'x', value: 1, time: 0 },
    ]);
    expect(result).toMatchObject({
      kind: 'malformed-history',
      error: { kind: 'completion-without-invoke', position: 0 },
    });
  });
});
