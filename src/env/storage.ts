// The Storage interface: a host's durable, ordered key-value store with atomic batches.
// The real one is LMDB with fsync (runtime/); the simulated one loses unsynced writes on a
// crash and can corrupt data, stall or fill up (simworld/).

/** One operation of a write batch. Keys and values are bytes; keys order bytewise. */
export type StorageWrite =
  | { readonly kind: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly kind: 'delete'; readonly key: Uint8Array };

/** Bounds of a range read: `start` inclusive, `end` exclusive, both optional. */
export interface StorageRange {
  readonly start?: Uint8Array;
  readonly end?: Uint8Array;
  /** Maximum entries returned; unbounded when absent. */
  readonly limit?: number;
  /** Descending order when true. */
  readonly reverse?: boolean;
}

/**
 * Keys that begin with these bytes belong to the Storage implementation (the real one keeps
 * its checkpoint marker there): `write` rejects a batch that touches one with a RangeError, and
 * reads never return one. Every other non-empty key is the callers'.
 */
export const storageReservedPrefix: Uint8Array = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x4c);

/** True when `key` begins with `storageReservedPrefix`. */
export function isReservedStorageKey(key: Uint8Array): boolean {
  if (key.byteLength < storageReservedPrefix.byteLength) return false;
  for (let i = 0; i < storageReservedPrefix.byteLength; i += 1) {
    if (key[i] !== storageReservedPrefix[i]) return false;
  }
  return true;
}

/** Why a batch failed. Nothing of a failed batch is applied. */
export type StorageErrorKind = 'disk-full' | 'io-error' | 'closed';

/** The typed error a failed `write` rejects with. */
export class StorageError extends Error {
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/**
 * One host's durable store, shared by every cell replica on the host.
 *
 * Ownership: one Storage per host; callers partition the key space by prefix, outside
 * `storageReservedPrefix`. Returned buffers belong to the caller. Buffers passed to `write`
 * must not be mutated afterwards.
 * Atomicity: a batch is applied whole or not at all, also across a crash.
 * Ordering: batches apply in the order `write` was called. Reads see every batch whose
 * `write` has been called (read-your-writes), durable or not.
 * Durability: the promise of `write` resolves only once the batch, and every batch before
 * it, is durable (survives a power cut). Several batches may share one sync (group commit).
 * Failure modes: `write` rejects with a StorageError (disk full, I/O error, closed); the
 * batch is then not applied and nothing later is acknowledged before it. A crash loses
 * every batch whose promise had not resolved, possibly keeping some (a prefix in order).
 * Stored bytes can be corrupted by the disk: callers checksum what they must trust.
 */
export interface Storage {
  get(key: Uint8Array): Uint8Array | undefined;
  /** Entries in key order (or reverse), within the range. */
  range(range: StorageRange): Iterable<readonly [Uint8Array, Uint8Array]>;
  write(batch: readonly StorageWrite[]): Promise<void>;
}
