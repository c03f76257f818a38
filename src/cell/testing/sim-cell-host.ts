// TEST-ONLY: one cell replicated over simulated hosts, one replica per server host. The host
// side is what src/node/ does for real: it encodes sends onto the sim Network, ticks the
// cell with ONE timer while `wantsTick`, loads the replica again after a dirty reboot, and
// records every applied digest so replica agreement can be checked.
// Reusable by the swarm runner and bench:cell: build with `cellCluster`, drive the world.
import type { SimHostEnv, World } from '../../simworld/index.ts';
import { sim } from '../../simworld/index.ts';
import type { Distribution } from '../../simworld/index.ts';
import type { TimerHandle } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import { partitionKey } from '../../model/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import { CellReplica } from '../replica.ts';
import type { CellEnv, CellOptions, CellRequest, CellResponse } from '../types.ts';
import { cellMessageKind } from '../wire.ts';
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
}

/** A cell over simulated hosts. Server hosts are n1..nN; client hosts c1..cK. */
export class CellCluster {
  readonly world: World;
  readonly members: readonly NodeId[];
  readonly clientHosts: readonly string[];
  readonly cellId = partitionKey('cell-under-test');
  readonly options: Partial<CellOptions>;
  readonly stats: ClusterStats = { boots: 0, loadFailures: 0, ticks: 0, messagesDelivered: 0 };
  /** Replica agreement: every replica's state digest at each applied index (shared checker). */
  readonly agreement = new ReplicaAgreementChecker();
  private readonly cells = new Map<string, CellReplica>();
  private readonly wakers = new Map<string, () => void>();
  private readonly reloaders = new Map<string, () => void>();

  constructor(options: CellClusterOptions) {
    this.members = Array.from({ length: options.replicas }, (_, i) => nodeId(`n${i + 1}`));
    this.clientHosts = Array.from({ length: options.clientHosts ?? 0 }, (_, i) => `c${i + 1}`);
    this.options = { checkInvariants: true, ...options.cellOptions };
    const servers = this.members.map((name) => ({ name, boot: (env: SimHostEnv) => this.boot(env) }));
    const clients = this.clientHosts.map((name) => ({ name }));
    this.world = sim({
      seed: options.seed,
      hosts: [...servers, ...clients],
      ...(options.latency === undefined ? {} : { latency: options.latency }),
    });
    this.world.net.classify(cellMessageKind);
    this.world.scheduler.notePromiseSettled();
  }

  /** The live replica on `host`, if the host is up and its replica is loaded. */
  cell(host: string): CellReplica | undefined {
    return this.world.host(host).state === 'up' ? this.cells.get(host) : undefined;
  }

  /** Live replicas, by host name. */
  liveCells(): Array<[string, CellReplica]> {
    return this.members.flatMap((m) => {
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
    this.wakers.get(host)?.();
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
    const options: Partial<CellOptions> = {
      ...this.options,
      onApplied: (index, digest) => this.noteDigest(host, index, digest),
      onAnswered: () => this.world.scheduler.notePromiseSettled(),
    };
    const cellEnv: CellEnv = {
      cellId: this.cellId,
      self: nodeId(host),
      storage: env.storage,
      clock: env.clock,
      random: env.random.fork('cell'),
      send: (to, message) => env.network.send(hostId(to), message),
    };
    let cell: CellReplica | undefined;
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
    env.network.onReceive((from, message) => {
      if (cell === undefined) return;
      this.stats.messagesDelivered += 1;
      cell.receive(nodeId(from), message);
      wake();
    });
    const start = (): void => {
      cell = undefined;
      this.cells.delete(host);
      const started = CellReplica.load(cellEnv, options).then((loaded) =>
        loaded === undefined ? CellReplica.create(cellEnv, this.members, options) : loaded,
      );
      // Run the load's continuation before the next event (hosts booted by the World's
      // constructor come before `world` is set: the constructor notes it for them).
      (this.world as World | undefined)?.scheduler.notePromiseSettled();
      started.then(
        (ready) => {
          const now = this.world.host(host);
          if (now.state !== 'up' || now.incarnation !== env.incarnation) return;
          cell = ready;
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
