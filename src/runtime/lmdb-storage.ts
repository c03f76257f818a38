// The real Storage: one LMDB environment per node (the `lmdb` package), with a write-ahead
// log beside it. A write's promise resolves once its record is flushed to the log: group
// commit at the end of each event-loop turn (on the main thread, after the turn's messages
// have left), one append and one flush per group. Now and then a checkpoint hands the
// latest values to LMDB's write thread; until it is durable, an in-memory overlay serves them.
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
  checkpointMarkerKey,
  decodeCheckpointMarker,
  encodeCheckpointMarker,
  reservedKeysEnd,
  reservedKeysStart,
  type CheckpointMarker,
} from './storage-log.ts';
import { asBuffer } from './buffers.ts';
import { StorageOverlay, type OverlayEntry } from './storage-overlay.ts';
import { atTurnEnd } from './turn-end.ts';
import { defaultLogSegmentBytes, WriteAheadLog } from './write-ahead-log.ts';

/** LMDB's largest key with the default page size; an empty key is not allowed either. */
export const storageKeyBytesMax = 1978;

/**
 * Default virtual address space reserved for the map: 64 GiB. It is not allocated: the file
 * grows with the data, and lmdb-js grows the map further if it ever fills. A node of 100,000
 * cells at 100 KB each is 10 GB, so the default leaves room without remapping.
 */
export const defaultMapSizeBytes = 64 * 1024 ** 3;

/** Batches per commit (one log record); more wait for the next commit (a bound on its size). */
export const defaultGroupBatchesMax = 10_000;

/**
 * Distinct keys written since the last checkpoint at which the next one starts. A checkpoint
 * writes each key once however often the log wrote it, and a page of LMDB once for all its
 * keys; the overlay holds that many values, twice while a checkpoint runs. Against 65,536
 * keys (paced checkpoints both): 64 clients over 1,000 cells committed 3,616 and 3,743/s
 * against 3,381 and 3,531/s, and after creating 100,000 cells each node's RSS was 423-581
 * MiB against 476-845 MiB, in about the same time (59.8 s against 60.8 s).
 */
export const defaultCheckpointKeys = 16_384;

/** Bytes of write log since the last checkpoint at which the next starts whatever the keys. */
export const defaultCheckpointLogBytes = 16 * 1024 * 1024;

/**
 * Keys a checkpoint hands to LMDB's write thread at a time, as one batch (one LMDB
 * transaction there), the next once it is durable: it bounds how long a checkpoint holds up
 * this thread, and how much it writes to the disk at once.
 */
export const defaultCheckpointChunkKeys = 512;

/**
 * Milliseconds a checkpoint waits before each chunk (none at close), leaving the disk to the
 * commits: with it, 16 clients' p99 was 16-17 ms against 22 ms without.
 */
export const defaultCheckpointPauseMs = 5;

/**
 * Milliseconds without a commit after which the store checkpoints what its log still holds:
 * an idle node keeps no overlay and leaves nothing to replay. A failed checkpoint is retried
 * after as long.
 */
export const defaultCheckpointIdleMs = 1000;

/** Options of LmdbStorage.open. */
export interface LmdbStorageOptions {
  /** Directory of the environment (created if missing). One per node. */
  readonly path: string;
  readonly mapSizeBytes?: number;
  readonly groupBatchesMax?: number;
  /** 0 starts a checkpoint after every commit (when none is running). */
  readonly checkpointKeys?: number;
  readonly checkpointLogBytes?: number;
  readonly checkpointChunkKeys?: number;
  readonly checkpointPauseMs?: number;
  readonly checkpointIdleMs?: number;
  /** Bytes each write-log segment file is written ahead to (defaultLogSegmentBytes). */
  readonly logSegmentBytes?: number;
}

/** What a storage has done since it opened (for metrics and tests). */
export interface LmdbStorageCounters {
  /** Write-log appends (each one flush). */
  readonly commits: number;
  /** Batches acknowledged durable. */
  readonly batchesCommitted: number;
  /** Batches rejected with a StorageError. */
  readonly batchesFailed: number;
  /** The largest number of batches that shared one commit. */
  readonly groupBatchesLargest: number;
  /** Milliseconds from starting commits to their flush completing, summed, and the largest. */
  readonly commitMsTotal: number;
  readonly commitMsMax: number;
  /** Checkpoints durable in LMDB, and those that failed (retried later). */
  readonly checkpoints: number;
  readonly checkpointsFailed: number;
  /** The write-log records and bytes no durable checkpoint covers yet: what an open replays. */
  readonly logRecords: number;
  readonly logBytes: number;
}

/** Told of every successful commit: how long it took, flush included, and its batches. */
export type CommitObserver = (durationMs: number, batches: number) => void;

/** Observers one storage accepts (a node's metrics need one). */
export const commitObserversMax = 8;

interface PendingBatch {
  readonly writes: readonly StorageWrite[];
  readonly resolve: () => void;
  readonly reject: (error: StorageError) => void;
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
 * The typed error of a failed commit. A short write can show as EIO, which is how a full disk
 * often shows: so an I/O error with almost no free space left is reported as a full disk.
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A checkpoint: the overlay it writes to LMDB, and the log records it covers. */
interface Checkpoint {
  readonly overlay: StorageOverlay;
  readonly recordsBelow: number;
  readonly logBytes: number;
}

/**
 * A node's durable store on LMDB. See src/env/storage.ts for the contract.
 *
 * A commit appends its group's writes as one record to the write-ahead log and flushes it:
 * one flush, where an LMDB commit costs two (its pages, then its meta page). The active
 * overlay holds every write since the last checkpoint started, for reads. Once it holds
 * `checkpointKeys` keys (or the log `checkpointLogBytes`), it is frozen and a fresh one takes
 * the writes; the frozen one is written to LMDB through lmdb-js's write thread, a chunk at a
 * time, then a marker of the records it covers, and once that is durable the frozen overlay is
 * dropped and the log segments it covers are recycled.
 *
 * At open, the log records the marker does not cover are replayed in order into the overlay,
 * and checkpointed at once: a key a later record writes ends at that record's value, and
 * every other key already holds its latest value in LMDB.
 */
export class LmdbStorage implements Storage {
  /** Every write since the last checkpoint started: queued ones and those only in the log. */
  private active = new StorageOverlay();
  /** Bytes of log appended since the last checkpoint started. */
  private activeLogBytes = 0;
  /** The checkpoint running, or failed and waiting for a retry. */
  private frozen: Checkpoint | undefined;
  private checkpointing: Promise<void> | undefined;
  /** The log records below this are covered by the durable checkpoint marker. */
  private coveredBelow: number;
  private readonly queued: PendingBatch[] = [];
  /** The idle checkpoint's timer, and when the last commit of writes ended (performance.now()). */
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private lastCommitMs = 0;
  private closed = false;
  /** Set when the log could not be read back after a failed commit: the overlay is unknown. */
  private broken: StorageError | undefined;
  private commits = 0;
  private checkpoints = 0;
  private checkpointsFailed = 0;
  private batchesCommitted = 0;
  private batchesFailed = 0;
  private groupBatchesLargest = 0;
  private commitMsTotal = 0;
  private commitMsMax = 0;
  private readonly commitObservers: CommitObserver[] = [];

  private constructor(
    private readonly db: RootDatabase<Buffer, Buffer>,
    private readonly log: WriteAheadLog,
    marker: CheckpointMarker,
    private readonly path: string,
    private readonly options: Required<Omit<LmdbStorageOptions, 'path' | 'mapSizeBytes' | 'logSegmentBytes'>>,
  ) {
    this.coveredBelow = marker.recordsBelow;
  }

  /**
   * Opens (or creates) the store at `options.path`, replays its write log into the overlay and
   * starts checkpointing it. Throws an 'io-error' StorageError when a log record the
   * checkpoint marker does not cover is missing (a damaged segment before a later one).
   */
  static open(options: LmdbStorageOptions): LmdbStorage {
    const invalid = invalidOption(options);
    if (invalid !== undefined) throw new RangeError(invalid);
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
      // Batching per event-loop turn makes lmdb-js hold a promise of its own for each batch,
      // which a failed commit rejects with no handler (an unhandled rejection).
      eventTurnBatching: false,
      mapSize: options.mapSizeBytes ?? defaultMapSizeBytes,
    });
    try {
      const marker = readCheckpointMarker(db);
      const { log, records } = WriteAheadLog.open(
        options.path,
        options.logSegmentBytes ?? defaultLogSegmentBytes,
        marker,
      );
      const storage = new LmdbStorage(db, log, marker, options.path, {
        groupBatchesMax: options.groupBatchesMax ?? defaultGroupBatchesMax,
        checkpointKeys: options.checkpointKeys ?? defaultCheckpointKeys,
        checkpointLogBytes: options.checkpointLogBytes ?? defaultCheckpointLogBytes,
        checkpointChunkKeys: options.checkpointChunkKeys ?? defaultCheckpointChunkKeys,
        checkpointPauseMs: options.checkpointPauseMs ?? defaultCheckpointPauseMs,
        checkpointIdleMs: options.checkpointIdleMs ?? defaultCheckpointIdleMs,
      });
      for (const record of records) {
        storage.applyToOverlay(record.writes);
        storage.activeLogBytes += record.bytes;
      }
      storage.lastCommitMs = performance.now();
      if (storage.active.size > 0) storage.startCheckpoint();
      return storage;
    } catch (error) {
      void db.close();
      throw storageErrorFrom(error);
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.assertOpen();
    if (key.byteLength === 0 || key.byteLength > storageKeyBytesMax || isReservedStorageKey(key))
      return undefined;
    const pending = this.active.get(key) ?? this.frozen?.overlay.get(key);
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
    const frozen = this.frozen?.overlay;
    const pending = newestFirst(this.active.inRange(range), frozen?.inRange(range) ?? [], range);
    try {
      return readRange(this.db, pending, range);
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
    return {
      commits,
      batchesCommitted,
      batchesFailed,
      groupBatchesLargest,
      commitMsTotal,
      commitMsMax,
      checkpoints: this.checkpoints,
      checkpointsFailed: this.checkpointsFailed,
      logRecords: this.log.nextRecord - this.coveredBelow,
      logBytes: this.activeLogBytes + (this.frozen?.logBytes ?? 0),
    };
  }

  /** Resolves once no checkpoint is running (it may have failed: see the counters). */
  async checkpointSettled(): Promise<void> {
    await this.checkpointing;
  }

  /**
   * Commits everything written so far and checkpoints it all (so the next open has nothing to
   * replay), then closes. Later calls reject with 'closed'. A failed checkpoint loses
   * nothing: the log stays, and the next open replays it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.flushAll();
    await this.checkpointing;
    if (this.broken === undefined && this.frozen !== undefined) await this.runCheckpoint();
    if (this.broken === undefined && this.frozen === undefined && this.active.size > 0) {
      this.startCheckpoint();
      await this.checkpointing;
    }
    if (this.frozen === undefined && this.active.size === 0) this.log.recycleBelow(this.coveredBelow, true);
    await this.log.close();
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('closed', 'storage is closed');
    if (this.broken !== undefined) throw this.broken;
  }

  private applyToOverlay(batch: readonly StorageWrite[]): void {
    for (const write of batch) this.active.set(write.key, write.kind === 'put' ? write.value : undefined);
  }

  /** Commits every queued batch, in appends of at most the group bound, then checkpoints if due. */
  private flushAll(): void {
    while (this.queued.length > 0) this.commit(this.queued.splice(0, this.options.groupBatchesMax));
    this.lastCommitMs = performance.now();
    // The queue is empty: the overlay holds only what the log holds, so it may be frozen.
    const { checkpointKeys, checkpointLogBytes } = this.options;
    if (
      !this.closed &&
      this.active.size > 0 &&
      (this.active.size >= checkpointKeys || this.activeLogBytes >= checkpointLogBytes)
    )
      this.startCheckpoint();
    this.armIdleCheckpoint(this.options.checkpointIdleMs);
  }

  /** Appends a group to the log as one record, flushed before its batches resolve. */
  private commit(group: readonly PendingBatch[]): void {
    this.groupBatchesLargest = Math.max(this.groupBatchesLargest, group.length);
    const startedMs = performance.now();
    try {
      this.activeLogBytes += this.log.append(group.map((batch) => batch.writes));
    } catch (error) {
      return this.fail(group, commitFailure(error, this.path));
    }
    this.noteCommit(performance.now() - startedMs, group.length);
    for (const batch of group) batch.resolve();
  }

  /**
   * Freezes the active overlay, when no checkpoint is running or waiting for a retry, and
   * starts writing it to LMDB. Only while no batch is queued: the overlay must hold nothing
   * the log does not.
   */
  private startCheckpoint(): void {
    if (this.frozen !== undefined || this.broken !== undefined || this.queued.length > 0) return;
    this.frozen = { overlay: this.active, recordsBelow: this.log.nextRecord, logBytes: this.activeLogBytes };
    this.active = new StorageOverlay();
    this.activeLogBytes = 0;
    void this.runCheckpoint();
  }

  /** Writes the frozen overlay to LMDB; on success drops it, else keeps it for a retry. */
  private runCheckpoint(): Promise<void> {
    const frozen = this.frozen!;
    const running = this.writeCheckpoint(frozen).then(
      () => {
        this.frozen = undefined;
        this.coveredBelow = frozen.recordsBelow;
        this.checkpoints += 1;
        this.log.recycleBelow(this.coveredBelow, false);
      },
      () => {
        // A full disk, most likely: the log still holds every write, and reads the overlay.
        this.checkpointsFailed += 1;
      },
    );
    this.checkpointing = running.finally(() => {
      this.checkpointing = undefined;
      this.armIdleCheckpoint(this.options.checkpointIdleMs);
    });
    return this.checkpointing;
  }

  /**
   * Hands the frozen entries to lmdb-js's write thread in key order, a chunk at a time as one
   * batch (one LMDB transaction there, synced before its promise resolves), the next once the
   * one before is durable: a checkpoint is a trickle of small transactions, not a burst that
   * holds the disk and a core from the commits. Then the marker of the records they cover.
   */
  private async writeCheckpoint(frozen: Checkpoint): Promise<void> {
    // In key order, so a chunk updates neighbouring keys on few pages (in the order keys were
    // first written, a chunk of 512 keys over 1,000 cells touched hundreds of pages); listed
    // a chunk at a time, since listing them all at once held this thread up 14-73 ms.
    const entries = frozen.overlay.inKeyOrder();
    const chunkKeys = this.options.checkpointChunkKeys;
    for (let more = true; more;) {
      if (!this.closed && this.options.checkpointPauseMs > 0) await sleep(this.options.checkpointPauseMs);
      await this.commitInBackground(() => {
        for (let count = 0; count < chunkKeys; count += 1) {
          const next = entries.next();
          if (next.done === true) {
            more = false;
            return;
          }
          const { key, value } = next.value;
          if (value === undefined) void this.db.remove(asBuffer(key));
          else void this.db.put(asBuffer(key), asBuffer(value));
        }
      });
    }
    const marker = { recordsBelow: frozen.recordsBelow, segmentIdsBelow: this.log.segmentIdsBelow };
    await this.commitInBackground(
      () => void this.db.put(checkpointMarkerKey, encodeCheckpointMarker(marker)),
    );
  }

  /** Runs `writes` as one batch on lmdb-js's write thread; resolves once it is durable. */
  private async commitInBackground(writes: () => void): Promise<void> {
    try {
      await this.db.batch(writes);
    } catch (error) {
      // lmdb-js also rejects a promise of its own with the cause: this handles it.
      const cause = (error as { commitError?: unknown } | null)?.commitError;
      if (cause instanceof Promise) cause.catch(() => undefined);
      throw storageErrorFrom(error);
    }
  }

  /** Arms the idle checkpoint, unless it is armed or nothing waits for a checkpoint. */
  private armIdleCheckpoint(delayMs: number): void {
    if (this.idleTimer !== undefined || this.closed) return;
    if (this.active.size === 0 && this.frozen === undefined) return;
    this.idleTimer = setTimeout(() => this.idleCheckpoint(), delayMs);
    this.idleTimer.unref();
  }

  /**
   * Runs when the timer fires: if writes were committed since it was armed, it waits out the
   * rest of the idle time; else it retries a failed checkpoint, or starts one.
   */
  private idleCheckpoint(): void {
    this.idleTimer = undefined;
    if (this.closed || this.broken !== undefined || this.checkpointing !== undefined) return;
    const idleMs = performance.now() - this.lastCommitMs;
    if (idleMs < this.options.checkpointIdleMs || this.queued.length > 0)
      return this.armIdleCheckpoint(Math.max(0, this.options.checkpointIdleMs - idleMs));
    if (this.frozen !== undefined) void this.runCheckpoint();
    else this.startCheckpoint();
  }

  /**
   * Rejects a group whose append failed. Its writes leave the active overlay, which is rebuilt
   * from the log records it covers, read back from disk, and the batches still queued.
   */
  private fail(group: readonly PendingBatch[], failure: StorageError): void {
    this.active.clear();
    try {
      for (const record of this.log.recordsFrom(this.frozen?.recordsBelow ?? this.coveredBelow))
        this.applyToOverlay(record.writes);
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

/** Why the options cannot work, if they cannot. */
function invalidOption(options: LmdbStorageOptions): string | undefined {
  const atLeast: Array<[keyof LmdbStorageOptions, number]> = [
    ['groupBatchesMax', 1],
    ['checkpointKeys', 0],
    ['checkpointLogBytes', 0],
    ['checkpointChunkKeys', 1],
    ['checkpointPauseMs', 0],
    ['checkpointIdleMs', 0],
    ['logSegmentBytes', 1],
  ];
  for (const [name, least] of atLeast) {
    const value = options[name];
    if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= least))
      return `LmdbStorage option ${name} must be an integer of at least ${least}, got ${String(value)}`;
  }
  return undefined;
}

/**
 * The checkpoint marker LMDB holds (none yet: nothing covered). Throws an 'io-error'
 * StorageError when a reserved key holds anything else: a write log an older version kept
 * inside LMDB, which this version does not replay.
 */
function readCheckpointMarker(db: RootDatabase<Buffer, Buffer>): CheckpointMarker {
  let marker: CheckpointMarker = { recordsBelow: 0, segmentIdsBelow: 0 };
  for (const { key, value } of db.getRange({ start: reservedKeysStart, end: reservedKeysEnd })) {
    const decoded = key.equals(checkpointMarkerKey) ? decodeCheckpointMarker(value) : undefined;
    if (decoded === undefined)
      throw new StorageError(
        'io-error',
        'the store holds a write log of an older version inside LMDB: open and close it with that version first',
      );
    marker = decoded;
  }
  return marker;
}

/** Two overlays' entries in a range, in its order: the newer wins where both hold a key. */
function newestFirst(
  newer: readonly OverlayEntry[],
  older: readonly OverlayEntry[],
  range: StorageRange,
): OverlayEntry[] {
  if (older.length === 0) return [...newer];
  const direction = range.reverse === true ? -1 : 1;
  const out: OverlayEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < newer.length && j < older.length) {
    const order = direction * Buffer.compare(newer[i]!.key, older[j]!.key);
    if (order <= 0) out.push(newer[i++]!);
    if (order >= 0) {
      if (order > 0) out.push(older[j]!);
      j += 1;
    }
  }
  while (i < newer.length) out.push(newer[i++]!);
  while (j < older.length) out.push(older[j++]!);
  return out;
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
    { ...range, end: byteMin(range.end, reservedKeysStart) },
    { ...range, start: byteMax(range.start, reservedKeysEnd) },
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
  pending: readonly OverlayEntry[],
  range: StorageRange,
): Array<readonly [Uint8Array, Uint8Array]> {
  const limit = range.limit ?? Number.POSITIVE_INFINITY;
  const result: Array<readonly [Uint8Array, Uint8Array]> = [];
  if (limit <= 0) return result;
  const direction = range.reverse === true ? -1 : 1;
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
    if (durableVisible) result.push([plainView(key), plainView(value)]);
  }
  takePendingBefore(undefined);
  return result;
}
