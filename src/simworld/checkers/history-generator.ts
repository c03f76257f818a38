// Generates valid concurrent client histories from a simulated linearizable register (one
// per key), for checker tests and benchmarks: each operation takes effect atomically at one
// instant between its invoke and its completion, so every generated history is linearizable.
import type { Random } from '../../env/random.ts';
import type { HistoryEvent, HistoryScalar, HistoryValue, OperationFunction } from './history.ts';
import { HistoryRecorder } from './recorder.ts';

export interface HistoryGeneratorOptions {
  readonly operationCount: number;
  readonly keyCount: number;
  readonly processCount: number;
  /** Probability that an operation's completion is lost (recorded as info). */
  readonly indeterminateProbability: number;
  /** Longest operation, in ms of virtual time (at least 2). */
  readonly operationDurationMsMax: number;
  /** The operations to draw from, uniformly; all four when absent. */
  readonly functions?: readonly OperationFunction[];
}

interface Action {
  readonly timeMs: number;
  /** Within one instant: effects (0), then completions (1), then invokes (2). */
  readonly phase: 0 | 1 | 2;
  readonly sequence: number;
  readonly run: () => void;
}

/** A min-heap of actions by (time, phase, sequence): a tiny deterministic scheduler. */
class ActionQueue {
  private readonly heap: Action[] = [];
  private sequence = 0;

  push(timeMs: number, phase: Action['phase'], run: () => void): void {
    this.heap.push({ timeMs, phase, sequence: this.sequence++, run });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): Action | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined || this.heap.length === 0) return top;
    this.heap[0] = last;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const smallest = [left, left + 1].reduce(
        (best, c) => (c < this.heap.length && this.before(c, best) ? c : best),
        i,
      );
      if (smallest === i) return top;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a] as Action;
    const y = this.heap[b] as Action;
    return (x.timeMs - y.timeMs || x.phase - y.phase || x.sequence - y.sequence) < 0;
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a] as Action;
    this.heap[a] = this.heap[b] as Action;
    this.heap[b] = x;
  }
}

/** A linearizable history of `operationCount` operations, every one completed. */
export function generateRegisterHistory(
  random: Random,
  options: HistoryGeneratorOptions,
): readonly HistoryEvent[] {
  const functions = options.functions ?? (['read', 'write', 'cas', 'incr'] as const);
  const recorder = new HistoryRecorder();
  const registers = new Map<string, HistoryScalar>();
  const queue = new ActionQueue();
  let invoked = 0;
  let nextWrittenValue = 1000;

  const invokeNext = (process: number, timeMs: number): void => {
    if (invoked >= options.operationCount) return;
    invoked += 1;
    const key = `k${random.intBelow(options.keyCount)}`;
    const f = functions[random.intBelow(functions.length)] as OperationFunction;
    const current = registers.get(key) ?? null;
    const value: HistoryValue =
      f === 'read'
        ? null
        : f === 'write'
          ? nextWrittenValue++
          : f === 'cas'
            ? [
                random.intBelow(2) === 0 ? current : nextWrittenValue - 1 - random.intBelow(3),
                nextWrittenValue++,
              ]
            : 1 + random.intBelow(3);
    recorder.invoke(process, f, key, value, timeMs);
    const durationMs = 2 + random.intBelow(Math.max(1, options.operationDurationMsMax - 1));
    const completeMs = timeMs + durationMs;
    const indeterminate = random.nextFloat() < options.indeterminateProbability;
    // An indeterminate operation takes effect with probability 1/2, possibly after its timeout.
    const takesEffect = !indeterminate || random.intBelow(2) === 0;
    const effectMs = timeMs + 1 + random.intBelow(indeterminate ? 3 * durationMs : durationMs - 1);
    let outcome: { readonly applied: boolean; readonly read: HistoryScalar } = { applied: false, read: null };
    if (takesEffect) {
      queue.push(effectMs, 0, () => {
        outcome = applyEffect(registers, key, f, value);
      });
    }
    queue.push(completeMs, 1, () => {
      if (indeterminate) recorder.info(process, completeMs);
      else if (!outcome.applied) recorder.fail(process, completeMs);
      else if (f === 'read') recorder.ok(process, completeMs, outcome.read);
      else recorder.ok(process, completeMs);
      const nextInvokeMs = completeMs + random.intBelow(3);
      queue.push(nextInvokeMs, 2, () => invokeNext(process, nextInvokeMs));
    });
  };

  for (let process = 0; process < options.processCount; process += 1) {
    const firstInvokeMs = random.intBelow(3);
    queue.push(firstInvokeMs, 2, () => invokeNext(process, firstInvokeMs));
  }
  for (let action = queue.pop(); action !== undefined; action = queue.pop()) action.run();
  return recorder.events();
}

function applyEffect(
  registers: Map<string, HistoryScalar>,
  key: string,
  f: OperationFunction,
  value: HistoryValue,
): { readonly applied: boolean; readonly read: HistoryScalar } {
  const current = registers.get(key) ?? null;
  switch (f) {
    case 'read':
      return { applied: true, read: current };
    case 'write':
      registers.set(key, value as HistoryScalar);
      return { applied: true, read: null };
    case 'cas': {
      const [expected, replacement] = value as readonly [HistoryScalar, HistoryScalar];
      if (current !== expected) return { applied: false, read: null };
      registers.set(key, replacement);
      return { applied: true, read: null };
    }
    case 'incr':
      if (current !== null && typeof current !== 'number') return { applied: false, read: null };
      registers.set(key, (current ?? 0) + (value as number));
      return { applied: true, read: null };
  }
}
