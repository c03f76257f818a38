// The world the exhaustive explorer searches (paper §4.2): a few Paxos replicas, their
// durable state, their Readys not yet persisted, the messages in flight and the client
// proposals not yet made. Every action is one choice point; safety is checked after each.
import { SeededRandom } from '../../env/seeded-random.ts';
import { decodeMessage, encodeMessage } from '../codec.ts';
import { InvariantViolation } from '../invariants.ts';
import type { PaxosMessage } from '../messages.ts';
import type { PersistedState, ProposalResult, Ready, ReplicaOptions } from '../ready.ts';
import {
  applyPersistDelta,
  commitIndexOnly,
  defaultReplicaOptions,
  initialPersistedState,
} from '../ready.ts';
import { Replica } from '../replica.ts';
import type { Ballot, EntryValue, LogEntry, LogIndex, NodeId, ProposalId } from '../types.ts';
import { compareBallots, ballotsEqual, entryValuesEqual, nodeId, zeroBallot } from '../types.ts';
import { cloneDeep, hash53, serialize, serializeFrozen } from './snapshot.ts';

/**
 * How a Ready is carried out.
 * - eager: persist and release its messages at once after the call that produced it
 *   (crashes fall between Readys only).
 * - explicit: Readys queue per node; `flush` persists the oldest and only then releases
 *   its messages and counts the leader's own votes; a crash loses every unflushed Ready.
 *   As in the cell, a leader's accepts (`earlyMessages`) leave at once, and a Ready that
 *   only moves the commit index is acted on at once when nothing is queued before it.
 * - sendBeforePersist: an injected BUG: messages are released at once, persisting waits
 *   for `flush` (and a crash loses it).
 */
export type FlushMode = 'eager' | 'explicit' | 'sendBeforePersist';

/** One client request: `payload` offered to `node` at some point of the schedule. */
export interface ClientProposal {
  readonly node: NodeId;
  readonly payload: string;
}

export interface WorldConfig {
  readonly nodeCount: number;
  readonly proposals: readonly ClientProposal[];
  readonly flushMode: FlushMode;
  /** Injected BUG: these nodes lose their promised ballot (keeping accepted entries) on a crash. */
  readonly forgetPromiseOnCrash: readonly NodeId[];
  /** Injected BUG: a leader counts its own vote as soon as it proposes, before persisting. */
  readonly countOwnVoteBeforePersist?: boolean;
  /** Check, whenever a message is released, that what it claims is already durable. */
  readonly checkPersistBeforeSend: boolean;
  /** Replica options over the defaults (short timeouts keep tick-driven paths shallow). */
  readonly tuning: Partial<ReplicaOptions>;
  readonly seed: number;
}

/** The most of each costly action one schedule may take. */
export interface ActionBudgets {
  readonly ticks: number;
  readonly duplicates: number;
  readonly drops: number;
  readonly crashes: number;
}

/** One message in flight. `key` is sender, receiver and the encoded bytes: equal keys are one message. */
export interface Wire {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: PaxosMessage;
  readonly key: string;
}

/**
 * One choice point. Loss needs no action of its own: safety is checked after every prefix
 * of every schedule, so a message still in flight when a prefix ends has, for that
 * prefix, been lost; `drop` (under its own budget) only lets the search merge states.
 */
export type Action =
  | { readonly kind: 'propose'; readonly proposal: number }
  | { readonly kind: 'deliver'; readonly wire: Wire }
  | { readonly kind: 'drop'; readonly wire: Wire }
  | { readonly kind: 'duplicate'; readonly wire: Wire }
  | { readonly kind: 'flush'; readonly node: NodeId }
  | { readonly kind: 'tick'; readonly node: NodeId }
  | { readonly kind: 'crash'; readonly node: NodeId };

export type ViolationKind = 'agreement' | 'invariant' | 'persistBeforeSend' | 'proposalResult' | 'exception';

export interface Violation {
  readonly kind: ViolationKind;
  readonly detail: string;
}

class ViolationFound extends Error {
  constructor(readonly violation: Violation) {
    super(violation.detail);
  }
}

interface NodeState {
  readonly id: NodeId;
  options: ReplicaOptions;
  replica: Replica;
  durable: PersistedState;
  /** Readys taken from the replica and not yet persisted, oldest first. */
  pending: Ready[];
  /** The next index this node's (volatile) state machine applies. */
  nextApply: number;
  incarnation: number;
}

interface ProposalRecord {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly id: ProposalId;
  readonly valueKey: string;
  result: string;
}

interface Used {
  ticks: number;
  duplicates: number;
  drops: number;
  crashes: number;
}

const skipOptions = new Set(['options']);

/** Readable and one-to-one: payload bytes as a Latin-1 string in JSON quotes. */
function valueKey(value: EntryValue): string {
  switch (value.kind) {
    case 'noop':
      return 'noop';
    case 'payload':
      return JSON.stringify(String.fromCharCode(...value.payload));
    case 'config':
      return `config[${value.members.join(',')}]`;
  }
}

function payloadBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export class World {
  private constructor(
    readonly config: WorldConfig,
    private nodes: NodeState[],
    private network: Wire[],
    private proposed: boolean[],
    private records: ProposalRecord[],
    /** Every value any node has learned (applied or durably committed), by index. */
    private chosen: Map<number, string>,
    private used: Used,
  ) {}

  static initial(config: WorldConfig): World {
    const random = new SeededRandom(config.seed);
    const ids = Array.from({ length: config.nodeCount }, (_, i) => nodeId(`n${i + 1}`));
    const nodes = ids.map((id): NodeState => {
      const options = { ...defaultReplicaOptions(id, random.fork(id)), ...config.tuning, self: id };
      const durable = initialPersistedState(ids);
      const replica = new Replica(options, durable, 0 as LogIndex);
      return { id, options, replica, durable, pending: [], nextApply: 1, incarnation: 0 };
    });
    const used = { ticks: 0, duplicates: 0, drops: 0, crashes: 0 };
    return new World(
      config,
      nodes,
      [],
      config.proposals.map(() => false),
      [],
      new Map(),
      used,
    );
  }

  clone(): World {
    const nodes = this.nodes.map((n): NodeState => {
      // Options are immutable but for the generator's state: copy that, share the rest.
      const options = { ...n.options, random: cloneDeep(n.options.random) };
      const replica = cloneDeep(n.replica, new Map<object, unknown>([[n.options, options]]));
      return { ...n, options, replica, pending: [...n.pending] };
    });
    return new World(
      this.config,
      nodes,
      [...this.network],
      [...this.proposed],
      this.records.map((r) => ({ ...r })),
      new Map(this.chosen),
      { ...this.used },
    );
  }

  /** Hashes a canonical text with a salt (the explorer salts with the depth). */
  static hashText(text: string, salt: number): number {
    return hash53(text, salt);
  }

  /** The canonical form of everything that decides the future (and of what was learned). */
  canonicalText(): string {
    const parts: string[] = [];
    for (const n of this.nodes) {
      parts.push(serialize(n.replica, skipOptions), serialize(n.options.random), serializeFrozen(n.durable));
      for (const ready of n.pending) parts.push(serializeFrozen(ready));
      parts.push(String(n.pending.length), String(n.nextApply), String(n.incarnation));
    }
    parts.push(this.network.map((w) => w.key).join('|'), serialize(this.proposed), serialize(this.records));
    parts.push(serialize([...this.chosen].sort((a, b) => a[0] - b[0])), serialize(this.used));
    return parts.join('#');
  }

  /** Every action enabled here, each distinct message once, in a fixed order. */
  enabledActions(budgets: ActionBudgets): Action[] {
    const actions: Action[] = [];
    this.proposed.forEach((done, proposal) => {
      if (!done) actions.push({ kind: 'propose', proposal });
    });
    const distinct = this.network.filter((w, i) => i === 0 || this.network[i - 1]?.key !== w.key);
    for (const wire of distinct) actions.push({ kind: 'deliver', wire });
    for (const n of this.nodes) if (n.pending.length > 0) actions.push({ kind: 'flush', node: n.id });
    if (this.used.ticks < budgets.ticks) {
      for (const n of this.nodes) if (n.replica.wantsTick()) actions.push({ kind: 'tick', node: n.id });
    }
    if (this.used.crashes < budgets.crashes) {
      for (const n of this.nodes) actions.push({ kind: 'crash', node: n.id });
    }
    if (this.used.duplicates < budgets.duplicates) {
      for (const wire of distinct) actions.push({ kind: 'duplicate', wire });
    }
    if (this.used.drops < budgets.drops) {
      for (const wire of distinct) actions.push({ kind: 'drop', wire });
    }
    return actions;
  }

  /** Carries out one action in place; answers the first safety violation it causes. */
  apply(action: Action): Violation | undefined {
    try {
      this.applyUnchecked(action);
      return undefined;
    } catch (error) {
      if (error instanceof ViolationFound) return error.violation;
      if (error instanceof InvariantViolation) return { kind: 'invariant', detail: error.message };
      if (error instanceof Error) return { kind: 'exception', detail: error.stack ?? error.message };
      throw error;
    }
  }

  private applyUnchecked(action: Action): void {
    switch (action.kind) {
      case 'propose':
        this.propose(action.proposal);
        break;
      case 'deliver': {
        this.removeWire(action.wire);
        const target = this.node(action.wire.to);
        target.replica.step(action.wire.from, action.wire.message);
        this.afterCall(target);
        break;
      }
      case 'drop':
        this.removeWire(action.wire);
        this.used.drops += 1;
        break;
      case 'duplicate':
        this.addWire(action.wire);
        this.used.duplicates += 1;
        break;
      case 'flush': {
        const node = this.node(action.node);
        const ready = node.pending.shift();
        if (ready !== undefined) this.persistAndRelease(node, ready, true);
        break;
      }
      case 'tick': {
        const node = this.node(action.node);
        node.replica.tick();
        this.used.ticks += 1;
        this.afterCall(node);
        break;
      }
      case 'crash':
        this.crashAndRestart(this.node(action.node));
        this.used.crashes += 1;
        break;
    }
  }

  private propose(proposal: number): void {
    const request = this.config.proposals[proposal];
    if (request === undefined) throw new Error(`no proposal ${proposal}`);
    this.proposed[proposal] = true;
    const node = this.node(request.node);
    const bytes = payloadBytes(request.payload);
    const result = node.replica.propose(bytes);
    if (result.kind === 'accepted') {
      const key = valueKey({ kind: 'payload', payload: bytes });
      this.records.push({
        node: node.id,
        incarnation: node.incarnation,
        id: result.id,
        valueKey: key,
        result: 'pending',
      });
    }
    this.afterCall(node);
  }

  private crashAndRestart(node: NodeState): void {
    node.pending = [];
    for (const r of this.records) if (r.node === node.id && r.result === 'pending') r.result = 'lostInCrash';
    if (this.config.forgetPromiseOnCrash.includes(node.id)) node.durable = forgetPromise(node.durable);
    node.incarnation += 1;
    node.nextApply = node.durable.snapshot.index + 1;
    node.replica = new Replica(node.options, node.durable, node.durable.snapshot.index);
    this.afterCall(node);
  }

  /** The shell's part after every call into a replica: take its Ready and carry it out. */
  private afterCall(node: NodeState): void {
    const ready = node.replica.takeReady();
    if (isEmptyReady(ready)) return;
    this.releaseEarly(node, ready);
    switch (this.config.flushMode) {
      case 'eager':
        this.persistAndRelease(node, ready, true);
        break;
      case 'explicit':
        if (node.pending.length === 0 && commitIndexOnly(ready.persist)) {
          // Acted on before it is durable; only the write itself stays queued.
          this.releaseMessages(node, ready);
          for (const entry of ready.committed) this.learn(node, entry);
          for (const result of ready.proposalResults) this.recordResult(node, result);
          node.pending.push({ ...ready, messages: [], committed: [], proposalResults: [], ownAccepts: [] });
          this.countOwnAccepts(node, ready);
        } else if (this.config.countOwnVoteBeforePersist === true) {
          node.pending.push({ ...ready, ownAccepts: [] });
          this.countOwnAccepts(node, ready);
        } else {
          node.pending.push(ready);
        }
        break;
      case 'sendBeforePersist':
        this.releaseMessages(node, ready);
        node.pending.push({ ...ready, messages: [] });
        break;
    }
  }

  private persistAndRelease(node: NodeState, ready: Ready, withMessages: boolean): void {
    if (ready.persist !== undefined) {
      node.durable = applyPersistDelta(node.durable, ready.persist);
      this.checkDurableCommits(node);
    }
    if (withMessages) this.releaseMessages(node, ready);
    for (const entry of ready.committed) this.learn(node, entry);
    for (const result of ready.proposalResults) this.recordResult(node, result);
    this.countOwnAccepts(node, ready);
  }

  /** The leader's own votes, now that its entries are durable (may produce a new Ready). */
  private countOwnAccepts(node: NodeState, ready: Ready): void {
    if (ready.ownAccepts.length === 0) return;
    for (const own of ready.ownAccepts) node.replica.ownAcceptDurable(own);
    this.afterCall(node);
  }

  /** A leader's accepts leave before its own copy is durable; only its ballot must be. */
  private releaseEarly(node: NodeState, ready: Ready): void {
    for (const out of ready.earlyMessages) {
      if (out.message.kind !== 'accept') throw new Error(`early ${out.message.kind}: only accepts may be`);
      if (
        this.config.checkPersistBeforeSend &&
        compareBallots(node.durable.promisedBallot, out.message.entry.ballot) < 0
      )
        throw new ViolationFound({
          kind: 'persistBeforeSend',
          detail: `${node.id} sent accept before its ballot was durable`,
        });
      if (this.config.checkPersistBeforeSend) {
        for (let index = node.durable.snapshot.index + 1; index <= out.message.commitIndex; index += 1) {
          if (!durablyChosen(index, this.nodes))
            throw new ViolationFound({
              kind: 'persistBeforeSend',
              detail: `${node.id} announced ${index} chosen before a majority durably accepted it`,
            });
        }
      }
      this.addMessage(node, out.to, out.message);
    }
  }

  private releaseMessages(node: NodeState, ready: Ready): void {
    for (const out of ready.messages) {
      if (this.config.checkPersistBeforeSend) checkDurableBeforeSend(node, out.message, this.nodes);
      this.addMessage(node, out.to, out.message);
    }
  }

  private addMessage(node: NodeState, to: NodeId, message: PaxosMessage): void {
    const bytes = encodeMessage(message);
    const decoded = decodeMessage(bytes);
    if (decoded.kind !== 'ok') throw new Error(`codec failed on own message: ${decoded.detail}`);
    const key = `${node.id}>${to}:${String.fromCharCode(...bytes)}`;
    this.addWire({ from: node.id, to, message: decoded.message, key });
  }

  /** The state machine applies `entry`: it must be the next index and the one value ever learned there. */
  private learn(node: NodeState, entry: LogEntry): void {
    if (entry.index !== node.nextApply) {
      throw new ViolationFound({
        kind: 'agreement',
        detail: `${node.id} applied index ${entry.index}, expected ${node.nextApply}`,
      });
    }
    node.nextApply += 1;
    // Chosen means durably accepted by a majority: a learner acting on less (say, a leader
    // counting its own vote before its write) could see the value lost in a crash.
    if (!durablyChosen(entry.index, this.nodes)) {
      throw new ViolationFound({
        kind: 'agreement',
        detail: `${node.id} applied index ${entry.index} before a majority durably accepted it`,
      });
    }
    this.noteChosen(node, entry, 'applied');
  }

  private noteChosen(node: NodeState, entry: LogEntry, how: string): void {
    const key = valueKey(entry.value);
    const known = this.chosen.get(entry.index);
    if (known === undefined) this.chosen.set(entry.index, key);
    else if (known !== key) {
      throw new ViolationFound({
        kind: 'agreement',
        detail: `index ${entry.index}: ${node.id} ${how} ${key} but ${known} was learned before`,
      });
    }
  }

  /** Everything a node's durable commit index covers is present and the one learned value. */
  private checkDurableCommits(node: NodeState): void {
    const byIndex = new Map(node.durable.entries.map((e) => [e.index as number, e]));
    for (let i = node.durable.snapshot.index + 1; i <= node.durable.commitIndex; i += 1) {
      const entry = byIndex.get(i);
      if (entry === undefined) {
        throw new ViolationFound({
          kind: 'agreement',
          detail: `${node.id} durably committed ${i} without its entry`,
        });
      }
      this.noteChosen(node, entry, 'durably committed');
    }
  }

  private recordResult(node: NodeState, result: ProposalResult): void {
    const record = this.records.find(
      (r) =>
        r.node === node.id &&
        r.incarnation === node.incarnation &&
        r.id === result.id &&
        r.result === 'pending',
    );
    if (record === undefined) {
      throw new ViolationFound({
        kind: 'proposalResult',
        detail: `${node.id}: result for unknown proposal ${result.id}`,
      });
    }
    record.result = result.kind === 'chosen' ? `chosen@${result.index}` : result.kind;
    if (result.kind === 'chosen' && this.chosen.get(result.index) !== record.valueKey) {
      throw new ViolationFound({
        kind: 'proposalResult',
        detail: `${node.id}: proposal ${result.id} reported chosen at ${result.index}, but that index holds ${this.chosen.get(result.index) ?? 'nothing learned'}`,
      });
    }
  }

  private node(id: NodeId): NodeState {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`unknown node ${id}`);
    return node;
  }

  private addWire(wire: Wire): void {
    let at = this.network.length;
    while (at > 0 && (this.network[at - 1]?.key ?? '') > wire.key) at -= 1;
    this.network.splice(at, 0, wire);
  }

  private removeWire(wire: Wire): void {
    const at = this.network.findIndex((w) => w.key === wire.key);
    if (at < 0) throw new Error('removeWire: not in flight');
    this.network.splice(at, 1);
  }

  /** Counts for reports and tests. */
  summary(): {
    readonly inFlight: number;
    readonly learned: number;
    readonly commitIndices: readonly number[];
  } {
    return {
      inFlight: this.network.length,
      learned: this.chosen.size,
      commitIndices: this.nodes.map((n) => n.replica.inspect().commitIndex),
    };
  }
}

function isEmptyReady(ready: Ready): boolean {
  return (
    ready.persist === undefined &&
    ready.messages.length === 0 &&
    ready.committed.length === 0 &&
    ready.proposalResults.length === 0 &&
    ready.snapshotsToSend.length === 0
  );
}

/** The injected bug: the promise is lost, accepted entries are kept (the promise stays >= their ballots). */
function forgetPromise(state: PersistedState): PersistedState {
  let promised: Ballot = zeroBallot;
  for (const e of state.entries) {
    if (e.index > state.commitIndex && compareBallots(e.ballot, promised) > 0) promised = e.ballot;
  }
  return { ...state, promisedBallot: promised };
}

/** What a message claims about its sender must already be durable when it leaves. */
function checkDurableBeforeSend(node: NodeState, message: PaxosMessage, nodes: readonly NodeState[]): void {
  const durable = node.durable;
  const fail = (what: string): never => {
    throw new ViolationFound({
      kind: 'persistBeforeSend',
      detail: `${node.id} sent ${message.kind} before ${what} was durable`,
    });
  };
  const hasEntry = (index: number, b: Ballot): boolean =>
    durable.entries.some((e) => e.index === index && ballotsEqual(e.ballot, b));
  // A commit index claims a fact about the cell, not the sender's disk (the sender may act
  // on a commit-index-only Ready before it is durable): each index up to it must be durably
  // chosen, i.e. durably committed somewhere or durably accepted by a majority.
  const checkChosenThrough = (commitIndex: number): void => {
    for (let index = durable.snapshot.index + 1; index <= commitIndex; index += 1) {
      if (!durablyChosen(index, nodes)) fail(`a majority's accept of ${index}`);
    }
  };
  switch (message.kind) {
    case 'promise':
      if (compareBallots(durable.promisedBallot, message.ballot) < 0) fail('its promise');
      // Its commit index is a hint the replica writes lazily (see `saveCommitIndex`): like a
      // commit's, it claims a fact about the cell, checked below for the other learners.
      checkChosenThrough(message.commitIndex);
      break;
    case 'accepted':
      if (!hasEntry(message.index, message.ballot)) fail(`its accept of ${message.index}`);
      break;
    case 'accept':
      if (!hasEntry(message.entry.index, message.entry.ballot))
        fail(`its own accept of ${message.entry.index}`);
      if (compareBallots(durable.promisedBallot, message.entry.ballot) < 0) fail('its ballot');
      break;
    case 'prepare':
      if (compareBallots(durable.promisedBallot, message.ballot) < 0) fail('its ballot');
      break;
    case 'commit':
    case 'catchupReply':
      checkChosenThrough(message.commitIndex);
      break;
    case 'nack':
    case 'catchupRequest':
      break;
  }
}

/**
 * Some node durably committed `index`, or every later leader would re-propose one value
 * there: every majority durably holds an entry at `index`, and the highest-ballot entry
 * each majority holds carries that same value (phase 1's rule, paper §2.2). A majority
 * that accepted at one ballot is the usual case; a value re-accepted at a later ballot by
 * some of them (a new leader re-proposing it) still counts.
 */
function durablyChosen(index: number, nodes: readonly NodeState[]): boolean {
  const held: (LogEntry | undefined)[] = [];
  for (const node of nodes) {
    if (node.durable.commitIndex >= index) return true;
    held.push(node.durable.entries.find((e) => e.index === index));
  }
  let agreed: EntryValue | undefined;
  for (const majority of majorities(nodes.length)) {
    let highest: LogEntry | undefined;
    for (const k of majority) {
      const entry = held[k];
      if (entry !== undefined && (highest === undefined || compareBallots(entry.ballot, highest.ballot) > 0))
        highest = entry;
    }
    if (highest === undefined) return false;
    if (agreed === undefined) agreed = highest.value;
    else if (!entryValuesEqual(agreed, highest.value)) return false;
  }
  return true;
}

const majoritiesByCount = new Map<number, number[][]>();

/** Every subset of 0..count-1 with just over half the members, as index lists (memoized). */
function majorities(count: number): readonly (readonly number[])[] {
  const known = majoritiesByCount.get(count);
  if (known !== undefined) return known;
  const size = Math.floor(count / 2) + 1;
  const subsets: number[][] = [];
  const grow = (from: number, chosen: number[]): void => {
    if (chosen.length === size) {
      subsets.push([...chosen]);
      return;
    }
    for (let k = from; k < count; k += 1) grow(k + 1, [...chosen, k]);
  };
  grow(0, []);
  majoritiesByCount.set(count, subsets);
  return subsets;
}

/** Human-readable text of an action, for counterexample traces. */
export function describeAction(action: Action, config: WorldConfig): string {
  switch (action.kind) {
    case 'propose': {
      const p = config.proposals[action.proposal];
      return `propose ${JSON.stringify(p?.payload)} at ${p?.node ?? '?'}`;
    }
    case 'deliver':
    case 'drop':
    case 'duplicate':
      return `${action.kind} ${action.wire.from}->${action.wire.to} ${describeMessage(action.wire.message)}`;
    case 'flush':
      return `flush ${action.node} (persist its oldest Ready, then release its messages)`;
    case 'tick':
      return `tick ${action.node}`;
    case 'crash':
      return `crash and restart ${action.node} from its durable state`;
  }
}

function describeBallot(b: Ballot): string {
  return `(${b.round},${b.nodeId})`;
}

function describeEntry(e: LogEntry): string {
  const value =
    e.value.kind === 'payload' ? JSON.stringify(new TextDecoder().decode(e.value.payload)) : e.value.kind;
  return `#${e.index}@${describeBallot(e.ballot)}=${value}`;
}

export function describeMessage(m: PaxosMessage): string {
  switch (m.kind) {
    case 'prepare':
      return `prepare ${describeBallot(m.ballot)} from #${m.fromIndex}`;
    case 'promise':
      return `promise ${describeBallot(m.ballot)} commit=${m.commitIndex} [${m.entries.map(describeEntry).join(' ')}]`;
    case 'nack':
      return `nack ${describeBallot(m.ballot)} promised=${describeBallot(m.promisedBallot)}`;
    case 'accept':
      return `accept ${describeEntry(m.entry)} commit=${m.commitIndex}`;
    case 'accepted':
      return `accepted #${m.index}@${describeBallot(m.ballot)}`;
    case 'commit':
      return `commit ${describeBallot(m.ballot)} commit=${m.commitIndex}`;
    case 'catchupRequest':
      return `catchupRequest from #${m.fromIndex}`;
    case 'catchupReply':
      return `catchupReply commit=${m.commitIndex} [${m.entries.map(describeEntry).join(' ')}]`;
  }
}
