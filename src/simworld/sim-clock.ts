// A host's simulated Clock: monotonic time runs at a settable rate from the scheduler's
// true time, can pause, and never decreases; the wall clock is monotonic time plus an
// offset that jumps forward or back. Timers follow the host's monotonic time.
import type { Clock, TimerHandle } from '../env/index.ts';
import type { Scheduler, ScheduledEvent } from './scheduler.ts';

/** The most timers one host may have pending: more means a timer leak in the host's code. */
export const HOST_TIMERS_MAX = 100_000;

/** Trace tag of a timer firing. */
const TRACE_TIMER = 2;

interface PendingTimer {
  readonly monotonicDueMs: number;
  readonly order: number;
  readonly callback: () => void;
  event: ScheduledEvent | undefined;
}

/**
 * One host's clock state. It survives crashes (monotonic time never goes back on a host);
 * its timers do not.
 * Invariant: `monotonicMs()` never decreases, and a timer never fires before its
 * monotonic due time as read on this clock.
 */
export class SimClock implements Clock {
  private anchorTrueMs: number;
  private anchorMonotonicMs: number;
  private floorMonotonicMs = 0;
  private rate = 1;
  private pausedFlag = false;
  private wallOffsetMs: number;
  private timerOrder = 0;
  private readonly timers = new Map<number, PendingTimer>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly traceTag: number,
    wallStartMs: number,
    monotonicStartMs: number,
  ) {
    this.anchorTrueMs = scheduler.nowMs;
    this.anchorMonotonicMs = monotonicStartMs;
    this.wallOffsetMs = wallStartMs - monotonicStartMs;
  }

  nowMs(): number {
    return this.wallOffsetMs + this.monotonicMs();
  }

  monotonicMs(): number {
    const elapsedMs = this.pausedFlag ? 0 : (this.scheduler.nowMs - this.anchorTrueMs) * this.rate;
    const computed = this.anchorMonotonicMs + elapsedMs;
    if (computed > this.floorMonotonicMs) this.floorMonotonicMs = computed;
    return this.floorMonotonicMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    if (Number.isNaN(delayMs)) throw new RangeError('setTimer: delayMs is NaN');
    if (this.timers.size >= HOST_TIMERS_MAX) throw new Error(`setTimer: over ${HOST_TIMERS_MAX} timers`);
    const order = this.timerOrder;
    this.timerOrder += 1;
    const timer: PendingTimer = {
      monotonicDueMs: this.monotonicMs() + Math.max(0, delayMs),
      order,
      callback,
      event: undefined,
    };
    this.timers.set(order, timer);
    this.schedule(timer);
    return { cancel: () => this.cancel(order) };
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Sets how fast monotonic (and wall) time runs relative to true time; 1 is exact. */
  setRate(rate: number): void {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`clock rate must be > 0, got ${rate}`);
    this.reanchor();
    this.rate = rate;
    this.rescheduleAll();
  }

  /** Steps the wall clock by `deltaMs` (negative: back). Monotonic time is unaffected. */
  jumpWall(deltaMs: number): void {
    this.wallOffsetMs += deltaMs;
  }

  /** Stalls the clock and its timers until `resume()`. */
  pause(): void {
    if (this.pausedFlag) return;
    this.reanchor();
    this.pausedFlag = true;
    for (const timer of this.timers.values()) this.unschedule(timer);
  }

  resume(): void {
    if (!this.pausedFlag) return;
    this.reanchor();
    this.pausedFlag = false;
    this.rescheduleAll();
  }

  /** Drops every pending timer (a crash). */
  cancelAll(): void {
    for (const timer of this.timers.values()) this.unschedule(timer);
    this.timers.clear();
  }

  private cancel(order: number): void {
    const timer = this.timers.get(order);
    if (timer === undefined) return;
    this.unschedule(timer);
    this.timers.delete(order);
  }

  private reanchor(): void {
    this.anchorMonotonicMs = this.monotonicMs();
    this.anchorTrueMs = this.scheduler.nowMs;
  }

  private unschedule(timer: PendingTimer): void {
    if (timer.event !== undefined) timer.event.cancelled = true;
    timer.event = undefined;
  }

  private rescheduleAll(): void {
    // Re-queue in (due, order) so that equal due times still fire in the order set.
    const pending = [...this.timers.values()].sort(
      (a, b) => a.monotonicDueMs - b.monotonicDueMs || a.order - b.order,
    );
    for (const timer of pending) {
      this.unschedule(timer);
      this.schedule(timer);
    }
  }

  private schedule(timer: PendingTimer): void {
    if (this.pausedFlag) return;
    const remainingMs = Math.max(0, timer.monotonicDueMs - this.monotonicMs());
    timer.event = this.scheduler.after(remainingMs / this.rate, () => this.fire(timer));
  }

  private fire(timer: PendingTimer): void {
    this.timers.delete(timer.order);
    timer.event = undefined;
    if (timer.monotonicDueMs > this.floorMonotonicMs) this.floorMonotonicMs = timer.monotonicDueMs;
    this.scheduler.trace.number(TRACE_TIMER);
    this.scheduler.trace.number(this.traceTag);
    timer.callback();
  }
}
