// TEST-ONLY: the operator of the cell swarm, a control plane in miniature (paper §2.4,
// Figure 7). During the safety phase it adds, removes and replaces single nodes, moves the
// cell onto other hosts one replacement at a time (back onto hosts it left, as new
// incarnations `host#k`: the ABA case), and sends explicit no-ops, all drawn from the seed,
// through testing/move-cell.ts. Its admin requests travel over the sim network from its own
// host (so they are lost, delayed and partitioned like everything else); it judges leadership,
// effect and catch-up from a god's view of the live replicas, as move-cell does.
import type { HostId, Network, Random } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import type { World } from '../../simworld/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import type { CellReplica } from '../replica.ts';
import { hostOfMember } from '../reconfig.ts';
import type { CellAdminRequest, CellAdminResponse, MembershipChange } from '../reconfig.ts';
import type { CellOptions } from '../types.ts';
import { moveCell, proposeNoop, reconfigureCell } from './move-cell.ts';
import type { ReconfigurableCell, ReconfigureOptions } from './move-cell.ts';
import type { MembershipDirectory } from './swarm-cell-client.ts';
import { describeServerHosts } from './swarm-cell-server.ts';
import type { CellServerContext, ServerHosts } from './swarm-cell-server.ts';
import { decodeEnvelope, encodeAdminRequest } from './swarm-envelope.ts';

/** The smallest cell the operator leaves (a remove only above it) and the largest it grows. */
export const OPERATOR_MEMBERS_MIN = 3;
export const OPERATOR_MEMBERS_MAX = 9;
/** An admin request with no answer after this long is forgotten (move-cell gives up sooner). */
const ADMIN_ANSWER_FORGOTTEN_MS = 2_000;

export interface OperatorSettings {
  /** Chance that a seed has an operator (and spare hosts) at all. */
  readonly enabledProbability: number;
  /** The operator starts no new action after this virtual time (the safety phase). */
  readonly actionWindowMs: number;
  /** Pause before the first action and between actions, drawn up to this. */
  readonly pauseMsMax: number;
  /** Each single change (and each no-op) gives up after this long: a failure of the run. */
  readonly stepDeadlineMs: number;
  /**
   * A move goes on to its next step for this long after the workload stops, then stops
   * between steps. With a step's own deadline this stays inside the runner's wait for
   * in-flight work: a whole-cell move on a slow, lossy network can take longer than that.
   */
  readonly moveGraceMs: number;
  /**
   * Chance that the members a change (or move) removes are retired (stopped, state wiped)
   * once the removal is in effect. The others keep running, deposed, to the end of the run:
   * they may never learn their removal, and clients with stale views still reach them (§2.4).
   */
  readonly retireProbability: number;
  /** Relative weights of the actions (infeasible ones are left out). */
  readonly weights: Readonly<Record<OperatorAction, number>>;
  /** Options for every change (attempt pacing, catch-up bound). */
  readonly reconfigure?: ReconfigureOptions;
}

export type OperatorAction = 'add' | 'remove' | 'replace' | 'move' | 'noop';

/** What one run's operator completed (a move's steps count as `moveSteps`, not as `replace`). */
export interface ReconfigCounts {
  add: number;
  remove: number;
  replace: number;
  /** Moves of two or more members, completed; `wholeMoves` of them replaced every member. */
  move: number;
  wholeMoves: number;
  moveSteps: number;
  /** Moves stopped between steps after the workload stopped (their steps count in moveSteps). */
  movesStopped: number;
  /** Completed changes that started a replica on a host that ran an earlier incarnation. */
  aba: number;
  /** Removed members left running, deposed (not retired). */
  deposed: number;
  noop: number;
  failed: number;
}

export function emptyReconfigCounts(): ReconfigCounts {
  return {
    add: 0,
    remove: 0,
    replace: 0,
    move: 0,
    wholeMoves: 0,
    moveSteps: 0,
    movesStopped: 0,
    aba: 0,
    deposed: 0,
    noop: 0,
    failed: 0,
  };
}

/** The swarm run's cell as move-cell.ts sees it: god's view, admin over the network, plans. */
export class SwarmCellControl implements ReconfigurableCell {
  private memberList: NodeId[];
  private network: Network | undefined;
  private nextRequestId = 1;
  private readonly waiting = new Map<number, (response: CellAdminResponse) => void>();

  constructor(
    readonly world: World,
    readonly options: Partial<CellOptions>,
    members: readonly NodeId[],
    private readonly context: CellServerContext,
    private readonly hosts: ServerHosts,
    private readonly directory: MembershipDirectory,
  ) {
    this.memberList = [...members];
  }

  get members(): readonly NodeId[] {
    return this.memberList;
  }

  /** Attaches the operator host's network (at each boot of that host). */
  attach(network: Network): void {
    this.network = network;
    network.onReceive((_from, bytes) => {
      const envelope = decodeEnvelope(bytes);
      if (envelope?.kind !== 'admin-response') return;
      const resolve = this.waiting.get(envelope.requestId);
      this.waiting.delete(envelope.requestId);
      resolve?.(envelope.response);
    });
  }

  leader(): string | undefined {
    const leaders = [...this.hosts.keys()].filter((host) => this.cell(host)?.describe().isLeader === true);
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  cell(hostOrMember: string): CellReplica | undefined {
    return this.hosts.get(hostOfMember(nodeId(hostOrMember)))?.cell;
  }

  admin(host: string, request: CellAdminRequest): Promise<CellAdminResponse> {
    const network = this.network;
    if (network === undefined) return Promise.resolve({ kind: 'unavailable', reason: 'operator host down' });
    const requestId = this.nextRequestId++;
    const scheduler = this.world.scheduler;
    return new Promise((resolve) => {
      const timer = scheduler.after(ADMIN_ANSWER_FORGOTTEN_MS, () => {
        if (!this.waiting.delete(requestId)) return;
        scheduler.notePromiseSettled();
        resolve({ kind: 'outcome-unknown' });
      });
      this.waiting.set(requestId, (response) => {
        timer.cancelled = true;
        scheduler.notePromiseSettled();
        resolve(response);
      });
      network.send(hostId(hostOfMember(nodeId(host))), encodeAdminRequest(requestId, request));
    });
  }

  /** A change was chosen: the operator's view and the clients' directory follow. */
  noteMembers(members: readonly NodeId[]): void {
    this.memberList = [...members];
    this.directory.publish(members);
  }

  startLearner(member: NodeId, knownMembers: readonly NodeId[]): void {
    if (knownMembers.includes(member))
      throw new Error(`startLearner: ${member} must not know itself a member`);
    const host = hostOfMember(member);
    this.context.plans.set(host, {
      self: member,
      seedMembers: [...knownMembers],
      wipeFirst: true,
      retired: false,
    });
    this.context.stats.learnersStarted += 1;
    if (this.world.host(host).state === 'up') this.hosts.get(host)?.load();
  }

  /** Each server host's state, one line each (for failure reports). */
  describeHosts(): string {
    return describeServerHosts(this.world, this.context, this.hosts).join('\n');
  }

  /** True when the host's last replica was retired (removed, and wiped or kept out). */
  isRetired(host: string): boolean {
    return this.context.plans.get(host)?.retired === true;
  }

  retireMember(member: NodeId): Promise<void> {
    const host = hostOfMember(member);
    const plan = this.context.plans.get(host);
    if (plan?.self !== member || plan.retired) return Promise.resolve();
    plan.retired = true;
    // Down: it stays out when it boots; a later learner on this host wipes the stale state.
    if (this.world.host(host).state === 'up') this.hosts.get(host)?.retire();
    return Promise.resolve();
  }
}

/** The operator's loop: random single changes, moves and no-ops while its window is open. */
export class SwarmOperator {
  readonly counts = emptyReconfigCounts();
  /** What went wrong (a change that did not complete by its deadline), for the run's report. */
  readonly problems: string[] = [];
  /** How many replicas of the cell each host has run (incarnations). */
  private readonly incarnations = new Map<string, number>();
  /** When the workload stopped, once it has (given to `run`). */
  private workloadStoppedAtMs: () => number | undefined = () => undefined;

  constructor(
    private readonly control: SwarmCellControl,
    private readonly random: Random,
    private readonly settings: OperatorSettings,
    /** Hosts the operator may start replicas on (spares, and first members once retired). */
    private readonly candidateHosts: readonly HostId[],
  ) {
    for (const member of control.members) this.incarnations.set(hostOfMember(member), 1);
  }

  /**
   * Acts until the window closes (the action in progress is finished) or a change fails. A
   * move still going `moveGraceMs` after the workload stopped (`workloadStoppedAtMs`) stops
   * after its current step, as an operator told to stop would.
   */
  async run(workloadStoppedAtMs: () => number | undefined = () => undefined): Promise<void> {
    const { world } = this.control;
    this.workloadStoppedAtMs = workloadStoppedAtMs;
    await this.sleep(1 + this.random.intBelow(this.settings.pauseMsMax));
    while (world.nowMs < this.settings.actionWindowMs && this.problems.length === 0) {
      await this.act(this.pickAction());
      await this.sleep(1 + this.random.intBelow(this.settings.pauseMsMax));
    }
  }

  private pickAction(): OperatorAction {
    const members = this.control.members.length;
    const free = this.freeHosts().length;
    const feasible: Record<OperatorAction, boolean> = {
      add: free > 0 && members < OPERATOR_MEMBERS_MAX,
      remove: members > OPERATOR_MEMBERS_MIN,
      replace: free > 0,
      move: free >= 2,
      noop: true,
    };
    const actions = (Object.keys(feasible) as OperatorAction[]).filter((a) => feasible[a]);
    const total = actions.reduce((sum, a) => sum + this.settings.weights[a], 0);
    let draw = this.random.nextFloat() * total;
    for (const action of actions) {
      draw -= this.settings.weights[action];
      if (draw < 0) return action;
    }
    return 'noop';
  }

  private async act(action: OperatorAction): Promise<void> {
    const members = this.control.members;
    const pick = <T>(values: readonly T[]): T => values[this.random.intBelow(values.length)]!;
    switch (action) {
      case 'add':
        return this.change('add', { kind: 'add', node: this.arrival(pick(this.freeHosts())) });
      case 'remove':
        return this.change('remove', { kind: 'remove', node: pick(members) });
      case 'replace':
        return this.change('replace', {
          kind: 'replace',
          remove: pick(members),
          add: this.arrival(pick(this.freeHosts())),
        });
      case 'move':
        return this.move();
      case 'noop':
        return this.noop();
    }
  }

  private async change(kind: 'add' | 'remove' | 'replace', change: MembershipChange): Promise<void> {
    const options = this.changeOptions();
    const outcome = await reconfigureCell(this.control, change, options);
    if (outcome.kind === 'failed') return this.fail(`${JSON.stringify(change)}: ${outcome.reason}`);
    this.counts[kind] += 1;
    if (kind !== 'add' && options.retire === false) this.counts.deposed += 1;
    const incoming = change.kind === 'add' ? change.node : change.kind === 'replace' ? change.add : undefined;
    if (incoming?.includes('#') === true) this.counts.aba += 1;
  }

  /** Moves 2..all members onto free hosts (paper Figure 7), one replacement at a time. */
  private async move(): Promise<void> {
    const members = this.control.members;
    const free = this.shuffled(this.freeHosts());
    const moved = 2 + this.random.intBelow(Math.min(members.length, free.length) - 1);
    const leaving = new Set(this.shuffled(members).slice(0, moved));
    const arriving = free.slice(0, moved).map((host) => this.arrival(host));
    const targets = [...members.filter((m) => !leaving.has(m)), ...arriving].sort();
    const options = this.changeOptions();
    const steps = await moveCell(this.control, targets, options, () => this.keepMoving());
    const done = steps.filter((step) => step.kind === 'done').length;
    this.counts.moveSteps += done;
    const failed = steps.find((step) => step.kind === 'failed');
    if (failed === undefined && done < moved && !this.keepMoving()) {
      this.counts.movesStopped += 1;
      return;
    }
    if (done !== moved) {
      const reason = failed?.kind === 'failed' ? failed.reason : 'no failed step';
      return this.fail(`move to ${targets.join(',')}: step ${done + 1} of ${moved}: ${reason}`);
    }
    this.counts.move += 1;
    this.counts.aba += arriving.filter((member) => member.includes('#')).length;
    if (options.retire === false) this.counts.deposed += moved;
    if (moved === members.length) this.counts.wholeMoves += 1;
  }

  /** A move goes on to its next step until moveGraceMs after the workload stopped. */
  private keepMoving(): boolean {
    const stoppedAtMs = this.workloadStoppedAtMs();
    return stoppedAtMs === undefined || this.control.world.nowMs < stoppedAtMs + this.settings.moveGraceMs;
  }

  private async noop(): Promise<void> {
    const index = await proposeNoop(this.control, this.changeOptions());
    if (index === undefined) this.fail('no-op not chosen within the deadline');
    else this.counts.noop += 1;
  }

  private fail(problem: string): void {
    this.counts.failed += 1;
    const hosts = this.control.describeHosts();
    this.problems.push(`operator at ${Math.round(this.control.world.nowMs)} ms: ${problem}\n${hosts}`);
  }

  /** Per change: the deadline, and whether the leaving member is retired (drawn). */
  private changeOptions(): ReconfigureOptions {
    const retire = this.random.nextFloat() < this.settings.retireProbability;
    return { deadlineMs: this.settings.stepDeadlineMs, retire, ...this.settings.reconfigure };
  }

  /**
   * Hosts a new replica may start on: candidates that run no member, never ran a replica
   * (spares) or ran one that was retired (its removal in effect, its state wiped).
   */
  private freeHosts(): HostId[] {
    const memberHosts = new Set(this.control.members.map(hostOfMember));
    return this.candidateHosts.filter((host) => {
      if (memberHosts.has(host)) return false;
      return this.incarnations.get(host) === undefined || this.control.isRetired(host);
    });
  }

  /** The member id of the host's next replica: the host name first, then `host#k` (ABA). */
  private arrival(host: string): NodeId {
    const incarnation = (this.incarnations.get(host) ?? 0) + 1;
    this.incarnations.set(host, incarnation);
    return nodeId(incarnation === 1 ? host : `${host}#${incarnation}`);
  }

  private shuffled<T>(values: readonly T[]): T[] {
    const out = [...values];
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = this.random.intBelow(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  private sleep(ms: number): Promise<void> {
    const { world } = this.control;
    return new Promise((resolve) =>
      world.after(ms, () => {
        world.scheduler.notePromiseSettled();
        resolve();
      }),
    );
  }
}
