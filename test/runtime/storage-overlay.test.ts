// Tests of LmdbStorage's overlay: the latest write per key, listed in bytewise key order for
// any range and direction whatever order the keys arrived in, and step by step for checkpoints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/env/index.ts';
import { StorageOverlay, type OverlayEntry } from '../../src/runtime/storage-overlay.ts';

const keyArbitrary = fc.uint8Array({ minLength: 1, maxLength: 4, max: 3 });

/** The overlay's contents as a plain map (hex key to entry) would list them. */
class OverlayModel {
  readonly entries = new Map<string, OverlayEntry>();

  inOrder(start?: Uint8Array, end?: Uint8Array, reverse = false): OverlayEntry[] {
    const out = [...this.entries.values()]
      .filter((entry) => start === undefined || Buffer.compare(entry.key, start) >= 0)
      .filter((entry) => end === undefined || Buffer.compare(entry.key, end) < 0)
      .sort((a, b) => Buffer.compare(a.key, b.key));
    return reverse ? out.reverse() : out;
  }

  set(key: Uint8Array, value: Uint8Array | undefined): void {
    this.entries.set(Buffer.from(key).toString('hex'), { key, value });
  }
}

describe('StorageOverlay', () => {
  it('lists the latest write of each key in bytewise order within any range, either way', () => {
    const step = fc.record({
      key: keyArbitrary,
      value: fc.option(fc.uint8Array({ maxLength: 2 }), { nil: undefined }),
      start: fc.option(keyArbitrary, { nil: undefined }),
      end: fc.option(keyArbitrary, { nil: undefined }),
      reverse: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const overlay = new StorageOverlay();
        const model = new OverlayModel();
        for (const { key, value, start, end, reverse } of steps) {
          overlay.set(key, value);
          model.set(key, value);
          const range = {
            reverse,
            ...(start === undefined ? {} : { start }),
            ...(end === undefined ? {} : { end }),
          };
          expect(overlay.inRange(range)).toEqual(model.inOrder(start, end, reverse));
          expect(overlay.get(key)).toEqual({ key, value });
          expect(overlay.size).toBe(model.entries.size);
        }
        expect(overlay.inRange({})).toEqual(model.inOrder());
        expect([...overlay.inKeyOrder()]).toEqual(model.inOrder());
        overlay.clear();
        expect(overlay.size).toBe(0);
        expect(overlay.inRange({})).toEqual([]);
      }),
    );
  });

  it('keeps the order across thousands of keys and merges of the added ones', () => {
    const random = new SeededRandom(7);
    const overlay = new StorageOverlay();
    const model = new OverlayModel();
    const keyOf = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
    for (let step = 0; step < 20_000; step += 1) {
      const key = keyOf(random.intBelow(6_000));
      const value = Uint8Array.of(step & 0xff);
      overlay.set(key, value);
      model.set(key, value);
      if (step % 1_001 === 0) {
        const start = keyOf(random.intBelow(6_000));
        const end = keyOf(random.intBelow(6_000));
        expect(overlay.inRange({ start, end })).toEqual(model.inOrder(start, end));
      }
    }
    expect(overlay.inRange({})).toEqual(model.inOrder());
    expect([...overlay.inKeyOrder()]).toEqual(model.inOrder());
  });

  it('orders thousands of keys written before any read, then more written after it', () => {
    const overlay = new StorageOverlay();
    const model = new OverlayModel();
    const keyOf = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff, 7);
    const write = (n: number): void => {
      const value = Uint8Array.of(n & 0xff);
      overlay.set(keyOf(n), value);
      model.set(keyOf(n), value);
    };
    for (let n = 5_000; n > 0; n -= 1) write(n); // descending, all new, none read yet
    expect([...overlay.inKeyOrder()]).toEqual(model.inOrder());
    for (let n = 0; n < 7_000; n += 3) write(n); // new keys between old ones, and overwrites
    const [start, end] = [keyOf(1_234), keyOf(6_001)];
    expect(overlay.inRange({ start, end, reverse: true })).toEqual(model.inOrder(start, end, true));
    expect(overlay.size).toBe(model.entries.size);
  });
});
