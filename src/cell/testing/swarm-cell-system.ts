// TEST-ONLY: the real cell as a SystemUnderTest of the simworld swarm. Each run builds one
// cell of 3-9 replicas (drawn per seed unless the size says), with per-seed protocol settings
// (alpha, batch size, snapshot interval), and client hosts running read / write / cas / incr
// over a few keys through the sim network. On most seeds an operator (swarm-operator.ts)
// also changes the membership during the safety phase: adds, removes, replaces, moves onto
// spare hosts and back onto old ones as new incarnations, no-ops (paper §2.4). Checks beyond
// the history: replica agreement over every replica that ever existed, of every incarnation
// (decided values per log index, read from every host's disk before any wipe, and state
// digests at equal applied indices), every change completing, final reads after the moves
// (durability), and, through the runner, liveness of EVERY client after healing.
import type { HostId, Random, Storage } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import type { World } from '../../simworld/index.ts';
import {
  describeAgreementViolation,
  HistoryRecorder,
  ReplicaAgreementChecker,
} from '../../simworld/checkers/index.ts';
import type { SystemInstance, SystemSize, SystemUnderTest } from '../../simworld/swarm/system-under-test.ts';
import { partitionKey } from '../../model/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { EntryValue, NodeId } from '../../paxos/index.ts';
import { CellStore } from '../storage-layout.ts';
import type { CellId, CellOptions } from '../types.ts';
import { MembershipDirectory, SwarmClient } from './swarm-cell-client.ts';
import type { ClientShared, ClientTiming } from './swarm-cell-client.ts';
import { bootCellServer, describeServerHosts, emptyServerStats } from './swarm-cell-server.ts';
import type { CellServerContext, ServerBugs, ServerHosts } from './swarm-cell-server.ts';
import { swarmMessageKind } from './swarm-envelope.ts';
import { emptyReconfigCounts, SwarmCellControl, SwarmOperator } from './swarm-operator.ts';
import type { OperatorSettings, ReconfigCounts } from './swarm-operator.ts';

/** Agreement violations of each kind listed in a run's report (the rest are counted). */
const AGREEMENT_VIOLATIONS_SHOWN = 3;
/** Cell sizes a run may draw. */
export const REPLICAS_MIN = 3;
export const REPLICAS_MAX = 9;
/** The host the operator sends its admin requests from. */
const OPERATOR_HOST = 'op';

/**
 * The run shape of the cell swarm (`npm test` and `npm run sim`): servers 0 draws the cell
 * size per seed. The liveness bound is generous because disk-slowing buggify stays on after
 * healing (25% of syncs +50-550 ms), which can cost a leader its leadership several times.
 */
export const CELL_SWARM_RUN = {
  servers: 0,
  clients: 3,
  safetyMs: 400,
  livenessMs: 20_000,
  livenessOps: 3,
} as const;

export interface CellSwarmSettings {
  readonly keys: readonly string[];
  readonly timing: ClientTiming;
  /** Per-seed choices of the protocol settings (one is drawn for each). */
  readonly alphaChoices: readonly number[];
  readonly batchRequestsChoices: readonly number[];
  readonly snapshotEveryChoices: readonly number[];
  /** Fixed cell options on top of the drawn ones (e.g. tick and timeouts). */
  readonly cellOptions: Partial<CellOptions>;
  /** How often every replica's durable log is read for decided values (agreement). */
  readonly decisionAuditEveryMs: number;
  /** Final reads after the workload stops give up after this long (the runner bounds it too). */
  readonly finalReadsMs: number;
  /** Membership changes during the safety phase; undefined: no operator and no spare hosts. */
  readonly operator: OperatorSettings | undefined;
  /** Called at the end of each run (when its invariants are checked) with what it did. */
  readonly onRunSummary?: (summary: CellRunSummary) => void;
  /** Deliberate bugs (tests that the swarm catches them); none by default. */
  readonly bugs?: ServerBugs;
}

/** What one run did, for the swarm's summary. */
export interface CellRunSummary {
  readonly seed: number;
  readonly replicas: number;
  readonly spares: number;
  readonly operator: boolean;
  readonly reconfigurations: ReconfigCounts;
  /** Peer messages dropped because they were addressed to another incarnation (ABA). */
  readonly staleIncarnationDrops: number;
  /** Times a client refreshed its (stale) view of the membership from the directory. */
  readonly viewRefreshes: number;
  /** Client attempts sent to a host outside the published membership (stale views, stale hints). */
  readonly staleAttempts: number;
  /** Each server host's plan, state and replica at the end of the run. */
  readonly hosts: readonly string[];
}

/** One line: the run's cell and the changes its operator completed. */
export function describeRunSummary(summary: CellRunSummary): string {
  const counts = summary.reconfigurations;
  const changes = summary.operator
    ? `add=${counts.add} remove=${counts.remove} replace=${counts.replace} move=${counts.move}` +
      ` (whole=${counts.wholeMoves} steps=${counts.moveSteps} stopped=${counts.movesStopped})` +
      ` aba=${counts.aba} deposed=${counts.deposed}` +
      ` noop=${counts.noop}` +
      ` failed=${counts.failed}`
    : 'off';
  return (
    `cell seed=${summary.seed} replicas=${summary.replicas} spares=${summary.spares} reconfig: ${changes}` +
    ` staleIncarnationDrops=${summary.staleIncarnationDrops} staleAttempts=${summary.staleAttempts}` +
    ` viewRefreshes=${summary.viewRefreshes}`
  );
}

/** The operator of the swarm: most seeds have one, acting through the safety phase. */
export const OPERATOR_DEFAULTS: OperatorSettings = {
  enabledProbability: 0.85,
  actionWindowMs: CELL_SWARM_RUN.safetyMs,
  pauseMsMax: 60,
  stepDeadlineMs: 15_000,
  moveGraceMs: 3_000,
  retireProbability: 0.75,
  weights: { replace: 30, add: 20, remove: 20, move: 15, noop: 15 },
};

export const CELL_SWARM_DEFAULTS: CellSwarmSettings = {
  keys: ['a', 'b', 'c'],
  timing: { attemptTimeoutMs: 600, attemptTimeoutMsMax: 5_000, operationDeadlineMs: 2_000, thinkMsMax: 10 },
  alphaChoices: [1, 3, 3, 8],
  batchRequestsChoices: [1, 4, 64],
  snapshotEveryChoices: [8, 50, 1_000],
  cellOptions: { checkInvariants: true },
  decisionAuditEveryMs: 500,
  finalReadsMs: 20_000,
  operator: OPERATOR_DEFAULTS,
};

export function cellSystem(overrides: Partial<CellSwarmSettings> = {}): SystemUnderTest {
  const settings: CellSwarmSettings = { ...CELL_SWARM_DEFAULTS, ...overrides };
  return {
    name: 'cell',
    // A corrupt replica refuses to load and stays out; with one, a majority remains.
    tolerance: { corruptedDisksMax: 1 },
    messageKind: swarmMessageKind,
    install: (world, size) => new CellSwarmRun(world, size, settings).instance(),
  };
}

/** What a run drew for its cell. */
export interface CellRunConfig {
  readonly replicas: number;
  readonly cellOptions: Partial<CellOptions>;
  /** Whether an operator changes the membership, and how many spare hosts it has. */
  readonly operator: boolean;
  readonly spares: number;
}

/** The cell size and protocol settings of a run, drawn from the world's seed. */
export function drawCellConfig(world: World, size: SystemSize, settings: CellSwarmSettings): CellRunConfig {
  const random = world.random.fork('cell-config');
  const pick = (values: readonly number[]): number => values[random.intBelow(values.length)]!;
  const drawnReplicas = REPLICAS_MIN + random.intBelow(REPLICAS_MAX - REPLICAS_MIN + 1);
  const replicas = size.servers > 0 ? size.servers : drawnReplicas;
  const cellOptions = {
    alpha: pick(settings.alphaChoices),
    batchRequestsMax: pick(settings.batchRequestsChoices),
    snapshotEveryEntries: pick(settings.snapshotEveryChoices),
    ...settings.cellOptions,
  };
  // A fork of its own: the draws above stay what they were before the operator existed.
  const reconfig = world.random.fork('cell-reconfig');
  const operator =
    settings.operator !== undefined && reconfig.nextFloat() < settings.operator.enabledProbability;
  return { replicas, cellOptions, operator, spares: operator ? drawSpares(reconfig, replicas) : 0 };
}

/** Spare hosts: one to three, or on a quarter of the seeds as many as the cell has (a whole-cell move). */
function drawSpares(random: Random, replicas: number): number {
  return random.intBelow(4) === 0 ? replicas : 1 + random.intBelow(3);
}

/** One run: the cell's server hosts, the client processes, and what the checks collect. */
class CellSwarmRun {
  readonly cellId: CellId = partitionKey('swarm-cell');
  readonly config: CellRunConfig;
  /** Every server host: the first members, then the spares. */
  readonly servers: HostId[] = [];
  readonly clientHosts: HostId[] = [];
  readonly clients: SwarmClient[] = [];
  readonly agreement = new ReplicaAgreementChecker();
  readonly hosts: ServerHosts = new Map();
  readonly shared: ClientShared;
  readonly context: CellServerContext;
  readonly operator: SwarmOperator | undefined;
  private running = true;
  private stoppedAtMs: number | undefined;
  private clientsRunning = 0;
  private operatorRunning = false;
  private finalReads: 'not-started' | 'running' | 'done' = 'not-started';
  private readonly problems: string[] = [];
  /** Each host's disk counters at its last decision audit. */
  private readonly audited = new Map<HostId, string>();

  constructor(
    readonly world: World,
    readonly size: SystemSize,
    readonly settings: CellSwarmSettings,
  ) {
    this.config = drawCellConfig(world, size, settings);
    const members = Array.from({ length: this.config.replicas }, (_, i) => nodeId(`n${i + 1}`));
    this.context = this.serverContext(members);
    this.shared = {
      world,
      servers: this.servers,
      directory: new MembershipDirectory(members),
      keys: settings.keys,
      recorder: new HistoryRecorder(),
      timing: settings.timing,
      nextValue: 1,
      lastSeen: new Map(),
    };
    world.mark(
      `cell replicas=${this.config.replicas} spares=${this.config.spares} options=${JSON.stringify(this.config.cellOptions)}`,
    );
    this.addServers(members);
    this.addClients();
    this.operator = this.addOperator(members);
    for (const name of [...this.servers, ...this.clientHosts]) world.start(name);
    for (const client of this.clients) this.startClient(client);
    this.startOperator();
    this.scheduleAudit();
  }

  private serverContext(members: readonly NodeId[]): CellServerContext {
    const plans = new Map(
      members.map((m) => [m as string, { self: m, seedMembers: members, wipeFirst: false, retired: false }]),
    );
    return {
      world: this.world,
      cellId: this.cellId,
      cellOptions: this.config.cellOptions,
      plans,
      onApplied: (member, index, digest) => {
        this.agreement.recordAppliedState({ replica: member, appliedIndex: index, stateDigest: digest });
      },
      beforeWipe: (host) => this.auditDecisions([hostId(host)]),
      stats: emptyServerStats(),
      highestRequestId: new Map(),
      ...(this.settings.bugs === undefined ? {} : { bugs: this.settings.bugs }),
    };
  }

  /** The first members n1..nN, then the spares s1..sS (no replica until the operator starts one). */
  private addServers(members: readonly NodeId[]): void {
    const spares = Array.from({ length: this.config.spares }, (_, i) => `s${i + 1}`);
    [...members, ...spares].forEach((name, index) => {
      this.world.addHost({
        name,
        labels: { rack: `r${(index % 3) + 1}`, power: `p${(index % 2) + 1}` },
        boot: (env) => bootCellServer(env, this.context, this.hosts),
      });
      this.servers.push(hostId(name));
    });
  }

  private addClients(): void {
    for (let index = 0; index < this.size.clients; index += 1) {
      const name = `c${index + 1}`;
      const client = new SwarmClient(this.shared, index, this.world.random.fork(`client-${index}`));
      this.world.addHost({
        name,
        labels: { role: 'client' },
        boot: (env) => {
          client.attach(env.network);
          return {};
        },
      });
      this.clients.push(client);
      this.clientHosts.push(hostId(name));
    }
  }

  /**
   * The operator's host (partitioned like a client, never crashed) and its loop. It never
   * starts a replica on the first server: the nemesis may corrupt that host's disk, and a
   * control plane would not pick a host it had seen fail to load.
   */
  private addOperator(members: readonly NodeId[]): SwarmOperator | undefined {
    const settings = this.settings.operator;
    if (!this.config.operator || settings === undefined) return undefined;
    const control = new SwarmCellControl(
      this.world,
      this.config.cellOptions,
      members,
      this.context,
      this.hosts,
      this.shared.directory,
    );
    this.world.addHost({
      name: OPERATOR_HOST,
      labels: { role: 'operator' },
      boot: (env) => {
        control.attach(env.network);
        return {};
      },
    });
    this.clientHosts.push(hostId(OPERATOR_HOST));
    return new SwarmOperator(control, this.world.random.fork('operator'), settings, this.servers.slice(1));
  }

  private startClient(client: SwarmClient): void {
    this.clientsRunning += 1;
    client
      .run(() => this.running)
      .then(
        () => {
          this.clientsRunning -= 1;
          this.maybeStartFinalReads();
        },
        (error: unknown) => {
          this.clientsRunning -= 1;
          this.problems.push(`client ${client.process} threw: ${String(error)}`);
        },
      );
  }

  private startOperator(): void {
    if (this.operator === undefined) return;
    this.operatorRunning = true;
    this.operator
      .run(() => this.stoppedAtMs)
      .then(
        () => {
          this.operatorRunning = false;
          this.maybeStartFinalReads();
        },
        (error: unknown) => {
          this.operatorRunning = false;
          this.problems.push(`operator threw: ${String(error)}`);
          this.maybeStartFinalReads();
        },
      );
  }

  /** Final reads wait for every client and for the operator's last change (durability after moves). */
  private maybeStartFinalReads(): void {
    if (this.running || this.clientsRunning > 0 || this.operatorRunning) return;
    this.startFinalReads();
  }

  /** After every client and the operator stopped: one consistent read of each key (durability, §2.2). */
  private startFinalReads(): void {
    if (this.finalReads !== 'not-started') return;
    this.finalReads = 'running';
    const reader = this.clients[0];
    if (reader === undefined) {
      this.finalReads = 'done';
      return;
    }
    const deadlineMs = this.world.nowMs + this.settings.finalReadsMs;
    const readAll = async (): Promise<void> => {
      for (const key of this.settings.keys) {
        if (!(await reader.finalRead(key, deadlineMs))) this.problems.push(`no final read of ${key}`);
      }
    };
    readAll().then(
      () => {
        this.finalReads = 'done';
      },
      (error: unknown) => {
        this.finalReads = 'done';
        this.problems.push(`final reads threw: ${String(error)}`);
      },
    );
  }

  private scheduleAudit(): void {
    this.world.after(this.settings.decisionAuditEveryMs, () => {
      this.auditDecisions();
      if (this.finalReads !== 'done') this.scheduleAudit();
    });
  }

  /**
   * Records, for each host, the value of every log entry at or below its durable commit
   * index: whichever incarnation wrote it (each host's disk is also read before it is wiped).
   */
  auditDecisions(servers: readonly HostId[] = this.servers): void {
    for (const server of servers) {
      const disk = this.world.disk(server);
      // A disk whose durable contents cannot have changed since its last audit is skipped
      // (idle spares, retired and deposed hosts): a batch made durable, a crash keeping
      // pending batches or a corruption each moves one of these counters.
      const { stats } = disk;
      const signature = `${stats.batchesWritten}/${stats.batchesDurable}/${stats.batchesLostInCrashes}/${stats.corruptions}/${disk.pendingBatches}`;
      if (this.audited.get(server) === signature) continue;
      this.audited.set(server, signature);
      const durable: Storage = {
        get: () => undefined,
        range: (range) => disk.durableRange(range),
        write: () => Promise.reject(new Error('read-only')),
      };
      const loaded = new CellStore(durable, this.cellId).load();
      if (loaded.kind !== 'found') continue;
      for (const entry of loaded.state.entries) {
        if (entry.index > loaded.state.commitIndex) continue;
        this.agreement.recordDecision({
          replica: server,
          logIndex: entry.index,
          valueDigest: entryValueDigest(entry.value),
        });
      }
    }
  }

  instance(): SystemInstance {
    return {
      servers: this.servers,
      clients: this.clientHosts,
      stopWorkload: () => {
        this.running = false;
        this.stoppedAtMs = this.world.nowMs;
        this.maybeStartFinalReads();
      },
      idle: () => this.finalReads === 'done',
      // Liveness needs EVERY client to progress: the runner waits for this to grow.
      okOperations: () => Math.min(...this.clients.map((client) => client.definiteAnswers)),
      history: () => this.shared.recorder.events(),
      checkInvariants: () => {
        const violations = this.invariantViolations();
        this.settings.onRunSummary?.(this.summary());
        return violations;
      },
    };
  }

  summary(): CellRunSummary {
    return {
      seed: this.world.options.seed,
      replicas: this.config.replicas,
      spares: this.config.spares,
      operator: this.operator !== undefined,
      reconfigurations: { ...(this.operator?.counts ?? emptyReconfigCounts()) },
      staleIncarnationDrops: this.context.stats.staleIncarnationDrops,
      viewRefreshes: this.clients.reduce((sum, client) => sum + client.viewRefreshes, 0),
      staleAttempts: this.clients.reduce((sum, client) => sum + client.staleAttempts, 0),
      hosts: describeServerHosts(this.world, this.context, this.hosts),
    };
  }

  private invariantViolations(): string[] {
    this.auditDecisions();
    const all = this.agreement.violations();
    const shown = (['conflicting-decision', 'divergent-state'] as const).flatMap((kind) =>
      all.filter((violation) => violation.kind === kind).slice(0, AGREEMENT_VIOLATIONS_SHOWN),
    );
    const more = this.agreement.totalViolations() - shown.length;
    return [
      ...this.problems,
      ...(this.operator?.problems ?? []),
      ...shown.map((violation) => `agreement: ${describeAgreementViolation(violation)}`),
      ...(more > 0 ? [`agreement: ${more} more violations`] : []),
    ];
  }
}

function entryValueDigest(value: EntryValue): string {
  switch (value.kind) {
    case 'noop':
      return 'noop';
    case 'config':
      return `config:${value.members.join(',')}`;
    case 'payload':
      return `payload:${Buffer.from(value.payload.buffer, value.payload.byteOffset, value.payload.length).toString('base64')}`;
  }
}
