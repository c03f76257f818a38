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

/** Keys added since the last merge at which they merge into the big sorted array. */
const addedKeysMax = 1024;

/**
 * Latest writes by key, and their key order in two sorted arrays: a big one, and the keys
 * added since they were last merged into it (at most addedKeysMax). A read or insert costs a
 * binary search in each, not a pass over every key. A key taken out stays in the big array,
 * skipped, until stale keys outnumber live ones.
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
    if (!this.entries.has(text)) this.addKey(text);
    this.entries.set(text, { key, value });
  }

  clear(): void {
    this.entries.clear();
    this.sortedKeys = [];
    this.staleKeys = 0;
    this.addedKeys = [];
  }

  /** The entries within the range, in its order (descending when `reverse`). */
  inRange(range: StorageRange): OverlayEntry[] {
    if (this.entries.size === 0) return [];
    const start = range.start === undefined ? undefined : overlayKey(range.start);
    const end = range.end === undefined ? undefined : overlayKey(range.end);
    const big = this.live(this.sortedKeys, ...bounds(this.sortedKeys, start, end));
    const added = this.live(this.addedKeys, ...bounds(this.addedKeys, start, end));
    const out = added.length === 0 ? big : mergeEntries(big, added);
    if (range.reverse === true) out.reverse();
    return out;
  }

  /**
   * Takes out, in key order, up to `count` entries whose keys are above `after` (from the
   * first key when undefined), and returns them with the last key taken and whether any
   * key above it is left.
   */
  takeAfter(
    after: string | undefined,
    count: number,
  ): { taken: OverlayEntry[]; last: string | undefined; more: boolean } {
    this.merge();
    const sorted = this.sortedKeys;
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
    while (index < sorted.length && !this.entries.has(sorted[index]!)) index += 1;
    return { taken, last, more: index < sorted.length };
  }

  /** Notes a key new to the entries: live again in the big array, or added. */
  private addKey(text: string): void {
    const index = this.staleKeys > 0 ? lowerBound(this.sortedKeys, text) : -1;
    if (index >= 0 && this.sortedKeys[index] === text) {
      this.staleKeys -= 1;
      return;
    }
    this.addedKeys.splice(lowerBound(this.addedKeys, text), 0, text);
    if (this.addedKeys.length > addedKeysMax) this.merge();
  }

  private live(sorted: readonly string[], from: number, to: number): OverlayEntry[] {
    const out: OverlayEntry[] = [];
    for (let i = from; i < to; i += 1) {
      const entry = this.entries.get(sorted[i]!);
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }

  /** Moves the added keys into the big array, dropping stale keys when they outnumber live ones. */
  private merge(): void {
    if (this.staleKeys > this.entries.size) {
      this.sortedKeys = this.sortedKeys.filter((text) => this.entries.has(text));
      this.staleKeys = 0;
    }
    if (this.addedKeys.length > 0) {
      this.sortedKeys = mergeSorted(this.sortedKeys, this.addedKeys);
      this.addedKeys = [];
    }
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
