// For the WGL search: which values some not-yet-linearized operation could still observe.
// An indeterminate write of a value nothing can observe any more can only be followed by an
// overwrite, so linearizing it is pointless (the configuration without it dominates).
import type { HistoryScalar } from './history.ts';
import type { Operation } from './operations.ts';

/** The value an indeterminate write or cas would leave; undefined for other operations. */
export function indeterminateWrittenValue(operation: Operation): HistoryScalar | undefined {
  if (operation.status !== 'info') return undefined;
  if (operation.f === 'write') return operation.value as HistoryScalar;
  if (operation.f === 'cas') return (operation.value as readonly [HistoryScalar, HistoryScalar])[1];
  return undefined;
}

/**
 * Counts, per value, the unlinearized operations that can only run in a state holding that
 * value (ok reads that returned it, cas expecting it), and the unlinearized increments
 * (which can run on any number). Updated as the search linearizes and backtracks.
 */
export class PendingObservers {
  private readonly counts = new Map<HistoryScalar, number>();
  private increments = 0;

  constructor(operations: readonly Operation[]) {
    for (const operation of operations) this.adjust(operation, 1);
  }

  linearized(operation: Operation): void {
    this.adjust(operation, -1);
  }

  unlinearized(operation: Operation): void {
    this.adjust(operation, 1);
  }

  /** Whether an unlinearized operation could run right after the register came to hold `value`. */
  canObserve(value: HistoryScalar): boolean {
    return (this.counts.get(value) ?? 0) > 0 || (typeof value === 'number' && this.increments > 0);
  }

  private adjust(operation: Operation, delta: 1 | -1): void {
    switch (operation.f) {
      case 'read':
        this.count(operation.output, delta);
        return;
      case 'cas':
        this.count((operation.value as readonly [HistoryScalar, HistoryScalar])[0], delta);
        return;
      case 'incr':
        this.increments += delta;
        return;
      case 'write':
        return;
    }
  }

  private count(value: HistoryScalar, delta: 1 | -1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + delta);
  }
}
