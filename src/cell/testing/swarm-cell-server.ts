// TEST-ONLY: a server host of the cell swarm, as src/node/ would run it: one CellReplica
// ticked by ONE timer while it wants ticks, peer messages and client requests demultiplexed
// from the sim network, answers sent back to the asking host, and the replica reloaded from
// its disk after a dirty reboot or a failed storage write (the replica answers nothing after
// one until reloaded). Modelled on CellCluster (sim-cell-host.ts), but on a given world.
import type { Storage, TimerHandle } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import type { SimHostEnv, World } from '../../simworld/index.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import { CellReplica } from '../replica.ts';
import type { CellEnv, CellId, CellOptions, CellResponse } from '../types.ts';
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
  /** Counters shared by all servers. */
  readonly stats: CellServerStats;
}

export interface CellServerStats {
  boots: number;
  loadFailures: number;
  reloadsAfterFailure: number;
  ticks: number;
  malformedEnvelopes: number;
}

/** The live replica of each server host (absent while down, loading or after a failed load). */
export type LiveReplicas = Map<string, CellReplica>;

/** Boots one server host; returns its process (stopped by a crash). */
export function bootCellServer(env: SimHostEnv, context: CellServerContext, live: LiveReplicas): object {
  context.stats.boots += 1;
  const host = env.host as string;
  const { world } = context;
  const isCurrent = (): boolean =>
    world.host(host).state === 'up' && world.host(host).incarnation === env.incarnation;
  let cell: CellReplica | undefined;
  let timer: TimerHandle | undefined;
  let reloadPending = false;
  const tickMs = context.cellOptions.tickMs ?? 10;
  const wake = (): void => {
    if (cell === undefined || timer !== undefined || !cell.wantsTick) return;
    timer = env.clock.setTimer(tickMs, () => {
      timer = undefined;
      context.stats.ticks += 1;
      cell?.tick();
      wake();
    });
  };
  const reloadSoon = (): void => {
    if (reloadPending) return;
    reloadPending = true;
    env.clock.setTimer(RELOAD_AFTER_FAILURE_MS, () => {
      reloadPending = false;
      if (!isCurrent()) return;
      context.stats.reloadsAfterFailure += 1;
      cell?.close();
      cell = undefined;
      live.delete(host);
      load();
    });
  };
  const storage: Storage = {
    get: (key) => env.storage.get(key),
    range: (range) => env.storage.range(range),
    write: (batch) =>
      env.storage.write(batch).catch((error: unknown) => {
        reloadSoon();
        throw error;
      }),
  };
  const options: Partial<CellOptions> = {
    ...context.cellOptions,
    onApplied: (index, digest) => context.onApplied(host, index, digest),
    onAnswered: () => world.scheduler.notePromiseSettled(),
  };
  const cellEnv: CellEnv = {
    cellId: context.cellId,
    self: nodeId(host),
    storage,
    clock: env.clock,
    random: env.random.fork('cell'),
    send: (to, message) => env.network.send(hostId(to), encodePeer(message)),
  };
  const answer = (to: string, requestId: number, response: CellResponse): void => {
    if (isCurrent()) env.network.send(hostId(to), encodeResponse(requestId, response));
  };
  const load = (): void => {
    const started = CellReplica.load(cellEnv, options).then((loaded) =>
      loaded === undefined ? CellReplica.create(cellEnv, context.members, options) : loaded,
    );
    world.scheduler.notePromiseSettled();
    started.then(
      (ready) => {
        if (!isCurrent()) return;
        cell = ready;
        live.set(host, ready);
        wake();
      },
      () => {
        // Corrupt storage: this replica must not vote again; it stays out of the cell.
        context.stats.loadFailures += 1;
      },
    );
  };
  live.delete(host);
  env.network.onReceive((from, bytes) => {
    const envelope = decodeEnvelope(bytes);
    if (envelope === undefined) {
      context.stats.malformedEnvelopes += 1;
      return;
    }
    switch (envelope.kind) {
      case 'peer':
        if (cell === undefined) return;
        cell.receive(nodeId(from as string), envelope.message);
        wake();
        return;
      case 'request': {
        if (cell === undefined) {
          answer(from, envelope.requestId, { kind: 'unavailable', reason: `${host} has no replica loaded` });
          return;
        }
        cell.submit(envelope.request).then(
          (response) => answer(from, envelope.requestId, response),
          () => undefined,
        );
        wake();
        return;
      }
      case 'response':
        context.stats.malformedEnvelopes += 1;
        return;
    }
  });
  load();
  return {
    stop: () => {
      cell?.close();
      live.delete(host);
    },
  };
}
