// The Random conformance suite (src/env/random.ts): determinism from the seed, ranges,
// fork independence, and rough uniformity. Call it with any Random implementation.
import { describe, expect, it } from 'vitest';
import type { RandomFactory } from './harness.ts';

const draws = (next: () => number, count = 100): number[] => Array.from({ length: count }, next);

export function randomConformance(name: string, make: RandomFactory): void {
  describe(`Random conformance: ${name}`, () => {
    it('the same seed gives the same sequence; another seed another', () => {
      const a = make(42);
      const b = make(42);
      expect(draws(() => a.nextUint32())).toEqual(draws(() => b.nextUint32()));
      expect(draws(() => make(42).nextUint32(), 1)).not.toEqual(draws(() => make(43).nextUint32(), 1));
    });

    it('nextUint32, nextFloat and intBelow stay in range', () => {
      const random = make(7);
      for (let i = 0; i < 1_000; i += 1) {
        const word = random.nextUint32();
        expect(Number.isInteger(word) && word >= 0 && word < 2 ** 32).toBe(true);
        const float = random.nextFloat();
        expect(float >= 0 && float < 1).toBe(true);
        const bound = 1 + (i % 13);
        const below = random.intBelow(bound);
        expect(Number.isInteger(below) && below >= 0 && below < bound).toBe(true);
      }
      expect(random.intBelow(1)).toBe(0);
      expect(random.intBelow(2 ** 32)).toBeLessThan(2 ** 32);
    });

    it('intBelow rejects bounds outside (0, 2^32] as programmer errors', () => {
      const random = make(7);
      for (const bound of [0, -1, 1.5, 2 ** 32 + 1, Number.NaN])
        expect(() => random.intBelow(bound)).toThrow();
    });

    it('fork is determined by seed and label, not by draws made, and labels are independent', () => {
      const parent = make(9);
      const early = parent.fork('a');
      draws(() => parent.nextUint32(), 10);
      const late = parent.fork('a');
      expect(draws(() => late.nextUint32())).toEqual(draws(() => early.nextUint32()));
      const labelA = draws(() => make(9).fork('a').nextUint32(), 5);
      expect(labelA).not.toEqual(draws(() => make(9).fork('b').nextUint32(), 5));
      expect(labelA).not.toEqual(draws(() => make(9).nextUint32(), 5));
    });

    it('intBelow(10) is roughly uniform over 10,000 draws', () => {
      const random = make(11);
      const counts = new Array<number>(10).fill(0);
      for (let i = 0; i < 10_000; i += 1) counts[random.intBelow(10)]! += 1;
      for (const count of counts) expect(count).toBeGreaterThan(850);
      for (const count of counts) expect(count).toBeLessThan(1_150);
    });
  });
}
