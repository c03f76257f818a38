// Values a key can hold (bytes, bigint, boolean; nothing else), their equality, size and
// the integer bound check shared by validation and apply.

/** One stored value. No floats, no fixed-width integers, no strings (clients encode UTF-8). */
export type Value = Uint8Array | bigint | boolean;

export function isValue(candidate: unknown): candidate is Value {
  return candidate instanceof Uint8Array || typeof candidate === 'bigint' || typeof candidate === 'boolean';
}

export function valueKind(value: Value): 'bytes' | 'integer' | 'boolean' {
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'boolean') return 'boolean';
  return 'bytes';
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equal kind and equal content; a bigint never equals bytes or a boolean. */
export function valueEquals(a: Value, b: Value): boolean {
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesEqual(a, b);
  return a === b;
}

/** Bytes needed for the magnitude of `n` (0 for zero). */
export function integerMagnitudeBytes(n: bigint): number {
  const magnitude = n < 0n ? -n : n;
  if (magnitude <= MAGNITUDE_AS_NUMBER_MAX) {
    // Exact as a number: count bytes without building a string.
    let rest = Number(magnitude);
    let bytes = 0;
    while (rest > 0) {
      bytes += 1;
      rest = Math.floor(rest / 256);
    }
    return bytes;
  }
  return Math.ceil(magnitude.toString(16).length / 2);
}

/** The largest magnitude integerMagnitudeBytes counts as a number (2^53 - 1). */
const MAGNITUDE_AS_NUMBER_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Whether |n| < 2^integerBitsMax. */
export function integerFits(n: bigint, integerBitsMax: number): boolean {
  const magnitude = n < 0n ? -n : n;
  return magnitude >> BigInt(integerBitsMax) === 0n;
}

/** Payload bytes of a value, counted against value, transaction and partition limits. */
export function valuePayloadBytes(value: Value): number {
  if (typeof value === 'bigint') return Math.max(1, integerMagnitudeBytes(value));
  if (typeof value === 'boolean') return 1;
  return value.length;
}
