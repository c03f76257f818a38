// Test support: a compact way to write hand-made histories, one operation per line, each
// with its invoke and completion times. Used by the checker tests only.
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
