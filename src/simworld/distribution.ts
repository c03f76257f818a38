// Latency and delay distributions for the simulated network and disk, sampled from the
// host's seeded Random so that every delay replays from the run seed.
import type { Random } from '../env/index.ts';

/** A distribution of non-negative durations in milliseconds. */
export type Distribution =
  | { readonly kind: 'constant'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  /** `minMs` plus an exponential tail of mean `meanMs` (capped at `maxMs`). */
  | { readonly kind: 'exponential'; readonly minMs: number; readonly meanMs: number; readonly maxMs: number }
  /** Mostly `base`; with probability `probability`, a sample of `tail` instead (stragglers). */
  | {
      readonly kind: 'mixture';
      readonly base: Distribution;
      readonly tail: Distribution;
      readonly probability: number;
    };

export const constant = (ms: number): Distribution => ({ kind: 'constant', ms });
export const uniform = (minMs: number, maxMs: number): Distribution => ({ kind: 'uniform', minMs, maxMs });
export const exponential = (minMs: number, meanMs: number, maxMs: number): Distribution => ({
  kind: 'exponential',
  minMs,
  meanMs,
  maxMs,
});

/** Draws one duration. Always finite and >= 0. */
export function sample(distribution: Distribution, random: Random): number {
  switch (distribution.kind) {
    case 'constant':
      return Math.max(0, distribution.ms);
    case 'uniform':
      return Math.max(0, distribution.minMs + random.nextFloat() * (distribution.maxMs - distribution.minMs));
    case 'exponential': {
      const tail = -Math.log(1 - random.nextFloat()) * distribution.meanMs;
      return Math.max(0, Math.min(distribution.maxMs, distribution.minMs + tail));
    }
    case 'mixture':
      return random.nextFloat() < distribution.probability
        ? sample(distribution.tail, random)
        : sample(distribution.base, random);
  }
}
