// Tests of LmdbStorage's overlay: the latest write per key, listed in bytewise key order for
// any range and direction, whatever order the keys arrived in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StorageOverlay } from '../../src/runtime/storage-overlay.ts';

const keyArbitrary = fc.uint8Array({ minLength: 1, maxLength: 4, max: 3 });

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
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const overlay = new StorageOverlay();
        const model = new Map<string, { key: Uint8Array; value: Uint8Array | undefined }>();
        for (const { key, value, start, end, reverse } of steps) {
          overlay.set(key, value);
          model.set(Buffer.from(key).toString('hex'), { key, value });
          const expected = [...model.values()]
            .filter((entry) => start === undefined || Buffer.compare(entry.key, start) >= 0)
            .filter((entry) => end === undefined || Buffer.compare(entry.key, end) < 0)
            .sort((a, b) => Buffer.compare(a.key, b.key));
          if (reverse) expected.reverse();
          const range = {
            reverse,
            ...(start === undefined ? {} : { start }),
            ...(end === undefined ? {} : { end }),
          };
          expect(overlay.inRange(range)).toEqual(expected);
          expect(overlay.get(key)).toEqual({ key, value });
          expect(overlay.size).toBe(model.size);
        }
        expect(overlay.inKeyOrder().map((entry) => [...entry.key])).toEqual(
          [...model.values()].sort((a, b) => Buffer.compare(a.key, b.key)).map((entry) => [...entry.key]),
        );
        overlay.clear();
        expect(overlay.size).toBe(0);
        expect(overlay.inRange({})).toEqual([]);
      }),
    );
  });
});
