// Tests of SystemClock and systemRandom: timers never fire early, fire in (due, set) order,
// cancel works, and the OS-seeded generator is a SeededRandom replayable from its seed.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/env/index.ts';
import { SystemClock } from '../../src/runtime/system-clock.ts';
import { systemRandom } from '../../src/runtime/system-random.ts';

describe('SystemClock', () => {
  it('never fires a timer before its delay of monotonic time has passed', async () => {
    const clock = new SystemClock({ unref: false });
    const delays = [0, 1, 2, 5, 7, 13];
    const early = await Promise.all(
      delays.map(
        (delayMs) =>
          new Promise<number>((resolve) => {
            const setAt = clock.monotonicMs();
            clock.setTimer(delayMs, () => resolve(clock.monotonicMs() - setAt - delayMs));
          }),
      ),
    );
    for (const slackMs of early) expect(slackMs).toBeGreaterThanOrEqual(0);
  });

  it('fires timers due at the same time in the order they were set, never synchronously', async () => {
    const clock = new SystemClock({ unref: false });
    const fired: number[] = [];
    await new Promise<void>((resolve) => {
      for (let i = 0; i < 20; i += 1) clock.setTimer(3, () => fired.push(i));
      clock.setTimer(3, resolve);
      expect(fired).toEqual([]);
    });
    expect(fired).toEqual([...Array(20).keys()]);
  });

  it('fires in due order, whatever order the timers were set in', async () => {
    const clock = new SystemClock({ unref: false });
    const fired: number[] = [];
    await new Promise<void>((resolve) => {
      clock.setTimer(12, () => {
        fired.push(12);
        resolve();
      });
      clock.setTimer(4, () => fired.push(4));
      clock.setTimer(8, () => fired.push(8));
    });
    expect(fired).toEqual([4, 8, 12]);
  });

  it('does not fire a cancelled timer; cancelling twice or after firing is harmless', async () => {
    const clock = new SystemClock({ unref: false });
    let cancelledFired = false;
    const cancelled = clock.setTimer(2, () => {
      cancelledFired = true;
    });
    cancelled.cancel();
    cancelled.cancel();
    await new Promise<void>((resolve) => clock.setTimer(6, resolve));
    expect(cancelledFired).toBe(false);
    const done = clock.setTimer(0, () => undefined);
    await new Promise<void>((resolve) => clock.setTimer(3, resolve));
    done.cancel();
  });

  it('reads wall and monotonic time; monotonic never decreases', () => {
    const clock = new SystemClock();
    expect(Math.abs(clock.nowMs() - Date.now())).toBeLessThan(1000);
    let previous = clock.monotonicMs();
    for (let i = 0; i < 1000; i += 1) {
      const now = clock.monotonicMs();
      expect(now).toBeGreaterThanOrEqual(previous);
      previous = now;
    }
  });
});

describe('systemRandom', () => {
  it('is a SeededRandom whose seed replays the same sequence', () => {
    const random = systemRandom();
    const replay = new SeededRandom(random.seed);
    for (let i = 0; i < 10; i += 1) expect(random.nextUint32()).toBe(replay.nextUint32());
  });

  it('draws different seeds from the OS', () => {
    const seeds = new Set(Array.from({ length: 8 }, () => systemRandom().seed));
    expect(seeds.size).toBeGreaterThan(1);
  });
});
