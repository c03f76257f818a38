// Buffer views of byte arrays for the runtime's Node APIs (LMDB, file writes, checksums),
// without copying.

/** `bytes` as a Buffer over the same memory (itself when it is one already). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
