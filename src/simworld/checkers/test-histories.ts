// Test support: a compact way to write hand-made histories, one operation per line, each
// with its invoke and completion times; and random well-formed histories for property
// tests. Used by the checker tests only.
import fc from 'fast-check';
import type { HistoryEvent, HistoryScalar, HistoryValue, OperationFunction } from './history.ts';

export type Outcome = 'ok' | 'fail' | 'info';

/** One operation: invoked at `fromMs`, completed at `toMs` (never, when undefined). */
export interface OperationSpec {
  readonly process: number;
  readonly f: OperationFunction;
  readonly key: string;
  readonly value: HistoryValue;
  readonly fromMs: number;
  readonly toMs: number | undefined;
  readonly outcome: Outcome;
  /** A read's result when ok. */
  readonly read: HistoryScalar;
}

type Span = readonly [number, number | undefined];

export const spec = {
  read: (
    process: number,
    read: HistoryScalar,
    [fromMs, toMs]: Span,
    outcome: Outcome = 'ok',
    key = 'x',
  ): OperationSpec => ({
    process,
    f: 'read',
    key,
    value: null,
    fromMs,
    toMs,
    outcome,
    read,
  }),
  write: (
    process: number,
    value: HistoryScalar,
    [fromMs, toMs]: Span,
    outcome: Outcome = 'ok',
    key = 'x',
  ): OperationSpec => ({
    process,
    f: 'write',
    key,
    value,
    fromMs,
    toMs,
    outcome,
    read: null,
  }),
  cas: (
    process: number,
    pair: readonly [HistoryScalar, HistoryScalar],
    [fromMs, toMs]: Span,
    outcome: Outcome = 'ok',
    key = 'x',
  ): OperationSpec => ({
    process,
    f: 'cas',
    key,
    value: pair,
    fromMs,
    toMs,
    outcome,
    read: null,
  }),
  incr: (
    process: number,
    delta: number,
    [fromMs, toMs]: Span,
    outcome: Outcome = 'ok',
    key = 'x',
  ): OperationSpec => ({
    process,
    f: 'incr',
    key,
    value: delta,
    fromMs,
    toMs,
    outcome,
    read: null,
  }),
};

/**
 * The events of the operations in time order; at equal times completions come before
 * invokes (so [0, 5] then [5, 9] are sequential), otherwise the listed order is kept.
 */
export function historyOf(...operations: readonly OperationSpec[]): HistoryEvent[] {
  const timed: { timeMs: number; rank: number; order: number; event: HistoryEvent }[] = [];
  operations.forEach((operation, order) => {
    const { process, f, key, value } = operation;
    timed.push({
      timeMs: operation.fromMs,
      rank: 1,
      order,
      event: { process, type: 'invoke', f, key, value, time: operation.fromMs },
    });
    if (operation.toMs === undefined) return;
    const completionValue = f === 'read' && operation.outcome === 'ok' ? operation.read : value;
    timed.push({
      timeMs: operation.toMs,
      rank: 0,
      order,
      event: { process, type: operation.outcome, f, key, value: completionValue, time: operation.toMs },
    });
  });
  timed.sort((a, b) => a.timeMs - b.timeMs || a.rank - b.rank || a.order - b.order);
  return timed.map((entry) => entry.event);
}

/** Invokes per random history: the brute force is factorial. */
const INVOKES_MAX = 8;

/** Random steps; narrow domains make equal values and twin operations common. */
export function stepArbitrary(
  values: readonly HistoryScalar[],
  deltaMax: number,
  outcomes: readonly string[],
) {
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

export const step = stepArbitrary([null, 1, 2, 3], 2, ['ok', 'ok', 'ok', 'fail', 'info']);
export const narrowStep = stepArbitrary([null, 1], 1, ['ok', 'info', 'info']);

export type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** Turns random steps into a well-formed history: an idle process invokes, a busy one completes. */
export function historyFromSteps(steps: readonly Step[]): HistoryEvent[] {
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
