// A granted lease as its holder sees it, with the holder-side safety contract.
import type { Clock } from '../env/index.ts';

/**
 * A lease this client holds on one cell (paper §2.3: leases are advisory; never make data
 * safety depend on them, use conditions for that).
 *
 * SAFETY CONTRACT (holder side; the cell's side is in src/cell/leases.ts): the SDK reads the
 * local monotonic clock BEFORE it sends the acquire or renew (before the first attempt, if it
 * retried), and the lease is valid only until that moment + `holderValidMs`, where the cell
 * sets holderValidMs = durationMs / 3 (the clock rate bound of src/cell). So:
 * - act as holder only while `isValid()`; check it right before each action;
 * - renew well before `validUntilMs` (each renewal restarts the window from its own send time);
 * - an `outcome-unknown` answer grants nothing;
 * - stop acting as holder BEFORE calling release.
 * The guarantee holds while no host's monotonic clock runs more than 3x faster than another's
 * and this process is not paused for long between `isValid()` and the action it guards.
 */
export class Lease {
  constructor(
    private readonly clock: Clock,
    readonly cellId: string,
    readonly name: string,
    readonly holder: string,
    readonly durationMs: number,
    /** Log index of the grant (changes on every renewal). */
    readonly grantIndex: number,
    /** Local monotonic time (clock.monotonicMs) until which the holder may act. */
    readonly validUntilMs: number,
  ) {}

  isValid(): boolean {
    return this.clock.monotonicMs() < this.validUntilMs;
  }

  remainingMs(): number {
    return Math.max(0, this.validUntilMs - this.clock.monotonicMs());
  }
}
