// TEST-ONLY: a server host of the cell swarm, as src/node/ would run it: one CellReplica
// ticked by ONE timer while it wants ticks, peer messages and client requests demultiplexed
// from the sim network, answers sent back to the asking host, and the replica reloaded from
// its disk after a dirty reboot or a failed storage write (the replica answers nothing after
// one until reloaded). Modelled on CellCluster (sim-cell-host.ts), but on a given world.
import type { HostId, Storage, TimerHandle } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import type { SimHostEnv, World } from '../../simworld/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import { CellReplica } from '../replica.ts';
import type { CellEnv, CellId, CellOptions, CellRequest, CellResponse } from '../types.ts';
import { decodeEnvelope, encodePeer, encodeResponse } from './swarm-envelope.ts';

/** A failed storage write makes the host reload its replica after this long. */
export const RELOAD_AFTER_FAILURE_MS = 50;

export interface CellServerContext {
  readonly world: World;
  readonly cellId: CellId;
  readonly members: readonly NodeId[];
  readonly cellOptions: Partial<CellOptions>;
  /** Called after each applied entry with the replica's state digest. */
  onApplied(host: string, index: number, digest: string): void;
  /** Called when a host boots again, before its replica loads: its disk holds what survived. */
  onReboot(host: string): void;
  /** Counters shared by all servers. */
  readonly stats: CellServerStats;
  /**
   * The highest request id delivered from each client host, over all servers and boots. A
   * client's requests reach the cell at most once and in order, as over TCP: a request at or
   * below it (a network duplicate, or an attempt the client already gave up on) is dropped.
   * The peer messages between replicas keep every fault.
   */
  readonly highestRequestId: Map<string, number>;
  /** A deliberate bug, to show the swarm catches it: a rebooted host's disk is wiped. */
  readonly wipeDiskOnReboot?: boolean;
}

export interface CellServerStats {
  boots: number;
  loadFailures: number;
  reloadsAfterFailure: number;
  ticks: number;
  malformedEnvelopes: number;
  staleRequests: number;
}

/** The live replica of each server host (absent while down, loading or after a failed load). */
export type LiveReplicas = Map<string, CellReplica>;

/** Boots one server host; returns its process (stopped by a crash). */
export function bootCellServer(env: SimHostEnv, context: CellServerContext, live: LiveReplicas): object {
  const server = new CellServerHost(env, context, live);
  server.load();
  return { stop: () => server.stop() };
}

/** One incarnation of one server host. */
class CellServerHost {
  private readonly host: string;
  private readonly cellEnv: CellEnv;
  private readonly options: Partial<CellOptions>;
  private cell: CellReplica | undefined;
  private timer: TimerHandle | undefined;
  private reloadPending = false;

  constructor(
    private readonly env: SimHostEnv,
    private readonly context: CellServerContext,
    private readonly live: LiveReplicas,
  ) {
    context.stats.boots += 1;
    this.host = env.host;
    const { world } = context;
    this.options = {
      ...context.cellOptions,
      onApplied: (index, digest) => context.onApplied(this.host, index, digest),
      onAnswered: () => world.scheduler.notePromiseSettled(),
    };
    this.cellEnv = {
      cellId: context.cellId,
      self: nodeId(this.host),
      storage: this.reloadingOnFailure(env.storage),
      clock: env.clock,
      random: env.random.fork('cell'),
      send: (to, message) => env.network.send(hostId(to), encodePeer(message)),
    };
    live.delete(this.host);
    env.network.onReceive((from, bytes) => this.receive(from, bytes));
  }

  /** Loads the replica from disk (a new one if the disk has none). */
  load(): void {
    const { world } = this.context;
    if (this.env.incarnation > 1) this.context.onReboot(this.host);
    const wiped =
      this.context.wipeDiskOnReboot === true && this.env.incarnation > 1
        ? CellReplica.destroy(this.cellEnv.storage, this.context.cellId)
        : Promise.resolve();
    const started = wiped
      .then(() => CellReplica.load(this.cellEnv, this.options))
      .then((loaded) =>
        loaded === undefined ? CellReplica.create(this.cellEnv, this.context.members, this.options) : loaded,
      );
    world.scheduler.notePromiseSettled();
    started.then(
      (ready) => {
        if (!this.isCurrent()) return;
        this.cell = ready;
        this.live.set(this.host, ready);
        this.wake();
      },
      () => {
        // Corrupt storage: this replica must not vote again; it stays out of the cell.
        this.context.stats.loadFailures += 1;
      },
    );
  }

  stop(): void {
    this.cell?.close();
    this.live.delete(this.host);
  }

  private isCurrent(): boolean {
    const host = this.context.world.host(this.host);
    return host.state === 'up' && host.incarnation === this.env.incarnation;
  }

  /** Ticks the replica with ONE timer while it wants ticks. */
  private wake(): void {
    const cell = this.cell;
    if (cell === undefined || this.timer !== undefined || !cell.wantsTick) return;
    this.timer = this.env.clock.setTimer(this.context.cellOptions.tickMs ?? 10, () => {
      this.timer = undefined;
      this.context.stats.ticks += 1;
      this.cell?.tick();
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
      this.cell?.close();
      this.cell = undefined;
      this.live.delete(this.host);
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
        if (this.cell === undefined) return;
        this.cell.receive(nodeId(from), envelope.message);
        this.wake();
        return;
      case 'request':
        this.request(from, envelope.requestId, envelope.request);
        return;
      case 'response':
        this.context.stats.malformedEnvelopes += 1;
        return;
    }
  }

  private request(from: HostId, requestId: number, request: CellRequest): void {
    const { highestRequestId, stats } = this.context;
    if (requestId <= (highestRequestId.get(from) ?? 0)) {
      stats.staleRequests += 1;
      return;
    }
    highestRequestId.set(from, requestId);
    const cell = this.cell;
    if (cell === undefined) {
      this.answer(from, requestId, { kind: 'unavailable', reason: `${this.host} has no replica loaded` });
      return;
    }
    cell.submit(request).then(
      (response) => this.answer(from, requestId, response),
      () => undefined,
    );
    this.wake();
  }

  private answer(to: HostId, requestId: number, response: CellResponse): void {
    if (this.isCurrent()) this.env.network.send(to, encodeResponse(requestId, response));
  }
}
