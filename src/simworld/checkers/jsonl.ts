// JSON Lines export and import of client histories, in exactly the shape issue 3 gives:
// {"process":<int>,"type":..,"f":..,"key":<string>,"value":<...>,"time":<ms>}, one per line.
// Import validates every line and answers a typed error, never throws, on bad input.
import type { HistoryEvent, HistoryScalar, HistoryValue, OperationFunction } from './history.ts';

/** Bounds on an imported history. */
export const HISTORY_LINES_MAX = 10_000_000;
export const HISTORY_LINE_CHARS_MAX = 1_000_000;

export type HistoryParseErrorKind =
  'too-many-lines' | 'line-too-long' | 'invalid-json' | 'invalid-event' | 'time-goes-backwards';

/** Why a history could not be imported; `line` is 1-based. */
export interface HistoryParseError {
  readonly kind: HistoryParseErrorKind;
  readonly line: number;
  readonly message: string;
}

export type HistoryParseResult =
  | { readonly kind: 'ok'; readonly events: readonly HistoryEvent[] }
  | { readonly kind: 'error'; readonly error: HistoryParseError };

const EVENT_FIELDS = ['process', 'type', 'f', 'key', 'value', 'time'] as const;
const EVENT_TYPES: ReadonlySet<unknown> = new Set(['invoke', 'ok', 'fail', 'info']);
const FUNCTIONS: ReadonlySet<unknown> = new Set(['read', 'write', 'cas', 'incr']);

/** One event as one line of JSON, fields in the order. */
export function historyEventToJson(event: HistoryEvent): string {
  const { process, type, f, key, value, time } = event;
  return JSON.stringify({ process, type, f, key, value, time });
}

/** A whole history as JSON Lines; every line, the last included, ends with "\n". */
export function historyToJsonLines(events: readonly HistoryEvent[]): string {
  return events.map((event) => `${historyEventToJson(event)}\n`).join('');
}

/** Parses JSON Lines into events. Blank lines are skipped; anything else must be an event. */
export function parseHistoryJsonLines(text: string): HistoryParseResult {
  const lines = text.split('\n');
  if (lines.length > HISTORY_LINES_MAX) {
    return failure('too-many-lines', HISTORY_LINES_MAX + 1, `more than ${HISTORY_LINES_MAX} lines`);
  }
  const events: HistoryEvent[] = [];
  let lastTimeMs = Number.NEGATIVE_INFINITY;
  for (const [index, raw] of lines.entries()) {
    const lineNumber = index + 1;
    const line = raw.trim();
    if (line === '') continue;
    if (line.length > HISTORY_LINE_CHARS_MAX) {
      return failure('line-too-long', lineNumber, `longer than ${HISTORY_LINE_CHARS_MAX} characters`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      return failure('invalid-json', lineNumber, error instanceof Error ? error.message : String(error));
    }
    const event = validateEvent(parsed);
    if (typeof event === 'string') return failure('invalid-event', lineNumber, event);
    if (event.time < lastTimeMs) {
      return failure('time-goes-backwards', lineNumber, `time ${event.time} is before ${lastTimeMs}`);
    }
    lastTimeMs = event.time;
    events.push(event);
  }
  return { kind: 'ok', events };
}

function failure(kind: HistoryParseErrorKind, line: number, message: string): HistoryParseResult {
  return { kind: 'error', error: { kind, line, message } };
}

/** The event, or a description of what is wrong with it. */
export function validateEvent(candidate: unknown): HistoryEvent | string {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    return 'an event must be a JSON object';
  }
  const record = candidate as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (!(EVENT_FIELDS as readonly string[]).includes(field)) return `unknown field "${field}"`;
  }
  const { process, type, f, key, value, time } = record;
  if (typeof process !== 'number' || !Number.isSafeInteger(process) || process < 0) {
    return '"process" must be a non-negative integer';
  }
  if (!EVENT_TYPES.has(type)) return '"type" must be one of invoke, ok, fail, info';
  if (!FUNCTIONS.has(f)) return '"f" must be one of read, write, cas, incr';
  if (typeof key !== 'string') return '"key" must be a string';
  if (typeof time !== 'number' || !Number.isFinite(time)) return '"time" must be a finite number (ms)';
  const eventType = type as HistoryEvent['type'];
  const operation = f as OperationFunction;
  const valueProblem = checkValue(operation, eventType, value);
  if (valueProblem !== undefined) return valueProblem;
  return { process, type: eventType, f: operation, key, value: value as HistoryValue, time };
}

function isScalar(value: unknown): value is HistoryScalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function checkValue(f: OperationFunction, type: HistoryEvent['type'], value: unknown): string | undefined {
  switch (f) {
    case 'read':
      if (type === 'invoke' && value !== null) return 'a read is invoked with value null';
      return isScalar(value) ? undefined : 'a read value must be null, a string, a number or a boolean';
    case 'write':
      return isScalar(value) ? undefined : 'a write value must be null, a string, a number or a boolean';
    case 'cas':
      return Array.isArray(value) && value.length === 2 && isScalar(value[0]) && isScalar(value[1])
        ? undefined
        : 'a cas value must be [expected, new], two scalars';
    case 'incr':
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? undefined
        : 'an incr value must be an integer delta';
  }
}
