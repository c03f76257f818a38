// The named bounds of one cell's data: every key, value, transaction, integer, scan and
// the partition itself has a limit, and exceeding it has a defined outcome.

/**
 * Bounds of one cell. The defaults suit a control-plane cell (paper §2.3: a cell holds
 * the small, hot configuration of one resource, e.g. one volume's replication state), so
 * everything is small: a cell must be cheap to copy to a new node (§2.5 teaching) and
 * one transaction must never hold up the log for long.
 */
export interface ModelLimits {
  /** Longest key in UTF-8 bytes. Keys are names, not data. */
  readonly keyBytesMax: number;
  /** Largest byte value. Large enough for a serialized config record. */
  readonly valueBytesMax: number;
  /** Most distinct keys one transaction names; also bounds each of reads/conditions/writes. */
  readonly keysPerTransactionMax: number;
  /** Most key and value payload bytes in one transaction (sum over all its entries). */
  readonly transactionBytesMax: number;
  /** Largest integer magnitude in bits: |n| < 2^integerBitsMax. */
  readonly integerBitsMax: number;
  /** Most bytes the whole partition may hold (see `entryBytes` in state.ts). */
  readonly partitionBytesMax: number;
  /** Most entries one scan page returns. */
  readonly scanLimitMax: number;
}

export const DEFAULT_MODEL_LIMITS: ModelLimits = Object.freeze({
  // A path-like name such as "volume/vol-0123/replica/3/state" with room to spare.
  keyBytesMax: 256,
  // 64 KiB: a config blob; anything larger belongs in a blob store, not a cell.
  valueBytesMax: 64 * 1024,
  // A compound read-modify-write over a handful of records; batches stay small.
  keysPerTransactionMax: 64,
  // 256 KiB: four maximal values; bounds a log entry and the time to apply it.
  transactionBytesMax: 256 * 1024,
  // 256 bits: counters, epochs, hashes-as-numbers; bounds bigint arithmetic cost.
  integerBitsMax: 256,
  // 4 MiB: a whole cell snapshot ships to a new replica in well under a second.
  partitionBytesMax: 4 * 1024 * 1024,
  // 1000 entries per page: a page of a 4 MiB partition, bounded work per scan.
  scanLimitMax: 1000,
});
