// The real Storage: one LMDB environment per node (the `lmdb` package), fsync'd before a
// write's promise resolves, with group commit at the end of each event-loop turn (on the
// main thread, after the turn's messages have left) and an overlay for read-your-writes.
import { statfsSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import {
  StorageError,
  type Storage,
  type StorageErrorKind,
  type StorageRange,
  type StorageWrite,
} from '../env/index.ts';
import { atTurnEnd } from './turn-end.ts';

/** LMDB's largest key with the default page size; an empty key is not allowed either. */
export const storageKeyBytesMax = 1978;

/**
 * Default virtual address space reserved for the map: 64 GiB. It is not allocated: the file
 * grows with the data, and lmdb-js grows the map further if it ever fills. A node of 100,000
 * cells at 100 KB each is 10 GB, so the default leaves room without remapping.
 */
export const defaultMapSizeBytes = 64 * 1024 ** 3;

/** Batches per LMDB transaction; more wait for the next commit (a bound on commit size). */
export const defaultGroupBatchesMax = 10_000;

/** Options of LmdbStorage.open. */
export interface LmdbStorageOptions {
  /** Directory of the environment (created if missing). One per node. */
  readonly path: string;
  readonly mapSizeBytes?: number;
  readonly groupBatchesMax?: number;
}

/** What a storage has done since it opened (for metrics and tests). */
export interface LmdbStorageCounters {
  /** LMDB transactions committed (each one fsync). */
  readonly commits: number;
  /** Batches acknowledged durable. */
  readonly batchesCommitted: number;
  /** Batches rejected with a StorageError. */
  readonly batchesFailed: number;
  /** The largest number of batches that shared one commit. */
  readonly groupBatchesLargest: number;
  /** Milliseconds from starting commits to their fsync completing, summed, and the largest. */
  readonly commitMsTotal: number;
  readonly commitMsMax: number;
}

/** Told of every successful commit: how long it took, fsync included, and its batches. */
export type CommitObserver = (durationMs: number, batches: number) => void;

/** Observers one storage accepts (a node's metrics need one). */
export const commitObserversMax = 8;

interface PendingBatch {
  readonly sequence: number;
  readonly writes: readonly StorageWrite[];
  readonly resolve: () => void;
  readonly reject: (error: StorageError) => void;
}

/** The latest not-yet-durable write to one key; `value` undefined means deleted. */
interface OverlayEntry {
  readonly sequence: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain Uint8Array copy (Buffer#slice would share memory). */
function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A plain Uint8Array view of a Buffer the caller owns (no copy). */
function plainView(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A Map key for bytes: latin1 maps each byte to one code unit, so it is exact. */
function overlayKey(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('latin1');
}

/** OS and LMDB codes meaning "no room to grow": ENOSPC, EFBIG, EDQUOT, MDB_MAP_FULL. */
const diskFullCodes = new Set<unknown>(['ENOSPC', 'EFBIG', 'EDQUOT', 28, 27, 122, -30792]);

/** Maps a failure of LMDB or the OS to the typed error of the Storage contract. */
export function storageErrorFrom(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  let kind: StorageErrorKind = 'io-error';
  if (diskFullCodes.has(code) || /ENOSPC|MDB_MAP_FULL|No space left|File too large/i.test(message))
    kind = 'disk-full';
  else if (/closed/i.test(message)) kind = 'closed';
  return new StorageError(kind, message);
}

/**
 * The typed error of a failed commit. LMDB reports a short write as EIO, which is how a full
 * disk often shows: so an I/O error with almost no free space left is reported as a full disk.
 */
function commitFailure(error: unknown, path: string): StorageError {
  const failure = storageErrorFrom(error);
  if (failure.kind === 'io-error' && freeBytes(path) < lowFreeSpaceBytes) {
    return new StorageError('disk-full', `${failure.message} (free space below ${lowFreeSpaceBytes} bytes)`);
  }
  return failure;
}

/** Below this much free space, an I/O error on commit is taken for a full disk. */
export const lowFreeSpaceBytes = 64 * 1024 * 1024;

function freeBytes(path: string): number {
  try {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function validateBatch(batch: readonly StorageWrite[]): string | undefined {
  for (const write of batch) {
    const length = write.key.byteLength;
    if (length === 0 || length > storageKeyBytesMax) {
      return `storage key must be 1..${storageKeyBytesMax} bytes, got ${length}`;
    }
  }
  return undefined;
}

/** A node's durable store on LMDB. See src/env/storage.ts for the contract. */
export class LmdbStorage implements Storage {
  private readonly overlay = new Map<string, OverlayEntry>();
  private readonly queued: PendingBatch[] = [];
  private nextSequence = 0;
  private closed = false;
  private commits = 0;
  private batchesCommitted = 0;
  private batchesFailed = 0;
  private groupBatchesLargest = 0;
  private commitMsTotal = 0;
  private commitMsMax = 0;
  private readonly commitObservers: CommitObserver[] = [];

  private constructor(
    private readonly db: RootDatabase<Buffer, Buffer>,
    private readonly path: string,
    private readonly groupBatchesMax: number,
  ) {}

  /** Opens (or creates) the environment at `options.path`. */
  static open(options: LmdbStorageOptions): LmdbStorage {
    const db = open<Buffer, Buffer>({
      path: options.path,
      keyEncoding: 'binary',
      encoding: 'binary',
      // Resolve a commit's promise only after fsync (the Linux default resolves earlier).
      overlappingSync: false,
      noSync: false,
      useWritemap: false,
      // The path is always a directory, even when its name has a dot (lmdb-js guesses otherwise).
      noSubdir: false,
      mapSize: options.mapSizeBytes ?? defaultMapSizeBytes,
    });
    return new LmdbStorage(db, options.path, options.groupBatchesMax ?? defaultGroupBatchesMax);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.assertOpen();
    if (key.byteLength === 0 || key.byteLength > storageKeyBytesMax) return undefined;
    const pending = this.overlay.get(overlayKey(key));
    if (pending !== undefined) return pending.value === undefined ? undefined : copyBytes(pending.value);
    try {
      const value = this.db.get(asBuffer(key));
      return value === undefined ? undefined : plainView(value);
    } catch (error) {
      throw storageErrorFrom(error);
    }
  }

  range(range: StorageRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    this.assertOpen();
    try {
      return readRange(this.db, this.overlay, range);
    } catch (error) {
      throw storageErrorFrom(error);
    }
  }

  write(batch: readonly StorageWrite[]): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('closed', 'storage is closed'));
    const invalid = validateBatch(batch);
    if (invalid !== undefined) return Promise.reject(new RangeError(invalid));
    return new Promise<void>((resolve, reject) => {
      const sequence = this.nextSequence++;
      for (const write of batch) {
        const value = write.kind === 'put' ? write.value : undefined;
        this.overlay.set(overlayKey(write.key), { sequence, key: write.key, value });
      }
      // The first batch since the last commit schedules the next one, at the end of this
      // turn, after the turn's messages have left; it empties the queue.
      if (this.queued.length === 0) atTurnEnd('commit', () => this.flushAll());
      this.queued.push({ sequence, writes: batch, resolve, reject });
    });
  }

  /**
   * Calls `observer` after every successful commit (for latency metrics, as etcd exports its
   * backend commit duration). An observer must not throw.
   */
  onCommit(observer: CommitObserver): void {
    if (this.commitObservers.length >= commitObserversMax)
      throw new RangeError(`at most ${commitObserversMax} commit observers`);
    this.commitObservers.push(observer);
  }

  /** Counters since open. */
  counters(): LmdbStorageCounters {
    const { commits, batchesCommitted, batchesFailed, groupBatchesLargest, commitMsTotal, commitMsMax } =
      this;
    return { commits, batchesCommitted, batchesFailed, groupBatchesLargest, commitMsTotal, commitMsMax };
  }

  /** Commits everything written so far, then closes. Later calls reject with 'closed'. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flushAll();
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('closed', 'storage is closed');
  }

  /** Commits every queued batch, in transactions of at most the group bound. */
  private flushAll(): void {
    while (this.queued.length > 0) this.flush();
  }

  /**
   * Commits the queued batches (up to the group bound) in one LMDB transaction, on this
   * thread: `transactionSync` returns once LMDB has synced the data pages and the meta page.
   * Blocking for the sync costs this thread what handing the commit to lmdb-js's write
   * thread and back would cost in wake-ups, and leaves the core to the other processes.
   * This class must never use lmdb-js's asynchronous writes (`put`, `batch` outside a
   * transaction): once its write thread exists, `transactionSync` may join that thread's
   * open transaction and return before anything is synced.
   */
  private flush(): void {
    const group = this.queued.splice(0, this.groupBatchesMax);
    this.groupBatchesLargest = Math.max(this.groupBatchesLargest, group.length);
    const db = this.db;
    const startedMs = performance.now();
    let failure: StorageError | undefined;
    try {
      db.transactionSync(() => {
        for (const batch of group) {
          for (const write of batch.writes) {
            if (write.kind === 'put') db.putSync(asBuffer(write.key), asBuffer(write.value));
            else db.removeSync(asBuffer(write.key));
          }
        }
      });
    } catch (error) {
      failure = commitFailure(error, this.path);
    }
    const elapsedMs = performance.now() - startedMs;
    this.settle(group, failure);
    if (failure === undefined) this.noteCommit(elapsedMs, group.length);
  }

  /** Counts a successful commit and tells the observers. */
  private noteCommit(elapsedMs: number, batches: number): void {
    this.commits += 1;
    this.commitMsTotal += elapsedMs;
    this.commitMsMax = Math.max(this.commitMsMax, elapsedMs);
    for (const observe of this.commitObservers) observe(elapsedMs, batches);
  }

  /** Acknowledges (or fails) a group and clears its overlay entries. */
  private settle(group: readonly PendingBatch[], error: StorageError | undefined): void {
    const first = group[0]!.sequence;
    const last = group[group.length - 1]!.sequence;
    for (const [key, entry] of this.overlay) {
      if (entry.sequence >= first && entry.sequence <= last) this.overlay.delete(key);
    }
    for (const batch of group) {
      if (error === undefined) {
        this.batchesCommitted += 1;
        batch.resolve();
      } else {
        this.batchesFailed += 1;
        batch.reject(error);
      }
    }
  }
}

function inRange(key: Uint8Array, range: StorageRange): boolean {
  if (range.start !== undefined && Buffer.compare(key, range.start) < 0) return false;
  if (range.end !== undefined && Buffer.compare(key, range.end) >= 0) return false;
  return true;
}

/** Pending writes within the range, in the requested order. */
function overlayInRange(overlay: ReadonlyMap<string, OverlayEntry>, range: StorageRange): OverlayEntry[] {
  const entries: OverlayEntry[] = [];
  for (const entry of overlay.values()) if (inRange(entry.key, range)) entries.push(entry);
  const direction = range.reverse === true ? -1 : 1;
  entries.sort((a, b) => direction * Buffer.compare(a.key, b.key));
  return entries;
}

/** Durable entries within the range, in the requested order, lazily from an LMDB cursor. */
function* durableInRange(
  db: RootDatabase<Buffer, Buffer>,
  range: StorageRange,
): Generator<readonly [Buffer, Buffer]> {
  const reverse = range.reverse === true;
  // lmdb-js's `end` is exclusive in the direction of travel, and without one a reverse scan
  // stops short of the key [0]; so reverse scans run down to the empty key (below every
  // valid key) and the inclusive lower bound is checked here instead.
  const options = reverse
    ? {
        reverse: true,
        end: Buffer.alloc(0),
        ...(range.end === undefined ? {} : { start: asBuffer(range.end) }),
      }
    : {
        ...(range.start === undefined ? {} : { start: asBuffer(range.start) }),
        ...(range.end === undefined ? {} : { end: asBuffer(range.end) }),
      };
  for (const { key, value } of db.getRange(options)) {
    if (reverse && range.start !== undefined && Buffer.compare(key, range.start) < 0) return;
    if (!inRange(key, range)) continue;
    yield [key, value];
  }
}

/**
 * Merges durable entries with pending writes (pending ones win), honouring the limit. The
 * result is materialized, so a commit that lands while the caller iterates cannot tear it.
 */
function readRange(
  db: RootDatabase<Buffer, Buffer>,
  overlay: ReadonlyMap<string, OverlayEntry>,
  range: StorageRange,
): Array<readonly [Uint8Array, Uint8Array]> {
  const limit = range.limit ?? Number.POSITIVE_INFINITY;
  const result: Array<readonly [Uint8Array, Uint8Array]> = [];
  if (limit <= 0) return result;
  const direction = range.reverse === true ? -1 : 1;
  const pending = overlay.size === 0 ? [] : overlayInRange(overlay, range);
  let next = 0;
  const takePendingBefore = (key: Buffer | undefined): boolean => {
    while (next < pending.length && result.length < limit) {
      const entry = pending[next]!;
      const order = key === undefined ? -1 : direction * Buffer.compare(entry.key, key);
      if (order > 0) return true;
      next += 1;
      if (entry.value !== undefined) result.push([copyBytes(entry.key), copyBytes(entry.value)]);
      if (order === 0) return false; // the pending write shadows the durable entry
    }
    return result.length < limit;
  };
  for (const [key, value] of durableInRange(db, range)) {
    if (result.length >= limit) break;
    const durableVisible = takePendingBefore(key);
    if (result.length >= limit) break;
    if (durableVisible && !overlay.has(overlayKey(key))) result.push([plainView(key), plainView(value)]);
  }
  takePendingBefore(undefined);
  return result;
}
