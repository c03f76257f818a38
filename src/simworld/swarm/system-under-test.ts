// The interface between the swarm runner and a system it tests: the system installs its
// hosts and clients in a world, runs a client workload, and exposes what the checkers
// need. The ABD register implements it now; the Paxos cell plugs in the same way.
import type { HostId } from '../../env/index.ts';
import type { HistoryEvent } from '../checkers/history.ts';
import type { World } from '../world.ts';

/** How big a system to build. */
export interface SystemSize {
  /** Server hosts: the ones the nemesis crashes, pauses and corrupts. */
  readonly servers: number;
  /** Client hosts, each running one client process of the workload. */
  readonly clients: number;
}

/** Faults a system declares it cannot survive by design, so the nemesis leaves them out. */
export interface FaultTolerance {
  /** Hosts whose disk may be corrupted in one run (0: no disk corruption). */
  readonly corruptedDisksMax: number;
}

/** One installed system in one world. */
export interface SystemInstance {
  readonly servers: readonly HostId[];
  readonly clients: readonly HostId[];
  /** Clients issue no new operations; those in flight finish or time out. */
  stopWorkload(): void;
  /** True once every client is idle (no operation in flight). */
  idle(): boolean;
  /** Operations completed `ok` so far: the liveness phase requires this to grow. */
  okOperations(): number;
  /** The client history, in real-time order, for the linearizability checker. */
  history(): readonly HistoryEvent[];
  /**
   * The system's own safety checks (replica agreement, no acknowledged write lost), run
   * at the end of a run: a list of violations, empty when none.
   */
  checkInvariants(): readonly string[];
}

export interface SystemUnderTest {
  readonly name: string;
  readonly tolerance: FaultTolerance;
  /** Adds the system's hosts to `world` (which has none) and boots them. */
  install(world: World, size: SystemSize): SystemInstance;
  /** Classifies a message's kind for network rules that match by kind. */
  messageKind?(payload: Uint8Array): string;
}
