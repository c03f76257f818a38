// The sequential specification each key is checked against: a register holding one scalar
// (null = absent) with read, write, compare-and-set and increment.
import type { HistoryScalar } from './history.ts';
import type { Operation } from './operations.ts';

/** Returned by `stepRegister` when the operation cannot happen in this state. */
export const NOT_ALLOWED: unique symbol = Symbol('not allowed');
export type StepResult = HistoryScalar | typeof NOT_ALLOWED;

/**
 * The state after `operation` runs on a register holding `state`, or NOT_ALLOWED when it
 * cannot run there with the outcome the history gives it.
 * - read (ok): allowed only when it read `state`.
 * - write: the state becomes the value.
 * - cas [expected, new]: allowed only when `state === expected`; the state becomes `new`.
 *   (An indeterminate cas whose expected value does not match is the same as a cas that
 *   never happened, so the checker never needs to linearize it.)
 * - incr delta: absent counts as 0; not allowed on a non-number.
 * Failed operations and indeterminate reads never reach the model: they constrain nothing.
 */
export function stepRegister(state: HistoryScalar, operation: Operation): StepResult {
  switch (operation.f) {
    case 'read':
      return state === operation.output ? state : NOT_ALLOWED;
    case 'write':
      return operation.value as HistoryScalar;
    case 'cas': {
      const [expected, replacement] = operation.value as readonly [HistoryScalar, HistoryScalar];
      return state === expected ? replacement : NOT_ALLOWED;
    }
    case 'incr': {
      const delta = operation.value as number;
      if (state === null) return delta;
      return typeof state === 'number' ? state + delta : NOT_ALLOWED;
    }
  }
}
