// Linearizability checker: Wing & Gong's search with Lowe's memoization of (linearized set,
// model state), run per key (P-compositionality: a history is linearizable iff each key's
// sub-history is), over the register model. Indeterminate operations may take effect at any
// point after their invoke, or never; failed operations are removed before the search.
// Real-time order is the order of events in the history (equal times do not make two
// operations concurrent; the listed order decides).
import type { HistoryEvent, HistoryScalar } from './history.ts';
import { operationsFromHistory, type HistoryShapeError, type Operation } from './operations.ts';
import { NOT_ALLOWED, stepRegister, type StepResult } from './register-model.ts';
import { LinearizationCache } from './linearization-cache.ts';
import { indeterminateWrittenValue, PendingObservers } from './pending-observers.ts';

/** Default bound on model steps tried per key before the answer is 'unknown'. */
export const SEARCH_STEPS_PER_KEY_MAX_DEFAULT = 5_000_000;
/** Default bound on model steps over all keys of one check. */
export const SEARCH_STEPS_TOTAL_MAX_DEFAULT = 20_000_000;
/** Default bound on memoized configurations per key before the answer is 'unknown'. */
export const CACHE_ENTRIES_PER_KEY_MAX_DEFAULT = 2_000_000;
/** How many operations of the longest linearizable prefix an explanation shows. */
export const EXPLANATION_PREFIX_OPERATIONS_MAX = 8;
/** How many operations of the failing window an explanation shows. */
export const EXPLANATION_WINDOW_OPERATIONS_MAX = 64;

export interface LinearizabilityOptions {
  readonly searchStepsPerKeyMax?: number;
  readonly searchStepsTotalMax?: number;
  readonly cacheEntriesPerKeyMax?: number;
}

/**
 * Where the search got furthest before every continuation failed: after `linearizedCount`
 * operations (the last few in `lastLinearized`) the register held `stateBeforeWindow`, and
 * none of `window` (the operations that could come next) could, yet `blockedBy`, the last
 * of them, had already completed.
 */
export interface NonLinearizableExplanation {
  readonly stateBeforeWindow: HistoryScalar;
  readonly linearizedCount: number;
  readonly lastLinearized: readonly Operation[];
  readonly window: readonly Operation[];
  readonly blockedBy: Operation;
}

export type LinearizabilityResult =
  | {
      readonly kind: 'linearizable';
      readonly ok: true;
      readonly keysChecked: number;
      readonly searchSteps: number;
    }
  | ({
      readonly kind: 'not-linearizable';
      readonly ok: false;
      readonly key: string;
      readonly message: string;
    } & NonLinearizableExplanation)
  | {
      readonly kind: 'unknown';
      readonly ok: 'unknown';
      readonly key: string;
      readonly reason: 'search-steps-exhausted' | 'cache-full';
      readonly searchSteps: number;
    };

export type HistoryCheckResult =
  LinearizabilityResult | { readonly kind: 'malformed-history'; readonly error: HistoryShapeError };

/** Pairs the events into operations and checks them. */
export function checkHistoryLinearizable(
  events: readonly HistoryEvent[],
  options: LinearizabilityOptions = {},
): HistoryCheckResult {
  const paired = operationsFromHistory(events);
  switch (paired.kind) {
    case 'error':
      return { kind: 'malformed-history', error: paired.error };
    case 'ok':
      return checkLinearizable(paired.operations, options);
  }
}

/** Whether the operations can be put in one order that respects real time and the model. */
export function checkLinearizable(
  operations: readonly Operation[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const byKey = new Map<string, Operation[]>();
  for (const operation of operations) {
    if (!constrains(operation)) continue;
    const list = byKey.get(operation.key);
    if (list === undefined) byKey.set(operation.key, [operation]);
    else list.push(operation);
  }
  const keys = [...byKey.keys()].sort();
  const perKeyMax = options.searchStepsPerKeyMax ?? SEARCH_STEPS_PER_KEY_MAX_DEFAULT;
  const totalMax = options.searchStepsTotalMax ?? SEARCH_STEPS_TOTAL_MAX_DEFAULT;
  let unknown: LinearizabilityResult | undefined;
  let searchSteps = 0;
  for (const key of keys) {
    const stepsMax = Math.min(perKeyMax, Math.max(0, totalMax - searchSteps));
    const result = checkKey(key, byKey.get(key) ?? [], stepsMax, options);
    switch (result.kind) {
      case 'not-linearizable':
        return result;
      case 'unknown':
        unknown ??= result;
        searchSteps += result.searchSteps;
        break;
      case 'linearizable':
        searchSteps += result.searchSteps;
        break;
    }
  }
  return unknown ?? { kind: 'linearizable', ok: true, keysChecked: keys.length, searchSteps };
}

/** Failed operations never happened, and an indeterminate read tells nothing: both drop out. */
function constrains(operation: Operation): boolean {
  switch (operation.status) {
    case 'fail':
      return false;
    case 'info':
      return operation.f !== 'read';
    case 'ok':
      return true;
  }
}

/**
 * The history's entries as a doubly linked list in real-time order: a call entry per
 * operation and a return entry per ok operation (an indeterminate one returns at +infinity,
 * i.e. never). Index `head` is the sentinel; -1 ends the list.
 */
class EntryList {
  readonly head: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly entryOperation: Int32Array;
  readonly entryIsCall: Uint8Array;
  readonly callEntry: Int32Array;
  readonly returnEntry: Int32Array;

  constructor(operations: readonly Operation[]) {
    const positioned: { position: number; operation: number; isCall: boolean }[] = [];
    operations.forEach((operation, index) => {
      positioned.push({ position: operation.invokePosition, operation: index, isCall: true });
      if (operation.status === 'ok') {
        positioned.push({ position: operation.completePosition, operation: index, isCall: false });
      }
    });
    positioned.sort((a, b) => a.position - b.position);
    const count = positioned.length;
    this.head = count;
    this.next = new Int32Array(count + 1);
    this.prev = new Int32Array(count + 1);
    this.entryOperation = new Int32Array(count);
    this.entryIsCall = new Uint8Array(count);
    this.callEntry = new Int32Array(operations.length);
    this.returnEntry = new Int32Array(operations.length).fill(-1);
    positioned.forEach((entry, index) => {
      this.entryOperation[index] = entry.operation;
      this.entryIsCall[index] = entry.isCall ? 1 : 0;
      if (entry.isCall) this.callEntry[entry.operation] = index;
      else this.returnEntry[entry.operation] = index;
      this.next[index] = index + 1 < count ? index + 1 : -1;
      this.prev[index] = index === 0 ? this.head : index - 1;
    });
    this.next[this.head] = count > 0 ? 0 : -1;
    this.prev[this.head] = -1;
  }

  /** Removes an operation's entries (call, then return). */
  lift(operation: number): void {
    this.unlink(this.callEntry[operation] ?? -1);
    const returnEntry = this.returnEntry[operation] ?? -1;
    if (returnEntry >= 0) this.unlink(returnEntry);
  }

  /** Puts back what `lift` removed, in reverse order, so the links are exactly restored. */
  unlift(operation: number): void {
    const returnEntry = this.returnEntry[operation] ?? -1;
    if (returnEntry >= 0) this.relink(returnEntry);
    this.relink(this.callEntry[operation] ?? -1);
  }

  private unlink(entry: number): void {
    const before = this.prev[entry] ?? -1;
    const after = this.next[entry] ?? -1;
    this.next[before] = after;
    if (after >= 0) this.prev[after] = before;
  }

  private relink(entry: number): void {
    const before = this.prev[entry] ?? -1;
    const after = this.next[entry] ?? -1;
    this.next[before] = entry;
    if (after >= 0) this.prev[after] = entry;
  }
}

interface Frame {
  readonly operation: number;
  readonly stateBefore: HistoryScalar;
}

type KeyResult = LinearizabilityResult;

/** The WGL search over one key's operations. */
function checkKey(
  key: string,
  allOperations: readonly Operation[],
  stepsMax: number,
  options: LinearizabilityOptions,
): KeyResult {
  const operations = withoutUnobservableWrites(allOperations);
  const entriesMax = options.cacheEntriesPerKeyMax ?? CACHE_ENTRIES_PER_KEY_MAX_DEFAULT;
  const cache = new LinearizationCache(operations.length, entriesMax);
  const list = new EntryList(operations);
  const twins = previousTwins(operations);
  const observers = new PendingObservers(operations);
  const stack: Frame[] = [];
  const deepest = new DeepestDeadEnd(operations, list);
  let state: HistoryScalar = null;
  let entry = list.next[list.head] ?? -1;
  let steps = 0;
  for (;;) {
    // Reaching the end without meeting a return entry: only optional operations are left.
    if (entry < 0) return { kind: 'linearizable', ok: true, keysChecked: 1, searchSteps: steps };
    const index = list.entryOperation[entry] ?? -1;
    if (list.entryIsCall[entry] === 1) {
      steps += 1;
      if (steps > stepsMax) return unknownResult(key, 'search-steps-exhausted', steps);
      const candidate = operations[index] as Operation;
      const twin = twins[index] ?? -1;
      const after: StepResult =
        twin >= 0 && !cache.isLinearized(twin) ? NOT_ALLOWED : stepRegister(state, candidate);
      const added =
        after === NOT_ALLOWED || isDominated(candidate, state, after, stack, operations, observers)
          ? 'skipped'
          : cache.add(index, after);
      if (added === 'full') return unknownResult(key, 'cache-full', steps);
      if (added === 'added' && after !== NOT_ALLOWED) {
        stack.push({ operation: index, stateBefore: state });
        state = after;
        list.lift(index);
        observers.linearized(candidate);
        entry = list.next[list.head] ?? -1;
      } else {
        entry = list.next[entry] ?? -1;
      }
      continue;
    }
    // A return entry: its operation must be linearized by now, and no candidate before it
    // leads anywhere. Backtrack to the last choice and try the next candidate after it.
    deepest.consider(stack, state, entry);
    const frame = stack.pop();
    if (frame === undefined) return notLinearizable(key, deepest);
    list.unlift(frame.operation);
    observers.unlinearized(operations[frame.operation] as Operation);
    cache.forget(frame.operation);
    state = frame.stateBefore;
    entry = list.next[list.callEntry[frame.operation] ?? -1] ?? -1;
  }
}

/**
 * For each indeterminate operation, the latest one invoked before it with the same function
 * and value (-1 when none). Twins are interchangeable and the earlier one can go wherever
 * the later one can, so the search uses twins only in invocation order (symmetry breaking):
 * without this, k equal indeterminate increments would be tried in all 2^k subsets.
 */
function previousTwins(operations: readonly Operation[]): Int32Array {
  const twins = new Int32Array(operations.length).fill(-1);
  const latest = new Map<string, number>();
  const byInvoke = operations.map((_, index) => index);
  byInvoke.sort(
    (a, b) => (operations[a] as Operation).invokePosition - (operations[b] as Operation).invokePosition,
  );
  for (const index of byInvoke) {
    const operation = operations[index] as Operation;
    if (operation.status !== 'info') continue;
    const identity = `${operation.f}:${JSON.stringify(operation.value)}`;
    twins[index] = latest.get(identity) ?? -1;
    latest.set(identity, index);
  }
  return twins;
}

/**
 * Drops indeterminate writes and cas whose new value nothing could ever observe (see
 * PendingObservers): in any linearization such an operation can only be followed by an
 * overwrite, or nothing, so removing it leaves a linearization. Sound, and it shortens the
 * list every search node scans.
 */
function withoutUnobservableWrites(operations: readonly Operation[]): readonly Operation[] {
  const observers = new PendingObservers(operations);
  return operations.filter((operation) => {
    const written = indeterminateWrittenValue(operation);
    return written === undefined || observers.canObserve(written);
  });
}

/**
 * Sound prunings for indeterminate operations. Each configuration they skip is dominated
 * by one the search visits anyway: same linearized ok operations, same state, fewer
 * indeterminate operations used (those are optional and never block anything).
 * - an indeterminate operation that leaves the state unchanged;
 * - an indeterminate write or cas of a value no unlinearized operation can observe: only
 *   an overwrite could follow it;
 * - any operation right after an indeterminate one whose effect it hides (the result is the
 *   same as running it without the indeterminate one before it).
 */
function isDominated(
  candidate: Operation,
  stateBefore: HistoryScalar,
  stateAfter: HistoryScalar,
  stack: readonly Frame[],
  operations: readonly Operation[],
  observers: PendingObservers,
): boolean {
  if (candidate.status === 'info' && stateAfter === stateBefore) return true;
  if (indeterminateWrittenValue(candidate) !== undefined && !observers.canObserve(stateAfter)) return true;
  const top = stack[stack.length - 1];
  if (top === undefined || operations[top.operation]?.status !== 'info') return false;
  const withoutTop = stepRegister(top.stateBefore, candidate);
  return withoutTop !== NOT_ALLOWED && withoutTop === stateAfter;
}

/** Remembers the dead end with the most operations linearized, to explain a failure. */
class DeepestDeadEnd {
  private depth = -1;
  private explanation: NonLinearizableExplanation | undefined;

  constructor(
    private readonly operations: readonly Operation[],
    private readonly list: EntryList,
  ) {}

  consider(stack: readonly Frame[], state: HistoryScalar, returnEntry: number): void {
    if (stack.length <= this.depth) return;
    this.depth = stack.length;
    const window: Operation[] = [];
    for (
      let entry = this.list.next[this.list.head] ?? -1;
      entry !== returnEntry && entry >= 0;
      entry = this.list.next[entry] ?? -1
    ) {
      if (this.list.entryIsCall[entry] === 1 && window.length < EXPLANATION_WINDOW_OPERATIONS_MAX - 1) {
        window.push(this.operation(this.list.entryOperation[entry]));
      }
    }
    const blockedBy = this.operation(this.list.entryOperation[returnEntry]);
    if (!window.includes(blockedBy)) window.push(blockedBy);
    const lastLinearized = stack
      .slice(-EXPLANATION_PREFIX_OPERATIONS_MAX)
      .map((frame) => this.operation(frame.operation));
    this.explanation = {
      stateBeforeWindow: state,
      linearizedCount: stack.length,
      lastLinearized,
      window,
      blockedBy,
    };
  }

  result(): NonLinearizableExplanation {
    if (this.explanation === undefined) throw new Error('DeepestDeadEnd: no dead end recorded');
    return this.explanation;
  }

  private operation(index: number | undefined): Operation {
    const operation = this.operations[index ?? -1];
    if (operation === undefined) throw new Error(`DeepestDeadEnd: no operation ${index}`);
    return operation;
  }
}

function notLinearizable(key: string, deepest: DeepestDeadEnd): KeyResult {
  const explanation = deepest.result();
  const message =
    `key "${key}" is not linearizable: the longest linearizable prefix found has ` +
    `${explanation.linearizedCount} operations and leaves the value ${JSON.stringify(explanation.stateBeforeWindow)}; ` +
    `the operations that could come next are [${explanation.window.map(describeOperation).join('; ')}], ` +
    `none of them can, and ${describeOperation(explanation.blockedBy)} had already completed`;
  return { kind: 'not-linearizable', ok: false, key, message, ...explanation };
}

/** One line per operation, e.g. `p3 write 5 ok [t=10..12]`. */
export function describeOperation(operation: Operation): string {
  const shown =
    operation.f === 'read' ? `-> ${JSON.stringify(operation.output)}` : JSON.stringify(operation.value);
  const end = Number.isFinite(operation.completeTimeMs) ? String(operation.completeTimeMs) : 'never';
  return `p${operation.process} ${operation.f} ${shown} ${operation.status} [t=${operation.invokeTimeMs}..${end}]`;
}

function unknownResult(
  key: string,
  reason: 'search-steps-exhausted' | 'cache-full',
  searchSteps: number,
): KeyResult {
  return { kind: 'unknown', ok: 'unknown', key, reason, searchSteps };
}
