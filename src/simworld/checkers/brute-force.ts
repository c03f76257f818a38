// A deliberately naive linearizability checker for tests only: it tries every order of
// every subset of indeterminate operations, over all keys at once (no per-key split, no
// memoization, no pruning), so it can judge the WGL checker on tiny histories.
import type { HistoryEvent, HistoryScalar } from './history.ts';
import { operationsFromHistory, type Operation } from './operations.ts';
import { NOT_ALLOWED, stepRegister } from './register-model.ts';

/** Histories larger than this are refused: the search is factorial. */
export const BRUTE_FORCE_OPERATIONS_MAX = 9;

/** true/false, or throws on a malformed or oversized history (a test's own mistake). */
export function bruteForceLinearizable(events: readonly HistoryEvent[]): boolean {
  const paired = operationsFromHistory(events);
  if (paired.kind === 'error') throw new Error(paired.error.message);
  const operations = paired.operations.filter(
    (operation) => operation.status === 'ok' || (operation.status === 'info' && operation.f !== 'read'),
  );
  if (operations.length > BRUTE_FORCE_OPERATIONS_MAX) {
    throw new Error(`bruteForceLinearizable: ${operations.length} operations is too many`);
  }
  return search(operations, new Array<boolean>(operations.length).fill(false), new Map());
}

function search(
  operations: readonly Operation[],
  placed: boolean[],
  state: Map<string, HistoryScalar>,
): boolean {
  if (operations.every((operation, index) => placed[index] === true || operation.status === 'info'))
    return true;
  for (const [index, operation] of operations.entries()) {
    if (placed[index] === true || !mayGoNext(operations, placed, operation)) continue;
    const after = stepRegister(state.get(operation.key) ?? null, operation);
    if (after === NOT_ALLOWED) continue;
    const nextState = new Map(state).set(operation.key, after);
    placed[index] = true;
    const found = search(operations, placed, nextState);
    placed[index] = false;
    if (found) return true;
  }
  return false;
}

/**
 * No unplaced ok operation completed before this one was invoked. (An indeterminate
 * operation's completion says nothing: it may take effect at any time after its invoke.)
 */
function mayGoNext(
  operations: readonly Operation[],
  placed: readonly boolean[],
  candidate: Operation,
): boolean {
  return operations.every(
    (other, index) =>
      placed[index] === true ||
      other === candidate ||
      other.status !== 'ok' ||
      !(other.completePosition < candidate.invokePosition),
  );
}
