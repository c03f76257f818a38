// Records client operations as a history of invoke/ok/fail/info events, with times given by
// the caller (virtual or wall milliseconds): the recorder never reads a clock itself.
import type { HistoryEvent, HistoryScalar, HistoryValue, OperationFunction } from './history.ts';
import { historyToJsonLines } from './jsonl.ts';

/** Default bound on recorded events; a run that exceeds it is misconfigured. */
export const HISTORY_EVENTS_MAX_DEFAULT = 5_000_000;

export interface HistoryRecorderOptions {
  /** The most events one recorder holds; recording more is a programmer error. */
  readonly historyEventsMax?: number;
}

interface OutstandingOperation {
  readonly f: OperationFunction;
  readonly key: string;
  readonly value: HistoryValue;
}

/** Asserts that `value` has the shape the issue's JSON Lines format gives to `f`'s invoke. */
export function assertInvokeValueShape(f: OperationFunction, value: HistoryValue): void {
  switch (f) {
    case 'read':
      assert(value === null, 'a read is invoked with value null');
      return;
    case 'write':
      assert(!Array.isArray(value), 'a write carries one scalar value');
      return;
    case 'cas':
      assert(Array.isArray(value) && value.length === 2, 'a cas carries [expected, new]');
      return;
    case 'incr':
      assert(typeof value === 'number' && Number.isSafeInteger(value), 'an incr carries an integer delta');
      return;
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`HistoryRecorder: ${message}`);
}

/**
 * An append-only client history. Each process has at most one operation outstanding
 * (asserted); times must not go backwards (asserted), so the event list is in real-time order.
 * A call that fails an assertion records nothing.
 */
export class HistoryRecorder {
  private readonly recorded: HistoryEvent[] = [];
  private readonly outstanding = new Map<number, OutstandingOperation>();
  private readonly historyEventsMax: number;
  private lastTimeMs = Number.NEGATIVE_INFINITY;

  constructor(options: HistoryRecorderOptions = {}) {
    this.historyEventsMax = options.historyEventsMax ?? HISTORY_EVENTS_MAX_DEFAULT;
  }

  /** Starts an operation of `process`. A read's value is null; a cas's is [expected, new]. */
  invoke(process: number, f: OperationFunction, key: string, value: HistoryValue, timeMs: number): void {
    assert(
      Number.isSafeInteger(process) && process >= 0,
      `process must be a non-negative integer: ${process}`,
    );
    assert(!this.outstanding.has(process), `process ${process} already has an operation outstanding`);
    assertInvokeValueShape(f, value);
    this.append({ process, type: 'invoke', f, key, value, time: timeMs });
    this.outstanding.set(process, { f, key, value });
  }

  /** The outstanding operation of `process` happened; a read gives the value it read (null = absent). */
  ok(process: number, timeMs: number, readValue?: HistoryScalar): void {
    const operation = this.peek(process);
    if (operation.f === 'read') {
      assert(readValue !== undefined, 'a read completes with the value it read');
      this.complete(process, 'ok', readValue, timeMs);
      return;
    }
    assert(readValue === undefined, `only a read completes with a value, not a ${operation.f}`);
    this.complete(process, 'ok', operation.value, timeMs);
  }

  /** The outstanding operation of `process` definitely did not happen. */
  fail(process: number, timeMs: number): void {
    this.complete(process, 'fail', this.peek(process).value, timeMs);
  }

  /** The outstanding operation of `process` is indeterminate (e.g. timed out). */
  info(process: number, timeMs: number): void {
    this.complete(process, 'info', this.peek(process).value, timeMs);
  }

  /** Whether `process` has an operation outstanding. */
  isOutstanding(process: number): boolean {
    return this.outstanding.has(process);
  }

  /** The processes with an operation outstanding, ascending. */
  outstandingProcesses(): number[] {
    return [...this.outstanding.keys()].sort((a, b) => a - b);
  }

  /** The events so far, in real-time order. */
  events(): readonly HistoryEvent[] {
    return this.recorded;
  }

  /** The history as JSON Lines (one event per line, newline-terminated). */
  toJsonLines(): string {
    return historyToJsonLines(this.recorded);
  }

  private peek(process: number): OutstandingOperation {
    const operation = this.outstanding.get(process);
    assert(operation !== undefined, `process ${process} has no operation outstanding`);
    return operation;
  }

  private complete(process: number, type: 'ok' | 'fail' | 'info', value: HistoryValue, timeMs: number): void {
    const { f, key } = this.peek(process);
    this.append({ process, type, f, key, value, time: timeMs });
    this.outstanding.delete(process);
  }

  private append(event: HistoryEvent): void {
    assert(Number.isFinite(event.time), `time must be a finite number of ms: ${event.time}`);
    assert(event.time >= this.lastTimeMs, `time went backwards: ${event.time} < ${this.lastTimeMs}`);
    assert(this.recorded.length < this.historyEventsMax, `more than ${this.historyEventsMax} events`);
    this.lastTimeMs = event.time;
    this.recorded.push(event);
  }
}
