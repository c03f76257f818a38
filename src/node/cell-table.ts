// The replicas of one node that are in memory: loading on first use, an LRU order for
// eviction of quiescent replicas (by count and by idle time), and the set of active
// replicas that the node's single timer ticks (paper §2.1: many cells per node, idle ones cheap).
import type { Clock } from '../env/index.ts';
import type { NodeId } from '../paxos/index.ts';
import type { CellId, CellReplicaLike } from './cell-contract.ts';
import type { NodeLimits } from './limits.ts';

/** Loads a hosted cell's replica from storage: the member id it runs as, and the loading. */
export type ReplicaLoader = (cellId: CellId) => {
  readonly self: NodeId;
  readonly loading: Promise<CellReplicaLike | undefined>;
};

/** Work waiting for a replica; called with undefined when the cell could not be loaded. */
export type ReplicaWork = (replica: CellReplicaLike | undefined) => void;

interface ReadySlot {
  readonly state: 'ready';
  readonly replica: CellReplicaLike;
  /** The member id the replica runs as (messages for other incarnations are not for it). */
  readonly self: NodeId;
  lastActiveMs: number;
}

interface LoadingSlot {
  readonly state: 'loading';
  readonly self: NodeId;
  readonly queue: ReplicaWork[];
  readonly done: Promise<CellReplicaLike | undefined>;
}

type Slot = ReadySlot | LoadingSlot;

/** What the table reports to the node's counters and log. */
export interface CellTableEvents {
  loaded(cellId: CellId): void;
  loadFailed(cellId: CellId, reason: string): void;
  evicted(cellId: CellId): void;
  workDropped(cellId: CellId): void;
  /** The set of active replicas became non-empty: the node should run its timer at tick pace. */
  becameActive(): void;
}

export class CellTable {
  /** Insertion order is least-recently-used first (a touch re-inserts). */
  private readonly slots = new Map<CellId, Slot>();
  /** Ready replicas that are not quiescent: ticked when they want it, never evicted. */
  private readonly active = new Set<CellId>();
  private readyCount = 0;
  private closed = false;

  constructor(
    private readonly loader: ReplicaLoader,
    private readonly clock: Clock,
    private readonly limits: NodeLimits,
    private readonly events: CellTableEvents,
  ) {}

  get inMemory(): number {
    return this.readyCount;
  }

  get activeCount(): number {
    return this.active.size;
  }

  isLoaded(cellId: CellId): boolean {
    return this.slots.get(cellId)?.state === 'ready';
  }

  /** The replica if it is in memory now (no load, no touch). */
  peek(cellId: CellId): CellReplicaLike | undefined {
    const slot = this.slots.get(cellId);
    return slot?.state === 'ready' ? slot.replica : undefined;
  }

  /** The member id the in-memory (or loading) replica of the cell runs as. */
  selfOf(cellId: CellId): NodeId | undefined {
    return this.slots.get(cellId)?.self;
  }

  /**
   * The replica if it is in memory (and runs as `self`, when given), marked as just used: the
   * hot path of every peer message and client request (the caller calls afterCall after
   * handing it work).
   */
  touchLoaded(cellId: CellId, self?: NodeId): CellReplicaLike | undefined {
    const slot = this.slots.get(cellId);
    if (slot?.state !== 'ready' || (self !== undefined && slot.self !== self)) return undefined;
    this.touch(cellId, slot);
    return slot.replica;
  }

  /** Runs `work` with the replica now if in memory, after loading if not (when `hosted`). */
  withReplica(cellId: CellId, hosted: () => boolean, work: ReplicaWork): void {
    const slot = this.slots.get(cellId);
    if (slot?.state === 'ready') {
      this.touch(cellId, slot);
      work(slot.replica);
      this.afterCall(cellId, slot.replica);
      return;
    }
    if (slot?.state === 'loading') {
      this.enqueue(cellId, slot, work);
      return;
    }
    if (!hosted()) {
      work(undefined);
      return;
    }
    const { self, loading } = this.loader(cellId);
    this.enqueue(cellId, this.install(cellId, self, loading, 'load'), work);
  }

  /** Resolves with the replica once loaded (or loading finished), undefined if not hosted. */
  replica(cellId: CellId, hosted: () => boolean): Promise<CellReplicaLike | undefined> {
    return new Promise((resolve) => this.withReplica(cellId, hosted, resolve));
  }

  /** Makes a brand-new replica running as `self` in memory (after its registry record is durable). */
  async create(
    cellId: CellId,
    self: NodeId,
    make: () => Promise<CellReplicaLike>,
  ): Promise<CellReplicaLike | undefined> {
    await this.remove(cellId);
    const slot = this.install(cellId, self, make(), 'create');
    return slot.done;
  }

  /** Closes and forgets the replica (delete, or a failure); waits for a load in progress. */
  async remove(cellId: CellId): Promise<void> {
    const slot = this.slots.get(cellId);
    if (slot === undefined) return;
    if (slot.state === 'loading') {
      await slot.done;
      await this.remove(cellId);
      return;
    }
    this.drop(cellId, slot);
  }

  /** Called after the node handed the replica work: keeps the active set current. */
  afterCall(cellId: CellId, replica: CellReplicaLike): void {
    if (replica.isQuiescent) return;
    if (this.active.size === 0) {
      this.active.add(cellId);
      this.events.becameActive();
    } else this.active.add(cellId);
  }

  /** One tick of the node timer: ticks active replicas that want it, retires quiescent ones. */
  tickActive(): number {
    let ticked = 0;
    for (const cellId of [...this.active]) {
      const slot = this.slots.get(cellId);
      if (slot?.state !== 'ready') {
        this.active.delete(cellId);
        continue;
      }
      if (slot.replica.wantsTick) {
        slot.replica.tick();
        ticked += 1;
      }
      if (slot.replica.isQuiescent) this.active.delete(cellId);
    }
    return ticked;
  }

  /** Evicts quiescent replicas over the count bound, then those idle too long. */
  evict(): void {
    const idleBeforeMs = this.clock.monotonicMs() - this.limits.idleEvictMs;
    let scanned = 0;
    for (const [cellId, slot] of this.slots) {
      if (scanned >= this.limits.evictScanMax) return;
      scanned += 1;
      if (slot.state !== 'ready' || this.active.has(cellId) || !slot.replica.isQuiescent) continue;
      const over = this.readyCount > this.limits.cellsInMemoryMax;
      if (!over && slot.lastActiveMs > idleBeforeMs) return; // LRU order: the rest are younger
      slot.replica.saveCommitIndex();
      this.drop(cellId, slot);
      this.events.evicted(cellId);
    }
  }

  /**
   * Closes every replica (node shutdown), after asking each to write its commit index (the
   * node closes storage after this, which commits those writes). Pending requests are
   * answered by the replicas.
   */
  closeAll(): void {
    this.closed = true;
    for (const [cellId, slot] of [...this.slots]) {
      if (slot.state !== 'ready') continue;
      slot.replica.saveCommitIndex();
      this.drop(cellId, slot);
    }
  }

  private touch(cellId: CellId, slot: ReadySlot): void {
    slot.lastActiveMs = this.clock.monotonicMs();
    this.slots.delete(cellId);
    this.slots.set(cellId, slot);
  }

  private drop(cellId: CellId, slot: ReadySlot): void {
    this.slots.delete(cellId);
    this.active.delete(cellId);
    this.readyCount -= 1;
    slot.replica.close();
  }

  private enqueue(cellId: CellId, slot: LoadingSlot, work: ReplicaWork): void {
    if (slot.queue.length >= this.limits.loadQueueMax) {
      this.events.workDropped(cellId);
      work(undefined);
      return;
    }
    slot.queue.push(work);
  }

  private install(
    cellId: CellId,
    self: NodeId,
    making: Promise<CellReplicaLike | undefined>,
    why: 'load' | 'create',
  ): LoadingSlot {
    const queue: ReplicaWork[] = [];
    const done = making.then(
      (replica) => this.settle(cellId, self, queue, replica, why),
      (error: unknown) => {
        this.events.loadFailed(cellId, error instanceof Error ? error.message : String(error));
        return this.settle(cellId, self, queue, undefined, why);
      },
    );
    const slot: LoadingSlot = { state: 'loading', self, queue, done };
    this.slots.set(cellId, slot);
    return slot;
  }

  private settle(
    cellId: CellId,
    self: NodeId,
    queue: ReplicaWork[],
    replica: CellReplicaLike | undefined,
    why: 'load' | 'create',
  ): CellReplicaLike | undefined {
    if (replica === undefined || this.closed) {
      replica?.close();
      this.slots.delete(cellId);
      for (const work of queue.splice(0)) work(undefined);
      return undefined;
    }
    const ready: ReadySlot = { state: 'ready', replica, self, lastActiveMs: this.clock.monotonicMs() };
    this.slots.delete(cellId);
    this.slots.set(cellId, ready);
    this.readyCount += 1;
    if (why === 'load') this.events.loaded(cellId);
    for (const work of queue.splice(0)) work(replica);
    this.afterCall(cellId, replica);
    if (this.readyCount > this.limits.cellsInMemoryMax) this.evict();
    return replica;
  }
}
