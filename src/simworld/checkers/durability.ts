// Durability checker: no acknowledged write is lost. After a run, a final read of each key
// must show the last acknowledged write, unless some other change to the key could have
// been ordered after that write. Linearizability with final reads covers this too; this
// checker names the lost write plainly.
import type { HistoryEvent, HistoryScalar } from './history.ts';
import { operationsFromHistory, type HistoryShapeError, type Operation } from './operations.ts';

/** A read made after the run (faults healed), with its invoke and completion times. */
export interface FinalRead {
  readonly key: string;
  readonly value: HistoryScalar;
  readonly invokeTimeMs: number;
  readonly completeTimeMs: number;
}

export interface LostWrite {
  readonly kind: 'lost-write';
  readonly key: string;
  /** The acknowledged write or cas (its new value) that the final read should have seen. */
  readonly write: Operation;
  readonly writtenValue: HistoryScalar;
  readonly finalRead: FinalRead;
  readonly message: string;
}

export interface DurabilityReport {
  readonly violations: readonly LostWrite[];
  /** Acknowledged writes compared against a final read. */
  readonly acknowledgedWritesChecked: number;
}

export type DurabilityCheckResult =
  | ({ readonly kind: 'checked' } & DurabilityReport)
  | { readonly kind: 'malformed-history'; readonly error: HistoryShapeError };

/** Pairs the events into operations and checks them against the final reads. */
export function checkHistoryDurability(
  events: readonly HistoryEvent[],
  finalReads: readonly FinalRead[],
): DurabilityCheckResult {
  const paired = operationsFromHistory(events);
  switch (paired.kind) {
    case 'error':
      return { kind: 'malformed-history', error: paired.error };
    case 'ok':
      return { kind: 'checked', ...checkDurability(paired.operations, finalReads) };
  }
}

/** The value an acknowledged write or cas left, or undefined for other operations. */
function writtenValue(operation: Operation): HistoryScalar | undefined {
  if (operation.status !== 'ok') return undefined;
  if (operation.f === 'write') return operation.value as HistoryScalar;
  if (operation.f === 'cas') return (operation.value as readonly [HistoryScalar, HistoryScalar])[1];
  return undefined;
}

/**
 * Exactly what is checked, for each final read R of key k and each acknowledged (ok) write
 * or cas W on k that completed before R was invoked (so W precedes R in real time):
 * W is lost when R's value is not W's value AND no other change M to k could have been
 * ordered between W and R, where a change is any write, cas or incr that did not fail
 * (ok, indeterminate or never completed), M was invoked no later than R completed, and
 * M is not known to precede W (it is indeterminate, or it completed at or after W's invoke).
 * Acknowledged increments are not checked (their resulting value is not in the history);
 * a failed operation never supersedes. Sound: every report is a real loss, given the times.
 */
export function checkDurability(
  operations: readonly Operation[],
  finalReads: readonly FinalRead[],
): DurabilityReport {
  const changesByKey = new Map<string, Operation[]>();
  for (const operation of operations) {
    if (operation.f === 'read' || operation.status === 'fail') continue;
    const list = changesByKey.get(operation.key);
    if (list === undefined) changesByKey.set(operation.key, [operation]);
    else list.push(operation);
  }
  const violations: LostWrite[] = [];
  let acknowledgedWritesChecked = 0;
  for (const finalRead of finalReads) {
    const changes = (changesByKey.get(finalRead.key) ?? []).filter(
      (change) => change.invokeTimeMs <= finalRead.completeTimeMs,
    );
    const supersession = new Supersession(changes);
    for (const write of changes) {
      const value = writtenValue(write);
      if (value === undefined || !(write.completeTimeMs < finalRead.invokeTimeMs)) continue;
      acknowledgedWritesChecked += 1;
      if (value === finalRead.value || supersession.couldFollow(write)) continue;
      violations.push(lostWrite(write, value, finalRead));
    }
  }
  return { violations, acknowledgedWritesChecked };
}

/** Answers "could some change other than W be ordered after W?" in O(1) per W. */
class Supersession {
  private readonly indeterminate: number;
  /** The two ok changes that completed last: [operation id, completion time]. */
  private readonly latest: [number, number][] = [];

  constructor(changes: readonly Operation[]) {
    this.indeterminate = changes.filter((change) => change.status !== 'ok').length;
    for (const change of changes) {
      if (change.status !== 'ok') continue;
      this.latest.push([change.id, change.completeTimeMs]);
      this.latest.sort((a, b) => b[1] - a[1]);
      if (this.latest.length > 2) this.latest.pop();
    }
  }

  couldFollow(write: Operation): boolean {
    if (this.indeterminate > 0) return true;
    const other = this.latest.find(([id]) => id !== write.id);
    return other !== undefined && other[1] >= write.invokeTimeMs;
  }
}

function lostWrite(write: Operation, value: HistoryScalar, finalRead: FinalRead): LostWrite {
  const message =
    `key "${finalRead.key}": process ${write.process}'s ${write.f} of ${JSON.stringify(value)} was acknowledged ` +
    `at t=${write.completeTimeMs} ms, but the final read at t=${finalRead.invokeTimeMs}..${finalRead.completeTimeMs} ms ` +
    `returned ${JSON.stringify(finalRead.value)} and no other change could have come after the write`;
  return { kind: 'lost-write', key: finalRead.key, write, writtenValue: value, finalRead, message };
}

/** The last ok read of each key (by invocation), as final reads; keys sorted. */
export function lastReadsPerKey(operations: readonly Operation[]): FinalRead[] {
  const last = new Map<string, Operation>();
  for (const operation of operations) {
    if (operation.f !== 'read' || operation.status !== 'ok') continue;
    const previous = last.get(operation.key);
    if (previous === undefined || previous.invokePosition < operation.invokePosition)
      last.set(operation.key, operation);
  }
  return [...last.keys()].sort().map((key) => {
    const read = last.get(key) as Operation;
    return { key, value: read.output, invokeTimeMs: read.invokeTimeMs, completeTimeMs: read.completeTimeMs };
  });
}
