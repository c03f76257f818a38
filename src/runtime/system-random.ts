// The real Random: the shared seeded generator of src/env, seeded from the OS's entropy so
// each process draws a different sequence (the seed is kept so a run can be logged).
import { randomBytes } from 'node:crypto';
import { SeededRandom } from '../env/index.ts';

/** A 32-bit seed from the OS's cryptographic random source. */
export function osSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}

/** A seeded generator whose seed comes from the OS (or from `seed`, to replay a run). */
export function systemRandom(seed: number = osSeed()): SeededRandom {
  return new SeededRandom(seed);
}
