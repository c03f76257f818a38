// TEST-ONLY: the control plane's half of reconfiguration over a simulated CellCluster
// (paper §2.4, Figure 7). `reconfigureCell` makes one single-node change: it boots the
// incoming node as an empty learner, proposes the change through the leader (retrying
// definite refusals), fills up to alpha no-ops so it takes effect on an idle cell, and
// waits until the incoming node has caught up. `moveCell` moves a whole cell as a sequence
// of such replacements, one at a time: safety over speed. Both work on any
// `ReconfigurableCell`: CellCluster (sim-cell-host.ts) and the cell swarm's run.
import type { NodeId } from '../../paxos/index.ts';
import type { World } from '../../simworld/index.ts';
import type { CellReplica } from '../replica.ts';
import type { CellOptions } from '../types.ts';
import { nextMembers } from '../reconfig.ts';
import type { CellAdminRequest, CellAdminResponse, MembershipChange } from '../reconfig.ts';

/**
 * What the control plane's helpers need of a simulated cell: a god's view of the live
 * replicas (to judge leadership, effect and catch-up), a way to send admin requests, and
 * the hands to start learners and retire members.
 */
export interface ReconfigurableCell {
  readonly world: World;
  /** The membership as the control plane was told by successful changes (member ids). */
  readonly members: readonly NodeId[];
  readonly options: Partial<CellOptions>;
  /** The host whose replica believes it leads, if exactly one does. */
  leader(): string | undefined;
  /** The live replica on a host (or on a member's host). */
  cell(hostOrMember: string): CellReplica | undefined;
  /** Sends an admin request to the replica on `host` (may never answer: callers time out). */
  admin(host: string, request: CellAdminRequest): Promise<CellAdminResponse>;
  noteMembers(members: readonly NodeId[]): void;
  /** Starts `member` as an empty learner told `knownMembers` (which must not include it). */
  startLearner(member: NodeId, knownMembers: readonly NodeId[]): void;
  /** Stops and wipes a removed member's replica (once its removal is in effect). */
  retireMember(member: NodeId): Promise<void>;
}

export interface ReconfigureOptions {
  /** Give up after this much simulated time. */
  readonly deadlineMs?: number;
  /** The incoming node has caught up when its applied index is within this of the leader's. */
  readonly caughtUpEntries?: number;
  /** Pause between attempts and polls. */
  readonly pollMs?: number;
  /** Stop and wipe the removed member once the change is in effect (default true). */
  readonly retire?: boolean;
}

export type ReconfigureOutcome =
  | {
      readonly kind: 'done';
      readonly members: readonly NodeId[];
      /** Where the change was chosen, when this helper saw the answer (undefined after an unknown outcome). */
      readonly chosenIndex: number | undefined;
      /** Simulated ms from the start until the change was in effect and the new node caught up. */
      readonly elapsedMs: number;
    }
  | { readonly kind: 'failed'; readonly reason: string };

/** An admin request with no answer after this long counts as an unknown outcome. */
const ATTEMPT_TIMEOUT_MS = 1_000;

/** Sleeps `ms` of simulated time. */
function sleep(cluster: ReconfigurableCell, ms: number): Promise<void> {
  return new Promise((resolve) =>
    cluster.world.after(ms, () => {
      cluster.world.scheduler.notePromiseSettled();
      resolve();
    }),
  );
}

/** One admin request to whoever leads (or a member), following not-leader hints. */
async function askLeader(
  cluster: ReconfigurableCell,
  request: Parameters<ReconfigurableCell['admin']>[1],
  hint: { target: string | undefined },
): Promise<CellAdminResponse> {
  const members = cluster.members;
  const target =
    hint.target ?? cluster.leader() ?? members[cluster.world.random.intBelow(members.length)] ?? members[0]!;
  // A crashed host never answers: give up on an attempt after ATTEMPT_TIMEOUT_MS (unknown outcome).
  let timer: { cancelled: boolean } | undefined;
  const timeout = new Promise<CellAdminResponse>((resolve) => {
    timer = cluster.world.scheduler.after(ATTEMPT_TIMEOUT_MS, () => {
      cluster.world.scheduler.notePromiseSettled();
      resolve({ kind: 'outcome-unknown' });
    });
  });
  const response = await Promise.race([cluster.admin(target, request), timeout]);
  if (timer !== undefined) timer.cancelled = true;
  // Follow a hint once; anything else: ask the leader (or a random member) next time.
  hint.target =
    response.kind === 'not-leader' && response.leaderHint !== target ? response.leaderHint : undefined;
  return response;
}

/** The membership as the leader's replica knows it (undefined without a leader). */
function leaderMembers(cluster: ReconfigurableCell): readonly NodeId[] | undefined {
  const leader = cluster.leader();
  return leader === undefined ? undefined : cluster.cell(leader)?.membership().members;
}

/**
 * True when `target` is in effect: a majority of its members' live replicas have applied
 * past the change (their next index is governed by `target`). Does not rely on exactly one
 * replica believing it leads (a partitioned old leader may still believe so for a while).
 */
function inEffect(cluster: ReconfigurableCell, target: readonly NodeId[]): boolean {
  let count = 0;
  for (const member of target)
    if (
      sameMembers(cluster.cell(member)?.membership().members, target) &&
      cluster.cell(member)?.describe().self === member
    )
      count += 1;
  return count >= Math.floor(target.length / 2) + 1;
}

/** The highest applied index among live replicas of `members`. */
function highestApplied(cluster: ReconfigurableCell, members: readonly NodeId[]): number {
  return Math.max(0, ...members.map((m) => cluster.cell(m)?.describe().appliedIndex ?? 0));
}

function sameMembers(a: readonly NodeId[] | undefined, b: readonly NodeId[]): boolean {
  return a !== undefined && a.length === b.length && a.every((m, i) => m === b[i]);
}

/**
 * Proposes `change` until it is chosen; returns the chosen index (or undefined if only
 * seen in effect after an unknown outcome), or a reason it failed.
 */
async function proposeChange(
  cluster: ReconfigurableCell,
  change: MembershipChange,
  target: readonly NodeId[],
  deadline: number,
  pollMs: number,
): Promise<{ kind: 'chosen'; index: number | undefined } | { kind: 'failed'; reason: string }> {
  const hint: { target: string | undefined } = { target: undefined };
  /** An earlier attempt may have been chosen (no answer, or outcome-unknown). */
  let uncertain = false;
  let refusal = '';
  while (cluster.world.nowMs < deadline) {
    const response = await askLeader(cluster, { kind: 'reconfigure', change }, hint);
    switch (response.kind) {
      case 'reconfigured':
        return { kind: 'chosen', index: response.chosenIndex };
      case 'invalid-change':
        // After an unknown outcome the change may already be in: then it is done. The
        // leader refuses it as soon as it is chosen, maybe before a unique leader shows it
        // or it is in effect: keep pushing no-ops until either shows, or the deadline.
        if (sameMembers(leaderMembers(cluster), target) || inEffect(cluster, target))
          return { kind: 'chosen', index: undefined };
        if (!uncertain) return { kind: 'failed', reason: response.reason };
        refusal = `: ${response.reason}`;
        await askLeader(cluster, { kind: 'noop' }, hint);
        break;
      case 'config-change-in-progress':
        await askLeader(cluster, { kind: 'noop' }, hint);
        break;
      case 'outcome-unknown':
        uncertain = true;
        break;
      case 'not-leader':
      case 'overloaded':
      case 'unavailable':
      case 'noop-chosen':
        break;
    }
    // Always wait a little: two replicas may point at each other while leadership moves.
    await sleep(cluster, response.kind === 'not-leader' ? 1 : pollMs);
  }
  return { kind: 'failed', reason: `change not chosen within the deadline${refusal}` };
}

/** Sends no-ops until the leader's membership is `target` (at most alpha are needed on an idle cell). */
async function awaitEffect(
  cluster: ReconfigurableCell,
  target: readonly NodeId[],
  deadline: number,
  pollMs: number,
): Promise<boolean> {
  const hint: { target: string | undefined } = { target: undefined };
  while (cluster.world.nowMs < deadline) {
    if (sameMembers(leaderMembers(cluster), target) || inEffect(cluster, target)) return true;
    const response = await askLeader(cluster, { kind: 'noop' }, hint);
    if (response.kind !== 'noop-chosen') await sleep(cluster, pollMs);
  }
  return false;
}

/** True when `member`'s replica votes and is within `bound` applied entries of the most advanced member. */
function caughtUp(cluster: ReconfigurableCell, member: NodeId, bound: number): boolean {
  const cell = cluster.cell(member);
  if (cell === undefined || !cell.membership().isMember) return false;
  return cell.describe().appliedIndex + bound >= highestApplied(cluster, cluster.members);
}

/** Polls of an incoming node without progress after which the control plane sends a no-op. */
const NUDGE_AFTER_STALLED_POLLS = 10;

/**
 * Waits until `incoming` has caught up (true) or the deadline passed (false). Teaching is
 * pulled by the learner when it hears of a higher commit index, so on an idle cell (possibly
 * leaderless: the leader may have removed itself) nothing would reach it: when its applied
 * index has not moved for a while, a no-op through the leader wakes the cell.
 */
async function awaitCatchUp(
  cluster: ReconfigurableCell,
  incoming: NodeId,
  bound: number,
  deadline: number,
  pollMs: number,
): Promise<boolean> {
  const hint: { target: string | undefined } = { target: undefined };
  let lastApplied = -1;
  let stalledPolls = 0;
  while (!caughtUp(cluster, incoming, bound)) {
    if (cluster.world.nowMs >= deadline) return false;
    const applied = cluster.cell(incoming)?.describe().appliedIndex ?? -1;
    stalledPolls = applied === lastApplied ? stalledPolls + 1 : 0;
    lastApplied = applied;
    if (stalledPolls >= NUDGE_AFTER_STALLED_POLLS) {
      stalledPolls = 0;
      await askLeader(cluster, { kind: 'noop' }, hint);
    }
    await sleep(cluster, pollMs);
  }
  return true;
}

/**
 * One single-node change (paper §2.4). An incoming node is started first as an empty
 * learner told the current membership; the call returns once the change is in effect and
 * the incoming node (if any) has caught up.
 */
export async function reconfigureCell(
  cluster: ReconfigurableCell,
  change: MembershipChange,
  options: ReconfigureOptions = {},
): Promise<ReconfigureOutcome> {
  const started = cluster.world.nowMs;
  const deadline = started + (options.deadlineMs ?? 30_000);
  const pollMs = options.pollMs ?? 20;
  const next = nextMembers(cluster.members, change);
  if (next.kind === 'invalid-change') return { kind: 'failed', reason: next.reason };
  const incoming = change.kind === 'add' ? change.node : change.kind === 'replace' ? change.add : undefined;
  if (incoming !== undefined) cluster.startLearner(incoming, cluster.members);
  const proposed = await proposeChange(cluster, change, next.members, deadline, pollMs);
  if (proposed.kind === 'failed') return proposed;
  cluster.noteMembers(next.members);
  if (!(await awaitEffect(cluster, next.members, deadline, pollMs)))
    return { kind: 'failed', reason: 'change chosen but not in effect within the deadline' };
  const bound = options.caughtUpEntries ?? 2 * (cluster.options.alpha ?? 3);
  if (incoming !== undefined && !(await awaitCatchUp(cluster, incoming, bound, deadline, pollMs)))
    return { kind: 'failed', reason: `${incoming} did not catch up` };
  const leaving =
    change.kind === 'remove' ? change.node : change.kind === 'replace' ? change.remove : undefined;
  if (leaving !== undefined && options.retire !== false) await cluster.retireMember(leaving);
  return {
    kind: 'done',
    members: next.members,
    chosenIndex: proposed.index,
    elapsedMs: cluster.world.nowMs - started,
  };
}

/**
 * Moves a cell onto `targets` (paper Figure 7): replaces one member not in `targets` by
 * one target not yet a member, waits for that node to catch up, and repeats. Stops at the
 * first failure. Returns the outcome of each step.
 */
export async function moveCell(
  cluster: ReconfigurableCell,
  targets: readonly NodeId[],
  options: ReconfigureOptions = {},
  keepMoving: () => boolean = () => true,
): Promise<ReconfigureOutcome[]> {
  const steps: ReconfigureOutcome[] = [];
  for (;;) {
    const leaving = cluster.members.find((m) => !targets.includes(m));
    const arriving = targets.find((t) => !cluster.members.includes(t));
    if (leaving === undefined || arriving === undefined) return steps;
    // Stopped between steps, the cell is whole: every step is a complete replacement.
    if (steps.length > 0 && !keepMoving()) return steps;
    const outcome = await reconfigureCell(
      cluster,
      { kind: 'replace', remove: leaving, add: arriving },
      options,
    );
    steps.push(outcome);
    if (outcome.kind === 'failed') return steps;
  }
}

/**
 * Proposes one explicit no-op through the leader, retrying refusals (paper §2.4: what makes
 * a change take effect on an idle cell). Returns the index it was chosen at, or undefined
 * when the deadline passed first (an unknown outcome may still have been chosen).
 */
export async function proposeNoop(
  cluster: ReconfigurableCell,
  options: ReconfigureOptions = {},
): Promise<number | undefined> {
  const deadline = cluster.world.nowMs + (options.deadlineMs ?? 30_000);
  const hint: { target: string | undefined } = { target: undefined };
  while (cluster.world.nowMs < deadline) {
    const response = await askLeader(cluster, { kind: 'noop' }, hint);
    if (response.kind === 'noop-chosen') return response.index;
    await sleep(cluster, response.kind === 'not-leader' ? 1 : (options.pollMs ?? 20));
  }
  return undefined;
}
