// The control plane's half of reconfiguration (paper §2.4, Figure 7), run by a node over its
// own routing: one single-node change creates the new member's replica on its node first (a
// fresh incarnation `host#k`, an empty learner told the current membership), has the leader
// choose the change, makes it take effect (no-ops on an idle cell), waits until the new member
// caught up, and retires the removed member (its node deletes its replica and leaves a
// forwarding pointer). A move is a sequence of such changes, one at a time: safety over speed.
import { hostOfMember, nextMembers } from '../cell/index.ts';
import type { NodeId } from '../paxos/index.ts';
import type { CellAdminRequest, CellId, MembershipChange } from './cell-contract.ts';
import type {
  AdminCellResponse,
  DescribeCellResult,
  MembershipStep,
  MoveResult,
  ReconfigureFailure,
  ReconfigureResult,
} from './service.ts';
import type { AdminOutcome, CellSummary, DescribeAnswer } from './wire.ts';
import { membersMax } from './wire.ts';

/** What the orchestration needs of its node: routing, admin messages to nodes, time. */
export interface ReconfigurePorts {
  /** Monotonic milliseconds. */
  nowMs(): number;
  /** True once the node is closing: every loop gives up. */
  stopped(): boolean;
  sleep(ms: number): Promise<void>;
  /** Finds the cell (locally, by its location, or by asking peers) and describes it. */
  describe(cellId: CellId): Promise<DescribeCellResult>;
  /** Describes the replica on one node; undefined when it does not answer in time. */
  describeAt(host: NodeId, cellId: CellId): Promise<DescribeAnswer | undefined>;
  /** An admin request routed to the cell's leader. */
  admin(cellId: CellId, request: CellAdminRequest): Promise<AdminCellResponse>;
  /** Creates an empty learner on `host`, told `members`; `learning` names its member id. */
  learnAt(
    host: NodeId,
    cellId: CellId,
    members: readonly NodeId[],
    deadlineMs: number,
  ): Promise<AdminOutcome | undefined>;
  /** Asks `host` to delete the replica running as `member`, leaving a pointer to `movedTo`. */
  retireAt(
    host: NodeId,
    cellId: CellId,
    member: NodeId,
    movedTo: readonly NodeId[],
    deadlineMs: number,
  ): Promise<AdminOutcome | undefined>;
  /** Whether `host` is a node of the colony. */
  isNode(host: NodeId): boolean;
}

export interface ReconfigureTiming {
  readonly pollMs: number;
  readonly caughtUpEntries: number;
  readonly changeInProgressWaitMs: number;
  /** How long a retire of the removed member is attempted (it may be down: best effort). */
  readonly retireTimeoutMs: number;
}

/** A cell's membership as a replica (the leader, when one answered) sees it. */
interface View {
  readonly kind: 'view';
  readonly summary: CellSummary;
}

/** A change named by nodes, resolved against the current members. */
interface Plan {
  readonly addHost: NodeId | undefined;
  readonly removeMember: NodeId | undefined;
}

type Proposed =
  | { readonly kind: 'chosen'; readonly index: number | undefined }
  | Exclude<ReconfigureFailure, { kind: 'not-found' } | { kind: 'moved' }>
  | { readonly kind: 'not-found'; readonly cellId: CellId }
  | { readonly kind: 'moved'; readonly cellId: CellId; readonly members: readonly NodeId[] };

/** Most steps one move may take (each step adds, removes or replaces one member). */
const moveStepsMax = 2 * membersMax + 2;

export function sameMembers(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((member, index) => member === sorted[index]);
}

/** The cell as its leader sees it (following one leader hint), or where it is not. */
async function leaderView(
  ports: ReconfigurePorts,
  cellId: CellId,
): Promise<View | Extract<ReconfigureFailure, { kind: 'not-found' | 'moved' | 'unavailable' }>> {
  const found = await ports.describe(cellId);
  switch (found.kind) {
    case 'not-found':
    case 'moved':
      return found;
    case 'unavailable':
      return { kind: 'unavailable', reason: `no member of the cell answered: ${found.reason}` };
    case 'described':
      break;
  }
  const hint = found.summary.leaderHint;
  if (found.summary.isLeader || hint === undefined || hostOfMember(hint) === found.answeredBy)
    return { kind: 'view', summary: found.summary };
  const atLeader = await ports.describeAt(hostOfMember(hint) as NodeId, cellId);
  if (atLeader?.kind === 'described' && atLeader.summary.isLeader)
    return { kind: 'view', summary: atLeader.summary };
  return { kind: 'view', summary: found.summary };
}

/** Resolves a change named by node ids against the members; a typed refusal when it does not fit. */
export function planChange(
  members: readonly NodeId[],
  change: MembershipChange,
): Plan | { readonly kind: 'invalid-change'; readonly reason: string } {
  const invalid = (reason: string): { kind: 'invalid-change'; reason: string } => ({
    kind: 'invalid-change',
    reason,
  });
  const adding = change.kind === 'add' ? change.node : change.kind === 'replace' ? change.add : undefined;
  const removing =
    change.kind === 'remove' ? change.node : change.kind === 'replace' ? change.remove : undefined;
  let removeMember: NodeId | undefined;
  if (removing !== undefined) {
    removeMember = members.find((member) =>
      removing.includes('#') ? member === removing : hostOfMember(member) === removing,
    );
    if (removeMember === undefined) return invalid(`${removing} is not a member`);
    if (members.length === 1 && adding === undefined) return invalid('cannot remove the last member');
  }
  if (adding !== undefined) {
    if (adding.includes('#'))
      return invalid(
        `name the node to add (${hostOfMember(adding)}), not a member id: the node picks a fresh incarnation`,
      );
    const present = members.find((member) => hostOfMember(member) === adding);
    if (present !== undefined) return invalid(`${adding} already hosts member ${present}`);
    if (removeMember === undefined && members.length >= membersMax)
      return invalid(`a cell has at most ${membersMax} members`);
  }
  return { addHost: adding, removeMember };
}

/** The change in member ids the cell votes on. */
function cellChange(plan: Plan, incoming: NodeId | undefined): MembershipChange {
  if (plan.removeMember !== undefined && incoming !== undefined)
    return { kind: 'replace', remove: plan.removeMember, add: incoming };
  if (incoming !== undefined) return { kind: 'add', node: incoming };
  if (plan.removeMember !== undefined) return { kind: 'remove', node: plan.removeMember };
  throw new Error('cellChange: a plan changes something');
}

/** Proposes `change` through the leader until it is chosen, refused, or the deadline passes. */
async function proposeChange(
  ports: ReconfigurePorts,
  timing: ReconfigureTiming,
  cellId: CellId,
  change: MembershipChange,
  target: readonly NodeId[],
  deadlineMs: number,
): Promise<Proposed> {
  let maybeChosen = false;
  let inProgressSinceMs: number | undefined;
  while (!ports.stopped() && ports.nowMs() < deadlineMs) {
    const response = await ports.admin(cellId, { kind: 'reconfigure', change });
    switch (response.kind) {
      case 'reconfigured':
        return { kind: 'chosen', index: response.chosenIndex };
      case 'invalid-change': {
        // After an unknown outcome the change may be in already ("already a member").
        const view = maybeChosen ? await leaderView(ports, cellId) : undefined;
        if (view?.kind === 'view' && sameMembers(view.summary.members, target))
          return { kind: 'chosen', index: undefined };
        return response;
      }
      case 'config-change-in-progress':
        // A change chosen but not yet in effect (ours after an unknown outcome, or the tail of
        // an earlier one) clears with no-ops; anything else is another change: 409 after a while.
        inProgressSinceMs ??= ports.nowMs();
        if (!maybeChosen && ports.nowMs() - inProgressSinceMs >= timing.changeInProgressWaitMs)
          return response;
        await ports.admin(cellId, { kind: 'noop' });
        break;
      case 'outcome-unknown':
        maybeChosen = true;
        break;
      case 'not-found':
      case 'moved':
        if (!maybeChosen) return response;
        break;
      case 'not-leader':
      case 'overloaded':
      case 'unavailable':
      case 'noop-chosen':
        break;
    }
    await ports.sleep(timing.pollMs);
  }
  return maybeChosen
    ? {
        kind: 'incomplete',
        reason: 'the change may have been chosen; it was not seen in effect before the deadline',
      }
    : { kind: 'unavailable', reason: 'no leader chose the change before the deadline' };
}

/** No-ops until the cell's membership (as a replica sees it for its next index) is `target`. */
async function awaitEffect(
  ports: ReconfigurePorts,
  timing: ReconfigureTiming,
  cellId: CellId,
  target: readonly NodeId[],
  deadlineMs: number,
): Promise<boolean> {
  while (!ports.stopped() && ports.nowMs() < deadlineMs) {
    const view = await leaderView(ports, cellId);
    if (view.kind === 'view' && sameMembers(view.summary.members, target)) return true;
    const response = await ports.admin(cellId, { kind: 'noop' });
    if (response.kind !== 'noop-chosen') await ports.sleep(timing.pollMs);
  }
  return false;
}

/** Waits until `member` knows it is one of `target` and is within caughtUpEntries of the leader. */
async function awaitCatchUp(
  ports: ReconfigurePorts,
  timing: ReconfigureTiming,
  cellId: CellId,
  member: NodeId,
  target: readonly NodeId[],
  deadlineMs: number,
): Promise<boolean> {
  while (!ports.stopped() && ports.nowMs() < deadlineMs) {
    const learner = await ports.describeAt(hostOfMember(member) as NodeId, cellId);
    const view = await leaderView(ports, cellId);
    if (
      learner?.kind === 'described' &&
      view.kind === 'view' &&
      sameMembers(learner.summary.members, target)
    ) {
      if (learner.summary.appliedIndex + timing.caughtUpEntries >= view.summary.appliedIndex) return true;
    }
    await ports.sleep(timing.pollMs);
  }
  return false;
}

/**
 * After the leader removed itself the cell is leaderless (and, idle, stays so until a request
 * comes): one no-op through the routing wakes an election, so the cell answers at once.
 * Best effort, bounded by changeInProgressWaitMs.
 */
async function electLeader(
  ports: ReconfigurePorts,
  timing: ReconfigureTiming,
  cellId: CellId,
  deadlineMs: number,
): Promise<void> {
  const until = Math.min(deadlineMs, ports.nowMs() + timing.changeInProgressWaitMs);
  while (!ports.stopped() && ports.nowMs() < until) {
    if ((await ports.admin(cellId, { kind: 'noop' })).kind === 'noop-chosen') return;
    await ports.sleep(timing.pollMs);
  }
}

/** Tells the removed member's node to delete its replica; true once it holds none of that member. */
async function retire(
  ports: ReconfigurePorts,
  timing: ReconfigureTiming,
  cellId: CellId,
  member: NodeId,
  movedTo: readonly NodeId[],
  deadlineMs: number,
): Promise<boolean> {
  const until = Math.min(deadlineMs, ports.nowMs() + timing.retireTimeoutMs);
  const outcome = await ports.retireAt(hostOfMember(member) as NodeId, cellId, member, movedTo, until);
  return outcome?.kind === 'deleted' || outcome?.kind === 'not-found';
}

/**
 * One single-node change, named by node ids (paper §2.4). Returns once the change is in
 * effect, the new member caught up and the removed member was told to retire (best effort).
 */
export async function changeMembers(
  ports: ReconfigurePorts,
  timing: ReconfigureTiming,
  cellId: CellId,
  change: MembershipChange,
  deadlineMs: number,
): Promise<ReconfigureResult> {
  const startedMs = ports.nowMs();
  const view = await leaderView(ports, cellId);
  if (view.kind !== 'view') return view;
  const current = view.summary.members;
  const plan = planChange(current, change);
  if ('kind' in plan) return plan;
  if (plan.addHost !== undefined && !ports.isNode(plan.addHost))
    return { kind: 'invalid-change', reason: `${plan.addHost} is not a node of this colony` };
  let incoming: NodeId | undefined;
  if (plan.addHost !== undefined) {
    const learned = await ports.learnAt(plan.addHost, cellId, current, deadlineMs);
    if (learned?.kind !== 'learning') {
      const why =
        learned === undefined ? 'no answer' : learned.kind === 'failed' ? learned.reason : learned.kind;
      return { kind: 'unavailable', reason: `could not create the new replica on ${plan.addHost}: ${why}` };
    }
    incoming = learned.member;
  }
  const changed = cellChange(plan, incoming);
  const next = nextMembers(current, changed);
  if (next.kind === 'invalid-change') return next;
  const proposed = await proposeChange(ports, timing, cellId, changed, next.members, deadlineMs);
  if (proposed.kind !== 'chosen') {
    // Definitely not chosen: the learner will never be a member; delete it (best effort).
    if (incoming !== undefined && proposed.kind !== 'incomplete')
      await retire(ports, timing, cellId, incoming, [], ports.nowMs() + timing.retireTimeoutMs);
    return proposed;
  }
  if (!(await awaitEffect(ports, timing, cellId, next.members, deadlineMs)))
    return { kind: 'incomplete', reason: 'the change was chosen but not seen in effect before the deadline' };
  if (
    incoming !== undefined &&
    !(await awaitCatchUp(ports, timing, cellId, incoming, next.members, deadlineMs))
  )
    return {
      kind: 'incomplete',
      reason: `the change is in effect; ${incoming} did not catch up before the deadline`,
    };
  const retired =
    plan.removeMember !== undefined &&
    (await retire(ports, timing, cellId, plan.removeMember, next.members, deadlineMs));
  if (plan.removeMember !== undefined && plan.removeMember === view.summary.leaderHint)
    await electLeader(ports, timing, cellId, deadlineMs);
  const step: MembershipStep = {
    change: changed,
    members: next.members,
    chosenIndex: proposed.index,
    retired,
    elapsedMs: ports.nowMs() - startedMs,
  };
  return { kind: 'reconfigured', cellId, step };
}

/** The next single change of a move onto `targets` (node ids); undefined once there. */
export function nextMoveChange(
  members: readonly NodeId[],
  leader: NodeId | undefined,
  targets: readonly NodeId[],
): MembershipChange | undefined {
  const hosts = members.map((member) => hostOfMember(member));
  // Replace the leader last: each change it leaves would otherwise cost an election.
  const leaving = [...members]
    .sort((a, b) => Number(a === leader) - Number(b === leader))
    .find((member) => !targets.includes(hostOfMember(member) as NodeId));
  const arriving = targets.find((target) => !hosts.includes(target));
  if (leaving !== undefined && arriving !== undefined)
    return { kind: 'replace', remove: leaving, add: arriving };
  if (arriving !== undefined) return { kind: 'add', node: arriving };
  if (leaving !== undefined) return { kind: 'remove', node: leaving };
  return undefined;
}

/** Checks a move's targets: 1..membersMax distinct node ids of the colony. */
export function targetsProblem(ports: ReconfigurePorts, targets: readonly NodeId[]): string | undefined {
  if (targets.length === 0 || targets.length > membersMax) return `a cell has 1 to ${membersMax} members`;
  if (new Set(targets).size !== targets.length) return 'targets repeat';
  const unknown = targets.find((target) => target.includes('#') || !ports.isNode(target));
  return unknown === undefined ? undefined : `${unknown} is not a node of this colony`;
}

/** Moves the cell onto the nodes `targets`, one change at a time, each caught up before the next. */
export async function moveCell(
  ports: ReconfigurePorts,
  timing: ReconfigureTiming,
  cellId: CellId,
  targets: readonly NodeId[],
  deadlineMs: number,
  onStep?: (step: MembershipStep) => void,
): Promise<MoveResult> {
  const steps: MembershipStep[] = [];
  const failed = (failure: ReconfigureFailure): MoveResult => ({
    kind: 'move-failed',
    cellId,
    failure,
    steps,
  });
  const problem = targetsProblem(ports, targets);
  if (problem !== undefined) return failed({ kind: 'invalid-change', reason: problem });
  for (let count = 0; count <= moveStepsMax && !ports.stopped(); count += 1) {
    const view = await leaderView(ports, cellId);
    if (view.kind !== 'view') return failed(view);
    const change = nextMoveChange(view.summary.members, view.summary.leaderHint, targets);
    if (change === undefined) return { kind: 'moved-cell', cellId, members: view.summary.members, steps };
    const result = await changeMembers(ports, timing, cellId, change, deadlineMs);
    if (result.kind !== 'reconfigured') return failed(result);
    steps.push(result.step);
    onStep?.(result.step);
  }
  if (ports.stopped()) return failed({ kind: 'unavailable', reason: 'the node is closing' });
  return failed({ kind: 'incomplete', reason: `the move did not converge in ${moveStepsMax} steps` });
}
