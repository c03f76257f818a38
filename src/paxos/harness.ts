// A small deterministic driver for tests of the Paxos core: a bag of in-flight messages
// (through the binary codec), a seeded schedule, loss, duplication, reordering, crashes
// that reset a replica to its persisted state, and agreement checks on every commit.
import { SeededRandom } from '../env/seeded-random.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import type {
  PersistDelta,
  PersistedState,
  ProposalResult,
  ProposeConfigResult,
  ProposeResult,
  Ready,
  ReplicaOptions,
} from './ready.ts';
import { applyPersistDelta, defaultReplicaOptions, initialPersistedState } from './ready.ts';
import { Replica } from './replica.ts';
import type { EntryValue, LogIndex, NodeId, ProposalId } from './types.ts';
import { entryValuesEqual, nodeId } from './types.ts';

/**
 * What a shell that persists every Ready at once sees: takes the Ready, counts the leader's
 * own votes (`ownAcceptDurable`) and merges the Readies that produces into one, early
 * messages first. For unit tests that do not look at the persist/send interleaving.
 */
export function takeReadyDurably(replica: Replica): Ready {
  let ready = replica.takeReady();
  const merged = {
    persist: ready.persist,
    messages: [...ready.earlyMessages, ...ready.messages],
    committed: [...ready.committed],
    proposalResults: [...ready.proposalResults],
    snapshotsToSend: [...ready.snapshotsToSend],
  };
  while (ready.ownAccepts.length > 0) {
    for (const own of ready.ownAccepts) replica.ownAcceptDurable(own);
    ready = replica.takeReady();
    merged.persist = mergeDeltas(merged.persist, ready.persist);
    merged.messages.push(...ready.earlyMessages, ...ready.messages);
    merged.committed.push(...ready.committed);
    merged.proposalResults.push(...ready.proposalResults);
    merged.snapshotsToSend.push(...ready.snapshotsToSend);
  }
  return { ...merged, earlyMessages: [], ownAccepts: [], wantsTick: ready.wantsTick };
}

function mergeDeltas(a: PersistDelta | undefined, b: PersistDelta | undefined): PersistDelta | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return {
    ...a,
    ...b,
    entries: [...a.entries.filter((e) => !b.entries.some((f) => f.index === e.index)), ...b.entries],
  };
}

interface Wire {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly bytes: Uint8Array;
}

export interface ProposalRecord {
  readonly node: NodeId;
  readonly id: ProposalId;
  readonly payload: Uint8Array;
  /** What the proposal puts in the log (a payload unless it is a config change). */
  readonly value?: EntryValue;
  result: ProposalResult | 'pending' | 'lostInCrash';
}

export class AgreementViolation extends Error {}

export class Cluster {
  readonly nodes: NodeId[];
  readonly random: SeededRandom;
  private readonly replicas = new Map<NodeId, Replica | undefined>();
  private readonly durable = new Map<NodeId, PersistedState>();
  private readonly optionsOf = new Map<NodeId, ReplicaOptions>();
  /** Per node, the next index its (volatile) state machine expects. */
  private readonly nextApply = new Map<NodeId, number>();
  readonly inFlight: Wire[] = [];
  /** Every value any replica has applied, by index: one value per index, ever. */
  readonly chosen = new Map<number, EntryValue>();
  readonly proposals: ProposalRecord[] = [];
  /** Nodes cut off from everyone: messages from or to them are lost on delivery. */
  readonly isolated = new Set<NodeId>();
  messagesSent = 0;

  /** `size` replicas n1..n<size>; the cell's initial members are the first `membersInitially`. */
  constructor(size: number, seed: number, tune: Partial<ReplicaOptions> = {}, membersInitially = size) {
    this.random = new SeededRandom(seed);
    this.nodes = Array.from({ length: size }, (_, i) => nodeId(`n${i + 1}`));
    const initial = this.nodes.slice(0, membersInitially);
    for (const node of this.nodes) {
      this.optionsOf.set(node, { ...defaultReplicaOptions(node, this.random.fork(node)), ...tune });
      this.durable.set(node, initialPersistedState(initial));
      this.restart(node);
    }
  }

  replica(node: NodeId): Replica {
    const replica = this.replicas.get(node);
    if (replica === undefined) throw new Error(`${node} is down`);
    return replica;
  }

  isUp(node: NodeId): boolean {
    return this.replicas.get(node) !== undefined;
  }

  crash(node: NodeId): void {
    this.replicas.set(node, undefined);
    for (const p of this.proposals) if (p.node === node && p.result === 'pending') p.result = 'lostInCrash';
  }

  restart(node: NodeId): void {
    const options = this.optionsOf.get(node);
    const state = this.durable.get(node);
    if (options === undefined || state === undefined) throw new Error('unknown node');
    this.replicas.set(node, new Replica(options, state, state.snapshot.index));
    this.nextApply.set(node, state.snapshot.index + 1);
    this.drain(node);
  }

  propose(node: NodeId, payload: Uint8Array): ProposeResult {
    const result = this.replica(node).propose(payload);
    if (result.kind === 'accepted') this.proposals.push({ node, id: result.id, payload, result: 'pending' });
    this.drain(node);
    return result;
  }

  proposeConfig(node: NodeId, members: readonly NodeId[]): ProposeConfigResult {
    const result = this.replica(node).proposeConfig(members);
    if (result.kind === 'accepted') {
      const value: EntryValue = { kind: 'config', members: [...members].sort() };
      this.proposals.push({ node, id: result.id, payload: new Uint8Array(0), value, result: 'pending' });
    }
    this.drain(node);
    return result;
  }

  tick(node: NodeId): void {
    this.replica(node).tick();
    this.drain(node);
  }

  /** Delivers (and removes) the message at `position`; to a down node it is lost. */
  deliver(position: number): void {
    const [wire] = this.inFlight.splice(position, 1);
    if (wire === undefined) return;
    const target = this.replicas.get(wire.to);
    if (target === undefined || this.isolated.has(wire.from) || this.isolated.has(wire.to)) return;
    const decoded = decodeMessage(wire.bytes);
    if (decoded.kind !== 'ok') throw new Error(`codec failed on own message: ${decoded.detail}`);
    target.step(wire.from, decoded.message);
    this.drain(wire.to);
  }

  /** The kind of the message at `position` (for targeted faults). */
  kindAt(position: number): string | undefined {
    const wire = this.inFlight[position];
    if (wire === undefined) return undefined;
    const decoded = decodeMessage(wire.bytes);
    return decoded.kind === 'ok' ? decoded.message.kind : undefined;
  }

  drop(position: number): void {
    this.inFlight.splice(position, 1);
  }

  duplicate(position: number): void {
    const wire = this.inFlight[position];
    if (wire !== undefined) this.inFlight.push(wire);
  }

  /** Carries out a replica's Ready: persist, then send, then apply (checking agreement). */
  drain(node: NodeId): void {
    const replica = this.replicas.get(node);
    if (replica === undefined) return;
    const ready = replica.takeReady();
    const state = this.durable.get(node);
    if (ready.persist !== undefined && state !== undefined)
      this.durable.set(node, applyPersistDelta(state, ready.persist));
    for (const out of [...ready.earlyMessages, ...ready.messages]) {
      this.inFlight.push({ from: node, to: out.to, bytes: encodeMessage(out.message) });
      this.messagesSent += 1;
    }
    for (const entry of ready.committed) {
      const expected = this.nextApply.get(node);
      if (entry.index !== expected)
        throw new AgreementViolation(`${node} applied ${entry.index}, expected ${expected}`);
      this.nextApply.set(node, entry.index + 1);
      const known = this.chosen.get(entry.index);
      if (known === undefined) this.chosen.set(entry.index, entry.value);
      else if (!entryValuesEqual(known, entry.value)) {
        throw new AgreementViolation(`two values chosen at index ${entry.index} (seen on ${node})`);
      }
    }
    for (const result of ready.proposalResults) this.recordResult(node, result);
    // The leader's own votes count once its entries are durable: here, at once.
    for (const own of ready.ownAccepts) replica.ownAcceptDurable(own);
    if (ready.ownAccepts.length > 0) this.drain(node);
  }

  private recordResult(node: NodeId, result: ProposalResult): void {
    const record = this.proposals.find(
      (p) => p.node === node && p.id === result.id && p.result === 'pending',
    );
    if (record === undefined) throw new Error(`${node}: result for unknown or settled proposal ${result.id}`);
    record.result = result;
    if (result.kind === 'chosen') {
      const value = this.chosen.get(result.index);
      const proposed: EntryValue = record.value ?? { kind: 'payload', payload: record.payload };
      const ok = value !== undefined && entryValuesEqual(value, proposed);
      if (!ok)
        throw new AgreementViolation(
          `proposal ${node}/${result.id} reported chosen at ${result.index} but is not`,
        );
    }
  }

  upNodes(): NodeId[] {
    return this.nodes.filter((n) => this.isUp(n));
  }

  /** Delivers every message in a seeded random order and ticks every up node once. */
  settleRound(): void {
    while (this.inFlight.length > 0) this.deliver(this.random.intBelow(this.inFlight.length));
    for (const node of this.upNodes()) this.tick(node);
  }

  quiet(): boolean {
    return this.inFlight.length === 0 && this.upNodes().every((n) => !this.replica(n).wantsTick());
  }

  /**
   * A client that follows leader hints and retries until `payload` is chosen; returns the
   * index, or undefined if `roundsMax` rounds of fault-free delivery were not enough.
   */
  submitUntilChosen(payload: Uint8Array, roundsMax: number): LogIndex | undefined {
    return this.clientLoop(roundsMax, (node) => this.propose(node, payload));
  }

  /** Like submitUntilChosen for a membership change (retried while another is pending). */
  reconfigureUntilChosen(members: readonly NodeId[], roundsMax: number): LogIndex | undefined {
    return this.clientLoop(roundsMax, (node) => {
      const result = this.proposeConfig(node, members);
      if (result.kind === 'configChangeInProgress' || result.kind === 'invalidConfig') {
        return { kind: 'overloaded', retryAfterTicks: 1 };
      }
      return result;
    });
  }

  /** A client: follows hints, tries other nodes when hints fail, retries until chosen. */
  private clientLoop(roundsMax: number, attempt: (node: NodeId) => ProposeResult): LogIndex | undefined {
    let turn = 0;
    let target = this.upNodes()[0];
    let current: ProposalRecord | undefined;
    for (let round = 0; round < roundsMax; round += 1) {
      if (current !== undefined && current.result !== 'pending' && current.result !== 'lostInCrash') {
        if (current.result.kind === 'chosen') return current.result.index;
        current = undefined;
      }
      if (target === undefined || !this.isUp(target)) target = this.upNodes()[round % this.upNodes().length];
      if (current === undefined && target !== undefined) {
        const result = attempt(target);
        if (result.kind === 'accepted') current = this.proposals[this.proposals.length - 1];
        else if (result.kind === 'notLeader') {
          const hint = result.leaderHint;
          const up = this.upNodes();
          turn += 1;
          target = hint !== undefined && this.isUp(hint) && turn % 3 !== 0 ? hint : up[turn % up.length];
        }
      }
      this.settleRound();
    }
    return undefined;
  }

  /** The up replica that currently leads, if any. */
  leaderNode(): NodeId | undefined {
    return this.upNodes().find((n) => this.replica(n).isLeader);
  }
}

export function payloadOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
