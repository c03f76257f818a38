// Byte-level writer and reader for the model's canonical binary encoding: unsigned
// LEB128 varints (shortest form only), bigints as sign + length + big-endian magnitude,
// UTF-8 strings and byte strings with a length prefix. The reader reports every failure
// as a `DecodeFailure` carrying the offset and field, caught at the codec's public edge.

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Magnitudes up to this are encoded with Number arithmetic instead of hex digits. */
const MAGNITUDE_FAST_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Longest varint: 8 bytes of 7 bits cover Number.MAX_SAFE_INTEGER. */
const VARINT_BYTES_MAX = 8;

export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  /**
   * V8 keeps a typed array of at most 64 bytes on the heap, and puts a bigger one's bytes
   * outside it, which costs about eight times as much to allocate and to collect: most
   * encodings fit in 64 bytes, and a longer one grows the buffer as it goes.
   */
  constructor(initialBytes = 64) {
    this.buffer = new Uint8Array(initialBytes);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = Math.max(1, this.buffer.length) * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  /** A non-negative safe integer as a shortest-form unsigned LEB128. */
  uint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`uint out of range: ${value}`);
    let rest = value;
    while (rest >= 0x80) {
      this.byte((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    return this.byte(rest);
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** Length-prefixed bytes. */
  bytes(bytes: Uint8Array): this {
    return this.uint(bytes.length).raw(bytes);
  }

  /** Length-prefixed UTF-8; ASCII (the common case for keys) is copied without an encoder. */
  text(text: string): this {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) >= 0x80) return this.bytes(utf8Encoder.encode(text));
    }
    this.uint(text.length);
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.buffer[this.length++] = text.charCodeAt(i);
    return this;
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  /** Sign byte (0: >= 0, 1: < 0), then the magnitude as length-prefixed big-endian bytes, no leading zero. */
  bigint(value: bigint): this {
    this.byte(value < 0n ? 1 : 0);
    const magnitude = value < 0n ? -value : value;
    if (magnitude <= MAGNITUDE_FAST_MAX) {
      let rest = Number(magnitude);
      const digits: number[] = [];
      while (rest > 0) {
        digits.push(rest % 256);
        rest = Math.floor(rest / 256);
      }
      this.uint(digits.length);
      for (let i = digits.length - 1; i >= 0; i--) this.byte(digits[i] as number);
      return this;
    }
    let hex = magnitude.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return this.bytes(bytes);
  }

  /** Forgets the contents, keeping the buffer (for a writer reused in a hot loop). */
  reset(): void {
    this.length = 0;
  }

  /** The bytes written so far, without copying; valid until the next write or reset. */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export type DecodeReason =
  | 'truncated'
  | 'trailing-bytes'
  | 'unknown-version'
  | 'unknown-tag'
  | 'non-canonical'
  | 'invalid-utf8'
  | 'out-of-range'
  | 'digest-mismatch';

/** The one error type decoding throws internally; the public codec returns it as a value. */
export class DecodeFailure extends Error {
  constructor(
    readonly field: string,
    readonly offset: number,
    readonly reason: DecodeReason,
    detail: string,
  ) {
    super(`${field} at byte ${offset}: ${reason} (${detail})`);
  }
}

export class ByteReader {
  private offset = 0;

  constructor(private readonly input: Uint8Array) {}

  get position(): number {
    return this.offset;
  }

  fail(field: string, reason: DecodeReason, detail: string, offset = this.offset): never {
    throw new DecodeFailure(field, offset, reason, detail);
  }

  byte(field: string): number {
    const value = this.input[this.offset];
    if (value === undefined) this.fail(field, 'truncated', 'input ended');
    this.offset++;
    return value;
  }

  uint(field: string): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let count = 0; count < VARINT_BYTES_MAX; count++) {
      const next = this.byte(field);
      value += (next & 0x7f) * scale;
      if ((next & 0x80) === 0) {
        if (next === 0 && count > 0)
          this.fail(field, 'non-canonical', 'varint has a trailing zero byte', start);
        if (!Number.isSafeInteger(value)) this.fail(field, 'out-of-range', 'varint over 2^53 - 1', start);
        return value;
      }
      scale *= 0x80;
    }
    return this.fail(field, 'out-of-range', 'varint longer than 8 bytes', start);
  }

  raw(field: string, length: number): Uint8Array {
    if (this.input.length - this.offset < length) this.fail(field, 'truncated', `needs ${length} bytes`);
    const slice = this.input.slice(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  bytes(field: string): Uint8Array {
    return this.raw(field, this.uint(field));
  }

  text(field: string): string {
    const start = this.offset;
    const bytes = this.bytes(field);
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail(field, 'invalid-utf8', 'not well-formed UTF-8', start);
    }
  }

  bool(field: string): boolean {
    const value = this.byte(field);
    if (value > 1) this.fail(field, 'non-canonical', `boolean byte ${value}`, this.offset - 1);
    return value === 1;
  }

  bigint(field: string): bigint {
    const start = this.offset;
    const sign = this.byte(field);
    if (sign > 1) this.fail(field, 'non-canonical', `sign byte ${sign}`, start);
    const length = this.uint(field);
    const input = this.input;
    const at = this.offset;
    if (input.length - at < length) this.fail(field, 'truncated', `needs ${length} bytes`);
    this.offset += length;
    if (length === 0) {
      if (sign === 1) this.fail(field, 'non-canonical', 'negative zero', start);
      return 0n;
    }
    if (input[at] === 0) this.fail(field, 'non-canonical', 'leading zero byte in magnitude', start);
    let value: bigint;
    if (length <= 6) {
      // Below 2^48, exact as a number: no copy, no string to parse.
      let small = 0;
      for (let i = at; i < at + length; i++) small = small * 256 + (input[i] as number);
      value = BigInt(small);
    } else {
      let hex = '';
      for (let i = at; i < at + length; i++) hex += (input[i] as number).toString(16).padStart(2, '0');
      value = BigInt(`0x${hex}`);
    }
    return sign === 1 ? -value : value;
  }

  /** Fails unless every byte was consumed. */
  end(): void {
    if (this.offset !== this.input.length) {
      this.fail('end', 'trailing-bytes', `${this.input.length - this.offset} bytes after the end`);
    }
  }
}

export function writeList<T>(writer: ByteWriter, list: readonly T[], write: (entry: T) => void): void {
  writer.uint(list.length);
  for (const entry of list) write(entry);
}

/** Reads a counted list; every entry takes at least one byte, so hostile counts end as `truncated`. */
export function readList<T>(reader: ByteReader, field: string, read: (field: string) => T): T[] {
  const count = reader.uint(`${field}.length`);
  const list: T[] = [];
  for (let i = 0; i < count; i++) list.push(read(`${field}[${i}]`));
  return list;
}

export function writeOptionalKey(writer: ByteWriter, key: string | undefined): void {
  writer.bool(key !== undefined);
  if (key !== undefined) writer.text(key);
}

export function readOptionalKey(reader: ByteReader, field: string): string | undefined {
  return reader.bool(`${field}.present`) ? reader.text(field) : undefined;
}
