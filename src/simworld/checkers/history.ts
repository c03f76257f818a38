// The client history format shared by the recorder, the checkers and the JSON Lines
// export: one event per line, so other tools (Jepsen's Knossos, Porcupine) can check it.

/** The operations a history records, on one key each. */
export type OperationFunction = 'read' | 'write' | 'cas' | 'incr';

/**
 * A value as histories see it: null is "absent". Integers are JSON numbers (histories use
 * small counters), byte strings are strings, booleans are booleans. A cas carries the pair
 * [expected, new].
 */
export type HistoryScalar = null | string | number | boolean;
export type HistoryValue = HistoryScalar | readonly [HistoryScalar, HistoryScalar];

/**
 * One event. `invoke` starts an operation of `process`; it is completed by `ok` (it
 * happened; a read's value is what it read), `fail` (it definitely did not happen) or
 * `info` (indeterminate: it may or may not have happened, e.g. a timeout). A process has
 * at most one operation outstanding. `time` is in milliseconds (virtual time in the
 * simulator, wall time in real-process tests); events are listed in real-time order.
 */
export interface HistoryEvent {
  readonly process: number;
  readonly type: 'invoke' | 'ok' | 'fail' | 'info';
  readonly f: OperationFunction;
  readonly key: string;
  readonly value: HistoryValue;
  readonly time: number;
}
