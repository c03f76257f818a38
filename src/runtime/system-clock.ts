// The real Clock: wall time from Date, monotonic time from performance.now, and one timer
// queue per clock driven by a single Node timer, so same-due timers fire in the order set.
import type { Clock, TimerHandle } from '../env/index.ts';
import { MinHeap } from '../env/min-heap.ts';

/** Options of a SystemClock. */
export interface SystemClockOptions {
  /**
   * Whether the Node timer behind the queue is unref'd, so that pending protocol timers do
   * not keep an otherwise finished process alive. Default true: a host is kept alive by its
   * listening socket, not by its election timers.
   */
  readonly unref?: boolean;
}

interface QueuedTimer {
  readonly dueMs: number;
  readonly sequence: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** Orders timers by due time, then by the order they were set. */
function earlier(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.sequence < b.sequence);
}

/** The system clock. One per process; every component of the host shares it. */
export class SystemClock implements Clock {
  private readonly heap = new MinHeap<QueuedTimer>(earlier);
  private readonly unref: boolean;
  private nextSequence = 0;
  private armed: { readonly dueMs: number; readonly handle: NodeJS.Timeout } | undefined;

  constructor(options: SystemClockOptions = {}) {
    this.unref = options.unref ?? true;
  }

  nowMs(): number {
    return Date.now();
  }

  monotonicMs(): number {
    return performance.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const timer: QueuedTimer = {
      dueMs: this.monotonicMs() + delay,
      sequence: this.nextSequence++,
      callback,
      cancelled: false,
    };
    this.heap.push(timer);
    this.arm();
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Pending timers, including cancelled ones not yet swept (for tests and metrics). */
  get queuedTimerCount(): number {
    return this.heap.size;
  }

  /** Makes sure one Node timer is set for the earliest live timer. */
  private arm(): void {
    let head = this.heap.peek();
    while (head !== undefined && head.cancelled) {
      this.heap.pop();
      head = this.heap.peek();
    }
    if (head === undefined) {
      if (this.armed !== undefined) clearTimeout(this.armed.handle);
      this.armed = undefined;
      return;
    }
    if (this.armed !== undefined && this.armed.dueMs <= head.dueMs) return;
    if (this.armed !== undefined) clearTimeout(this.armed.handle);
    // Node timers have whole-millisecond resolution and may fire a little early against
    // performance.now; `fire` re-arms for any remainder, so no timer runs before its due time.
    const waitMs = Math.max(1, Math.ceil(head.dueMs - this.monotonicMs()));
    const handle = setTimeout(() => this.fire(), waitMs);
    if (this.unref) handle.unref();
    this.armed = { dueMs: head.dueMs, handle };
  }

  /** Runs every due timer in (due, sequence) order, then re-arms. */
  private fire(): void {
    this.armed = undefined;
    const now = this.monotonicMs();
    for (let head = this.heap.peek(); head !== undefined && head.dueMs <= now; head = this.heap.peek()) {
      this.heap.pop();
      if (head.cancelled) continue;
      try {
        head.callback();
      } catch (error) {
        this.arm(); // keep the remaining timers alive; the error is the caller's bug
        throw error;
      }
    }
    this.arm();
  }
}
