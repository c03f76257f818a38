// The Clock interface: how everything above src/runtime/ reads time and sets timers, so
// that the same code runs on the system clock (runtime/) and on virtual time (simworld/).

/** A pending timer. Cancelling one that already fired or was cancelled does nothing. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time as one host sees it.
 *
 * Ownership: one Clock per host (process); every component of that host shares it.
 * Ordering: timers fire in order of due time; timers due at the same time fire in the
 * order they were set. A callback never runs synchronously inside `setTimer`.
 * Failure modes: `nowMs()` is the host's wall clock and may be offset from other hosts,
 * run fast or slow, and jump forward or back (NTP steps, operator error). `monotonicMs()`
 * never goes back, but may run at a different rate from other hosts' clocks and may stall
 * while the process is paused. Protocol safety must never depend on either; leases assume
 * only that no host's monotonic clock runs more than 3x faster than another's.
 * After a crash, pending timers are gone.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, as this host's wall clock says. May jump. */
  nowMs(): number;
  /** Milliseconds since an arbitrary origin; never decreases. Use for durations. */
  monotonicMs(): number;
  /** Calls `callback` once, no sooner than `delayMs` of monotonic time from now. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}
