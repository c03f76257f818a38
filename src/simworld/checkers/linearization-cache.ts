// Lowe's memoization for the WGL search: the set of (linearized operations, model state)
// configurations already visited, with the current linearized set kept as a bitset and a
// Zobrist hash updated in O(1) per step.
import type { HistoryScalar } from './history.ts';

interface Configuration {
  readonly bits: Uint32Array;
  readonly state: HistoryScalar;
}

/** A 32-bit mix (the murmur3 finalizer). */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hashState(state: HistoryScalar): number {
  if (state === null) return 0x2545f491;
  if (typeof state === 'boolean') return state ? 0x6a09e667 : 0x3c6ef372;
  const text = typeof state === 'number' ? `n${state}` : `s${state}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** The visited configurations of one key's search. */
export class LinearizationCache {
  private readonly bits: Uint32Array;
  private readonly operationHashes: Uint32Array;
  private hash = 0;
  private size = 0;
  private readonly buckets = new Map<number, Configuration[]>();

  constructor(
    operationCount: number,
    private readonly entriesMax: number,
  ) {
    this.bits = new Uint32Array(Math.ceil(operationCount / 32));
    this.operationHashes = new Uint32Array(operationCount);
    for (let i = 0; i < operationCount; i += 1) this.operationHashes[i] = mix32(Math.imul(i + 1, 0x9e3779b9));
  }

  /**
   * Marks `operation` linearized with the model now in `state`. 'added': a new
   * configuration (the operation stays marked); 'seen' or 'full': it is unmarked again.
   */
  add(operation: number, state: HistoryScalar): 'added' | 'seen' | 'full' {
    this.toggle(operation);
    const key = (this.hash ^ hashState(state)) >>> 0;
    const bucket = this.buckets.get(key);
    if (bucket !== undefined && bucket.some((entry) => entry.state === state && this.sameBits(entry.bits))) {
      this.toggle(operation);
      return 'seen';
    }
    if (this.size >= this.entriesMax) {
      this.toggle(operation);
      return 'full';
    }
    const entry = { bits: this.bits.slice(), state };
    if (bucket === undefined) this.buckets.set(key, [entry]);
    else bucket.push(entry);
    this.size += 1;
    return 'added';
  }

  /** Whether `operation` is marked linearized now. */
  isLinearized(operation: number): boolean {
    return (((this.bits[operation >>> 5] ?? 0) >>> (operation & 31)) & 1) === 1;
  }

  /** Unmarks `operation` (the search backtracked over it). */
  forget(operation: number): void {
    this.toggle(operation);
  }

  private toggle(operation: number): void {
    const word = operation >>> 5;
    this.bits[word] = ((this.bits[word] ?? 0) ^ (1 << (operation & 31))) >>> 0;
    this.hash = (this.hash ^ (this.operationHashes[operation] ?? 0)) >>> 0;
  }

  private sameBits(other: Uint32Array): boolean {
    for (let i = 0; i < this.bits.length; i += 1) if (this.bits[i] !== other[i]) return false;
    return true;
  }
}
