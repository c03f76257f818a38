// One replica of one cell: the shell around the pure Paxos replica. It persists every
// Ready as one atomic batch and only then sends its messages and applies its chosen entries
// (paper §2.2: durable across dirty reboots), batches client requests on the leader, serves
// eventual reads locally, keeps leases, sheds load (§3.5) and compacts its log behind
// snapshots. It has no timers: the host ticks it while `wantsTick` is true.
import { DEFAULT_MODEL_LIMITS, validate } from '../model/index.ts';
import type { LogIndex, ModelState, Operation } from '../model/index.ts';
import { apply as applyOperation } from '../model/index.ts';
import { commitIndexOnly, defaultReplicaOptions, initialPersistedState, Replica } from '../paxos/index.ts';
import type {
  NodeId,
  Outgoing,
  PaxosMessage,
  PersistedState,
  ProposalId,
  ProposalResult,
  Ready,
  SnapshotMeta,
} from '../paxos/index.ts';
import { takeBatch, writeKeysOf } from './batcher.ts';
import type { PendingRequest } from './batcher.ts';
import { encodeCommand, encodePayload } from './commands.ts';
import type { CellCommand } from './commands.ts';
import { leaseRequestProblem } from './leases.ts';
import {
  applyEntry,
  cellDigestHex,
  decodeCellSnapshot,
  encodeCellSnapshot,
  initialCellState,
} from './state-machine.ts';
import type { AppliedEntry, CellState, CommandResult } from './state-machine.ts';
import { CellStore } from './storage-layout.ts';
import type { StoredStateSnapshot } from './storage-layout.ts';
import type {
  CellCounters,
  CellDescription,
  CellEnv,
  CellId,
  CellOptions,
  CellRequest,
  CellResponse,
} from './types.ts';
import { decodeCellMessage, encodePaxosEnvelope, snapshotChunks } from './wire.ts';
import type { SnapshotChunk } from './wire.ts';
import type { Random, Storage, StorageWrite } from '../env/index.ts';
import { nextMembers } from './reconfig.ts';
import type { CellAdminRequest, CellAdminResponse } from './reconfig.ts';

export const defaultCellOptions: CellOptions = {
  alpha: 3,
  batchRequestsMax: 64,
  batchBytesMax: 256 * 1024,
  waitingRequestsMax: 512,
  queuedBatchesMax: 2,
  unpersistedReadiesMax: 256,
  tickMs: 10,
  retransmitTicks: 3,
  leaderTimeoutTicks: 10,
  electionTimeoutTicks: 40,
  thriftyAccepts: true,
  snapshotEveryEntries: 1000,
  snapshotBytesMax: 8 * 1024 * 1024,
  snapshotChunkBytes: 256 * 1024,
  snapshotResendMs: 1_000,
  checkInvariants: false,
  modelLimits: DEFAULT_MODEL_LIMITS,
};

/** Thrown by `load` when the stored state fails its checksums or does not fit together. */
export class CellStorageCorrupt extends Error {
  constructor(
    readonly cellId: CellId,
    readonly detail: string,
  ) {
    super(`cell ${cellId}: stored state is corrupt (${detail})`);
    this.name = 'CellStorageCorrupt';
  }
}

/** A Ready waiting for its storage write, with what the cell adds to it. */
interface ReadyInFlight {
  readonly ready: Ready;
  /** A state snapshot taken from a teacher, installed when this Ready's turn comes. */
  readonly install: CellState | undefined;
  written: boolean;
  /** Only moves the commit index: may be acted on before it is durable (see Ready). */
  readonly commitOnly: boolean;
}

/** A snapshot arriving in chunks from a teacher. Invariant: missing = count of undefined parts. */
interface SnapshotTransfer {
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly chunkBytes: number;
  readonly parts: (Uint8Array | undefined)[];
  missing: number;
}

/** Peers remembered for the snapshot resend throttle (more: the memory is cleared). */
const SNAPSHOT_PEERS_TRACKED_MAX = 64;

/** Where a proposed batch stands. */
type ProposedBatch = readonly PendingRequest[];

/** An admin proposal (membership change or no-op) waiting for its fate. */
interface AdminPending {
  readonly members: readonly NodeId[] | undefined;
  readonly resolve: (response: CellAdminResponse) => void;
}

/** Where this replica stands in its cell's membership (paper §2.4). */
export interface CellMembershipStatus {
  /** The membership of the next index to be chosen. */
  readonly members: readonly NodeId[];
  /** Whether this replica votes on the next index. */
  readonly isMember: boolean;
  /** Set once this replica applied a change that removes it: the first index it no longer votes on. */
  readonly removedFrom: number | undefined;
}

const emptyCounters = (): CellCounters => ({
  malformedMessages: 0,
  messagesSent: 0,
  messagesReceived: 0,
  persistBatches: 0,
  persistFailures: 0,
  entriesApplied: 0,
  requestsApplied: 0,
  batchesProposed: 0,
  overloaded: 0,
  droppedDiskBusy: 0,
  snapshotsWritten: 0,
  snapshotsSent: 0,
  snapshotsTooLarge: 0,
  snapshotsInstalled: 0,
  holeCampaigns: 0,
});

export class CellReplica {
  private readonly store: CellStore;
  private readonly counters = emptyCounters();
  /** Local (never replicated) monotonic time at which each current lease grant was applied. */
  private readonly leaseAppliedAt = new Map<string, { grantIndex: number; appliedAtMs: number }>();
  private readonly readies: ReadyInFlight[] = [];
  private waiting: PendingRequest[] = [];
  private readonly proposed = new Map<ProposalId, ProposedBatch>();
  private readonly adminProposed = new Map<ProposalId, AdminPending>();
  private removedFrom: number | undefined;
  /** Whack-a-mole (see noteHole): armed while accepted entries wait above a stalled commit index. */
  private hole: { readonly commitIndex: number; readonly deadlineTick: number } | undefined;
  private ticks = 0;
  private readonly holeRandom: Random;
  private readonly chosenAwaiting = new Map<number, ProposedBatch>();
  private readonly appliedThisReady = new Map<number, AppliedEntry>();
  private draining = false;
  private failure: string | undefined;
  private closed = false;
  private transfer: SnapshotTransfer | undefined;
  private readonly snapshotSentAtMs = new Map<NodeId, number>();
  /** Index of the latest state-machine snapshot (the log is compacted up to here). */
  private snapshotIndex: number;

  private constructor(
    private readonly env: CellEnv,
    private readonly options: CellOptions,
    private readonly paxos: Replica,
    private state: CellState,
  ) {
    this.store = new CellStore(env.storage, env.cellId);
    this.holeRandom = env.random.fork('whack-a-mole');
    this.snapshotIndex = state.appliedIndex;
    this.stampAllLeasesNow();
  }

  // ---- Lifecycle ----------------------------------------------------------------------

  /**
   * Creates a brand-new replica with its initial membership; durable when resolved.
   * Rejects (a programmer error) when the cell already has state on this storage.
   */
  static async create(
    env: CellEnv,
    members: readonly NodeId[],
    options?: Partial<CellOptions>,
  ): Promise<CellReplica> {
    const full = { ...defaultCellOptions, ...options };
    const persisted = initialPersistedState(members);
    const state = initialCellState(full.modelLimits);
    const store = new CellStore(env.storage, env.cellId);
    // Re-creating would reset the promised ballot: a programmer error, never done silently.
    if (store.load().kind !== 'absent') throw new Error(`cell ${env.cellId} already exists on ${env.self}`);
    const snapshot: StoredStateSnapshot = { appliedIndex: 0, bytes: encodeCellSnapshot(state) };
    const delta = {
      entries: [],
      promisedBallot: persisted.promisedBallot,
      commitIndex: persisted.commitIndex,
      snapshot: persisted.snapshot,
    };
    await env.storage.write(store.batchFor(delta, snapshot));
    return new CellReplica(env, full, CellReplica.paxosFor(env, full, persisted, 0), state);
  }

  /**
   * Loads a replica after eviction or a dirty reboot; undefined if the cell has no state here.
   * Rejects with CellStorageCorrupt when stored records fail their checksums: such a replica
   * must not vote again (it may have forgotten a promise) and should be replaced.
   */
  static load(env: CellEnv, options?: Partial<CellOptions>): Promise<CellReplica | undefined> {
    const full = { ...defaultCellOptions, ...options };
    const loaded = new CellStore(env.storage, env.cellId).load();
    switch (loaded.kind) {
      case 'absent':
        return Promise.resolve(undefined);
      case 'corrupt':
        return Promise.reject(new CellStorageCorrupt(env.cellId, loaded.detail));
      case 'found':
        break;
    }
    const decoded = decodeCellSnapshot(loaded.stateSnapshot.bytes);
    const applied = loaded.stateSnapshot.appliedIndex;
    if (decoded.kind === 'decode-error' || decoded.value.appliedIndex !== applied)
      return Promise.reject(new CellStorageCorrupt(env.cellId, 'state snapshot'));
    let paxos: Replica;
    try {
      paxos = CellReplica.paxosFor(env, full, loaded.state, applied);
    } catch (error) {
      return Promise.reject(new CellStorageCorrupt(env.cellId, String(error)));
    }
    const replica = new CellReplica(env, full, paxos, decoded.value);
    replica.afterCall(); // replays committed entries above the snapshot
    // Accepted entries above the stored commit index (it is written lazily): unless a leader
    // soon tells this replica the commit, whack-a-mole finds out what was chosen.
    replica.noteHole();
    return Promise.resolve(replica);
  }

  /** Deletes every key of this cell from storage (after it was removed from the cell). */
  static async destroy(storage: Storage, cellId: CellId): Promise<void> {
    const writes = new CellStore(storage, cellId).deleteAll();
    if (writes.length > 0) await storage.write(writes);
  }

  private static paxosFor(
    env: CellEnv,
    options: CellOptions,
    state: PersistedState,
    applied: number,
  ): Replica {
    const base = defaultReplicaOptions(env.self, env.random.fork('paxos'));
    return new Replica(
      {
        ...base,
        alpha: options.alpha,
        queuedProposalsMax: options.queuedBatchesMax + options.alpha,
        retransmitTicks: options.retransmitTicks,
        leaderTimeoutTicks: options.leaderTimeoutTicks,
        electionTimeoutTicks: options.electionTimeoutTicks,
        thriftyAccepts: options.thriftyAccepts,
        checkInvariants: options.checkInvariants,
      },
      state,
      applied as LogIndex,
    );
  }

  /**
   * Writes the commit index if it moved since it was last written (it is otherwise written
   * only with the replica's next write). The host calls this before it evicts the replica and
   * at shutdown, so a reload starts from what this replica had learned.
   */
  saveCommitIndex(): void {
    if (this.closed || this.failure !== undefined) return;
    this.paxos.saveCommitIndex();
    this.afterCall();
  }

  /** Drops in-memory state. Requests not yet proposed get `unavailable`; proposed ones `outcome-unknown`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abandonAll('replica closed');
  }

  // ---- Driving ------------------------------------------------------------------------

  /** Bytes from a peer's `send`; malformed bytes are dropped and counted, never thrown. */
  receive(from: NodeId, message: Uint8Array): void {
    if (this.closed || this.failure !== undefined) return;
    this.counters.messagesReceived += 1;
    if (this.diskBusy()) {
      this.counters.droppedDiskBusy += 1;
      return;
    }
    const decoded = decodeCellMessage(message);
    if (decoded.kind === 'decode-error') {
      this.counters.malformedMessages += 1;
      return;
    }
    const value = decoded.value;
    switch (value.kind) {
      case 'paxos':
        try {
          this.paxos.step(from, value.message);
        } catch (error) {
          // A broken invariant (a bug) fails this replica, never the host: describe().failed.
          this.failWith(`paxos step failed: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        this.afterCall();
        this.noteHole();
        return;
      case 'snapshot-chunk':
        this.receiveChunk(value);
        return;
    }
  }

  /** The host calls this every `tickMs` while `wantsTick` is true. */
  tick(): void {
    if (this.closed || this.failure !== undefined) return;
    try {
      this.paxos.tick();
    } catch (error) {
      this.failWith(`paxos tick failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.flush(); // waiting requests never sit behind a pipeline that emptied without a Ready
    this.afterCall();
    this.ticks += 1;
    this.whackAMole();
  }

  /**
   * Whack-a-mole learning (paper §2.4): this replica holds accepted entries above its commit
   * index, and the commit index has not moved. If nobody teaches it (the leader died with
   * entries in flight, or its commit messages were lost), it campaigns after
   * electionTimeoutTicks plus up to twice that again of seeded jitter: the new leader finds
   * each such entry (or no-ops a true hole) and chooses it, so everyone learns. Campaigning
   * is always safe but can depose a live leader, hence the substantial jitter.
   */
  private noteHole(): void {
    if (this.closed || this.failure !== undefined) return;
    // Runs on every message and tick: reads the replica's fields, builds no view.
    const paxos = this.paxos;
    const commitIndex = paxos.knownCommitIndex;
    if (paxos.roleKind !== 'follower' || paxos.lastLogIndex <= commitIndex) {
      this.hole = undefined;
      return;
    }
    if (this.hole !== undefined && this.hole.commitIndex === commitIndex) return;
    if (!paxos.currentMembers().includes(this.env.self)) {
      this.hole = undefined;
      return;
    }
    const base = this.options.electionTimeoutTicks;
    const deadlineTick = this.ticks + base + this.holeRandom.intBelow(2 * base + 1);
    this.hole = { commitIndex, deadlineTick };
  }

  private whackAMole(): void {
    this.noteHole();
    const hole = this.hole;
    if (hole === undefined || this.ticks < hole.deadlineTick) return;
    this.hole = undefined;
    try {
      if (this.paxos.campaign() === 'started') this.counters.holeCampaigns += 1;
    } catch (error) {
      this.failWith(`paxos campaign failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.afterCall();
  }

  /**
   * True while the cell has timed work (a pipeline, a campaign, a catch-up, waiting
   * requests). It can only turn true inside `receive`, `tick` or `submit`: the host checks
   * it after each of those calls and ticks every `tickMs` while it stays true.
   */
  get wantsTick(): boolean {
    if (this.closed || this.failure !== undefined) return false;
    return this.paxos.wantsTick() || this.waiting.length > 0 || this.hole !== undefined;
  }

  /** Nothing in flight, no waiting clients, nothing unpersisted: safe to evict. */
  get isQuiescent(): boolean {
    return (
      !this.wantsTick &&
      this.readies.length === 0 &&
      this.waiting.length === 0 &&
      this.proposed.size === 0 &&
      this.adminProposed.size === 0 &&
      this.chosenAwaiting.size === 0
    );
  }

  /** Whether this replica leads its cell now (it may still lose the lead to a higher ballot). */
  get isLeader(): boolean {
    return !this.closed && this.failure === undefined && this.paxos.isLeader;
  }

  /** A client request; never rejects: every outcome is a typed CellResponse. */
  submit(request: CellRequest): Promise<CellResponse> {
    return new Promise<CellResponse>((resolveOnce) => {
      const hook = this.options.onAnswered;
      const resolve =
        hook === undefined
          ? resolveOnce
          : (response: CellResponse): void => {
              resolveOnce(response);
              hook();
            };
      if (this.closed || this.failure !== undefined) {
        resolve({ kind: 'unavailable', reason: this.failure ?? 'replica closed' });
        return;
      }
      const command = this.admit(request, resolve);
      if (command === undefined) return;
      if (this.waiting.length >= this.options.waitingRequestsMax || this.diskBusy()) {
        this.counters.overloaded += 1;
        resolve({ kind: 'overloaded', retryAfterMs: this.retryAfterMs() });
        return;
      }
      this.waiting.push({
        command,
        encoded: encodeCommand(command),
        writeKeys: writeKeysOf(command),
        resolve,
      });
      this.flush();
      this.afterCall();
    });
  }

  /**
   * A membership change or a no-op from the control plane (paper §2.4). Answered once the
   * entry is chosen (`reconfigured` names where it takes effect) or refused at once. Never
   * rejects. Only one change may be pending in a cell at a time.
   */
  admin(request: CellAdminRequest): Promise<CellAdminResponse> {
    return new Promise<CellAdminResponse>((resolveOnce) => {
      const hook = this.options.onAnswered;
      const resolve = (response: CellAdminResponse): void => {
        resolveOnce(response);
        hook?.();
      };
      if (this.closed || this.failure !== undefined) {
        resolve({ kind: 'unavailable', reason: this.failure ?? 'replica closed' });
        return;
      }
      if (this.diskBusy()) {
        resolve({ kind: 'overloaded', retryAfterMs: this.retryAfterMs() });
        return;
      }
      this.proposeAdmin(request, resolve);
      this.afterCall();
    });
  }

  private proposeAdmin(request: CellAdminRequest, resolve: (response: CellAdminResponse) => void): void {
    let members: readonly NodeId[] | undefined;
    if (request.kind === 'reconfigure') {
      // Only an established leader computes the next membership: a follower's view may be
      // stale, and a change queued during a campaign would be built on that stale view.
      if (!this.paxos.isLeader) {
        // A no-op wakes leadership as client work does: with no live-looking leader this
        // replica campaigns (the no-op is then proposed, harmlessly); else it arms its timer.
        const woken = this.paxos.proposeNoop();
        return resolve({
          kind: 'not-leader',
          leaderHint: woken.kind === 'notLeader' ? woken.leaderHint : undefined,
        });
      }
      const next = nextMembers(this.paxos.currentMembers(), request.change);
      if (next.kind === 'invalid-change') return resolve(next);
      members = next.members;
    }
    const result = members === undefined ? this.paxos.proposeNoop() : this.paxos.proposeConfig(members);
    switch (result.kind) {
      case 'accepted':
        this.adminProposed.set(result.id, { members, resolve });
        return;
      case 'notLeader':
        return resolve({ kind: 'not-leader', leaderHint: result.leaderHint });
      case 'overloaded':
        return resolve({ kind: 'overloaded', retryAfterMs: result.retryAfterTicks * this.options.tickMs });
      case 'tooLarge':
        return resolve({ kind: 'invalid-change', reason: 'too large' });
      case 'configChangeInProgress':
        return resolve({ kind: 'config-change-in-progress' });
      case 'invalidConfig':
        return resolve({ kind: 'invalid-change', reason: result.reason });
    }
  }

  /** The membership as this replica knows it, and whether it has been removed. */
  membership(): CellMembershipStatus {
    const members = this.paxos.currentMembers();
    return { members, isMember: members.includes(this.env.self), removedFrom: this.removedFrom };
  }

  describe(): CellDescription {
    const view = this.paxos.inspect();
    return {
      cellId: this.env.cellId,
      self: this.env.self,
      members: this.paxos.membersAt((view.commitIndex + 1) as LogIndex),
      isLeader: this.paxos.isLeader,
      leaderHint: this.paxos.leader,
      appliedIndex: this.state.appliedIndex,
      commitIndex: view.commitIndex,
      snapshotIndex: this.snapshotIndex,
      digest: cellDigestHex(this.state),
      pendingRequests: this.waiting.length + this.countProposed(),
      unpersistedReadies: this.readies.filter((r) => !r.written).length,
      failed: this.failure,
      counters: { ...this.counters },
    };
  }

  // ---- Admission ----------------------------------------------------------------------

  /**
   * Validates a request; answers at once what needs no log (invalid input, eventual reads)
   * and returns the command to batch otherwise.
   */
  private admit(request: CellRequest, resolve: (r: CellResponse) => void): CellCommand | undefined {
    if (request.kind !== 'operation') {
      const problem = leaseRequestProblem(
        request.name,
        request.holder,
        request.kind === 'lease-release' ? undefined : request.durationMs,
      );
      if (problem === undefined) return this.leaseCommand(request);
      resolve({
        kind: 'invalid',
        error: { kind: 'invalid', field: 'lease', reason: 'bad-lease-request', message: problem },
      });
      return undefined;
    }
    const validation = validate(request.operation, this.options.modelLimits);
    if (validation.kind === 'invalid') {
      resolve({ kind: 'invalid', error: validation });
      return undefined;
    }
    if (request.consistency === 'consistent') return { kind: 'operation', operation: validation.operation };
    resolve(this.readLocally(validation.operation, request.sessionIndex));
    return undefined;
  }

  private leaseCommand(request: Exclude<CellRequest, { kind: 'operation' }>): CellCommand {
    switch (request.kind) {
      case 'lease-acquire':
        // Stamped again when batched (see stampAcquire); 0 = take over nothing.
        return { ...request, supersedesGrantIndex: 0 };
      case 'lease-renew':
      case 'lease-release':
        return request;
    }
  }

  /** An eventual read: a consistent prefix, from this replica's applied state (§2.3). */
  private readLocally(operation: Operation, sessionIndex: number | undefined): CellResponse {
    if (
      operation.kind === 'transaction' &&
      (operation.writes.length > 0 || operation.conditions.length > 0)
    ) {
      const message = 'eventual consistency serves reads only; use consistent for conditions and writes';
      return {
        kind: 'invalid',
        error: { kind: 'invalid', field: 'consistency', reason: 'eventual-write', message },
      };
    }
    const applied = this.state.appliedIndex;
    if (sessionIndex !== undefined && sessionIndex > applied)
      return { kind: 'behind', appliedIndex: applied };
    const base: ModelState = { ...this.state.model, appliedIndex: applied as LogIndex };
    const outcome = applyOperation(base, operation, (applied + 1) as LogIndex);
    return { kind: 'result', result: outcome.result, index: applied };
  }

  private diskBusy(): boolean {
    return this.readies.length >= this.options.unpersistedReadiesMax;
  }

  private retryAfterMs(): number {
    const rounds = Math.ceil((this.waiting.length + 1) / this.options.batchRequestsMax) + this.options.alpha;
    return rounds * this.options.retransmitTicks * this.options.tickMs;
  }

  // ---- Batching and proposing ---------------------------------------------------------

  private proposalsInFlightMax(): number {
    return this.options.alpha + this.options.queuedBatchesMax;
  }

  /** Proposes waiting requests as batches while the pipeline has room. */
  private flush(): void {
    if (this.waiting.length === 0) return;
    // Thrifty accepts shorten a commit on a quiet host (fewer flushes and wake-ups compete
    // with it), and cost throughput on a busy one: the quorum is then the slowest of a fixed
    // few followers instead of the first to answer, and the others' copies go apart.
    this.paxos.setThriftyAccepts(this.options.thriftyAccepts && (this.options.hostQuiet?.() ?? true));
    while (this.waiting.length > 0 && this.proposed.size < this.proposalsInFlightMax()) {
      const batch = takeBatch(this.waiting, this.options);
      const commands: Uint8Array[] = [];
      for (let i = 0; i < batch.length; i++) commands.push(this.stampAcquire(batch[i]!));
      const result = this.paxos.propose(encodePayload(commands));
      switch (result.kind) {
        case 'accepted':
          this.counters.batchesProposed += 1;
          this.proposed.set(result.id, batch);
          break;
        case 'notLeader': {
          const everyone = [...batch, ...this.waiting];
          this.waiting = [];
          for (const request of everyone)
            request.resolve({ kind: 'not-leader', leaderHint: result.leaderHint });
          return;
        }
        case 'overloaded':
          this.waiting.unshift(...batch);
          return;
        case 'tooLarge':
          for (const request of batch) request.resolve({ kind: 'unavailable', reason: 'request too large' });
          break;
      }
    }
  }

  /**
   * The leader's half of the lease contract (see leases.ts): an acquire of a lease another
   * holder has may take it over only if this replica applied that grant at least
   * durationMs ago on its own monotonic clock.
   */
  private stampAcquire(request: PendingRequest): Uint8Array {
    const command = request.command;
    if (command.kind !== 'lease-acquire') return request.encoded;
    const current = this.state.leases.get(command.name);
    if (current === undefined || current.holder === command.holder) return request.encoded;
    const local = this.leaseAppliedAt.get(command.name);
    const expired =
      local !== undefined &&
      local.grantIndex === current.grantIndex &&
      local.appliedAtMs + current.durationMs <= this.env.clock.monotonicMs();
    if (!expired) return request.encoded;
    return encodeCommand({ ...command, supersedesGrantIndex: current.grantIndex });
  }

  // ---- Readies: persist, then send and apply ------------------------------------------

  /** After any call into Paxos: take its Ready, start persisting it, process what is durable. */
  private afterCall(install?: CellState, stateSnapshot?: StoredStateSnapshot): void {
    if (this.closed || this.failure !== undefined) return;
    const ready = this.paxos.takeReady();
    // A leader's accepts leave now, in parallel with its own write (rule 0 on Ready).
    this.sendAll(ready.earlyMessages);
    const empty =
      ready.persist === undefined &&
      ready.messages.length === 0 &&
      ready.ownAccepts.length === 0 &&
      ready.committed.length === 0 &&
      ready.proposalResults.length === 0 &&
      ready.snapshotsToSend.length === 0 &&
      install === undefined &&
      stateSnapshot === undefined;
    if (empty) return;
    const commitOnly = commitIndexOnly(ready.persist) && install === undefined && stateSnapshot === undefined;
    const item: ReadyInFlight = { ready, install, written: false, commitOnly };
    this.readies.push(item);
    const batch = this.store.batchFor(ready.persist, stateSnapshot);
    if (batch.length === 0) {
      item.written = true;
      this.drain();
      return;
    }
    this.persist(item, batch);
    if (commitOnly) this.drain();
  }

  /** Writes a Ready's batch; once durable, processes it and what waited behind it. */
  private persist(item: ReadyInFlight, batch: readonly StorageWrite[]): void {
    // A method of its own because these closures capture `item`: inside afterCall, which
    // runs for every message, V8 would allocate `item`'s context on every call.
    this.counters.persistBatches += 1;
    this.env.storage.write(batch).then(
      () => {
        item.written = true;
        this.drain();
      },
      (error: unknown) => this.failStorage(error),
    );
  }

  /** Processes durable Readies strictly in the order they were taken. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const head = this.readies[0];
        if (head === undefined || this.closed || this.failure !== undefined) break;
        if (!head.written && !head.commitOnly) break;
        this.readies.shift();
        try {
          this.process(head);
        } catch (error) {
          // A bug (a broken invariant while applying) fails this replica, never the host.
          this.failWith(`applying failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    } finally {
      this.draining = false;
    }
    if (!this.closed && this.failure === undefined) {
      this.flush();
      this.afterCall();
    }
  }

  /** Sends a Ready's messages, encoding a broadcast (one object, consecutive peers) once. */
  private sendAll(messages: readonly Outgoing[]): void {
    let last: PaxosMessage | undefined;
    let encoded: Uint8Array | undefined;
    for (let i = 0; i < messages.length; i++) {
      const outgoing = messages[i]!;
      if (outgoing.message !== last || encoded === undefined) {
        last = outgoing.message;
        encoded = encodePaxosEnvelope(outgoing.message);
      }
      this.counters.messagesSent += 1;
      this.env.send(outgoing.to, encoded);
    }
  }

  private process(item: ReadyInFlight): void {
    const { ready } = item;
    this.sendAll(ready.messages);
    if (item.install !== undefined) this.installState(item.install);
    for (let i = 0; i < ready.committed.length; i++) {
      const entry = ready.committed[i]!;
      const applied = applyEntry(this.state, entry);
      this.counters.entriesApplied += 1;
      this.noteRemoval(entry);
      this.noteGrants(applied);
      this.appliedThisReady.set(applied.index, applied);
      this.answerChosenAwaiting(applied);
      this.options.onApplied?.(applied.index, cellDigestHex(this.state));
    }
    for (let i = 0; i < ready.proposalResults.length; i++) this.answerProposal(ready.proposalResults[i]!);
    if (this.appliedThisReady.size > 0) this.appliedThisReady.clear();
    for (const peer of ready.snapshotsToSend) this.sendSnapshot(peer);
    // This Ready's entries are durable: the leader's own votes for them count now.
    for (let i = 0; i < ready.ownAccepts.length; i++) this.paxos.ownAcceptDurable(ready.ownAccepts[i]!);
    if (this.transfer !== undefined && this.transfer.meta.index <= this.state.appliedIndex)
      this.transfer = undefined;
    this.maybeCompact();
  }

  private noteGrants(applied: AppliedEntry): void {
    for (const name of applied.released) this.leaseAppliedAt.delete(name);
    if (applied.granted.length === 0) return;
    const now = this.env.clock.monotonicMs();
    for (const name of applied.granted)
      this.leaseAppliedAt.set(name, { grantIndex: applied.index, appliedAtMs: now });
  }

  /** Conservative: every current grant counts as applied now (after a restart or an install). */
  private stampAllLeasesNow(): void {
    this.leaseAppliedAt.clear();
    const now = this.env.clock.monotonicMs();
    for (const [name, lease] of this.state.leases)
      this.leaseAppliedAt.set(name, { grantIndex: lease.grantIndex, appliedAtMs: now });
  }

  // ---- Answering clients --------------------------------------------------------------

  private answerProposal(result: ProposalResult): void {
    const admin = this.adminProposed.get(result.id);
    if (admin !== undefined) {
      this.adminProposed.delete(result.id);
      admin.resolve(this.adminOutcome(admin, result));
      return;
    }
    const batch = this.proposed.get(result.id);
    if (batch === undefined) return;
    this.proposed.delete(result.id);
    switch (result.kind) {
      case 'chosen': {
        const applied = this.appliedThisReady.get(result.index);
        if (applied !== undefined) this.answerBatch(batch, applied);
        else if (result.index > this.state.appliedIndex) this.chosenAwaiting.set(result.index, batch);
        else for (const request of batch) request.resolve({ kind: 'outcome-unknown' });
        return;
      }
      case 'dropped':
        for (const request of batch)
          request.resolve({ kind: 'unavailable', reason: 'leadership lost before proposing' });
        return;
      case 'unknown':
        for (const request of batch) request.resolve({ kind: 'outcome-unknown' });
        return;
    }
  }

  private adminOutcome(admin: AdminPending, result: ProposalResult): CellAdminResponse {
    switch (result.kind) {
      case 'chosen':
        if (admin.members === undefined) return { kind: 'noop-chosen', index: result.index };
        return {
          kind: 'reconfigured',
          members: admin.members,
          chosenIndex: result.index,
          effectiveFrom: result.index + this.options.alpha,
        };
      case 'dropped':
        return { kind: 'unavailable', reason: 'leadership lost before proposing' };
      case 'unknown':
        return { kind: 'outcome-unknown' };
    }
  }

  /** A chosen config that leaves this replica out: it votes up to effectiveFrom - 1, then stops. */
  private noteRemoval(entry: Ready['committed'][number]): void {
    if (entry.value.kind !== 'config' || this.removedFrom !== undefined) return;
    if (entry.value.members.includes(this.env.self)) return;
    if (!this.paxos.membersAt(entry.index).includes(this.env.self)) return;
    this.removedFrom = entry.index + this.options.alpha;
    this.options.onRemoved?.(this.removedFrom);
  }

  private answerChosenAwaiting(applied: AppliedEntry): void {
    const batch = this.chosenAwaiting.get(applied.index);
    if (batch === undefined) return;
    this.chosenAwaiting.delete(applied.index);
    this.answerBatch(batch, applied);
  }

  /** Each request gets the result at its own position in the batch. */
  private answerBatch(batch: ProposedBatch, applied: AppliedEntry): void {
    batch.forEach((request, position) => {
      const result: CommandResult | undefined = applied.results[position];
      this.counters.requestsApplied += 1;
      if (result === undefined || applied.results.length !== batch.length) {
        request.resolve({ kind: 'outcome-unknown' });
      } else if (result.kind === 'operation') {
        request.resolve({ kind: 'result', result: result.result, index: applied.index });
      } else {
        request.resolve({ kind: 'lease', outcome: result.outcome, index: applied.index });
      }
    });
  }

  private countProposed(): number {
    let count = 0;
    for (const batch of this.proposed.values()) count += batch.length;
    for (const batch of this.chosenAwaiting.values()) count += batch.length;
    return count;
  }

  /** Answers everyone: waiting requests were never proposed, proposed ones may yet be chosen. */
  private abandonAll(reason: string): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const request of waiting) request.resolve({ kind: 'unavailable', reason });
    for (const batch of [...this.proposed.values(), ...this.chosenAwaiting.values()])
      for (const request of batch) request.resolve({ kind: 'outcome-unknown' });
    for (const admin of this.adminProposed.values()) admin.resolve({ kind: 'outcome-unknown' });
    this.proposed.clear();
    this.adminProposed.clear();
    this.chosenAwaiting.clear();
  }

  /** A failed write: nothing after it may be sent or acknowledged. The host must reload the cell. */
  private failStorage(error: unknown): void {
    if (this.failure !== undefined) return;
    this.counters.persistFailures += 1;
    this.failWith(`storage write failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  private failWith(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.readies.length = 0;
    this.abandonAll(reason);
  }

  // ---- Snapshots and compaction -------------------------------------------------------

  private maybeCompact(): void {
    const applied = this.state.appliedIndex;
    if (applied - this.snapshotIndex < this.options.snapshotEveryEntries) return;
    this.paxos.compact(applied as LogIndex);
    this.snapshotIndex = applied;
    this.counters.snapshotsWritten += 1;
    this.afterCall(undefined, { appliedIndex: applied, bytes: encodeCellSnapshot(this.state) });
  }

  /**
   * Teaches a peer that asked for entries compacted away: the stored snapshot, in chunks of
   * snapshotChunkBytes, at most once per snapshotResendMs per peer (lost chunks come again
   * with the next resend). A snapshot over snapshotBytesMax is not sent, only counted: the
   * peer stays behind until it is replaced (the model's 4 MiB partition bound keeps real
   * states under the default 8 MiB).
   */
  private sendSnapshot(peer: NodeId): void {
    const now = this.env.clock.monotonicMs();
    const last = this.snapshotSentAtMs.get(peer);
    if (last !== undefined && now - last < this.options.snapshotResendMs) return;
    const stored = this.store.loadSnapshot();
    if (stored === undefined) return;
    if (stored.bytes.length > this.options.snapshotBytesMax) {
      this.counters.snapshotsTooLarge += 1;
      return;
    }
    if (this.snapshotSentAtMs.size >= SNAPSHOT_PEERS_TRACKED_MAX) this.snapshotSentAtMs.clear();
    this.snapshotSentAtMs.set(peer, now);
    this.counters.snapshotsSent += 1;
    for (const chunk of snapshotChunks(stored.meta, stored.bytes, this.options.snapshotChunkBytes)) {
      this.counters.messagesSent += 1;
      this.env.send(peer, chunk);
    }
  }

  /** Collects one transfer at a time (the newest); installs it once every chunk is in. */
  private receiveChunk(chunk: SnapshotChunk): void {
    if (chunk.totalBytes > this.options.snapshotBytesMax) {
      this.counters.malformedMessages += 1;
      return;
    }
    if (chunk.meta.index <= this.paxos.inspect().commitIndex) return;
    let transfer = this.transfer;
    const sameTransfer =
      transfer !== undefined &&
      transfer.meta.index === chunk.meta.index &&
      transfer.totalBytes === chunk.totalBytes &&
      transfer.chunkBytes === chunk.chunkBytes;
    if (!sameTransfer) {
      if (transfer !== undefined && transfer.meta.index > chunk.meta.index) return;
      const count = Math.max(1, Math.ceil(chunk.totalBytes / chunk.chunkBytes));
      const parts = new Array<Uint8Array | undefined>(count).fill(undefined);
      transfer = {
        meta: chunk.meta,
        totalBytes: chunk.totalBytes,
        chunkBytes: chunk.chunkBytes,
        parts,
        missing: count,
      };
      this.transfer = transfer;
    }
    if (transfer === undefined || transfer.parts[chunk.number] !== undefined) return;
    transfer.parts[chunk.number] = chunk.bytes;
    transfer.missing -= 1;
    if (transfer.missing > 0) return;
    this.transfer = undefined;
    const whole = new Uint8Array(transfer.totalBytes);
    transfer.parts.forEach((part, number) => whole.set(part!, number * transfer.chunkBytes));
    this.receiveSnapshot(transfer.meta, whole);
  }

  private receiveSnapshot(meta: SnapshotMeta, bytes: Uint8Array): void {
    const decoded = decodeCellSnapshot(bytes);
    if (
      decoded.kind === 'decode-error' ||
      decoded.value.appliedIndex !== meta.index ||
      meta.configs.length === 0
    ) {
      this.counters.malformedMessages += 1;
      return;
    }
    if (this.paxos.installSnapshot(meta) !== 'installed') return;
    this.snapshotIndex = meta.index;
    this.afterCall(decoded.value, { appliedIndex: meta.index, bytes });
  }

  private installState(state: CellState): void {
    this.state = state;
    this.counters.snapshotsInstalled += 1;
    this.stampAllLeasesNow();
  }
}
