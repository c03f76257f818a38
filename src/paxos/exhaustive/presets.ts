// Ready-made world configurations for the explorer's tests and CLI: replica timings short
// enough that timeouts happen within a few ticks, client proposals, and the injected bugs.
import type { ReplicaOptions } from '../ready.ts';
import type { NodeId } from '../types.ts';
import { nodeId } from '../types.ts';
import type { ClientProposal, FlushMode, WorldConfig } from './world.ts';

/** Every timeout of the replica within 1 to 4 ticks, so a small tick budget reaches them. */
export const explorationTuning: Partial<ReplicaOptions> = {
  retransmitTicks: 1,
  leaderTimeoutTicks: 2,
  electionTimeoutTicks: 4,
  backoffBaseTicks: 1,
  backoffMaxTicks: 2,
};

/** A deliberate bug the explorer must catch (see `WorldConfig`). */
export type InjectedBug = 'none' | 'forgetPromise' | 'sendBeforePersist' | 'ownVoteBeforePersist';

export interface PresetOptions {
  readonly nodeCount: number;
  /** Client proposals "p1", "p2", ...; at most `nodeCount`. */
  readonly proposalCount: number;
  /** Proposal k goes to node k (competing proposers); otherwise all go to n1. */
  readonly competing: boolean;
  /** How Readys are carried out; `sendBeforePersist` is forced by that bug. */
  readonly flushMode: Exclude<FlushMode, 'sendBeforePersist'>;
  readonly bug: InjectedBug;
  readonly checkPersistBeforeSend: boolean;
  /** Leaders send accepts to a quorum first (the `thriftyAccepts` replica option). */
  readonly thrifty: boolean;
  readonly seed: number;
}

export const defaultPresetOptions: PresetOptions = {
  nodeCount: 3,
  proposalCount: 2,
  competing: true,
  flushMode: 'eager',
  bug: 'none',
  checkPersistBeforeSend: true,
  thrifty: false,
  seed: 1,
};

/** The node that forgets its promise under the `forgetPromise` bug: the last one. */
export function forgetfulNode(nodeCount: number): NodeId {
  return nodeId(`n${nodeCount}`);
}

export function presetConfig(overrides: Partial<PresetOptions> = {}): WorldConfig {
  const o: PresetOptions = { ...defaultPresetOptions, ...overrides };
  if (o.proposalCount < 0 || o.proposalCount > o.nodeCount)
    throw new Error('presetConfig: bad proposal count');
  const proposals: ClientProposal[] = Array.from({ length: o.proposalCount }, (_, k) => ({
    node: nodeId(`n${o.competing ? k + 1 : 1}`),
    payload: `p${k + 1}`,
  }));
  return {
    nodeCount: o.nodeCount,
    proposals,
    flushMode: o.bug === 'sendBeforePersist' ? 'sendBeforePersist' : o.flushMode,
    forgetPromiseOnCrash: o.bug === 'forgetPromise' ? [forgetfulNode(o.nodeCount)] : [],
    countOwnVoteBeforePersist: o.bug === 'ownVoteBeforePersist',
    checkPersistBeforeSend: o.checkPersistBeforeSend,
    tuning: { ...explorationTuning, thriftyAccepts: o.thrifty },
    seed: o.seed,
  };
}
