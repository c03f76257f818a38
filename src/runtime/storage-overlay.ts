// The writes LmdbStorage holds in memory because they are not yet at their own keys in LMDB
// (still waiting for a commit, or durable only in the write log): the latest value of each
// key, found by key, and listed in key order for range reads.
import type { StorageRange } from '../env/index.ts';

/** The latest write to one key; `value` undefined means deleted. */
export interface OverlayEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A string with one code unit per byte. JavaScript compares strings by code unit, so these
 * strings order exactly as their bytes do.
 */
export function overlayKey(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('latin1');
}

/** The first index of `sorted` whose string is not below `target`. */
function lowerBound(sorted: readonly string[], target: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Merges two sorted arrays of distinct strings into one. */
function mergeSorted(left: readonly string[], right: readonly string[]): string[] {
  const out = new Array<string>(left.length + right.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < left.length && j < right.length) out[k++] = left[i]! < right[j]! ? left[i++]! : right[j++]!;
  while (i < left.length) out[k++] = left[i++]!;
  while (j < right.length) out[k++] = right[j++]!;
  return out;
}

/**
 * Latest writes by key, and their key order: a sorted array of keys, plus the keys added
 * since it was last merged (a range read sorts only those). A key taken out stays in the
 * array, skipped, until stale keys outnumber live ones.
 */
export class StorageOverlay {
  private readonly entries = new Map<string, OverlayEntry>();
  private sortedKeys: string[] = [];
  private staleKeys = 0;
  private addedKeys: string[] = [];

  /** Distinct keys held. */
  get size(): number {
    return this.entries.size;
  }

  get(key: Uint8Array): OverlayEntry | undefined {
    return this.entries.get(overlayKey(key));
  }

  has(key: Uint8Array): boolean {
    return this.entries.has(overlayKey(key));
  }

  set(key: Uint8Array, value: Uint8Array | undefined): void {
    const text = overlayKey(key);
    if (!this.entries.has(text)) {
      // A key taken out earlier may still sit in the sorted array: it is live again there.
      const index = this.staleKeys > 0 ? lowerBound(this.sortedKeys, text) : -1;
      if (index >= 0 && this.sortedKeys[index] === text) this.staleKeys -= 1;
      else this.addedKeys.push(text);
    }
    this.entries.set(text, { key, value });
  }

  clear(): void {
    this.entries.clear();
    this.sortedKeys = [];
    this.staleKeys = 0;
    this.addedKeys = [];
  }

  /** Every entry, in key order. */
  inKeyOrder(): OverlayEntry[] {
    return this.live(this.sorted(), 0, this.sortedKeys.length);
  }

  /** The entries within the range, in its order (descending when `reverse`). */
  inRange(range: StorageRange): OverlayEntry[] {
    if (this.entries.size === 0) return [];
    const sorted = this.sorted();
    const from = range.start === undefined ? 0 : lowerBound(sorted, overlayKey(range.start));
    const to = range.end === undefined ? sorted.length : lowerBound(sorted, overlayKey(range.end));
    const out = this.live(sorted, from, to);
    if (range.reverse === true) out.reverse();
    return out;
  }

  /**
   * Takes out, in key order, up to `count` entries whose keys are above `after` (from the
   * first key when undefined), and returns them with the last key taken.
   */
  takeAfter(after: string | undefined, count: number): { taken: OverlayEntry[]; last: string | undefined } {
    const sorted = this.sorted();
    let index = after === undefined ? 0 : lowerBound(sorted, after);
    if (after !== undefined && sorted[index] === after) index += 1;
    const taken: OverlayEntry[] = [];
    let last: string | undefined;
    for (; index < sorted.length && taken.length < count; index += 1) {
      const text = sorted[index]!;
      const entry = this.entries.get(text);
      if (entry === undefined) continue;
      taken.push(entry);
      this.entries.delete(text);
      this.staleKeys += 1;
      last = text;
    }
    return { taken, last };
  }

  private live(sorted: readonly string[], from: number, to: number): OverlayEntry[] {
    const out: OverlayEntry[] = [];
    for (let i = from; i < to; i += 1) {
      const entry = this.entries.get(sorted[i]!);
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }

  private sorted(): readonly string[] {
    if (this.staleKeys > this.entries.size) {
      this.sortedKeys = this.sortedKeys.filter((text) => this.entries.has(text));
      this.staleKeys = 0;
    }
    if (this.addedKeys.length > 0) {
      this.sortedKeys = mergeSorted(this.sortedKeys, this.addedKeys.sort());
      this.addedKeys = [];
    }
    return this.sortedKeys;
  }
}
