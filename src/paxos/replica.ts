// One replica of a cell's Multi-Paxos log: acceptor, learner and (when elected) the
// distinguished proposer. Pure and synchronous: the shell feeds it messages, ticks and
// proposals, and carries out the Ready it hands back (persist, then send, then apply).
import type { PaxosMessage, PromiseMessage } from './messages.ts';
import { MembershipHistory, hasQuorum, quorumSize } from './membership.ts';
import { checkReplicaInvariants, ChosenLedger } from './invariants.ts';
import type {
  Outgoing,
  PersistDelta,
  PersistedState,
  ProposalResult,
  ProposeResult,
  Ready,
  ReplicaOptions,
  SnapshotMeta,
} from './ready.ts';
import { validateOptions } from './ready.ts';
import type { OwnAccept, ProposeConfigResult } from './ready.ts';
import { membersPerConfigMax } from './codec.ts';
import type { Ballot, EntryValue, LogEntry, LogIndex, NodeId, ProposalId } from './types.ts';
import { ballot, ballotsEqual, compareBallots, noopValue } from './types.ts';

interface Queued {
  readonly id: ProposalId;
  readonly value: EntryValue;
}

interface InFlight {
  readonly entry: LogEntry;
  readonly acks: Set<NodeId>;
  readonly proposalId: ProposalId | undefined;
  readonly proposedTick: number;
  lastSentTick: number;
  chosen: boolean;
  /** Thrifty: the followers the first send reached, until its first retransmit. */
  thriftyTargets: readonly NodeId[] | undefined;
}

/** The largest multiplier of the progress timeouts (see `patience`). */
const patienceMax = 8;

/** Role-specific state. Invariant: leader and candidate ballots equal `promised`. */
type Role =
  | { readonly kind: 'follower' }
  | {
      readonly kind: 'candidate';
      readonly ballot: Ballot;
      readonly promises: Map<NodeId, PromiseMessage>;
      readonly startedTick: number;
      lastSentTick: number;
    }
  | {
      readonly kind: 'leader';
      readonly ballot: Ballot;
      /**
       * Every promise for this ballot. Phase 1 is incremental across configurations: before
       * proposing at index i the leader holds promises from a quorum of membersAt(i), and
       * asks any new members for theirs first (paper §2.4).
       */
      readonly promises: Map<NodeId, PromiseMessage>;
      /** Values found in phase 1 for indices >= nextIndex, to re-propose before new work. */
      readonly recovery: Map<number, Recovered>;
      readonly inFlight: Map<number, InFlight>;
      nextIndex: LogIndex;
      lastProgressTick: number;
      /** Set while waiting for promises from members of a configuration it just reached. */
      lastPrepareTick: number | undefined;
      /**
       * The highest commit index sent to the followers. When the pipeline drains, the next
       * tick announces a newer one, unless a new accept has carried it already (sequential
       * clients then cost the followers one message per commit, not two).
       */
      announcedCommit: LogIndex;
      /** The highest commit index each follower has been sent (by accept, commit or push). */
      readonly told: Map<NodeId, LogIndex>;
      /**
       * Followers by how promptly they answer: promisers in the order their promises came,
       * then the other members; a follower that lets a thrifty accept go unanswered for a
       * retransmit period moves to the end. The first ones (enough for a quorum) get accepts
       * first; a member the ranking lacks (added later) comes after all of them.
       */
      ranking: NodeId[];
      /** The thrifty targets of the last membership asked for (cleared when ranking moves). */
      fastCache: { readonly members: readonly NodeId[]; readonly fast: ReadonlySet<NodeId> } | undefined;
    };

/** A value phase 1 found for one index; a hole filled with a no-op has no ballot. */
interface Recovered {
  readonly value: EntryValue;
  readonly ballot: Ballot | undefined;
}

interface Catchup {
  target: LogIndex;
  peer: NodeId;
  lastSentTick: number;
  attempts: number;
}

/** Mutable view for the invariant checker and tests; never mutate through it. */
export interface ReplicaView {
  readonly self: NodeId;
  readonly role: Role['kind'];
  readonly ballot: Ballot | undefined;
  readonly promised: Ballot;
  readonly log: ReadonlyMap<number, LogEntry>;
  readonly lastIndex: LogIndex;
  readonly commitIndex: LogIndex;
  readonly appliedIndex: LogIndex;
  readonly snapshotIndex: LogIndex;
  readonly inFlightIndices: readonly number[];
  readonly queued: number;
  readonly alpha: number;
  readonly queuedProposalsMax: number;
  readonly acceptWindowEntries: number;
  readonly leaderHint: NodeId | undefined;
}

export class Replica {
  private readonly options: ReplicaOptions;
  private promised: Ballot;
  private readonly log = new Map<number, LogEntry>();
  private lastIndex: LogIndex;
  private commitIndex: LogIndex;
  private appliedIndex: LogIndex;
  private snapshotIndex: LogIndex;
  private membership: MembershipHistory;
  private role: Role = { kind: 'follower' };
  private queue: Queued[] = [];
  private now = 0;
  private nextProposalId = 1;
  private leaderHint: NodeId | undefined;
  /** A follower given work arms this; at the deadline, with no leader progress, it campaigns. */
  private campaignDeadline: number | undefined;
  private backoffAttempts = 0;
  /**
   * Multiplier (1..patienceMax) of the progress timeouts: it doubles each time this replica
   * gives up a ballot for lack of progress and halves when it gets an entry chosen promptly.
   * Persistently slow disks then slow the cell down instead of causing endless elections.
   */
  private patience = 1;
  /** Whether a leader sends accepts thrifty now (options.thriftyAccepts; the shell may switch it). */
  private thrifty: boolean;
  private highestRoundSeen: number;
  private catchup: Catchup | undefined;
  /** The highest commit index announced by the highest ballot heard from (volatile). */
  private commitHeard: { ballot: Ballot; index: LogIndex } | undefined;
  private readonly ledger: ChosenLedger | undefined;
  /** Log indices written since the last invariant check (kept only when checking). */
  private readonly touched = new Set<number>();
  // Output accumulated until takeReady().
  private persistPromised = false;
  private persistCommit = false;
  /**
   * A commit index is written with a snapshot (which it must cover) or a promise; with
   * entries when one of them lies more than acceptWindowEntries above the commit index
   * stored (`storedCommitIndex`); or alone when the host asks (`saveCommitIndex`, before it
   * evicts the replica or shuts down). Never on a timer.
   *
   * Recovery relies on two facts about the entries above an acceptor's commit index: there
   * are at most acceptWindowEntries of them, so a promise that reports that far reports every
   * entry it holds; and it accepted each of them, at a ballot it had promised. Both must stay
   * true across a restart. So the stored commit index lags the entries stored with it by at
   * most the window, and covers every entry stored as already chosen (from a catch-up, at
   * ballots this replica never promised). Past that, it is a hint: a restarted replica
   * relearns the rest from the leader's next accept or commit, or from a catch-up.
   *
   * A write of its own for every commit cost every replica a second storage write per commit
   * (Raft keeps it volatile altogether), and riding along with every accepted entry still
   * cost a second key per write.
   */
  private commitSaveRequested = false;
  /** The commit index last handed to storage (or restored from it). */
  private storedCommitIndex: LogIndex;
  private persistSnapshot: SnapshotMeta | undefined;
  private readonly persistEntries = new Map<number, LogEntry>();
  private messages: Outgoing[] = [];
  private earlyMessages: Outgoing[] = [];
  private ownAccepts: OwnAccept[] = [];
  private results: ProposalResult[] = [];
  private snapshotsToSend = new Set<NodeId>();

  /**
   * A replica from its persisted state (use `initialPersistedState` for a new cell).
   * `appliedIndex` is the last index the shell's state machine has applied (at least the
   * snapshot index); entries after it up to the commit index are handed out again.
   */
  constructor(options: ReplicaOptions, state: PersistedState, appliedIndex: LogIndex) {
    validateOptions(options);
    this.options = options;
    this.thrifty = options.thriftyAccepts;
    this.promised = state.promisedBallot;
    this.highestRoundSeen = state.promisedBallot.round;
    this.snapshotIndex = state.snapshot.index;
    this.commitIndex = state.commitIndex;
    this.storedCommitIndex = state.commitIndex;
    this.membership = new MembershipHistory(state.snapshot.configs, options.alpha);
    let last = state.snapshot.index;
    for (const entry of state.entries) {
      if (entry.index <= state.snapshot.index) continue;
      this.log.set(entry.index, entry);
      last = Math.max(last, entry.index) as LogIndex;
    }
    this.lastIndex = last;
    if (options.checkInvariants) for (const index of this.log.keys()) this.touched.add(index);
    for (let i = this.snapshotIndex + 1; i <= this.commitIndex; i += 1) {
      const entry = this.log.get(i);
      if (entry === undefined) throw new Error(`restore: chosen entry ${i} missing`);
      this.membership.noteChosen(entry.index, entry.value);
    }
    if (appliedIndex > this.commitIndex) throw new Error('restore: appliedIndex above commitIndex');
    this.appliedIndex = Math.max(appliedIndex, this.snapshotIndex) as LogIndex;
    this.ledger = options.checkInvariants ? new ChosenLedger() : undefined;
    this.afterStep();
  }

  // ---- Public driving API -------------------------------------------------------------

  /** Handles one message from a peer (already decoded and authenticated as `from`). */
  step(from: NodeId, message: PaxosMessage): void {
    if (from === this.options.self) return;
    switch (message.kind) {
      case 'prepare':
        this.onPrepare(from, message.ballot, message.fromIndex);
        break;
      case 'promise':
        this.onPromise(from, message);
        break;
      case 'nack':
        this.onNack(message.ballot, message.promisedBallot);
        break;
      case 'accept':
        this.onAccept(from, message.entry, message.commitIndex);
        break;
      case 'accepted':
        this.onAccepted(from, message.ballot, message.index);
        break;
      case 'commit':
        this.onCommit(from, message.ballot, message.commitIndex);
        break;
      case 'catchupRequest':
        this.onCatchupRequest(from, message.fromIndex);
        break;
      case 'catchupReply':
        this.onCatchupReply(from, message.commitIndex, message.entries);
        break;
    }
    this.afterStep();
  }

  /** Advances time by one tick. Does no work unless the last Ready said `wantsTick`. */
  tick(): void {
    this.now += 1;
    if (this.wantsTick()) {
      this.tickRole();
      this.tickCatchup();
      this.tickCampaignDeadline();
    }
    this.afterStep();
  }

  /**
   * Offers one opaque payload (the cell packs its batch into it). On a leader it joins the
   * pipeline or the bounded queue; a follower points to the leader, or, when it knows of
   * none, campaigns and keeps the payload.
   */
  propose(payload: Uint8Array): ProposeResult {
    const result = this.proposeValue({ kind: 'payload', payload }, payload.length);
    this.afterStep();
    return result;
  }

  /**
   * Proposes a new membership (the cell's jury), taking effect alpha entries after the
   * index where it is chosen (paper §2.4). Only one change may be pending at a time: one
   * queued, in flight, or chosen but not yet in effect.
   */
  proposeConfig(members: readonly NodeId[]): ProposeConfigResult {
    const sorted = [...members].sort();
    const unique = new Set(sorted).size === sorted.length && sorted.every((m) => m.length > 0);
    if (sorted.length === 0 || sorted.length > membersPerConfigMax || !unique) {
      return { kind: 'invalidConfig', reason: `need 1..${membersPerConfigMax} distinct non-empty node ids` };
    }
    if (this.configChangePending()) return { kind: 'configChangeInProgress' };
    const result = this.proposeValue({ kind: 'config', members: sorted }, 0);
    this.afterStep();
    return result;
  }

  /** Proposes a no-op (e.g. so a membership change takes effect on an idle cell). */
  proposeNoop(): ProposeResult {
    const result = this.proposeValue(noopValue, 0);
    this.afterStep();
    return result;
  }

  /**
   * Starts phase 1 now (whack-a-mole learning of a hole, or leadership transfer). A new
   * leader re-proposes what it finds and fills holes with no-ops. The shell adds jitter.
   */
  campaign(): 'started' | 'alreadyLeader' | 'notMember' {
    if (this.role.kind === 'leader') return 'alreadyLeader';
    if (!this.isMemberNext()) return 'notMember';
    this.stepDown();
    this.startCampaign();
    this.afterStep();
    return 'started';
  }

  /**
   * The shell persisted the Ready that carried `own` in its `ownAccepts`: this leader's
   * copy of the entry is durable, so its vote counts now. Ignored if the ballot moved on.
   */
  ownAcceptDurable(own: OwnAccept): void {
    this.countAccept(this.options.self, own.ballot, own.index);
    this.afterStep();
  }

  /**
   * Switches thrifty accepts (see ReplicaOptions.thriftyAccepts) for the entries proposed
   * from now on. Switched off, followers the thrifty ones skipped learn by the commit index
   * and catch-up, as after any loss.
   */
  setThriftyAccepts(on: boolean): void {
    this.thrifty = on;
  }

  /** The membership of the next index to be chosen, and whether a change is pending. */
  currentMembers(): readonly NodeId[] {
    return this.membersAt((this.commitIndex + 1) as LogIndex);
  }

  /**
   * Takes what the shell must persist, send and apply (see the ordering rule on Ready).
   * Called after every step and tick, so an empty part costs no allocation (the shared,
   * frozen `none`).
   */
  takeReady(): Ready {
    let committed: readonly LogEntry[] = none;
    if (this.commitIndex > this.appliedIndex) {
      const entries: LogEntry[] = [];
      for (let i = this.appliedIndex + 1; i <= this.commitIndex; i += 1) {
        const entry = this.log.get(i);
        if (entry === undefined) throw new Error(`takeReady: chosen entry ${i} missing`);
        entries.push(entry);
      }
      committed = entries;
    }
    this.appliedIndex = this.commitIndex;
    const persist = this.takePersist();
    if (
      persist === undefined &&
      committed === none &&
      this.messages.length === 0 &&
      this.earlyMessages.length === 0 &&
      this.ownAccepts.length === 0 &&
      this.results.length === 0 &&
      this.snapshotsToSend.size === 0
    )
      return this.wantsTick() ? emptyReadyWantingTicks : emptyReady;
    const ready: Ready = {
      persist,
      messages: takeAll(this.messages),
      earlyMessages: takeAll(this.earlyMessages),
      ownAccepts: takeAll(this.ownAccepts),
      committed,
      proposalResults: takeAll(this.results),
      snapshotsToSend: this.snapshotsToSend.size === 0 ? none : [...this.snapshotsToSend].sort(),
      wantsTick: this.wantsTick(),
    };
    if (this.snapshotsToSend.size > 0) this.snapshotsToSend.clear();
    return ready;
  }

  /** The role's kind, without building a view (for hot paths). */
  get roleKind(): ReplicaView['role'] {
    return this.role.kind;
  }

  /** The highest log index this replica holds an entry for. */
  get lastLogIndex(): number {
    return this.lastIndex;
  }

  /**
   * Asks for the commit index to be written with the next Ready even if nothing else is
   * (the host calls it before evicting the replica, or at shutdown). No-op when it is saved.
   */
  saveCommitIndex(): void {
    if (this.persistCommit) this.commitSaveRequested = true;
  }

  /** The highest index this replica knows chosen. */
  get knownCommitIndex(): number {
    return this.commitIndex;
  }

  /** True while the replica has timed work: in-flight entries, a campaign, a catch-up. */
  wantsTick(): boolean {
    const role = this.role;
    const roleBusy =
      role.kind === 'candidate' ||
      (role.kind === 'leader' &&
        (role.inFlight.size > 0 ||
          role.recovery.size > 0 ||
          this.queue.length > 0 ||
          this.commitIndex > role.announcedCommit));
    return roleBusy || this.catchup !== undefined || this.campaignDeadline !== undefined;
  }

  /** The voters of `index` as the log says; the only way the protocol reads membership. */
  membersAt(index: LogIndex): readonly NodeId[] {
    return this.membership.membersAt(index);
  }

  /** Who this replica believes leads, if anyone (for redirecting clients). */
  get leader(): NodeId | undefined {
    return this.role.kind === 'leader' ? this.options.self : this.leaderHint;
  }

  get isLeader(): boolean {
    return this.role.kind === 'leader';
  }

  /**
   * The shell has a state-machine snapshot covering every index up to `index` (which it
   * has applied): drop those log entries. Returns the meta to store with the snapshot.
   */
  compact(index: LogIndex): SnapshotMeta {
    if (index > this.appliedIndex) throw new Error('compact: above appliedIndex');
    if (index > this.snapshotIndex) {
      for (let i = this.snapshotIndex + 1; i <= index; i += 1) this.log.delete(i);
      this.snapshotIndex = index;
      this.membership.compact(index);
      this.persistSnapshot = { index, configs: this.membership.snapshotRecords() };
      this.ledger?.forgetThrough(index);
      for (const i of [...this.persistEntries.keys()]) if (i <= index) this.persistEntries.delete(i);
    }
    this.afterStep();
    return { index: this.snapshotIndex, configs: this.membership.snapshotRecords() };
  }

  /**
   * The shell installed a snapshot from a teacher. Returns 'stale' (and changes nothing)
   * when this replica already has everything the snapshot covers.
   */
  installSnapshot(meta: SnapshotMeta): 'installed' | 'stale' {
    if (meta.index <= this.commitIndex || this.role.kind === 'leader') return 'stale';
    for (const i of [...this.log.keys()]) if (i <= meta.index) this.log.delete(i);
    for (const i of [...this.persistEntries.keys()]) if (i <= meta.index) this.persistEntries.delete(i);
    this.snapshotIndex = meta.index;
    this.commitIndex = meta.index;
    this.appliedIndex = meta.index;
    this.lastIndex = Math.max(this.lastIndex, meta.index) as LogIndex;
    this.membership = new MembershipHistory(meta.configs, this.options.alpha);
    this.persistSnapshot = meta;
    this.persistCommit = true;
    this.ledger?.forgetThrough(meta.index);
    this.clearCatchupIfDone();
    this.checkPhase1();
    this.afterStep();
    return 'installed';
  }

  /** A read-only view of the internals for invariant checks, tests and debugging. */
  inspect(): ReplicaView {
    const role = this.role;
    return {
      self: this.options.self,
      role: role.kind,
      ballot: role.kind === 'follower' ? undefined : role.ballot,
      promised: this.promised,
      log: this.log,
      lastIndex: this.lastIndex,
      commitIndex: this.commitIndex,
      appliedIndex: this.appliedIndex,
      snapshotIndex: this.snapshotIndex,
      inFlightIndices: role.kind === 'leader' ? [...role.inFlight.keys()] : [],
      queued: this.queue.length,
      alpha: this.options.alpha,
      queuedProposalsMax: this.options.queuedProposalsMax,
      acceptWindowEntries: this.options.acceptWindowEntries,
      leaderHint: this.leaderHint,
    };
  }

  // ---- Proposing ----------------------------------------------------------------------

  private configChangePending(): boolean {
    if (this.membership.latestEffectiveFrom() > this.commitIndex + 1) return true;
    if (this.queue.some((q) => q.value.kind === 'config')) return true;
    const role = this.role;
    if (role.kind !== 'leader') return false;
    for (const flight of role.inFlight.values()) if (flight.entry.value.kind === 'config') return true;
    for (const recovered of role.recovery.values()) if (recovered.value.kind === 'config') return true;
    return false;
  }

  private proposeValue(value: EntryValue, bytes: number): ProposeResult {
    if (bytes > this.options.payloadBytesMax) {
      return { kind: 'tooLarge', payloadBytesMax: this.options.payloadBytesMax };
    }
    if (this.role.kind === 'follower') {
      const members = this.currentMembers();
      const hint = this.leaderHint;
      if (!members.includes(this.options.self)) {
        // Perhaps deposed, perhaps newly added and not yet taught: ask the members.
        const other = members.find((m) => m !== this.options.self);
        if (other !== undefined) this.startCatchup(other, (this.commitIndex + 1) as LogIndex);
        return { kind: 'notLeader', leaderHint: hint !== undefined && members.includes(hint) ? hint : other };
      }
      if (hint !== undefined && hint !== this.options.self && members.includes(hint)) {
        if (this.campaignDeadline === undefined)
          this.armCampaign(this.options.leaderTimeoutTicks * this.patience);
        return { kind: 'notLeader', leaderHint: hint };
      }
      this.startCampaign();
    }
    const role = this.role;
    if (role.kind === 'follower') return { kind: 'notLeader', leaderHint: this.leaderHint };
    const pipelineFree = role.kind === 'leader' && role.inFlight.size < this.options.alpha;
    const room =
      this.queue.length < this.options.queuedProposalsMax || (pipelineFree && this.queue.length === 0);
    if (!room) {
      const rounds = Math.ceil((this.queue.length + this.options.alpha) / this.options.alpha);
      return { kind: 'overloaded', retryAfterTicks: rounds * this.options.retransmitTicks };
    }
    const id = this.nextProposalId as ProposalId;
    this.nextProposalId += 1;
    this.queue.push({ id, value });
    if (role.kind === 'leader') this.fillPipeline(role);
    return { kind: 'accepted', id };
  }

  // ---- Phase 1 ------------------------------------------------------------------------

  private startCampaign(): void {
    this.campaignDeadline = undefined;
    const round = Math.max(this.highestRoundSeen, this.promised.round) + 1;
    const mine = ballot(round, this.options.self);
    this.highestRoundSeen = round;
    this.setPromised(mine);
    const own: PromiseMessage = {
      kind: 'promise',
      ballot: mine,
      commitIndex: this.commitIndex,
      entries: this.acceptedAbove(this.commitIndex),
    };
    this.role = {
      kind: 'candidate',
      ballot: mine,
      promises: new Map([[this.options.self, own]]),
      startedTick: this.now,
      lastSentTick: this.now,
    };
    this.leaderHint = undefined;
    this.sendPrepares(this.role);
    this.checkPhase1();
  }

  private phase1Voters(): readonly NodeId[] {
    const from = (this.commitIndex + 1) as LogIndex;
    return this.membership.membersBetween(from, (from + this.options.alpha - 1) as LogIndex);
  }

  private sendPrepares(role: Extract<Role, { kind: 'candidate' }>): void {
    role.lastSentTick = this.now;
    const fromIndex = (this.commitIndex + 1) as LogIndex;
    for (const member of this.phase1Voters()) {
      if (member === this.options.self || role.promises.has(member)) continue;
      this.send(member, { kind: 'prepare', ballot: role.ballot, fromIndex });
    }
  }

  /** Accepted entries above `index`, at most acceptWindowEntries of them, in order. */
  private acceptedAbove(index: LogIndex): LogEntry[] {
    const entries: LogEntry[] = [];
    const top = Math.min(this.lastIndex, index + this.options.acceptWindowEntries);
    for (let i = index + 1; i <= top; i += 1) {
      const entry = this.log.get(i);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  private onPrepare(from: NodeId, proposed: Ballot, fromIndex: LogIndex): void {
    if (proposed.nodeId !== from) return;
    this.noteRound(proposed);
    if (compareBallots(proposed, this.promised) < 0) {
      this.send(from, { kind: 'nack', ballot: proposed, promisedBallot: this.promised });
      return;
    }
    this.yieldTo(proposed);
    const above = Math.max(this.commitIndex, fromIndex - 1) as LogIndex;
    this.send(from, {
      kind: 'promise',
      ballot: proposed,
      commitIndex: this.commitIndex,
      entries: this.acceptedAbove(above),
    });
  }

  private onPromise(from: NodeId, message: PromiseMessage): void {
    const role = this.role;
    if (role.kind === 'leader' && ballotsEqual(role.ballot, message.ballot)) {
      if (this.membership.membersAt(role.nextIndex).includes(from)) this.onLatePromise(role, from, message);
      return;
    }
    if (role.kind !== 'candidate' || !ballotsEqual(role.ballot, message.ballot)) return;
    if (role.promises.has(from) || !this.phase1Voters().includes(from)) return;
    role.promises.set(from, message);
    this.checkPhase1();
  }

  /** Becomes leader once a quorum promised and this replica knows all they know chosen. */
  private checkPhase1(): void {
    const role = this.role;
    if (role.kind !== 'candidate') return;
    const voters = new Set(role.promises.keys());
    for (let k = 0; k < this.options.alpha; k += 1) {
      if (!hasQuorum(this.membersAt((this.commitIndex + 1 + k) as LogIndex), voters)) return;
    }
    let best: { peer: NodeId; commitIndex: LogIndex } | undefined;
    for (const [peer, promise] of role.promises) {
      if (best === undefined || promise.commitIndex > best.commitIndex)
        best = { peer, commitIndex: promise.commitIndex };
    }
    if (best !== undefined && best.commitIndex > this.commitIndex) {
      this.startCatchup(best.peer, best.commitIndex);
      return;
    }
    if (!this.isMemberNext()) {
      this.stepDown(); // caught up and found itself deposed
      return;
    }
    this.becomeLeader(role.ballot, role.promises);
  }

  private isMemberNext(): boolean {
    return this.membersAt((this.commitIndex + 1) as LogIndex).includes(this.options.self);
  }

  private becomeLeader(won: Ballot, promises: Map<NodeId, PromiseMessage>): void {
    const leader: Extract<Role, { kind: 'leader' }> = {
      kind: 'leader',
      ballot: won,
      promises,
      recovery: new Map(),
      inFlight: new Map(),
      nextIndex: (this.commitIndex + 1) as LogIndex,
      lastProgressTick: this.now,
      lastPrepareTick: undefined,
      announcedCommit: this.commitIndex,
      told: new Map(),
      ranking: [],
      fastCache: undefined,
    };
    for (const [peer, promise] of promises) {
      this.mergeRecovered(leader, promise);
      if (peer !== this.options.self) this.noteResponder(leader, peer, promise.commitIndex);
    }
    for (const member of this.phase1Voters())
      if (member !== this.options.self && !leader.ranking.includes(member)) leader.ranking.push(member);
    this.role = leader;
    this.leaderHint = this.options.self;
    this.backoffAttempts = 0;
    this.catchup = undefined;
    this.fillPipeline(leader);
    if (leader.inFlight.size === 0) this.broadcastCommit(leader);
  }

  /**
   * Folds one promise into the values to re-propose: per index not yet proposed, the value
   * of the highest ballot reported by any promiser; holes below the top become no-ops.
   */
  private mergeRecovered(leader: Extract<Role, { kind: 'leader' }>, promise: PromiseMessage): void {
    let top = 0;
    // A promiser reports at most acceptWindowEntries above a commit index no higher than ours.
    const bound = this.commitIndex + this.options.acceptWindowEntries;
    for (const entry of promise.entries) {
      if (entry.index < leader.nextIndex || entry.index <= this.commitIndex || entry.index > bound) continue;
      const held = leader.recovery.get(entry.index);
      if (held?.ballot === undefined || compareBallots(entry.ballot, held.ballot) > 0) {
        leader.recovery.set(entry.index, { value: entry.value, ballot: entry.ballot });
      }
      top = Math.max(top, entry.index);
    }
    for (let i: number = leader.nextIndex; i <= top; i += 1) {
      if (!leader.recovery.has(i)) leader.recovery.set(i, { value: noopValue, ballot: undefined });
    }
  }

  /** A promise for the ballot this replica already leads with (from a newly reached member). */
  private onLatePromise(
    leader: Extract<Role, { kind: 'leader' }>,
    from: NodeId,
    message: PromiseMessage,
  ): void {
    if (leader.promises.has(from)) return;
    if (message.commitIndex > this.commitIndex) {
      // Someone learned choices this leader never saw: stand down and learn them first,
      // then campaign again (after a backoff) rather than leave the cell without a leader.
      this.stepDown();
      this.startCatchup(from, message.commitIndex);
      this.armCampaign(this.backoffTicks());
      return;
    }
    leader.promises.set(from, message);
    this.mergeRecovered(leader, message);
    this.noteResponder(leader, from, message.commitIndex);
    this.fillPipeline(leader);
  }

  /** A follower promised, telling its commit index: it joins the ranking (at the end) if new. */
  private noteResponder(
    leader: Extract<Role, { kind: 'leader' }>,
    peer: NodeId,
    commitIndex: LogIndex,
  ): void {
    this.noteTold(leader, peer, commitIndex);
    if (!leader.ranking.includes(peer)) {
      leader.ranking.push(peer);
      leader.fastCache = undefined;
    }
  }

  /** True if a quorum of `members` promised; otherwise asks the missing ones (rate-limited). */
  private havePromisesFrom(leader: Extract<Role, { kind: 'leader' }>, members: readonly NodeId[]): boolean {
    if (hasQuorum(members, leader.promises)) return true;
    const due =
      leader.lastPrepareTick === undefined ||
      this.now - leader.lastPrepareTick >= this.options.retransmitTicks;
    if (due) {
      if (leader.lastPrepareTick === undefined && leader.inFlight.size === 0)
        leader.lastProgressTick = this.now;
      leader.lastPrepareTick = this.now;
      const fromIndex = (this.commitIndex + 1) as LogIndex;
      for (const member of members) {
        if (member === this.options.self || leader.promises.has(member)) continue;
        this.send(member, { kind: 'prepare', ballot: leader.ballot, fromIndex });
      }
    }
    return false;
  }

  // ---- Phase 2 ------------------------------------------------------------------------

  private fillPipeline(leader: Extract<Role, { kind: 'leader' }>): void {
    do {
      while (leader.nextIndex <= this.commitIndex + this.options.alpha && this.proposeNext(leader));
    } while (this.advanceLeaderCommit(leader) && (this.queue.length > 0 || leader.recovery.size > 0));
    const deposed = !this.membersAt(leader.nextIndex).includes(this.options.self);
    if (deposed && leader.inFlight.size === 0 && this.role === leader) {
      // Hand over: tell the new members how far the log is chosen so they catch up from us.
      this.broadcastCommit(leader);
      this.stepDown();
    }
  }

  /** Starts phase 2 for the next index (recovered value first, then the queue); false if none. */
  private proposeNext(leader: Extract<Role, { kind: 'leader' }>): boolean {
    const index = leader.nextIndex;
    const recovered = leader.recovery.get(index);
    const queued = recovered === undefined ? this.queue[0] : undefined;
    if (recovered === undefined && queued === undefined) return false;
    const members = this.membersAt(index);
    if (!members.includes(this.options.self)) return false; // deposed from here on
    if (!this.havePromisesFrom(leader, members)) return false;
    leader.lastPrepareTick = undefined;
    if (recovered !== undefined) leader.recovery.delete(index);
    else this.queue.shift();
    const value = recovered?.value ?? queued?.value ?? noopValue;
    if (leader.inFlight.size === 0) leader.lastProgressTick = this.now;
    const entry: LogEntry = { index, ballot: leader.ballot, value };
    this.storeEntry(entry);
    // The leader's own vote counts only once its copy is durable (see ownAcceptDurable).
    this.ownAccepts.push({ ballot: leader.ballot, index });
    const flight: InFlight = {
      entry,
      acks: new Set<NodeId>(),
      proposalId: queued?.id,
      proposedTick: this.now,
      lastSentTick: this.now,
      chosen: false,
      thriftyTargets: undefined,
    };
    leader.inFlight.set(index, flight);
    leader.nextIndex = (index + 1) as LogIndex;
    this.sendAccepts(leader, flight, false);
    return true;
  }

  /**
   * Sends an entry's accept to the members that have not acknowledged it. A thrifty first
   * send goes only to the fast followers; a retransmit goes to every member, and moves the
   * fast followers that let the first one go unanswered to the end of the ranking.
   */
  private sendAccepts(
    leader: Extract<Role, { kind: 'leader' }>,
    flight: InFlight,
    retransmit: boolean,
  ): void {
    flight.lastSentTick = this.now;
    const members = this.membersAt(flight.entry.index);
    let targets: readonly NodeId[] = members;
    if (this.thrifty && !retransmit) {
      targets = [...this.fastFollowers(leader, members)];
      flight.thriftyTargets = targets;
    } else if (flight.thriftyTargets !== undefined) {
      this.demote(
        leader,
        flight.thriftyTargets.filter((member) => !flight.acks.has(member)),
      );
      flight.thriftyTargets = undefined;
    }
    // A send that reaches every member announces the commit index it carries.
    const reachesAll = !retransmit || flight.acks.size === 0;
    const reached = targets === members ? members : [...targets, this.options.self];
    if (reachesAll && this.coversCommitAudience(reached))
      leader.announcedCommit = Math.max(leader.announcedCommit, this.commitIndex) as LogIndex;
    // One message object for every member: the shell encodes it once (see Outgoing).
    const accept: PaxosMessage = { kind: 'accept', entry: flight.entry, commitIndex: this.commitIndex };
    for (const member of targets) {
      if (member === this.options.self || flight.acks.has(member)) continue;
      this.send(member, accept);
      this.noteTold(leader, member, this.commitIndex);
    }
  }

  /** The followers of `members` a thrifty accept goes to: the first of the ranking, a quorum with the leader. */
  private fastFollowers(
    leader: Extract<Role, { kind: 'leader' }>,
    members: readonly NodeId[],
  ): ReadonlySet<NodeId> {
    const cached = leader.fastCache;
    if (cached?.members === members) return cached.fast;
    const others = members.filter((member) => member !== this.options.self);
    const need = quorumSize(members) - (others.length < members.length ? 1 : 0);
    const rank = (member: NodeId): number => {
      const at = leader.ranking.indexOf(member);
      return at < 0 ? leader.ranking.length : at;
    };
    const fast = new Set(others.sort((a, b) => rank(a) - rank(b)).slice(0, need));
    leader.fastCache = { members, fast };
    return fast;
  }

  /** Moves followers that missed a thrifty accept to the end of the ranking. */
  private demote(leader: Extract<Role, { kind: 'leader' }>, slow: readonly NodeId[]): void {
    if (slow.length === 0) return;
    leader.ranking = [...leader.ranking.filter((member) => !slow.includes(member)), ...slow];
    leader.fastCache = undefined;
  }

  private noteTold(leader: Extract<Role, { kind: 'leader' }>, member: NodeId, commitIndex: LogIndex): void {
    const told = leader.told.get(member);
    if (told === undefined || told < commitIndex) leader.told.set(member, commitIndex);
  }

  /**
   * Thrifty: hands each follower that accepts skip the chosen entries it has not been told
   * of (at most catchupEntriesMax, as an unasked catch-up reply), once a tick. One whose
   * progress is unknown, or behind the snapshot, is sent the commit index and asks.
   */
  private pushChosen(leader: Extract<Role, { kind: 'leader' }>): void {
    if (!this.thrifty || this.commitIndex <= leader.announcedCommit) return;
    const fast = this.fastFollowers(leader, this.membersAt((this.commitIndex + 1) as LogIndex));
    for (const member of this.commitAudience()) {
      if (member === this.options.self || fast.has(member)) continue;
      const told = leader.told.get(member);
      if (told !== undefined && told >= this.commitIndex) continue;
      if (told === undefined || told < this.snapshotIndex) {
        this.send(member, { kind: 'commit', ballot: leader.ballot, commitIndex: this.commitIndex });
        leader.told.set(member, this.commitIndex);
        continue;
      }
      const top = Math.min(this.commitIndex, told + this.options.catchupEntriesMax) as LogIndex;
      this.send(member, {
        kind: 'catchupReply',
        commitIndex: top,
        entries: this.chosenEntries(told + 1, top),
      });
      leader.told.set(member, top);
    }
  }

  private onAccept(from: NodeId, entry: LogEntry, leaderCommit: LogIndex): void {
    if (entry.ballot.nodeId !== from) return;
    this.noteRound(entry.ballot);
    if (compareBallots(entry.ballot, this.promised) < 0) {
      this.send(from, { kind: 'nack', ballot: entry.ballot, promisedBallot: this.promised });
      return;
    }
    this.yieldTo(entry.ballot);
    const index = entry.index;
    if (index <= this.commitIndex) {
      const held = this.log.get(index);
      if (held !== undefined && ballotsEqual(held.ballot, entry.ballot)) this.sendAccepted(from, entry);
    } else if (index > this.commitIndex + this.options.acceptWindowEntries) {
      this.startCatchup(from, Math.min(leaderCommit, index - 1) as LogIndex);
      return;
    } else {
      // A resent accept already held at its ballot needs no new write: the reply leaves
      // after every earlier Ready, including the one that persisted the entry.
      const held = this.log.get(index);
      if (held === undefined || !ballotsEqual(held.ballot, entry.ballot)) this.storeEntry(entry);
      this.sendAccepted(from, entry);
    }
    this.learnCommit(from, entry.ballot, leaderCommit);
  }

  private sendAccepted(to: NodeId, entry: LogEntry): void {
    this.send(to, { kind: 'accepted', ballot: entry.ballot, index: entry.index });
  }

  private onAccepted(from: NodeId, accepted: Ballot, index: LogIndex): void {
    if (from === this.options.self) return; // only ownAcceptDurable counts this replica
    this.countAccept(from, accepted, index);
  }

  private countAccept(from: NodeId, accepted: Ballot, index: LogIndex): void {
    const role = this.role;
    if (role.kind !== 'leader' || !ballotsEqual(role.ballot, accepted)) return;
    const flight = role.inFlight.get(index);
    if (flight === undefined || flight.chosen || !this.membersAt(index).includes(from)) return;
    if (!flight.acks.has(from)) role.lastProgressTick = this.now;
    flight.acks.add(from);
    if (hasQuorum(this.membersAt(index), flight.acks)) {
      flight.chosen = true;
      this.fillPipeline(role);
    }
  }

  /** Commits the chosen prefix of the pipeline; true if the commit index moved. */
  private advanceLeaderCommit(leader: Extract<Role, { kind: 'leader' }>): boolean {
    const before = this.commitIndex;
    for (;;) {
      const flight = leader.inFlight.get(this.commitIndex + 1);
      if (flight === undefined || !flight.chosen) break;
      leader.inFlight.delete(flight.entry.index);
      this.commitNext(flight.entry);
      if (this.now - flight.proposedTick < this.options.electionTimeoutTicks)
        this.patience = Math.max(1, this.patience / 2);
      if (flight.proposalId !== undefined) {
        this.results.push({ kind: 'chosen', id: flight.proposalId, index: flight.entry.index });
      }
    }
    this.noteCommitAnnouncedIfAlone(leader);
    return this.commitIndex > before;
  }

  /** True when the pipeline drained with a commit index the followers have not been sent. */
  private commitAnnouncementDue(leader: Extract<Role, { kind: 'leader' }>): boolean {
    const drained = leader.inFlight.size === 0 && this.queue.length === 0 && leader.recovery.size === 0;
    return drained && this.commitIndex > leader.announcedCommit;
  }

  /** A leader alone in its cell has nobody to tell. */
  private noteCommitAnnouncedIfAlone(leader: Extract<Role, { kind: 'leader' }>): void {
    if (this.commitAudience().every((member) => member === this.options.self))
      leader.announcedCommit = this.commitIndex;
  }

  /** Who must hear of the commit index: the members of the next alpha indices. */
  private commitAudience(): readonly NodeId[] {
    return this.membership.membersBetween(
      (this.commitIndex + 1) as LogIndex,
      (this.commitIndex + this.options.alpha) as LogIndex,
    );
  }

  private coversCommitAudience(members: readonly NodeId[]): boolean {
    return this.commitAudience().every((member) => members.includes(member));
  }

  /** Sends the commit index to the members of the audience not told it yet. */
  private broadcastCommit(leader: Extract<Role, { kind: 'leader' }>): void {
    leader.announcedCommit = this.commitIndex;
    const commit: PaxosMessage = { kind: 'commit', ballot: leader.ballot, commitIndex: this.commitIndex };
    for (const member of this.commitAudience()) {
      if (member === this.options.self) continue;
      if ((leader.told.get(member) ?? 0) >= this.commitIndex) continue;
      this.send(member, commit);
      this.noteTold(leader, member, this.commitIndex);
    }
  }

  // ---- Learning -----------------------------------------------------------------------

  private onCommit(from: NodeId, leaderBallot: Ballot, leaderCommit: LogIndex): void {
    if (leaderBallot.nodeId !== from) return;
    this.noteRound(leaderBallot);
    if (compareBallots(leaderBallot, this.promised) >= 0) this.yieldTo(leaderBallot);
    this.learnCommit(from, leaderBallot, leaderCommit);
  }

  /**
   * A leader at `leaderBallot` says everything up to `leaderCommit` is chosen. An entry
   * this replica holds at that same ballot carries the one value that ballot proposed
   * there, so it is the chosen value; anything else must be fetched.
   */
  private learnCommit(from: NodeId, leaderBallot: Ballot, reportedCommit: LogIndex): void {
    if (this.role.kind === 'leader') return;
    // Remember the furthest commit a ballot announced: an accept overtaken by a later
    // commit message then completes the learning when it arrives.
    let leaderCommit = reportedCommit;
    const heard = this.commitHeard;
    if (heard !== undefined && ballotsEqual(heard.ballot, leaderBallot)) {
      leaderCommit = Math.max(leaderCommit, heard.index) as LogIndex;
    }
    if (heard === undefined || compareBallots(leaderBallot, heard.ballot) >= 0) {
      this.commitHeard = { ballot: leaderBallot, index: leaderCommit };
    }
    while (this.commitIndex < leaderCommit) {
      const entry = this.log.get(this.commitIndex + 1);
      if (entry === undefined || !ballotsEqual(entry.ballot, leaderBallot)) break;
      this.commitNext(entry);
    }
    if (this.commitIndex < leaderCommit) {
      // A gap no wider than the pipeline is most likely accepts overtaken by this message.
      const missing = !this.log.has(this.commitIndex + 1);
      const inFlightGap = missing && leaderCommit - this.commitIndex <= this.options.alpha;
      this.startCatchup(from, leaderCommit, inFlightGap);
    }
  }

  /** Marks the entry at commitIndex + 1 (already in the log) as chosen. */
  private commitNext(entry: LogEntry): void {
    if (entry.index !== this.commitIndex + 1) throw new Error('commitNext: not the next index');
    this.commitIndex = entry.index;
    this.persistCommit = true;
    this.membership.noteChosen(entry.index, entry.value);
    this.clearCatchupIfDone();
  }

  private clearCatchupIfDone(): void {
    if (this.catchup !== undefined && this.commitIndex >= this.catchup.target) this.catchup = undefined;
  }

  /**
   * Asks `peer` for chosen entries up to `target`. Deferred: the first request waits one
   * retransmit period, for when the missing entries are probably accepts still in flight.
   */
  private startCatchup(peer: NodeId, target: LogIndex, deferred = false): void {
    if (target <= this.commitIndex) return;
    if (this.catchup !== undefined) {
      // Fresh evidence that `peer` has what we lack: keep the retries going from here.
      this.catchup.target = Math.max(this.catchup.target, target) as LogIndex;
      this.catchup.peer = peer;
      this.catchup.attempts = 0;
      return;
    }
    this.catchup = { target, peer, lastSentTick: this.now, attempts: 0 };
    if (!deferred) this.send(peer, { kind: 'catchupRequest', fromIndex: (this.commitIndex + 1) as LogIndex });
  }

  private onCatchupRequest(from: NodeId, fromIndex: LogIndex): void {
    if (fromIndex < 1) return;
    if (fromIndex <= this.snapshotIndex) {
      this.snapshotsToSend.add(from);
      return;
    }
    const top = Math.min(this.commitIndex, fromIndex + this.options.catchupEntriesMax - 1);
    const entries = this.chosenEntries(fromIndex, top);
    if (entries.length > 0) this.send(from, { kind: 'catchupReply', commitIndex: this.commitIndex, entries });
  }

  /** The chosen entries `from..top` (all held: above the snapshot, at most the commit index). */
  private chosenEntries(from: number, top: number): LogEntry[] {
    const entries: LogEntry[] = [];
    for (let i = from; i <= top; i += 1) {
      const entry = this.log.get(i);
      if (entry === undefined) throw new Error(`chosen entry ${i} missing`);
      entries.push(entry);
    }
    return entries;
  }

  private onCatchupReply(from: NodeId, senderCommit: LogIndex, entries: readonly LogEntry[]): void {
    if (this.role.kind === 'leader') return;
    const before = this.commitIndex;
    for (const entry of entries) {
      if (entry.index !== this.commitIndex + 1 || entry.index > senderCommit) continue;
      this.storeEntry(entry);
      this.commitNext(entry);
    }
    // Chosen entries from the leader it follows are that leader's progress (a thrifty
    // leader's followers outside its quorum hear of it only so): no need to campaign.
    if (this.commitIndex > before && from === this.leaderHint) this.campaignDeadline = undefined;
    if (this.commitIndex < senderCommit && this.commitIndex > before) {
      const target = Math.max(senderCommit, this.catchup?.target ?? 0) as LogIndex;
      this.catchup = { target, peer: from, lastSentTick: this.now, attempts: 0 };
      this.send(from, { kind: 'catchupRequest', fromIndex: (this.commitIndex + 1) as LogIndex });
    } else if (this.commitIndex < senderCommit && entries.some((e) => e.index > this.commitIndex + 1)) {
      // Chosen entries pushed past a gap (an earlier push was lost): ask for the gap.
      this.startCatchup(from, senderCommit);
    }
    this.checkPhase1();
  }

  // ---- Ballots, roles and timers ------------------------------------------------------

  private noteRound(seen: Ballot): void {
    this.highestRoundSeen = Math.max(this.highestRoundSeen, seen.round);
  }

  private setPromised(promised: Ballot): void {
    if (compareBallots(promised, this.promised) > 0) {
      this.promised = promised;
      this.persistPromised = true;
    }
  }

  /** A ballot at least our promise arrived from its owner: promise it, follow it. */
  private yieldTo(other: Ballot): void {
    const role = this.role;
    if (role.kind !== 'follower' && compareBallots(other, role.ballot) > 0) this.stepDown();
    this.setPromised(other);
    if (other.nodeId !== this.options.self) {
      this.leaderHint = other.nodeId;
      this.campaignDeadline = undefined;
      this.backoffAttempts = 0;
    }
  }

  private onNack(rejected: Ballot, promised: Ballot): void {
    this.noteRound(promised);
    const role = this.role;
    if (role.kind === 'follower' || !ballotsEqual(role.ballot, rejected)) return;
    if (compareBallots(promised, role.ballot) <= 0) return;
    const wasCandidate = role.kind === 'candidate';
    this.stepDown();
    this.leaderHint = promised.nodeId;
    if (wasCandidate) this.armCampaign(this.backoffTicks());
  }

  /** Leaves candidacy or leadership: queued work is dropped, sent work is unknown. */
  private stepDown(): void {
    const role = this.role;
    if (role.kind === 'leader') {
      const ids = [...role.inFlight.values()].flatMap((f) =>
        f.proposalId === undefined ? [] : [f.proposalId],
      );
      for (const id of ids.sort((a, b) => a - b)) this.results.push({ kind: 'unknown', id });
      // What this ballot chose is a fact: tell the followers before going (they may hold
      // the entries at this ballot and nobody else will announce them soon).
      this.pushChosen(role);
      if (this.commitIndex > role.announcedCommit) this.broadcastCommit(role);
    }
    for (const queued of this.queue) this.results.push({ kind: 'dropped', id: queued.id });
    this.queue = [];
    this.role = { kind: 'follower' };
  }

  /** How long a candidate or leader waits for progress before giving up its ballot. */
  private progressTimeoutTicks(): number {
    return this.options.electionTimeoutTicks * this.patience;
  }

  /** Gave up a ballot for lack of progress: wait longer next time. */
  private loseHeart(): void {
    this.patience = Math.min(patienceMax, this.patience * 2);
  }

  private armCampaign(delayTicks: number): void {
    this.campaignDeadline = this.now + delayTicks;
  }

  private backoffTicks(): number {
    const { backoffBaseTicks, backoffMaxTicks, random } = this.options;
    const base = Math.min(backoffMaxTicks, backoffBaseTicks * 2 ** Math.min(this.backoffAttempts, 30));
    this.backoffAttempts += 1;
    return base + random.intBelow(base + 1);
  }

  private tickCampaignDeadline(): void {
    if (this.campaignDeadline === undefined || this.now < this.campaignDeadline) return;
    this.campaignDeadline = undefined;
    if (this.role.kind !== 'follower') return;
    if (!this.isMemberNext()) return;
    this.startCampaign();
  }

  private tickRole(): void {
    const role = this.role;
    if (role.kind === 'candidate') {
      if (this.now - role.startedTick >= this.progressTimeoutTicks()) {
        this.loseHeart();
        this.stepDown(); // give up: the next client request wakes this replica again
      } else if (this.now - role.lastSentTick >= this.options.retransmitTicks) {
        this.sendPrepares(role);
      }
    } else if (role.kind === 'leader') {
      const waiting = role.inFlight.size > 0 || role.lastPrepareTick !== undefined;
      if (waiting && this.now - role.lastProgressTick >= this.progressTimeoutTicks()) {
        this.loseHeart();
        this.stepDown();
        return;
      }
      if (role.lastPrepareTick !== undefined) this.fillPipeline(role);
      for (const flight of role.inFlight.values()) {
        if (!flight.chosen && this.now - flight.lastSentTick >= this.options.retransmitTicks)
          this.sendAccepts(role, flight, true);
      }
      this.pushChosen(role);
      if (this.commitAnnouncementDue(role)) this.broadcastCommit(role);
    }
  }

  private tickCatchup(): void {
    const catchup = this.catchup;
    if (catchup === undefined || this.now - catchup.lastSentTick < this.options.retransmitTicks) return;
    const peers = this.membersAt((this.commitIndex + 1) as LogIndex).filter((m) => m !== this.options.self);
    if (catchup.attempts >= 2 * peers.length || peers.length === 0) {
      this.catchup = undefined;
      return;
    }
    catchup.attempts += 1;
    // Odd attempts go back to the peer that showed it knows more; even ones try the others.
    const peer =
      catchup.attempts % 2 === 1
        ? catchup.peer
        : (peers[(catchup.attempts / 2) % peers.length] ?? catchup.peer);
    catchup.lastSentTick = this.now;
    this.send(peer, { kind: 'catchupRequest', fromIndex: (this.commitIndex + 1) as LogIndex });
  }

  // ---- Storage and output -------------------------------------------------------------

  private storeEntry(entry: LogEntry): void {
    this.log.set(entry.index, entry);
    this.persistEntries.set(entry.index, entry);
    if (this.ledger !== undefined) this.touched.add(entry.index);
    if (entry.index > this.lastIndex) this.lastIndex = entry.index;
  }

  /**
   * Queues a message. A leader's accepts go out before its own copy of the entry is durable
   * (Raft's parallel leader write): they claim nothing about this replica's disk, and the
   * leader's own vote is only counted by `ownAcceptDurable`, after the persist.
   */
  private send(to: NodeId, message: PaxosMessage): void {
    if (message.kind === 'accept') this.earlyMessages.push({ to, message });
    else this.messages.push({ to, message });
  }

  private takePersist(): PersistDelta | undefined {
    const others = this.persistPromised || this.persistSnapshot !== undefined || this.persistEntries.size > 0;
    if (!others && !(this.persistCommit && this.commitSaveRequested)) return undefined;
    const entries = [...this.persistEntries.values()];
    if (entries.length > 1) entries.sort(byIndex);
    // With entries only when one is known chosen already, or would lie beyond the stored
    // commit index's window (see commitSaveRequested).
    const entriesNeedIt =
      entries.length > 0 &&
      (entries[0]!.index <= this.commitIndex ||
        entries.at(-1)!.index > this.storedCommitIndex + this.options.acceptWindowEntries);
    const writeCommit =
      this.persistCommit &&
      (entriesNeedIt ||
        this.commitSaveRequested ||
        this.persistSnapshot !== undefined ||
        this.persistPromised);
    this.commitSaveRequested = false;
    if (writeCommit) this.storedCommitIndex = this.commitIndex;
    // Built field by field (no spread of temporary objects): this runs for most messages.
    const delta: Mutable<PersistDelta> = { entries };
    if (this.persistPromised) delta.promisedBallot = this.promised;
    if (writeCommit) delta.commitIndex = this.commitIndex;
    if (this.persistSnapshot !== undefined) delta.snapshot = this.persistSnapshot;
    this.persistPromised = false;
    if (writeCommit) this.persistCommit = false;
    this.persistSnapshot = undefined;
    if (this.persistEntries.size > 0) this.persistEntries.clear();
    return delta;
  }

  private afterStep(): void {
    if (this.ledger === undefined) return;
    checkReplicaInvariants(this.inspect(), this.ledger, this.touched);
    if (this.touched.size > 0) this.touched.clear();
  }
}

/** An empty part of a Ready: shared and frozen, so nobody can add to it. */
const none: readonly never[] = Object.freeze([]);

/** The Ready of a step that produced nothing (most ticks): shared, so it costs nothing. */
const emptyReady: Ready = Object.freeze({
  persist: undefined,
  messages: none,
  earlyMessages: none,
  ownAccepts: none,
  committed: none,
  proposalResults: none,
  snapshotsToSend: none,
  wantsTick: false,
});
const emptyReadyWantingTicks: Ready = Object.freeze({ ...emptyReady, wantsTick: true });

/** Moves every item out of `pending` into a new array (`none` when there are none). */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function byIndex(a: LogEntry, b: LogEntry): number {
  return a.index - b.index;
}

function takeAll<T>(pending: T[]): readonly T[] {
  if (pending.length === 0) return none;
  return pending.splice(0, pending.length);
}
