// Byte writer and reader for the cell's own encodings (log payloads, peer envelopes, client
// requests, storage records): shortest-form varints, length-prefixed bytes and UTF-8, and a
// reader whose every failure is a CellDecodeFailure, caught at each codec's public edge.

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Why bytes did not decode. */
export type CellDecodeReason =
  'truncated' | 'unknown-version' | 'unknown-tag' | 'bad-value' | 'trailing-bytes';

/** A typed decode failure, returned (never thrown) by every public decoder of the cell. */
export interface CellDecodeError {
  readonly kind: 'decode-error';
  readonly reason: CellDecodeReason;
  readonly field: string;
  readonly offset: number;
}

export type CellDecoded<T> = { readonly kind: 'decoded'; readonly value: T } | CellDecodeError;

export class CellDecodeFailure extends Error {
  constructor(
    readonly reason: CellDecodeReason,
    readonly field: string,
    readonly offset: number,
  ) {
    super(`${reason} at ${field} (byte ${offset})`);
  }
}

/** The cell's encodings use the model's canonical writer (same varints, bytes and UTF-8). */
export { ByteWriter as Writer } from '../model/index.ts';

/** Longest accepted varint (8 bytes of 7 bits cover Number.MAX_SAFE_INTEGER). */
const UINT_BYTES_MAX = 8;

export class Reader {
  private offset = 0;
  constructor(private readonly data: Uint8Array) {}

  get position(): number {
    return this.offset;
  }

  fail(reason: CellDecodeReason, field: string): never {
    throw new CellDecodeFailure(reason, field, this.offset);
  }

  byte(field: string): number {
    const value = this.data[this.offset];
    if (value === undefined) this.fail('truncated', field);
    this.offset += 1;
    return value;
  }

  uint(field: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < UINT_BYTES_MAX; i += 1) {
      const byte = this.byte(field);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) this.fail('bad-value', field);
        if (!Number.isSafeInteger(value)) this.fail('bad-value', field);
        return value;
      }
      scale *= 0x80;
    }
    return this.fail('bad-value', field);
  }

  bool(field: string): boolean {
    const value = this.byte(field);
    if (value > 1) this.fail('bad-value', field);
    return value === 1;
  }

  bytes(field: string, lengthMax = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.uint(field);
    if (length > lengthMax) this.fail('bad-value', field);
    if (this.offset + length > this.data.length) this.fail('truncated', field);
    const value = this.data.slice(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  text(field: string, bytesMax = Number.MAX_SAFE_INTEGER): string {
    const bytes = this.bytes(field, bytesMax);
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail('bad-value', field);
    }
  }

  end(): void {
    if (this.offset !== this.data.length) this.fail('trailing-bytes', 'end');
  }
}

/** Runs `read` over all of `input`; failures become a typed CellDecodeError. */
export function decodeAll<T>(input: Uint8Array, read: (reader: Reader) => T): CellDecoded<T> {
  const reader = new Reader(input);
  try {
    const value = read(reader);
    reader.end();
    return { kind: 'decoded', value };
  } catch (error) {
    if (!(error instanceof CellDecodeFailure)) throw error;
    return { kind: 'decode-error', reason: error.reason, field: error.field, offset: error.offset };
  }
}
