// Yielding to Node's event loop: the one host-scheduling primitive the simulator needs (to
// let promise continuations run between simulated events). It lives here because only
// runtime/ may touch timers; it reads no time, so simulated runs stay deterministic.

/** Resolves after one macrotask, i.e. after every microtask queued before it has run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
