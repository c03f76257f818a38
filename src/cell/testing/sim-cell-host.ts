// TEST-ONLY: one cell replicated over simulated hosts, one replica per server host. The host
// side is what src/node/ does for real: it encodes sends onto the sim Network, ticks the
// cell with ONE timer while `wantsTick`, loads the replica again after a dirty reboot, and
// records every applied digest so replica agreement can be checked.
// Reusable by the swarm runner and bench:cell: build with `cellCluster`, drive the world.
// Membership changes (paper §2.4): `startLearner` boots a replica on a new (or returning)
// host as an empty learner; a replica that applies its own removal is retired (stopped,
// storage wiped) after a grace period. Member ids may carry an incarnation (`n3#2`): the
// host delivers a message only to the replica it is addressed to, so messages meant for an
// earlier incarnation of the cell on that host are dropped (ABA, see README).
import type { SimHostEnv, World } from '../../simworld/index.ts';
import { sim } from '../../simworld/index.ts';
import type { Distribution } from '../../simworld/index.ts';
import type { TimerHandle } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import { partitionKey } from '../../model/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId, PaxosMessage } from '../../paxos/index.ts';
import { CellReplica } from '../replica.ts';
import type { CellEnv, CellOptions, CellRequest, CellResponse } from '../types.ts';
import { cellMessageKind, encodePaxosEnvelope } from '../wire.ts';
import { hostOfMember } from '../reconfig.ts';
import type { CellAdminRequest, CellAdminResponse } from '../reconfig.ts';
import { describeAgreementViolation, ReplicaAgreementChecker } from '../../simworld/checkers/index.ts';

export interface CellClusterOptions {
  readonly seed: number;
  /** Replicas of the cell (server hosts n1..nN). */
  readonly replicas: number;
  /** Extra hosts c1..cK with their own clocks, for clients (no process runs on them). */
  readonly clientHosts?: number;
  readonly cellOptions?: Partial<CellOptions>;
  readonly latency?: Distribution;
}

/** Counters of the harness itself (the cells' own are in describe()). */
export interface ClusterStats {
  boots: number;
  loadFailures: number;
  ticks: number;
  messagesDelivered: number;
  /** Messages addressed to another incarnation than the replica on the receiving host. */
  staleIncarnationDrops: number;
  /** Replicas stopped and wiped after applying their own removal. */
  retired: number;
}

/** First byte of a frame naming its addressee (raw cell messages start with the wire version, 1). */
const ADDRESSED_FRAME = 0xfe;

/**
 * Frames `message` from member `from` to member `to` when either carries an incarnation;
 * raw otherwise (a raw message is from and to the plain host names).
 */
export function frameFor(from: NodeId, to: NodeId, message: Uint8Array): Uint8Array {
  if (!to.includes('#') && !from.includes('#')) return message;
  const encoder = new TextEncoder();
  const [toBytes, fromBytes] = [encoder.encode(to), encoder.encode(from)];
  const head = 3 + toBytes.length + fromBytes.length;
  const framed = new Uint8Array(head + message.length);
  framed[0] = ADDRESSED_FRAME;
  framed[1] = toBytes.length;
  framed.set(toBytes, 2);
  framed[2 + toBytes.length] = fromBytes.length;
  framed.set(fromBytes, 3 + toBytes.length);
  framed.set(message, head);
  return framed;
}

/** Addressee, sender and cell message of bytes from host `fromHost` to host `toHost`. */
export function unframe(
  fromHost: string,
  toHost: string,
  bytes: Uint8Array,
): { to: string; from: string; message: Uint8Array } {
  if (bytes[0] !== ADDRESSED_FRAME || bytes.length < 3) return { to: toHost, from: fromHost, message: bytes };
  const decoder = new TextDecoder();
  const toLength = bytes[1]!;
  const to = decoder.decode(bytes.subarray(2, 2 + toLength));
  const fromLength = bytes[2 + toLength] ?? 0;
  const from = decoder.decode(bytes.subarray(3 + toLength, 3 + toLength + fromLength));
  return { to, from, message: bytes.subarray(3 + toLength + fromLength) };
}

/** A cell over simulated hosts. Server hosts are n1..nN; client hosts c1..cK. */
export class CellCluster {
  readonly world: World;
  private memberList: NodeId[];
  /** Every server host that ever ran a replica of the cell, in order of arrival. */
  readonly serverHosts: string[];
  /** The member id the replica on each host runs as (the host name, or `host#incarnation`). */
  private readonly selfOf = new Map<string, NodeId>();
  /** Hosts to start as empty learners, with the membership they are told about. */
  private readonly learnerSeeds = new Map<string, readonly NodeId[]>();
  /** Hosts whose replica was retired (removed and wiped): they start no replica on boot. */
  private readonly retiredHosts = new Set<string>();
  /** Learner hosts whose stored state (if any) belongs to an earlier incarnation. */
  private readonly freshLearners = new Set<string>();
  /** The environment of each host's current boot. */
  private readonly bootEnvs = new Map<string, SimHostEnv>();
  readonly clientHosts: readonly string[];
  readonly cellId = partitionKey('cell-under-test');
  readonly options: Partial<CellOptions>;
  readonly stats: ClusterStats = {
    boots: 0,
    loadFailures: 0,
    ticks: 0,
    messagesDelivered: 0,
    staleIncarnationDrops: 0,
    retired: 0,
  };
  /** A removed replica keeps voting this long (it may still be needed below effectiveFrom), then retires. */
  retireAfterMs = 1_000;
  /** Replica agreement: every replica's state digest at each applied index (shared checker). */
  readonly agreement = new ReplicaAgreementChecker();
  private readonly cells = new Map<string, CellReplica>();
  private readonly wakers = new Map<string, () => void>();
  private readonly reloaders = new Map<string, () => void>();

  constructor(options: CellClusterOptions) {
    this.memberList = Array.from({ length: options.replicas }, (_, i) => nodeId(`n${i + 1}`));
    this.serverHosts = [...this.memberList];
    for (const m of this.memberList) this.selfOf.set(m, m);
    this.clientHosts = Array.from({ length: options.clientHosts ?? 0 }, (_, i) => `c${i + 1}`);
    this.options = { checkInvariants: true, ...options.cellOptions };
    const servers = this.members.map((name) => ({ name, boot: (env: SimHostEnv) => this.boot(env) }));
    const clients = this.clientHosts.map((name) => ({ name }));
    this.world = sim({
      seed: options.seed,
      hosts: [...servers, ...clients],
      ...(options.latency === undefined ? {} : { latency: options.latency }),
    });
    this.world.net.classify((bytes) => cellMessageKind(unframe('', '', bytes).message));
    this.world.scheduler.notePromiseSettled();
  }

  /**
   * The current membership as the harness was told by successful changes (member ids). The
   * initial members are the hosts n1..nN; use `hostOfMember` to get a member's host.
   */
  get members(): readonly NodeId[] {
    return this.memberList;
  }

  /** Records a membership change the cell has chosen (see testing/move-cell.ts). */
  noteMembers(members: readonly NodeId[]): void {
    this.memberList = [...members];
  }

  /** The live replica on `host` (or on a member's host), if the host is up and its replica is loaded. */
  cell(hostOrMember: string): CellReplica | undefined {
    const host = hostOfMember(hostOrMember as NodeId);
    return this.world.host(host).state === 'up' ? this.cells.get(host) : undefined;
  }

  /** The member id the replica on `host` runs (or will run) as. */
  memberOn(host: string): NodeId | undefined {
    return this.selfOf.get(host);
  }

  /**
   * Starts a replica of the cell on `member`'s host as an EMPTY LEARNER (adding the host to
   * the world if new). It is told `knownMembers`, a membership that must not include
   * `member` (e.g. the current one, before the change that adds it): so it never campaigns
   * or counts votes on a guess, and only learns (catch-up from index 1 or a snapshot from a
   * teacher) until it has applied the change that makes it a member.
   */
  startLearner(member: NodeId, knownMembers: readonly NodeId[]): void {
    if (knownMembers.includes(member))
      throw new Error(`startLearner: ${member} must not know itself a member`);
    const host = hostOfMember(member);
    if (!this.serverHosts.includes(host)) {
      this.world.addHost({ name: host, boot: (env) => this.boot(env) });
      this.serverHosts.push(host);
    }
    const running = this.cell(host);
    if (running !== undefined && !this.retiredHosts.has(host))
      throw new Error(`startLearner: ${host} already runs ${this.selfOf.get(host)}`);
    this.selfOf.set(host, member);
    this.learnerSeeds.set(host, [...knownMembers]);
    this.freshLearners.add(host);
    this.retiredHosts.delete(host);
    const h = this.world.host(host);
    if (h.state === 'up') this.reloaders.get(host)?.();
    else this.world.start(host);
  }

  /**
   * Test hook: sends a Paxos message as `fromHost`'s replica to member `to` (e.g. a stale
   * message for an earlier incarnation). Dropped when `fromHost` is down.
   */
  inject(fromHost: string, to: NodeId, message: PaxosMessage): void {
    const env = this.bootEnvs.get(fromHost);
    const from = this.selfOf.get(fromHost) ?? nodeId(fromHost);
    env?.network.send(hostId(hostOfMember(to)), frameFor(from, to, encodePaxosEnvelope(message)));
  }

  /** Live replicas, by host name. */
  liveCells(): Array<[string, CellReplica]> {
    return this.serverHosts.flatMap((m) => {
      const cell = this.cell(m);
      return cell === undefined ? [] : [[m, cell] as [string, CellReplica]];
    });
  }

  /** The host whose replica believes it leads, if exactly one does. */
  leader(): string | undefined {
    const leaders = this.liveCells().filter(([, cell]) => cell.describe().isLeader);
    return leaders.length === 1 ? leaders[0]![0] : undefined;
  }

  /** Submits to the replica on `host` as a client co-located with it would. */
  submit(host: string, request: CellRequest): Promise<CellResponse> {
    const cell = this.cell(host);
    if (cell === undefined) return Promise.resolve({ kind: 'unavailable', reason: `${host} is down` });
    const answer = cell.submit(request);
    this.wakers.get(hostOfMember(host as NodeId))?.();
    return answer;
  }

  /** Sends an admin request (membership change, no-op) to the replica on `host`. */
  admin(host: string, request: CellAdminRequest): Promise<CellAdminResponse> {
    const cell = this.cell(host);
    if (cell === undefined) return Promise.resolve({ kind: 'unavailable', reason: `${host} is down` });
    const answer = cell.admin(request);
    this.wakers.get(hostOfMember(host as NodeId))?.();
    return answer;
  }

  /**
   * Evicts the replica on `host` if it is quiescent (close, drop from memory) and loads it
   * again from storage, as a node does with idle cells. False when it was not quiescent.
   */
  evict(host: string): boolean {
    const cell = this.cell(host);
    if (cell === undefined || !cell.isQuiescent) return false;
    cell.close();
    this.reloaders.get(host)?.();
    return true;
  }

  /** Runs the world until `promise` settles (at most `timeoutMs` of virtual time). */
  settle<T>(promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
    return this.world.settle(promise, timeoutMs);
  }

  private boot(env: SimHostEnv): object {
    this.stats.boots += 1;
    const host = env.host as string;
    this.bootEnvs.set(host, env);
    let cell: CellReplica | undefined;
    const options: Partial<CellOptions> = {
      ...this.options,
      onApplied: (index, digest) => this.noteDigest(host, index, digest),
      onAnswered: () => this.world.scheduler.notePromiseSettled(),
      onRemoved: () => {
        const removed = cell;
        this.world.after(this.retireAfterMs, () => void this.retire(host, removed));
      },
    };
    const envFor = (self: NodeId): CellEnv => ({
      cellId: this.cellId,
      self,
      storage: env.storage,
      clock: env.clock,
      random: env.random.fork(`cell:${self}`),
      send: (to, message) => env.network.send(hostId(hostOfMember(to)), frameFor(self, to, message)),
    });
    let timer: TimerHandle | undefined;
    const tickMs = options.tickMs ?? 10;
    const wake = (): void => {
      if (cell === undefined || timer !== undefined || !cell.wantsTick) return;
      timer = env.clock.setTimer(tickMs, () => {
        timer = undefined;
        this.stats.ticks += 1;
        cell?.tick();
        wake();
      });
    };
    this.wakers.set(host, wake);
    let running: NodeId = nodeId(host);
    env.network.onReceive((fromHost, bytes) => {
      if (cell === undefined) return;
      const { to, from, message } = unframe(fromHost, host, bytes);
      if (to !== running) {
        this.stats.staleIncarnationDrops += 1;
        return;
      }
      this.stats.messagesDelivered += 1;
      cell.receive(nodeId(from), message);
      wake();
    });
    const start = (): void => {
      cell = undefined;
      this.cells.delete(host);
      if (this.retiredHosts.has(host)) return;
      const self = this.selfOf.get(host) ?? nodeId(host);
      const cellEnv = envFor(self);
      const seed = this.learnerSeeds.get(host) ?? this.memberList;
      // A learner started on a host that ran an earlier incarnation refuses its stale state:
      // wipe first (that incarnation is retired: every index it voted on is chosen).
      const fresh = this.freshLearners.has(host);
      const loading = fresh
        ? CellReplica.destroy(env.storage, this.cellId).then(() => undefined)
        : CellReplica.load(cellEnv, options);
      const started = loading.then((loaded) =>
        loaded === undefined ? CellReplica.create(cellEnv, seed, options) : loaded,
      );
      // Run the load's continuation before the next event (hosts booted by the World's
      // constructor come before `world` is set: the constructor notes it for them).
      (this.world as World | undefined)?.scheduler.notePromiseSettled();
      started.then(
        (ready) => {
          const now = this.world.host(host);
          if (now.state !== 'up' || now.incarnation !== env.incarnation) return;
          cell = ready;
          running = self;
          this.freshLearners.delete(host);
          this.cells.set(host, ready);
          wake();
        },
        () => {
          this.stats.loadFailures += 1;
        },
      );
    };
    this.reloaders.set(host, start);
    start();
    return { stop: () => cell?.close() };
  }

  /**
   * The control plane's word to a removed member (once the change is in effect, so every
   * index it voted on is chosen): stop and wipe its replica, whether or not it learned its
   * removal itself (a deposed node often does not: the leader stops writing to it).
   */
  async retireMember(member: NodeId): Promise<void> {
    const host = hostOfMember(member);
    const h = this.world.host(host);
    const cell = this.cells.get(host);
    if (this.selfOf.get(host) !== member) return;
    if (cell !== undefined && h.state === 'up') {
      await this.retire(host, cell);
      return;
    }
    // Down: it must not come back with its old state.
    this.cells.delete(host);
    this.retiredHosts.add(host);
    this.learnerSeeds.delete(host);
  }

  /** Stops a replica that applied its own removal and wipes its state (it never votes again). */
  private async retire(host: string, removed: CellReplica | undefined): Promise<void> {
    const env = this.bootEnvs.get(host);
    if (removed === undefined || this.cells.get(host) !== removed) return;
    removed.close();
    this.cells.delete(host);
    this.retiredHosts.add(host);
    this.learnerSeeds.delete(host);
    this.stats.retired += 1;
    const now = this.world.host(host);
    if (env !== undefined && now.state === 'up' && now.incarnation === env.incarnation)
      await CellReplica.destroy(env.storage, this.cellId);
    this.world.scheduler.notePromiseSettled();
  }

  private noteDigest(host: string, index: number, digest: string): void {
    this.agreement.recordAppliedState({ replica: host, appliedIndex: index, stateDigest: digest });
  }

  /** Replica agreement violations so far, described. */
  get agreementViolations(): string[] {
    return this.agreement.violations().map(describeAgreementViolation);
  }
}

export function cellCluster(options: CellClusterOptions): CellCluster {
  return new CellCluster(options);
}
