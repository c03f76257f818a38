// The Clock conformance suite (src/env/clock.ts): monotonic time never decreases, timers
// never fire synchronously nor early, fire in due order (ties in the order set), and can
// be cancelled. Real clocks pass `advance` that sleeps; simulated ones run virtual time.
import { describe, expect, it } from 'vitest';
import type { ClockHarness, HarnessFactory } from './harness.ts';

export function clockConformance(name: string, make: HarnessFactory<ClockHarness>): void {
  describe(`Clock conformance: ${name}`, () => {
    const withClock = (test: (h: ClockHarness) => Promise<void>) => async () => {
      const harness = await make();
      try {
        await test(harness);
      } finally {
        await harness.close();
      }
    };

    it(
      'monotonic time never decreases and advances by at least the time let pass',
      withClock(async ({ clock, advance }) => {
        const start = clock.monotonicMs();
        let last = start;
        for (let i = 0; i < 5; i += 1) {
          await advance(4);
          const now = clock.monotonicMs();
          expect(now).toBeGreaterThanOrEqual(last);
          last = now;
        }
        expect(last - start).toBeGreaterThanOrEqual(20);
        expect(Number.isFinite(clock.nowMs())).toBe(true);
      }),
    );

    it(
      'a timer never fires inside setTimer, nor before its delay',
      withClock(async ({ clock, advance }) => {
        const setAt = clock.monotonicMs();
        let firedAt: number | undefined;
        clock.setTimer(0, () => undefined);
        clock.setTimer(20, () => {
          firedAt = clock.monotonicMs();
        });
        expect(firedAt).toBeUndefined();
        await advance(40);
        expect(firedAt).toBeDefined();
        expect(firedAt! - setAt).toBeGreaterThanOrEqual(20);
      }),
    );

    it(
      'timers fire in due order, and timers due together in the order set',
      withClock(async ({ clock, advance }) => {
        const fired: string[] = [];
        clock.setTimer(30, () => fired.push('late'));
        clock.setTimer(10, () => fired.push('first'));
        clock.setTimer(10, () => fired.push('second'));
        clock.setTimer(10, () => fired.push('third'));
        await advance(60);
        expect(fired).toEqual(['first', 'second', 'third', 'late']);
      }),
    );

    it(
      'a cancelled timer never fires; cancelling twice or after firing does nothing',
      withClock(async ({ clock, advance }) => {
        const fired: string[] = [];
        const cancelled = clock.setTimer(10, () => fired.push('cancelled'));
        const kept = clock.setTimer(10, () => fired.push('kept'));
        cancelled.cancel();
        cancelled.cancel();
        await advance(30);
        kept.cancel();
        expect(fired).toEqual(['kept']);
      }),
    );

    it(
      'a timer set inside a timer callback fires later, not in the same call',
      withClock(async ({ clock, advance }) => {
        const fired: string[] = [];
        clock.setTimer(5, () => {
          fired.push('outer');
          clock.setTimer(0, () => fired.push('inner'));
          fired.push('outer done');
        });
        await advance(30);
        expect(fired).toEqual(['outer', 'outer done', 'inner']);
      }),
    );
  });
}
