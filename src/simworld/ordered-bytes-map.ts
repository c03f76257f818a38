// An in-memory map from byte keys to byte values kept in bytewise key order, with range
// scans: the data structure behind the simulated disk.
import type { StorageRange } from '../env/index.ts';

/** Bytes as a string of one char per byte: string order is then bytewise order. */
export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Sorted byte-keyed map. Values are stored as given: callers copy at the boundary. */
export class OrderedBytesMap {
  private readonly entries = new Map<string, Entry>();
  private readonly sortedKeys: string[] = [];
  private byteCount = 0;

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of keys plus values stored. */
  get bytes(): number {
    return this.byteCount;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.entries.get(bytesKey(key))?.value;
  }

  getByString(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  set(key: Uint8Array, value: Uint8Array): void {
    const text = bytesKey(key);
    const old = this.entries.get(text);
    if (old === undefined) {
      this.sortedKeys.splice(this.lowerBound(text), 0, text);
      this.byteCount += key.byteLength;
    } else {
      this.byteCount -= old.value.byteLength;
    }
    this.byteCount += value.byteLength;
    this.entries.set(text, { key: old?.key ?? key, value });
  }

  delete(key: Uint8Array): void {
    const text = bytesKey(key);
    const old = this.entries.get(text);
    if (old === undefined) return;
    this.entries.delete(text);
    this.sortedKeys.splice(this.lowerBound(text), 1);
    this.byteCount -= old.key.byteLength + old.value.byteLength;
  }

  /** Keys in order, as byte strings. */
  keys(): readonly string[] {
    return this.sortedKeys;
  }

  /** Entries within `range`, in key order or reverse, at most `range.limit`. */
  range(range: StorageRange): Entry[] {
    const from = range.start === undefined ? 0 : this.lowerBound(bytesKey(range.start));
    const to = range.end === undefined ? this.sortedKeys.length : this.lowerBound(bytesKey(range.end));
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    const result: Entry[] = [];
    const count = Math.max(0, to - from);
    for (let step = 0; step < count && result.length < limit; step += 1) {
      const index = range.reverse === true ? to - 1 - step : from + step;
      const entry = this.entries.get(this.sortedKeys[index]!);
      if (entry !== undefined) result.push(entry);
    }
    return result;
  }

  clone(): OrderedBytesMap {
    const copy = new OrderedBytesMap();
    for (const text of this.sortedKeys) {
      const entry = this.entries.get(text)!;
      copy.entries.set(text, entry);
      copy.sortedKeys.push(text);
    }
    copy.byteCount = this.byteCount;
    return copy;
  }

  private lowerBound(text: string): number {
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.sortedKeys[middle]! < text) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
