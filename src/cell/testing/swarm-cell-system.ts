// TEST-ONLY: the real cell as a SystemUnderTest of the simworld swarm. Each run builds one
// cell of 3-9 replicas (drawn per seed unless the size says), with per-seed protocol settings
// (alpha, batch size, snapshot interval), and client hosts running read / write / cas / incr
// over a few keys through the sim network. Checks beyond the history: replica agreement
// (decided values per log index, read from every replica's disk, and state digests at equal
// applied indices) and, through the runner, liveness of EVERY client after healing.
import type { HostId, Storage } from '../../env/index.ts';
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
import type { EntryValue } from '../../paxos/index.ts';
import { CellStore } from '../storage-layout.ts';
import type { CellId, CellOptions } from '../types.ts';
import { SwarmClient } from './swarm-cell-client.ts';
import type { ClientShared, ClientTiming } from './swarm-cell-client.ts';
import { bootCellServer } from './swarm-cell-server.ts';
import type { CellServerContext, LiveReplicas } from './swarm-cell-server.ts';
import { swarmMessageKind } from './swarm-envelope.ts';

/** Agreement violations of each kind listed in a run's report (the rest are counted). */
const AGREEMENT_VIOLATIONS_SHOWN = 3;
/** Cell sizes a run may draw. */
export const REPLICAS_MIN = 3;
export const REPLICAS_MAX = 9;

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
  /** Deliberate bugs (tests that the swarm catches them); none by default. */
  readonly bugs?: { readonly wipeDiskOnReboot?: boolean };
}

export const CELL_SWARM_DEFAULTS: CellSwarmSettings = {
  keys: ['a', 'b', 'c'],
  timing: { attemptTimeoutMs: 600, attemptTimeoutMsMax: 5_000, operationDeadlineMs: 2_000, thinkMsMax: 10 },
  alphaChoices: [1, 3, 3, 8],
  batchRequestsChoices: [1, 4, 64],
  snapshotEveryChoices: [8, 50, 1_000],
  cellOptions: { checkInvariants: true },
  decisionAuditEveryMs: 500,
  finalReadsMs: 20_000,
};

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
}

/** The cell size and protocol settings of a run, drawn from the world's seed. */
export function drawCellConfig(world: World, size: SystemSize, settings: CellSwarmSettings): CellRunConfig {
  const random = world.random.fork('cell-config');
  const pick = (values: readonly number[]): number => values[random.intBelow(values.length)]!;
  const drawnReplicas = REPLICAS_MIN + random.intBelow(REPLICAS_MAX - REPLICAS_MIN + 1);
  return {
    replicas: size.servers > 0 ? size.servers : drawnReplicas,
    cellOptions: {
      alpha: pick(settings.alphaChoices),
      batchRequestsMax: pick(settings.batchRequestsChoices),
      snapshotEveryEntries: pick(settings.snapshotEveryChoices),
      ...settings.cellOptions,
    },
  };
}

/** One run: the cell's server hosts, the client processes, and what the checks collect. */
class CellSwarmRun {
  readonly cellId: CellId = partitionKey('swarm-cell');
  readonly config: CellRunConfig;
  readonly servers: HostId[] = [];
  readonly clientHosts: HostId[] = [];
  readonly clients: SwarmClient[] = [];
  readonly agreement = new ReplicaAgreementChecker();
  readonly live: LiveReplicas = new Map();
  readonly shared: ClientShared;
  private running = true;
  private clientsRunning = 0;
  private finalReads: 'not-started' | 'running' | 'done' = 'not-started';
  private readonly problems: string[] = [];

  constructor(
    readonly world: World,
    readonly size: SystemSize,
    readonly settings: CellSwarmSettings,
  ) {
    this.config = drawCellConfig(world, size, settings);
    this.shared = {
      world,
      servers: this.servers,
      keys: settings.keys,
      recorder: new HistoryRecorder(),
      timing: settings.timing,
      nextValue: 1,
      lastSeen: new Map(),
    };
    world.mark(`cell replicas=${this.config.replicas} options=${JSON.stringify(this.config.cellOptions)}`);
    this.addServers();
    this.addClients();
    for (const name of [...this.servers, ...this.clientHosts]) world.start(name);
    for (const client of this.clients) this.startClient(client);
    this.scheduleAudit();
  }

  private addServers(): void {
    const members = Array.from({ length: this.config.replicas }, (_, i) => nodeId(`n${i + 1}`));
    const context: CellServerContext = {
      world: this.world,
      cellId: this.cellId,
      members,
      cellOptions: this.config.cellOptions,
      onApplied: (host, index, digest) => {
        this.agreement.recordAppliedState({ replica: host, appliedIndex: index, stateDigest: digest });
      },
      onReboot: (host) => this.auditDecisions([hostId(host)]),
      stats: {
        boots: 0,
        loadFailures: 0,
        reloadsAfterFailure: 0,
        ticks: 0,
        malformedEnvelopes: 0,
        staleRequests: 0,
      },
      highestRequestId: new Map(),
      ...(this.settings.bugs?.wipeDiskOnReboot === true ? { wipeDiskOnReboot: true } : {}),
    };
    members.forEach((name, index) => {
      this.world.addHost({
        name,
        labels: { rack: `r${(index % 3) + 1}`, power: `p${(index % 2) + 1}` },
        boot: (env) => bootCellServer(env, context, this.live),
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

  private startClient(client: SwarmClient): void {
    this.clientsRunning += 1;
    client
      .run(() => this.running)
      .then(
        () => {
          this.clientsRunning -= 1;
          if (this.clientsRunning === 0 && !this.running) this.startFinalReads();
        },
        (error: unknown) => {
          this.clientsRunning -= 1;
          this.problems.push(`client ${client.process} threw: ${String(error)}`);
        },
      );
  }

  /** After every client stopped: one consistent read of each key (durability, §2.2). */
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

  /** Records, for each replica, the value of every log entry at or below its durable commit index. */
  auditDecisions(servers: readonly HostId[] = this.servers): void {
    for (const server of servers) {
      const disk = this.world.disk(server);
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
        if (this.clientsRunning === 0) this.startFinalReads();
      },
      idle: () => this.finalReads === 'done',
      // Liveness needs EVERY client to progress: the runner waits for this to grow.
      okOperations: () => Math.min(...this.clients.map((client) => client.definiteAnswers)),
      history: () => this.shared.recorder.events(),
      checkInvariants: () => this.invariantViolations(),
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
