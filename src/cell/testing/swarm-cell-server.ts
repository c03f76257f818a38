// TEST-ONLY: a server host of the cell swarm, as src/node/ would run it: one CellReplica
// ticked by ONE timer while it wants ticks, peer messages, client requests and the
// operator's admin requests demultiplexed from the sim network, answers sent back to the
// asking host, and the replica reloaded from its disk after a dirty reboot or a failed
// storage write (the replica answers nothing after one until reloaded). Which replica a host
// runs is its `HostPlan` (paper §2.4): a first member, an empty learner started by the
// operator (as `host#k` when the host ran an earlier incarnation: its stale state is wiped
// first, and messages addressed to another incarnation are dropped), retired, or none (a spare).
// Modelled on CellCluster (sim-cell-host.ts), but on a given world.
import type { HostId, Storage, TimerHandle } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import type { SimHostEnv, World } from '../../simworld/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import { CellReplica } from '../replica.ts';
import { hostOfMember } from '../reconfig.ts';
import type { CellAdminRequest, CellAdminResponse } from '../reconfig.ts';
import type { CellEnv, CellId, CellOptions, CellRequest } from '../types.ts';
import { frameFor, unframe } from './sim-cell-host.ts';
import { decodeEnvelope, encodeAdminResponse, encodePeer, encodeResponse } from './swarm-envelope.ts';

/** A failed storage write makes the host reload its replica after this long. */
export const RELOAD_AFTER_FAILURE_MS = 50;

/** What the replica on one server host runs as. A host without a plan runs none (a spare). */
export interface HostPlan {
  /** The member id: the host name, or `host#k` for the host's k-th replica of the cell. */
  readonly self: NodeId;
  /** The membership a NEW replica is created with (a learner's excludes itself). */
  readonly seedMembers: readonly NodeId[];
  /** Wipe the host's stored cell before the next load (set for a learner until it has started). */
  wipeFirst: boolean;
  /** Removed and wiped: no replica loads on this host until a new plan. */
  retired: boolean;
}

export interface CellServerContext {
  readonly world: World;
  readonly cellId: CellId;
  readonly cellOptions: Partial<CellOptions>;
  /** The plan of each server host (absent: a spare, no replica). */
  readonly plans: Map<string, HostPlan>;
  /** Called after each applied entry with the replica's member id and state digest. */
  onApplied(member: NodeId, index: number, digest: string): void;
  /** Called just before the host's stored cell is wiped (learner start, retire, a bug): audit it. */
  beforeWipe(host: string): void;
  /** Counters shared by all servers. */
  readonly stats: CellServerStats;
  /**
   * The highest request id delivered from each client host, over all servers and boots. A
   * client's requests reach the cell at most once and in order, as over TCP: a request at or
   * below it (a network duplicate, or an attempt the client already gave up on) is dropped.
   * The peer messages between replicas keep every fault.
   */
  readonly highestRequestId: Map<string, number>;
  /** Deliberate bugs, to show the swarm catches them. */
  readonly bugs?: ServerBugs;
}

export interface ServerBugs {
  /** A rebooted host's disk is wiped (forgotten promises and accepts, §2.2). */
  readonly wipeDiskOnReboot?: boolean;
  /**
   * The ABA wipe is not cleared once a learner has started: a replica started on a host that
   * ran an earlier incarnation wipes its state again at every reboot, even as a voting member.
   */
  readonly learnerWipedOnEveryBoot?: boolean;
}

export interface CellServerStats {
  boots: number;
  loadFailures: number;
  reloadsAfterFailure: number;
  ticks: number;
  malformedEnvelopes: number;
  staleRequests: number;
  /** Peer messages addressed to another incarnation than the replica on the receiving host. */
  staleIncarnationDrops: number;
  learnersStarted: number;
  retired: number;
}

export function emptyServerStats(): CellServerStats {
  return {
    boots: 0,
    loadFailures: 0,
    reloadsAfterFailure: 0,
    ticks: 0,
    malformedEnvelopes: 0,
    staleRequests: 0,
    staleIncarnationDrops: 0,
    learnersStarted: 0,
    retired: 0,
  };
}

/** The current boot of each server host, with its live replica (if loaded). */
export type ServerHosts = Map<string, CellServerHost>;

/** Each server host's plan, state and replica, one line each (for failure reports and replays). */
export function describeServerHosts(world: World, context: CellServerContext, hosts: ServerHosts): string[] {
  return [...hosts.keys()].sort().map((host) => {
    const plan = context.plans.get(host);
    const planText = plan === undefined ? 'spare' : `${plan.self}${plan.retired ? ' retired' : ''}`;
    const d = hosts.get(host)?.cell?.describe();
    const cellText =
      d === undefined
        ? 'no replica'
        : `applied=${d.appliedIndex} commit=${d.commitIndex} snapshot=${d.snapshotIndex}` +
          ` leader=${d.isLeader} hint=${d.leaderHint ?? '-'} members=${d.members.join(',')}` +
          ` pending=${d.pendingRequests}${d.failed === undefined ? '' : ` failed=${d.failed}`}`;
    return `${host} (${planText}, ${world.host(host).state}): ${cellText}`;
  });
}

/** Boots one server host; returns its process (stopped by a crash). */
export function bootCellServer(env: SimHostEnv, context: CellServerContext, hosts: ServerHosts): object {
  const server = new CellServerHost(env, context);
  hosts.set(env.host, server);
  server.load();
  return { stop: () => server.stop() };
}

/** One boot of one server host. */
export class CellServerHost {
  private readonly host: string;
  private cellValue: CellReplica | undefined;
  /** The member id the loaded replica runs as (messages to any other are dropped). */
  private running: NodeId | undefined;
  private timer: TimerHandle | undefined;
  private reloadPending = false;
  /** Bumped by every load and retire: a load that finishes after a newer one is discarded. */
  private generation = 0;
  private readonly storage: Storage;

  constructor(
    private readonly env: SimHostEnv,
    private readonly context: CellServerContext,
  ) {
    context.stats.boots += 1;
    this.host = env.host;
    this.storage = this.reloadingOnFailure(env.storage);
    env.network.onReceive((from, bytes) => this.receive(from, bytes));
  }

  /** The loaded replica, while this boot is current. */
  get cell(): CellReplica | undefined {
    return this.isCurrent() ? this.cellValue : undefined;
  }

  /** Loads the host's planned replica from disk (a new one if the disk has none). */
  load(): void {
    const plan = this.context.plans.get(this.host);
    this.generation += 1;
    const generation = this.generation;
    this.unload();
    if (plan === undefined || plan.retired) return;
    const { world } = this.context;
    const cellEnv = this.cellEnv(plan.self);
    const options = this.options(plan);
    const bugs = this.context.bugs ?? {};
    const wipe = plan.wipeFirst || (bugs.wipeDiskOnReboot === true && this.env.incarnation > 1);
    if (wipe) this.context.beforeWipe(this.host);
    const wiped = wipe ? CellReplica.destroy(this.storage, this.context.cellId) : Promise.resolve();
    const started = wiped
      .then(() => CellReplica.load(cellEnv, options))
      .then((loaded) => loaded ?? CellReplica.create(cellEnv, plan.seedMembers, options));
    world.scheduler.notePromiseSettled();
    started.then(
      (ready) => {
        if (!this.isCurrent() || generation !== this.generation) {
          ready.close();
          return;
        }
        if (this.context.plans.get(this.host) === plan && bugs.learnerWipedOnEveryBoot !== true)
          plan.wipeFirst = false;
        this.cellValue = ready;
        this.running = plan.self;
        this.wake();
      },
      () => {
        // Corrupt storage: this replica must not vote again; it stays out of the cell.
        this.context.stats.loadFailures += 1;
      },
    );
  }

  /** Stops the replica and wipes its state: it never votes again (the operator's word). */
  /**
   * Not awaited by the operator: a crash before the wipe is durable leaves the write's
   * promise unsettled forever, and the stale state on disk, which the retired plan keeps
   * out (a later learner on this host wipes it first).
   */
  retire(): void {
    this.generation += 1;
    this.unload();
    this.context.beforeWipe(this.host);
    this.context.stats.retired += 1;
    const { scheduler } = this.context.world;
    CellReplica.destroy(this.storage, this.context.cellId).then(
      () => scheduler.notePromiseSettled(),
      () => scheduler.notePromiseSettled(),
    );
  }

  stop(): void {
    this.generation += 1;
    this.unload();
  }

  private unload(): void {
    this.cellValue?.close();
    this.cellValue = undefined;
    this.running = undefined;
  }

  private cellEnv(self: NodeId): CellEnv {
    const { env } = this;
    return {
      cellId: this.context.cellId,
      self,
      storage: this.storage,
      clock: env.clock,
      random: env.random.fork(`cell:${self}`),
      send: (to, message) =>
        env.network.send(hostId(hostOfMember(to)), encodePeer(frameFor(self, to, message))),
    };
  }

  private options(plan: HostPlan): Partial<CellOptions> {
    const { context } = this;
    return {
      ...context.cellOptions,
      onApplied: (index, digest) => context.onApplied(plan.self, index, digest),
      onAnswered: () => context.world.scheduler.notePromiseSettled(),
    };
  }

  private isCurrent(): boolean {
    const host = this.context.world.host(this.host);
    return host.state === 'up' && host.incarnation === this.env.incarnation;
  }

  /** Ticks the replica with ONE timer while it wants ticks. */
  private wake(): void {
    const cell = this.cellValue;
    if (cell === undefined || this.timer !== undefined || !cell.wantsTick) return;
    this.timer = this.env.clock.setTimer(this.context.cellOptions.tickMs ?? 10, () => {
      this.timer = undefined;
      this.context.stats.ticks += 1;
      this.cellValue?.tick();
      this.wake();
    });
  }

  /** The host's storage, reloading the replica soon after any write fails. */
  private reloadingOnFailure(storage: Storage): Storage {
    return {
      get: (key) => storage.get(key),
      range: (range) => storage.range(range),
      write: (batch) =>
        storage.write(batch).catch((error: unknown) => {
          this.reloadSoon();
          throw error;
        }),
    };
  }

  private reloadSoon(): void {
    if (this.reloadPending) return;
    this.reloadPending = true;
    this.env.clock.setTimer(RELOAD_AFTER_FAILURE_MS, () => {
      this.reloadPending = false;
      if (!this.isCurrent()) return;
      this.context.stats.reloadsAfterFailure += 1;
      this.load();
    });
  }

  private receive(from: HostId, bytes: Uint8Array): void {
    const envelope = decodeEnvelope(bytes);
    if (envelope === undefined) {
      this.context.stats.malformedEnvelopes += 1;
      return;
    }
    switch (envelope.kind) {
      case 'peer':
        this.peer(from, envelope.message);
        return;
      case 'request':
        if (this.fresh(from, envelope.requestId)) this.request(from, envelope.requestId, envelope.request);
        return;
      case 'admin-request':
        if (this.fresh(from, envelope.requestId)) this.admin(from, envelope.requestId, envelope.request);
        return;
      case 'response':
      case 'admin-response':
        this.context.stats.malformedEnvelopes += 1;
        return;
    }
  }

  private peer(from: HostId, bytes: Uint8Array): void {
    const cell = this.cellValue;
    if (cell === undefined) return;
    const { to, from: sender, message } = unframe(from, this.host, bytes);
    if (to !== this.running) {
      this.context.stats.staleIncarnationDrops += 1;
      return;
    }
    cell.receive(nodeId(sender), message);
    this.wake();
  }

  /** True for a request id above every one delivered from `from` (which it then becomes). */
  private fresh(from: HostId, requestId: number): boolean {
    const { highestRequestId, stats } = this.context;
    if (requestId <= (highestRequestId.get(from) ?? 0)) {
      stats.staleRequests += 1;
      return false;
    }
    highestRequestId.set(from, requestId);
    return true;
  }

  private request(from: HostId, requestId: number, request: CellRequest): void {
    const cell = this.cellValue;
    if (cell === undefined) {
      this.answer(from, encodeResponse(requestId, this.noReplica()));
      return;
    }
    cell.submit(request).then(
      (response) => this.answer(from, encodeResponse(requestId, response)),
      () => undefined,
    );
    this.wake();
  }

  private admin(from: HostId, requestId: number, request: CellAdminRequest): void {
    const cell = this.cellValue;
    if (cell === undefined) {
      this.answer(from, encodeAdminResponse(requestId, this.noReplica()));
      return;
    }
    cell.admin(request).then(
      (response: CellAdminResponse) => this.answer(from, encodeAdminResponse(requestId, response)),
      () => undefined,
    );
    this.wake();
  }

  private noReplica(): { kind: 'unavailable'; reason: string } {
    return { kind: 'unavailable', reason: `${this.host} has no replica loaded` };
  }

  private answer(to: HostId, bytes: Uint8Array): void {
    if (this.isCurrent()) this.env.network.send(to, bytes);
  }
}
