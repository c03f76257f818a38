// The discrete-event core of the simulator: a queue of events ordered by (virtual time,
// sequence number), a hash of the trace of what ran, and the run loops that drain promise
// continuations between events so that every run replays exactly from its seed.

import { MinHeap } from '../env/min-heap.ts';
import { yieldToEventLoop } from '../runtime/event-loop.ts';

/** What an event does when its time comes. */
export type EventAction = () => void;

/** A queued event. `cancelled` events stay in the heap and are skipped when popped. */
export interface ScheduledEvent {
  readonly timeMs: number;
  readonly sequence: number;
  readonly action: EventAction;
  /** True when the action runs code of a host, which may queue promise continuations. */
  readonly runsHostCode: boolean;
  cancelled: boolean;
}

/**
 * When the async run loop yields a macrotask so that promise continuations run:
 * 'host-events' after every event that ran host code or settled a simulator promise (safe
 * for any code: continuations of an event always run before the next event);
 * 'settled-only' only after a simulator promise settled (faster, for code that never
 * chains on already-settled promises).
 */
export type MicrotaskPolicy = 'host-events' | 'settled-only';

/** The most events that may be queued at once: more means a runaway system under test. */
export const PENDING_EVENTS_MAX = 2_000_000;

function earlier(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.sequence < b.sequence);
}

/**
 * A running 64-bit hash (two 32-bit FNV-1a lanes) of everything the simulation did.
 * Two runs of the same seed must end with the same hash (the self-check compares them).
 */
export class TraceHash {
  private low = 0x811c9dc5;
  private high = 0x01000193;

  /** Mixes in a number (integer or not). */
  number(value: number): void {
    const integer = Number.isInteger(value) ? value : Math.round(value * 1024);
    this.word(integer >>> 0);
    this.word(Math.floor(integer / 0x1_0000_0000) >>> 0);
  }

  /** Mixes in a string. */
  text(value: string): void {
    for (let index = 0; index < value.length; index += 1) this.word(value.charCodeAt(index));
    this.word(value.length);
  }

  /** Mixes in bytes. */
  bytes(value: Uint8Array): void {
    for (const byte of value) this.word(byte);
    this.word(value.length);
  }

  private word(value: number): void {
    this.low = Math.imul(this.low ^ value, 0x01000193) >>> 0;
    this.high = Math.imul(this.high ^ (value + this.low), 0x0100_0193 + 0x100) >>> 0;
  }

  /** The hash so far, as 16 hex digits. */
  hex(): string {
    return this.high.toString(16).padStart(8, '0') + this.low.toString(16).padStart(8, '0');
  }
}

/** Counters of the run loop, for figures and the cost of draining microtasks. */
export interface SchedulerStats {
  readonly eventsRun: number;
  readonly eventsPending: number;
  /** Macrotask yields made to drain promise continuations. */
  readonly microtaskDrains: number;
}

/**
 * The virtual-time event loop. Single-threaded; nothing runs unless the loop runs it.
 * Invariant: `nowMs` never decreases, and events run in (timeMs, sequence) order.
 */
export class Scheduler {
  private nowValueMs = 0;
  private sequence = 0;
  private readonly heap = new MinHeap<ScheduledEvent>(earlier);
  private promisesSettled = false;
  private settledInSync = false;
  private eventsRun = 0;
  private microtaskDrains = 0;
  readonly trace = new TraceHash();

  /** The simulation's true time, in milliseconds since the run began. */
  get nowMs(): number {
    return this.nowValueMs;
  }

  constructor(private readonly microtaskPolicy: MicrotaskPolicy = 'host-events') {}

  /**
   * Queues `action` at `timeMs` (not before now). Same-time events run in queue order.
   * `runsHostCode` is false only for the simulator's own bookkeeping events.
   */
  at(timeMs: number, action: EventAction, runsHostCode = true): ScheduledEvent {
    if (!(timeMs >= this.nowValueMs)) {
      throw new RangeError(`Scheduler.at: ${timeMs} is before now (${this.nowValueMs})`);
    }
    if (this.heap.size >= PENDING_EVENTS_MAX) {
      throw new Error(`Scheduler: more than ${PENDING_EVENTS_MAX} pending events`);
    }
    const event: ScheduledEvent = { timeMs, sequence: this.sequence, action, runsHostCode, cancelled: false };
    this.sequence += 1;
    this.heap.push(event);
    return event;
  }

  /** Queues `action` `delayMs` from now. */
  after(delayMs: number, action: EventAction, runsHostCode = true): ScheduledEvent {
    return this.at(this.nowValueMs + Math.max(0, delayMs), action, runsHostCode);
  }

  /**
   * Records that a promise the simulator owns has just settled, so its continuations must
   * run (with a macrotask yield) before the next event.
   */
  notePromiseSettled(): void {
    this.promisesSettled = true;
    this.settledInSync = true;
  }

  stats(): SchedulerStats {
    return {
      eventsRun: this.eventsRun,
      eventsPending: this.heap.size,
      microtaskDrains: this.microtaskDrains,
    };
  }

  /** Time of the next live event, or undefined when none is queued. */
  nextEventTimeMs(): number | undefined {
    this.discardCancelled();
    return this.heap.peek()?.timeMs;
  }

  private discardCancelled(): void {
    while (this.heap.peek()?.cancelled === true) this.heap.pop();
  }

  /** Runs the next event if it is due by `untilMs`; false when there is none. */
  private runOne(untilMs: number): boolean {
    this.discardCancelled();
    const next = this.heap.peek();
    if (next === undefined || next.timeMs > untilMs) return false;
    this.heap.pop();
    this.nowValueMs = next.timeMs;
    this.eventsRun += 1;
    if (next.runsHostCode && this.microtaskPolicy === 'host-events') this.promisesSettled = true;
    next.action();
    return true;
  }

  /**
   * Runs events up to and including `untilMs`, stopping early once `stop()` is true
   * (checked after each event's continuations have run). Promise continuations of each
   * event run before the next event: after an event that may have queued some (see
   * MicrotaskPolicy) the loop yields one macrotask; otherwise it stays synchronous.
   * Returns true when stopped by `stop`.
   */
  async run(untilMs: number, stop?: () => boolean): Promise<boolean> {
    for (;;) {
      if (this.promisesSettled) {
        this.promisesSettled = false;
        this.microtaskDrains += 1;
        await yieldToEventLoop(); // drains promise continuations; reads no time
        continue;
      }
      if (stop?.() === true) return true;
      if (!this.runOne(untilMs)) break;
    }
    if (untilMs > this.nowValueMs && Number.isFinite(untilMs)) this.nowValueMs = untilMs;
    return false;
  }

  /**
   * The fully synchronous loop, for systems that never wait on simulator promises (pure
   * state machines with timers and messages). Throws if an event settles a promise,
   * because its continuations could not run in order here: use `run` instead.
   */
  runSync(untilMs: number, stop?: () => boolean): boolean {
    this.settledInSync = false;
    for (;;) {
      if (stop?.() === true) return true;
      if (!this.runOne(untilMs)) break;
      if (this.settledInSync) {
        throw new Error('Scheduler.runSync: an event settled a promise; use the async run');
      }
    }
    if (untilMs > this.nowValueMs && Number.isFinite(untilMs)) this.nowValueMs = untilMs;
    return false;
  }
}
