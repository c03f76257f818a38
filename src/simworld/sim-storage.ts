// A host's simulated disk and the Storage each incarnation of the host sees: writes
// become durable only at a (group-commit) sync whose latency is drawn from a distribution;
// a crash loses every batch not yet durable (optionally keeping a prefix); stored bytes can
// be corrupted; the disk can be full or fail writes.
import { isReservedStorageKey, StorageError } from '../env/index.ts';
import type { Random, Storage, StorageRange, StorageWrite } from '../env/index.ts';
import type { Buggify } from './buggify.ts';
import { constant, sample } from './distribution.ts';
import type { Distribution } from './distribution.ts';
import { OrderedBytesMap } from './ordered-bytes-map.ts';
import type { Scheduler, ScheduledEvent } from './scheduler.ts';

/** The most batches waiting for a sync: more means the code under test ignores back-pressure. */
export const PENDING_BATCHES_MAX = 100_000;
/** The most operations in one batch. */
export const BATCH_OPERATIONS_MAX = 100_000;

const TRACE_SYNC = 3;

/** Faults of one disk; change them at any time. */
export interface DiskFaults {
  /** Time from a sync's start to durability. */
  syncLatency: Distribution;
  /** Every write rejects with 'disk-full' while true. */
  full: boolean;
  /** Writes that would take the stored bytes over this reject with 'disk-full'. */
  capacityBytes: number;
  /** Probability that a write rejects with 'io-error'. */
  ioErrorProbability: number;
  /** On a crash, keep a random prefix of the non-durable batches (else lose them all). */
  crashKeepsPrefix: boolean;
}

export const DEFAULT_DISK_FAULTS: DiskFaults = {
  syncLatency: constant(1),
  full: false,
  capacityBytes: Number.POSITIVE_INFINITY,
  ioErrorProbability: 0,
  crashKeepsPrefix: false,
};

interface PendingBatch {
  readonly operations: readonly StorageWrite[];
  readonly resolve: () => void;
}

/** Counters of one disk. */
export interface DiskStats {
  batchesWritten: number;
  batchesDurable: number;
  batchesLostInCrashes: number;
  batchesRejected: number;
  syncs: number;
  corruptions: number;
}

function applyBatch(map: OrderedBytesMap, operations: readonly StorageWrite[]): void {
  for (const operation of operations) {
    if (operation.kind === 'put') map.set(operation.key, operation.value);
    else map.delete(operation.key);
  }
}

function sizeAfter(map: OrderedBytesMap, operations: readonly StorageWrite[]): number {
  let bytes = map.bytes;
  for (const operation of operations) {
    const old = map.get(operation.key);
    if (old !== undefined) bytes -= old.byteLength + operation.key.byteLength;
    if (operation.kind === 'put') bytes += operation.key.byteLength + operation.value.byteLength;
  }
  return bytes;
}

/**
 * One host's disk. `visible` is what reads see (every written batch); `durable` is what
 * survives a crash. Invariant: durable == visible minus the pending batches, in order.
 */
export class SimDisk {
  readonly faults: DiskFaults = { ...DEFAULT_DISK_FAULTS };
  readonly stats: DiskStats = {
    batchesWritten: 0,
    batchesDurable: 0,
    batchesLostInCrashes: 0,
    batchesRejected: 0,
    syncs: 0,
    corruptions: 0,
  };
  private visible = new OrderedBytesMap();
  private durable = new OrderedBytesMap();
  private pending: PendingBatch[] = [];
  private syncing: { event: ScheduledEvent; count: number } | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    private readonly buggify: Buggify,
    private readonly traceTag: number,
  ) {}

  get(key: Uint8Array): Uint8Array | undefined {
    const value = this.visible.get(key);
    return value === undefined ? undefined : value.slice();
  }

  range(range: StorageRange): Array<readonly [Uint8Array, Uint8Array]> {
    return this.visible.range(range).map((entry) => [entry.key.slice(), entry.value.slice()] as const);
  }

  /** Durable contents only (what a crash now would leave), for tests and checkers. */
  durableRange(range: StorageRange): Array<readonly [Uint8Array, Uint8Array]> {
    return this.durable.range(range).map((entry) => [entry.key.slice(), entry.value.slice()] as const);
  }

  get pendingBatches(): number {
    return this.pending.length;
  }

  write(batch: readonly StorageWrite[]): Promise<void> {
    if (batch.some((operation) => isReservedStorageKey(operation.key))) {
      this.scheduler.notePromiseSettled();
      return Promise.reject(new RangeError('storage keys beginning with storageReservedPrefix are reserved'));
    }
    const refusal = this.refusal(batch);
    if (refusal !== undefined) {
      this.stats.batchesRejected += 1;
      this.scheduler.notePromiseSettled();
      return Promise.reject(refusal);
    }
    const operations = batch.map((operation): StorageWrite =>
      operation.kind === 'put'
        ? { kind: 'put', key: operation.key.slice(), value: operation.value.slice() }
        : { kind: 'delete', key: operation.key.slice() },
    );
    applyBatch(this.visible, operations);
    this.stats.batchesWritten += 1;
    return new Promise<void>((resolve) => {
      this.pending.push({ operations, resolve });
      if (this.syncing === undefined) this.startSync();
    });
  }

  private refusal(batch: readonly StorageWrite[]): StorageError | undefined {
    if (batch.length > BATCH_OPERATIONS_MAX) {
      return new StorageError(
        'io-error',
        `batch of ${batch.length} operations is over ${BATCH_OPERATIONS_MAX}`,
      );
    }
    if (this.pending.length >= PENDING_BATCHES_MAX) {
      return new StorageError('io-error', `over ${PENDING_BATCHES_MAX} batches waiting for a sync`);
    }
    if (this.faults.full || sizeAfter(this.visible, batch) > this.faults.capacityBytes) {
      return new StorageError('disk-full', 'simulated disk is full');
    }
    if (this.faults.ioErrorProbability > 0 && this.random.nextFloat() < this.faults.ioErrorProbability) {
      return new StorageError('io-error', 'simulated I/O error');
    }
    return undefined;
  }

  /** A sync starts after the current event, so batches written together share it. */
  private startSync(): void {
    this.syncing = {
      event: this.scheduler.after(
        0,
        () => {
          let latencyMs = sample(this.faults.syncLatency, this.random);
          if (this.buggify.fires('disk.slow-sync')) latencyMs += 50 + this.random.intBelow(500);
          const count = this.pending.length;
          this.syncing = {
            event: this.scheduler.after(latencyMs, () => this.finishSync(count), false),
            count,
          };
        },
        false,
      ),
      count: 0,
    };
  }

  private finishSync(count: number): void {
    this.syncing = undefined;
    this.stats.syncs += 1;
    const done = this.pending.splice(0, count);
    for (const batch of done) {
      applyBatch(this.durable, batch.operations);
      this.stats.batchesDurable += 1;
      batch.resolve();
    }
    this.scheduler.trace.number(TRACE_SYNC);
    this.scheduler.trace.number(this.traceTag);
    this.scheduler.trace.number(count);
    if (done.length > 0) this.scheduler.notePromiseSettled();
    if (this.pending.length > 0) this.startSync();
  }

  /**
   * A power cut: every non-durable batch is lost, except (when `crashKeepsPrefix`) a
   * random prefix of them in write order. Their promises never settle. Returns the count lost.
   */
  crash(): number {
    if (this.syncing !== undefined) this.syncing.event.cancelled = true;
    this.syncing = undefined;
    const kept = this.faults.crashKeepsPrefix ? this.random.intBelow(this.pending.length + 1) : 0;
    for (const batch of this.pending.slice(0, kept)) applyBatch(this.durable, batch.operations);
    const lost = this.pending.length - kept;
    this.stats.batchesLostInCrashes += lost;
    this.pending = [];
    this.visible = this.durable.clone();
    return lost;
  }

  /**
   * Flips one byte of the stored value of `key` (or of a random stored key), on the medium:
   * both reads and what survives a crash see it. Returns false when there is nothing to corrupt.
   */
  corrupt(key?: Uint8Array): boolean {
    const keys = this.durable.keys();
    const text = key === undefined ? keys[this.random.intBelow(Math.max(1, keys.length))] : undefined;
    const entry =
      key !== undefined
        ? this.durableEntry(key)
        : text === undefined
          ? undefined
          : this.durable.getByString(text);
    if (entry === undefined || entry.value.byteLength === 0) return false;
    const damaged = entry.value.slice();
    const index = this.random.intBelow(damaged.byteLength);
    damaged[index] = damaged[index]! ^ (1 << this.random.intBelow(8));
    if (this.visible.get(entry.key) === entry.value) this.visible.set(entry.key, damaged);
    this.durable.set(entry.key, damaged);
    this.stats.corruptions += 1;
    return true;
  }

  private durableEntry(key: Uint8Array): { key: Uint8Array; value: Uint8Array } | undefined {
    const value = this.durable.get(key);
    return value === undefined ? undefined : { key, value };
  }
}

/** The Storage one incarnation of a host sees; it is closed once that incarnation crashes. */
export class SimStorage implements Storage {
  constructor(
    private readonly disk: SimDisk,
    private readonly isOpen: () => boolean,
  ) {}

  get(key: Uint8Array): Uint8Array | undefined {
    return this.disk.get(key);
  }

  range(range: StorageRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    return this.disk.range(range);
  }

  write(batch: readonly StorageWrite[]): Promise<void> {
    if (!this.isOpen()) return Promise.reject(new StorageError('closed', 'this incarnation has crashed'));
    return this.disk.write(batch);
  }
}
