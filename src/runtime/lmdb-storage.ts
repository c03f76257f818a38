// The real Storage: one LMDB environment per node (the `lmdb` package), fsync'd before a
// write's promise resolves, with group commit at the end of each event-loop turn (on the
// main thread, after the turn's messages have left). A commit appends its batches to a
// write log at sequential keys; a checkpoint now and then moves the log's latest values to
// their own keys. Until then an in-memory overlay serves them to reads.
import { statfsSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import {
  isReservedStorageKey,
  StorageError,
  type Storage,
  type StorageErrorKind,
  type StorageRange,
  type StorageWrite,
} from '../env/index.ts';
import {
  decodeLogRecord,
  encodeLogRecord,
  logKeysEnd,
  logKeysStart,
  logRecordKey,
  logRecordNumber,
} from './storage-log.ts';
import { StorageOverlay } from './storage-overlay.ts';
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

/**
 * Distinct keys in the overlay (written, not yet at their places) at which a checkpoint
 * starts. A checkpoint writes each key once however often the log wrote it, so the more it
 * waits for, the fewer pages it writes per commit; the overlay holds that many values.
 */
export const defaultCheckpointKeys = 16_384;

/** Bytes of write log at which a checkpoint starts whatever the keys (bounds replay and memory). */
export const defaultCheckpointLogBytes = 16 * 1024 * 1024;

/**
 * Keys a checkpoint moves per commit, at least (twice the commit's own writes when that is
 * more). It bounds how long a slice holds up a commit, and so the event loop: 512 keys took
 * about 10 ms on this machine under load, and made the p99 of a single client's commits worse
 * than 64 keys did.
 */
export const defaultCheckpointSliceKeys = 64;

/**
 * Milliseconds without a commit after which the store checkpoints what its log still holds,
 * a slice per event-loop turn: an idle node keeps no overlay and leaves nothing to replay.
 */
export const defaultCheckpointIdleMs = 1000;

/** Options of LmdbStorage.open. */
export interface LmdbStorageOptions {
  /** Directory of the environment (created if missing). One per node. */
  readonly path: string;
  readonly mapSizeBytes?: number;
  readonly groupBatchesMax?: number;
  /** 0 makes every commit a whole checkpoint: no log outlives its commit. */
  readonly checkpointKeys?: number;
  readonly checkpointLogBytes?: number;
  readonly checkpointSliceKeys?: number;
  readonly checkpointIdleMs?: number;
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
  /** Checkpoints completed, and the log records and bytes on disk that none has covered yet. */
  readonly checkpoints: number;
  readonly logRecords: number;
  readonly logBytes: number;
}

/** Told of every successful commit: how long it took, fsync included, and its batches. */
export type CommitObserver = (durationMs: number, batches: number) => void;

/** Observers one storage accepts (a node's metrics need one). */
export const commitObserversMax = 8;

interface PendingBatch {
  readonly writes: readonly StorageWrite[];
  readonly resolve: () => void;
  readonly reject: (error: StorageError) => void;
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
    if (isReservedStorageKey(write.key))
      return 'storage keys beginning with storageReservedPrefix are reserved';
  }
  return undefined;
}

/**
 * A node's durable store on LMDB. See src/env/storage.ts for the contract.
 *
 * A commit appends its group's writes as one record at the next sequential key under
 * `storageReservedPrefix`: it dirties the log's last page, not a page of every cell it
 * touches. The overlay holds every write not yet at its own key, for reads. Once it holds
 * `checkpointKeys` keys (or the log `checkpointLogBytes`), a checkpoint starts: each commit
 * from then on also moves a slice of overlay entries, in key order, to their keys. When it
 * passes the last key, every write of the records that existed when it started is at its key
 * or overwritten by a later record, so that commit deletes those records.
 *
 * A crash keeps whole commits. At open, the records left are replayed in order into the
 * overlay: a key a later record writes ends at that record's value, and every other key
 * already holds its latest value at its place.
 */
export class LmdbStorage implements Storage {
  /** Every write not yet at its own key: pending ones and those only in the log. */
  private readonly overlay = new StorageOverlay();
  private readonly queued: PendingBatch[] = [];
  /** Log records on disk are numbered firstLogRecord .. nextLogRecord - 1. */
  private firstLogRecord = 0;
  private nextLogRecord = 0;
  /** The size of each log record on disk, from firstLogRecord on, and their sum. */
  private recordBytes: number[] = [];
  private logBytes = 0;
  /** The running checkpoint: the last key it moved, and the log records it covers. */
  private sweep: { after: string | undefined; readonly recordsBelow: number } | undefined;
  /** The idle checkpoint's timer, and when the last commit of writes ended (performance.now()). */
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private lastCommitMs = 0;
  private closed = false;
  /** Set when the log could not be read back after a failed commit: the overlay is unknown. */
  private broken: StorageError | undefined;
  private commits = 0;
  private checkpoints = 0;
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
    private readonly checkpointKeys: number,
    private readonly checkpointLogBytes: number,
    private readonly checkpointSliceKeys: number,
    private readonly checkpointIdleMs: number,
  ) {}

  /**
   * Opens (or creates) the environment at `options.path` and replays its write log into the
   * overlay (checkpointed once the store has been idle for checkpointIdleMs). Throws an
   * 'io-error' StorageError when a log record is damaged.
   */
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
    const storage = new LmdbStorage(
      db,
      options.path,
      options.groupBatchesMax ?? defaultGroupBatchesMax,
      options.checkpointKeys ?? defaultCheckpointKeys,
      options.checkpointLogBytes ?? defaultCheckpointLogBytes,
      options.checkpointSliceKeys ?? defaultCheckpointSliceKeys,
      options.checkpointIdleMs ?? defaultCheckpointIdleMs,
    );
    try {
      storage.replayLog();
    } catch (error) {
      void db.close();
      throw storageErrorFrom(error);
    }
    storage.lastCommitMs = performance.now();
    storage.armIdleCheckpoint(storage.checkpointIdleMs);
    return storage;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.assertOpen();
    if (key.byteLength === 0 || key.byteLength > storageKeyBytesMax || isReservedStorageKey(key))
      return undefined;
    const pending = this.overlay.get(key);
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
    if (this.broken !== undefined) return Promise.reject(this.broken);
    const invalid = validateBatch(batch);
    if (invalid !== undefined) return Promise.reject(new RangeError(invalid));
    return new Promise<void>((resolve, reject) => {
      this.applyToOverlay(batch);
      // The first batch since the last commit schedules the next one, at the end of this
      // turn, after the turn's messages have left; it empties the queue.
      if (this.queued.length === 0) atTurnEnd('commit', () => this.flushAll());
      this.queued.push({ writes: batch, resolve, reject });
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
    const logRecords = this.nextLogRecord - this.firstLogRecord;
    return {
      commits,
      batchesCommitted,
      batchesFailed,
      groupBatchesLargest,
      commitMsTotal,
      commitMsMax,
      checkpoints: this.checkpoints,
      logRecords,
      logBytes: this.logBytes,
    };
  }

  /**
   * Commits everything written so far and checkpoints the log (so the next open has none to
   * replay), then closes. Later calls reject with 'closed'. A failed checkpoint loses
   * nothing: the log stays, and the next open replays it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.flushAll();
    if (this.overlay.size > 0 || this.firstLogRecord < this.nextLogRecord) {
      // A checkpoint of everything: a fresh one, since keys behind a running one's position
      // may have been written again.
      this.sweep = undefined;
      this.commit([], Number.POSITIVE_INFINITY);
    }
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('closed', 'storage is closed');
    if (this.broken !== undefined) throw this.broken;
  }

  private applyToOverlay(batch: readonly StorageWrite[]): void {
    for (const write of batch) this.overlay.set(write.key, write.kind === 'put' ? write.value : undefined);
  }

  /** Reads the write log into the overlay, in record order (at open, and after a failure). */
  private replayLog(): void {
    this.logBytes = 0;
    this.recordBytes = [];
    let first: number | undefined;
    let next = this.nextLogRecord;
    for (const { key, value } of this.db.getRange({ start: logKeysStart, end: logKeysEnd })) {
      const recordNumber = logRecordNumber(key);
      first ??= recordNumber;
      next = recordNumber + 1;
      this.applyToOverlay(decodeLogRecord(recordNumber, value));
      this.recordBytes.push(value.byteLength);
      this.logBytes += value.byteLength;
    }
    this.firstLogRecord = first ?? next;
    this.nextLogRecord = next;
  }

  /** Commits every queued batch, in transactions of at most the group bound. */
  private flushAll(): void {
    while (this.queued.length > 0) {
      const group = this.queued.splice(0, this.groupBatchesMax);
      // Only the last group may move overlay entries: the overlay then holds no write of a
      // later group, whose batches must not become durable in this commit.
      this.commit(group, this.queued.length === 0 ? this.sliceKeys(group) : 0);
    }
    this.lastCommitMs = performance.now();
    this.armIdleCheckpoint(this.checkpointIdleMs);
  }

  /** Keys a commit of `group` moves to their places: none unless a checkpoint is due or running. */
  private sliceKeys(group: readonly PendingBatch[]): number {
    if (
      this.sweep === undefined &&
      this.overlay.size < this.checkpointKeys &&
      this.logBytes < this.checkpointLogBytes
    )
      return 0;
    let writes = 0;
    for (const batch of group) writes += batch.writes.length;
    // Twice the keys the group adds, so a checkpoint always gains on the writes.
    return Math.max(this.checkpointSliceKeys, 2 * writes);
  }

  /**
   * Commits a group in one LMDB transaction, on this thread: `transactionSync` returns once
   * LMDB has synced the data pages and the meta page. The group goes to the write log as one
   * record; with `sliceKeys` above 0 the same transaction also moves that many overlay
   * entries to their places (a checkpoint's slice). Blocking for the sync costs this thread
   * what handing the commit to lmdb-js's write thread and back would cost in wake-ups, and
   * leaves the core to the other processes. This class must never use lmdb-js's asynchronous
   * writes (`put`, `batch` outside a transaction): once its write thread exists,
   * `transactionSync` may join that thread's open transaction and return before anything is
   * synced.
   */
  private commit(group: readonly PendingBatch[], sliceKeys: number): void {
    this.groupBatchesLargest = Math.max(this.groupBatchesLargest, group.length);
    const startedMs = performance.now();
    const record = group.length === 0 ? undefined : encodeLogRecord(group.map((batch) => batch.writes));
    const recordNumber = this.nextLogRecord;
    let finished: number | undefined;
    try {
      this.db.transactionSync(() => {
        if (record !== undefined) this.db.putSync(logRecordKey(recordNumber), record);
        if (sliceKeys > 0)
          finished = this.writeSlice(sliceKeys, recordNumber + (record === undefined ? 0 : 1));
      });
    } catch (error) {
      return this.fail(group, commitFailure(error, this.path));
    }
    const elapsedMs = performance.now() - startedMs;
    if (record !== undefined) {
      this.nextLogRecord += 1;
      this.recordBytes.push(record.byteLength);
      this.logBytes += record.byteLength;
    }
    if (finished !== undefined) this.dropLogBelow(finished);
    this.noteCommit(elapsedMs, group.length);
    for (const batch of group) batch.resolve();
  }

  /**
   * Inside a transaction: moves up to `count` overlay entries, in key order from where the
   * running checkpoint stopped, to their own keys. A checkpoint starting now covers every log
   * record below `recordsEnd`. When it reaches the last key, every write of those records is
   * at its place or overwritten by a later record, so it deletes them, and returns the first
   * record it keeps.
   */
  private writeSlice(count: number, recordsEnd: number): number | undefined {
    const db = this.db;
    const sweep = (this.sweep ??= { after: undefined, recordsBelow: recordsEnd });
    const { taken, last, more } = this.overlay.takeAfter(sweep.after, count);
    for (const { key, value } of taken) {
      if (value === undefined) db.removeSync(asBuffer(key));
      else db.putSync(asBuffer(key), asBuffer(value));
    }
    sweep.after = last ?? sweep.after;
    if (more) return undefined;
    for (let recordNumber = this.firstLogRecord; recordNumber < sweep.recordsBelow; recordNumber += 1)
      db.removeSync(logRecordKey(recordNumber));
    return sweep.recordsBelow;
  }

  /** Arms the idle checkpoint, unless it is armed or nothing waits for a checkpoint. */
  private armIdleCheckpoint(delayMs: number): void {
    if (this.idleTimer !== undefined || this.closed) return;
    if (this.overlay.size === 0 && this.firstLogRecord === this.nextLogRecord) return;
    this.idleTimer = setTimeout(() => this.idleCheckpoint(), delayMs);
    this.idleTimer.unref();
  }

  /**
   * Runs when the timer fires: if writes were committed since it was armed, it waits out the
   * rest of the idle time; else it commits one slice of a checkpoint, and arms itself for the
   * next one at once. Writes queued meanwhile carry the checkpoint on in their own commits.
   */
  private idleCheckpoint(): void {
    this.idleTimer = undefined;
    if (this.closed || this.broken !== undefined || this.queued.length > 0) return;
    const idleMs = performance.now() - this.lastCommitMs;
    if (idleMs < this.checkpointIdleMs) return this.armIdleCheckpoint(this.checkpointIdleMs - idleMs);
    this.commit([], this.checkpointSliceKeys);
    this.armIdleCheckpoint(0);
  }

  /** After a checkpoint's last slice committed: forgets the log records it deleted. */
  private dropLogBelow(recordsBelow: number): void {
    for (const bytes of this.recordBytes.splice(0, recordsBelow - this.firstLogRecord))
      this.logBytes -= bytes;
    this.firstLogRecord = recordsBelow;
    this.sweep = undefined;
    this.checkpoints += 1;
  }

  /**
   * Rejects a group whose commit failed. Its writes leave the overlay, which is rebuilt from
   * the log on disk and the batches still queued after the group; a running checkpoint
   * starts over.
   */
  private fail(group: readonly PendingBatch[], failure: StorageError): void {
    this.overlay.clear();
    this.sweep = undefined;
    try {
      this.replayLog();
      for (const batch of this.queued) this.applyToOverlay(batch.writes);
    } catch (error) {
      // The log was readable at open and only this process wrote it since: the disk is
      // failing. Reads would miss what the log held, so every later call fails instead.
      this.broken = storageErrorFrom(error);
    }
    this.batchesFailed += group.length;
    for (const batch of group) batch.reject(failure);
  }

  /** Counts a successful commit and tells the observers. */
  private noteCommit(elapsedMs: number, batches: number): void {
    this.commits += 1;
    this.batchesCommitted += batches;
    this.commitMsTotal += elapsedMs;
    this.commitMsMax = Math.max(this.commitMsMax, elapsedMs);
    for (const observe of this.commitObservers) observe(elapsedMs, batches);
  }
}

function inRange(key: Uint8Array, range: StorageRange): boolean {
  if (range.start !== undefined && Buffer.compare(key, range.start) < 0) return false;
  if (range.end !== undefined && Buffer.compare(key, range.end) >= 0) return false;
  return true;
}

function byteMin(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  return a === undefined || Buffer.compare(a, b) > 0 ? b : a;
}

function byteMax(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  return a === undefined || Buffer.compare(a, b) < 0 ? b : a;
}

/** The parts of a range below and above the reserved keys, in the range's direction. */
function outsideReserved(range: StorageRange): StorageRange[] {
  const segments = [
    { ...range, end: byteMin(range.end, logKeysStart) },
    { ...range, start: byteMax(range.start, logKeysEnd) },
  ].filter(({ start, end }) => start === undefined || end === undefined || Buffer.compare(start, end) < 0);
  return range.reverse === true ? segments.reverse() : segments;
}

/** Durable entries within the range, in the requested order, lazily from an LMDB cursor. */
function* durableInRange(
  db: RootDatabase<Buffer, Buffer>,
  range: StorageRange,
): Generator<readonly [Buffer, Buffer]> {
  for (const segment of outsideReserved(range)) yield* durableInSegment(db, segment);
}

/** Durable entries within a range that holds no reserved key. */
function* durableInSegment(
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
  overlay: StorageOverlay,
  range: StorageRange,
): Array<readonly [Uint8Array, Uint8Array]> {
  const limit = range.limit ?? Number.POSITIVE_INFINITY;
  const result: Array<readonly [Uint8Array, Uint8Array]> = [];
  if (limit <= 0) return result;
  const direction = range.reverse === true ? -1 : 1;
  const pending = overlay.inRange(range);
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
    if (durableVisible && !overlay.has(key)) result.push([plainView(key), plainView(value)]);
  }
  takePendingBefore(undefined);
  return result;
}
