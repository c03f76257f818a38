// Pairs a history's invoke events with their completions into operations, the unit every
// checker works on. A malformed history (a completion without an invoke, two outstanding
// operations on one process, a completion for another key) is a typed error.
import type { HistoryEvent, HistoryScalar, HistoryValue, OperationFunction } from './history.ts';

/** ok: it happened. fail: it definitely did not. info: indeterminate (also: never completed). */
export type OperationStatus = 'ok' | 'fail' | 'info';

/** One client operation: an invoke event and its completion. */
export interface Operation {
  /** 0-based, in order of invocation. */
  readonly id: number;
  readonly process: number;
  readonly f: OperationFunction;
  readonly key: string;
  /** The invoke's value: null for a read, the value for a write, [expected, new], the delta. */
  readonly value: HistoryValue;
  /** For an ok read, the value read (null = absent); null otherwise. */
  readonly output: HistoryScalar;
  readonly status: OperationStatus;
  /** Positions in the event list; real-time order is the order of events. */
  readonly invokePosition: number;
  /** Infinity when the operation never completed. */
  readonly completePosition: number;
  readonly invokeTimeMs: number;
  /** Infinity when the operation never completed. */
  readonly completeTimeMs: number;
}

export type HistoryShapeErrorKind =
  'completion-without-invoke' | 'invoke-while-outstanding' | 'completion-mismatch';

/** Why the events do not form a history; `position` is the 0-based index of the bad event. */
export interface HistoryShapeError {
  readonly kind: HistoryShapeErrorKind;
  readonly position: number;
  readonly message: string;
}

export type OperationsResult =
  | { readonly kind: 'ok'; readonly operations: readonly Operation[] }
  | { readonly kind: 'error'; readonly error: HistoryShapeError };

interface Pending {
  readonly id: number;
  readonly invoke: HistoryEvent;
  readonly position: number;
}

function sameValue(a: HistoryValue, b: HistoryValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a[0] === b[0] && a[1] === b[1];
  return a === b;
}

/**
 * The operations of a history, ordered by id (invocation order). Invokes that never
 * complete count as indeterminate (`info`).
 */
export function operationsFromHistory(events: readonly HistoryEvent[]): OperationsResult {
  const pending = new Map<number, Pending>();
  const operations: Operation[] = [];
  let nextId = 0;
  for (const [position, event] of events.entries()) {
    const error = (kind: HistoryShapeErrorKind, message: string): OperationsResult => ({
      kind: 'error',
      error: { kind, position, message: `event ${position} (process ${event.process}): ${message}` },
    });
    const open = pending.get(event.process);
    if (event.type === 'invoke') {
      if (open !== undefined)
        return error('invoke-while-outstanding', 'invoked while another operation is outstanding');
      pending.set(event.process, { id: nextId, invoke: event, position });
      nextId += 1;
      continue;
    }
    if (open === undefined) return error('completion-without-invoke', `${event.type} without an invoke`);
    const { invoke } = open;
    if (invoke.f !== event.f || invoke.key !== event.key) {
      return error(
        'completion-mismatch',
        `completes ${event.f} on "${event.key}" but ${invoke.f} on "${invoke.key}" was invoked`,
      );
    }
    if (event.f !== 'read' && !sameValue(invoke.value, event.value)) {
      return error(
        'completion-mismatch',
        `a ${event.f} completes with another value than it was invoked with`,
      );
    }
    pending.delete(event.process);
    operations[open.id] = operation(
      open,
      event.type,
      event.f === 'read' && event.type === 'ok' ? (event.value as HistoryScalar) : null,
      position,
      event.time,
    );
  }
  for (const open of pending.values()) {
    operations[open.id] = operation(open, 'info', null, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  }
  return { kind: 'ok', operations };
}

function operation(
  open: Pending,
  status: OperationStatus,
  output: HistoryScalar,
  completePosition: number,
  completeTimeMs: number,
): Operation {
  const { process, f, key, value, time } = open.invoke;
  return {
    id: open.id,
    process,
    f,
    key,
    value,
    output,
    status,
    invokePosition: open.position,
    completePosition,
    invokeTimeMs: time,
    completeTimeMs,
  };
}
