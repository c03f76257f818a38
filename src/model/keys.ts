// Keys, partition keys and log indexes of the data model, with the one key order every
// replica uses: UTF-8 byte order (equal to Unicode code point order).

/** A key inside one cell: a well-formed UTF-8 string, bounded by `ModelLimits.keyBytesMax`. */
export type Key = string;

/** Identifies one cell (paper §2.3: one partition key per cell). */
export type PartitionKey = string & { readonly __brand: 'PartitionKey' };

/** A position in a cell's log; also the version of every key (the index that last wrote it). */
export type LogIndex = number & { readonly __brand: 'LogIndex' };

export function partitionKey(name: string): PartitionKey {
  return name as PartitionKey;
}

/** Brands a non-negative safe integer as a log index; a programmer error otherwise. */
export function logIndex(index: number): LogIndex {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`log index must be a non-negative safe integer, got ${index}`);
  }
  return index as LogIndex;
}

const utf8Encoder = new TextEncoder();

/** Number of bytes of `text` in UTF-8 (for well-formed strings, without allocating). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export function utf8Encode(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Maps a UTF-16 code unit so that unit order equals code point order (surrogates last). */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** Total order on keys: UTF-8 byte order. Negative, zero or positive like a comparator. */
export function compareKeys(a: Key, b: Key): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const unitA = a.charCodeAt(i);
    const unitB = b.charCodeAt(i);
    if (unitA !== unitB) return codePointRank(unitA) - codePointRank(unitB);
  }
  return a.length - b.length;
}

/** Whether `text` has no lone surrogates, i.e. it has a UTF-8 encoding. */
export function isWellFormedUnicode(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit > 0xdbff) return false;
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}
