// The Random interface: every random choice above src/runtime/ (election jitter, backoff,
// whack-a-mole) draws from an injected generator, so a simulation replays from its seed.

/**
 * A source of random numbers.
 *
 * Ownership: one per host, or forked per component with `fork(label)` so that adding draws
 * in one component does not shift another's sequence.
 * Failure modes: none. Not for cryptography.
 */
export interface Random {
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform float in [0, 1). */
  nextFloat(): number;
  /** A uniform integer in [0, bound). Requires 0 < bound <= 2^32. */
  intBelow(bound: number): number;
  /** An independent generator, determined by this one's seed and `label`. */
  fork(label: string): Random;
}
