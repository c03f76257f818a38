// A small byte writer and a never-throwing-outward reader for the node's own encodings
// (envelopes, registry records): bytes, shortest-form varints, length-prefixed UTF-8.

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Thrown inside a Reader only; every public decoder catches it and returns a typed error. */
export class ByteDecodeFailure extends Error {
  constructor(readonly field: string) {
    super(`malformed ${field}`);
  }
}

/** The node's envelopes use the model's canonical writer (same varints, bytes and UTF-8). */
export { ByteWriter } from '../model/index.ts';

export class ByteReader {
  private offset = 0;

  constructor(private readonly input: Uint8Array) {}

  get remaining(): number {
    return this.input.length - this.offset;
  }

  byte(field: string): number {
    const value = this.input[this.offset];
    if (value === undefined) throw new ByteDecodeFailure(field);
    this.offset += 1;
    return value;
  }

  /** Shortest-form unsigned LEB128 up to 2^53 - 1. */
  uint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    let value = 0;
    let scale = 1;
    for (let index = 0; index < 8; index += 1) {
      const part = this.byte(field);
      value += (part & 0x7f) * scale;
      if ((part & 0x80) === 0) {
        if (part === 0 && index > 0) throw new ByteDecodeFailure(field); // not shortest form
        if (!Number.isSafeInteger(value) || value > max) throw new ByteDecodeFailure(field);
        return value;
      }
      scale *= 0x80;
    }
    throw new ByteDecodeFailure(field);
  }

  raw(field: string, length: number): Uint8Array {
    if (length > this.remaining) throw new ByteDecodeFailure(field);
    const out = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  bytes(field: string, lengthMax: number): Uint8Array {
    return this.raw(field, this.uint(field, lengthMax));
  }

  text(field: string, bytesMax: number): string {
    const bytes = this.bytes(field, bytesMax);
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new ByteDecodeFailure(field);
    }
  }

  /** The rest of the input. */
  rest(): Uint8Array {
    return this.raw('rest', this.remaining);
  }

  end(field: string): void {
    if (this.remaining !== 0) throw new ByteDecodeFailure(field);
  }
}
