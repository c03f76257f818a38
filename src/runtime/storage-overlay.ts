// The writes LmdbStorage holds in memory because they are not yet at their own keys in LMDB
// (still waiting for a commit, or durable only in the write-ahead log): the latest value of each
// key, found by key, and listed in key order for range reads.
import type { StorageRange } from '../env/index.ts';
import { asBuffer } from './buffers.ts';

/** The latest write to one key; `value` undefined means deleted. */
export interface OverlayEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
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

/** Keys added since the last merge at which they merge into the big sorted array. */
const addedKeysMax = 1024;

/**
 * Latest writes by key, and their key order: a big sorted array, a small one of the keys
 * added since they were last merged into it (at most addedKeysMax), and the keys new since
 * the last read in key order, unsorted. A write of a new key only notes it, and the next read
 * in key order sorts those and merges them in: most writes are of new keys (every accepted
 * Paxos entry has its own), and few are read in key order before a checkpoint takes them.
 */
export class StorageOverlay {
  private readonly entriesByKey = new Map<string, OverlayEntry>();
  private sortedKeys: string[] = [];
  private addedKeys: string[] = [];
  private unsortedKeys: string[] = [];

  /** Distinct keys held. */
  get size(): number {
    return this.entriesByKey.size;
  }

  get(key: Uint8Array): OverlayEntry | undefined {
    return this.entriesByKey.get(overlayKey(key));
  }

  has(key: Uint8Array): boolean {
    return this.entriesByKey.has(overlayKey(key));
  }

  set(key: Uint8Array, value: Uint8Array | undefined): void {
    const text = overlayKey(key);
    const size = this.entriesByKey.size;
    this.entriesByKey.set(text, { key, value });
    if (this.entriesByKey.size > size) this.unsortedKeys.push(text);
  }

  /**
   * Every entry in key order, a step at a time (a merge of the two sorted arrays as it goes,
   * not a pass over every key up front). The overlay must not change while it is iterated.
   */
  *inKeyOrder(): Generator<OverlayEntry> {
    this.sortNewKeys();
    const big = this.sortedKeys;
    const added = this.addedKeys;
    let i = 0;
    let j = 0;
    while (i < big.length || j < added.length) {
      const text = j >= added.length || (i < big.length && big[i]! < added[j]!) ? big[i++]! : added[j++]!;
      yield this.entriesByKey.get(text)!;
    }
  }

  clear(): void {
    this.entriesByKey.clear();
    this.sortedKeys = [];
    this.addedKeys = [];
    this.unsortedKeys = [];
  }

  /** The entries within the range, in its order (descending when `reverse`). */
  inRange(range: StorageRange): OverlayEntry[] {
    if (this.entriesByKey.size === 0) return [];
    this.sortNewKeys();
    const start = range.start === undefined ? undefined : overlayKey(range.start);
    const end = range.end === undefined ? undefined : overlayKey(range.end);
    const big = this.entriesOf(this.sortedKeys, ...bounds(this.sortedKeys, start, end));
    const added = this.entriesOf(this.addedKeys, ...bounds(this.addedKeys, start, end));
    const out = added.length === 0 ? big : mergeEntries(big, added);
    if (range.reverse === true) out.reverse();
    return out;
  }

  /** Sorts the keys new since the last read in key order into the sorted arrays. */
  private sortNewKeys(): void {
    if (this.unsortedKeys.length === 0) return;
    // The default order compares code units: for these strings, the bytes' order.
    const fresh = this.unsortedKeys.sort();
    this.unsortedKeys = [];
    this.addedKeys = this.addedKeys.length === 0 ? fresh : mergeSorted(this.addedKeys, fresh);
    if (this.addedKeys.length > addedKeysMax) this.merge();
  }

  private entriesOf(sorted: readonly string[], from: number, to: number): OverlayEntry[] {
    const out: OverlayEntry[] = [];
    for (let i = from; i < to; i += 1) out.push(this.entriesByKey.get(sorted[i]!)!);
    return out;
  }

  /** Moves the added keys into the big array. */
  private merge(): void {
    this.sortedKeys = mergeSorted(this.sortedKeys, this.addedKeys);
    this.addedKeys = [];
  }
}

/** The index range of `sorted` within [start, end). */
function bounds(
  sorted: readonly string[],
  start: string | undefined,
  end: string | undefined,
): [number, number] {
  const from = start === undefined ? 0 : lowerBound(sorted, start);
  const to = end === undefined ? sorted.length : lowerBound(sorted, end);
  return [from, Math.max(from, to)];
}

/** Merges two key-ordered lists of entries with distinct keys. */
function mergeEntries(left: readonly OverlayEntry[], right: readonly OverlayEntry[]): OverlayEntry[] {
  const out: OverlayEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    out.push(Buffer.compare(left[i]!.key, right[j]!.key) < 0 ? left[i++]! : right[j++]!);
  }
  while (i < left.length) out.push(left[i++]!);
  while (j < right.length) out.push(right[j++]!);
  return out;
}
