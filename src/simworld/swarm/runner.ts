// Runs one seed of a swarm: builds a world, installs the system under test, runs a safety
// phase with the seed's fault mix, heals everything, requires progress within a bound
// (liveness), then checks the history and the system's invariants.
import type { HistoryEvent } from '../checkers/history.ts';
import { SeededRandom } from '../../env/index.ts';
import { TraceHash } from '../scheduler.ts';
import { sim } from '../world.ts';
import { drawFaultMix } from './fault-mix.ts';
import type { FaultMix } from './fault-mix.ts';
import { Nemesis } from './nemesis.ts';
import type { SystemSize, SystemUnderTest } from './system-under-test.ts';

/** Exit codes of the swarm CLI; a run's outcome maps to one of them. */
export const EXIT_CODES = {
  pass: 0,
  /** The system under test or the simulator threw (a bug that crashes a process). */
  crash: 1,
  /** No progress within the bound after every fault was healed. */
  liveness: 2,
  /** A checker found a violation: not linearizable, a lost write, replicas disagree. */
  correctness: 3,
  /** `--self-check`: the same seed gave two different traces. */
  nondeterminism: 4,
  /** Bad command-line flags. */
  usage: 64,
} as const;

export type RunOutcome =
  | { readonly kind: 'pass' }
  | { readonly kind: 'crash'; readonly message: string }
  | { readonly kind: 'liveness'; readonly message: string }
  | { readonly kind: 'correctness'; readonly message: string };

/** Checks a finished history; returns violations (empty when it is fine). */
export type HistoryChecker = (history: readonly HistoryEvent[]) => readonly string[];

export interface RunOptions {
  readonly seed: number;
  readonly system: SystemUnderTest;
  readonly size: SystemSize;
  /** Virtual time with faults on. */
  readonly safetyMs: number;
  /** Virtual time allowed, after healing, to complete `livenessOperations` more operations. */
  readonly livenessBoundMs: number;
  readonly livenessOperations: number;
  /** Overrides the mix drawn from the seed. */
  readonly faults?: FaultMix;
  readonly checkHistory: HistoryChecker;
}

export interface RunReport {
  readonly seed: number;
  readonly faults: FaultMix;
  readonly outcome: RunOutcome;
  /** Hash of everything the simulation did, including the history. */
  readonly traceHash: string;
  readonly virtualMs: number;
  readonly eventsRun: number;
  readonly microtaskDrains: number;
  readonly okOperations: number;
  readonly history: readonly HistoryEvent[];
  readonly buggifySites: readonly string[];
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Runs one seed. Never throws for a failure of the system: the outcome says what failed. */
export async function runSeed(options: RunOptions): Promise<RunReport> {
  const faults =
    options.faults ??
    drawFaultMix(new SeededRandom(options.seed).fork('fault-mix'), options.system.tolerance);
  const world = sim({ seed: options.seed, hosts: [], buggify: faults.buggify });
  const messageKind = options.system.messageKind?.bind(options.system);
  if (messageKind !== undefined) world.net.classify(messageKind);
  let outcome: RunOutcome = { kind: 'pass' };
  let instance: ReturnType<SystemUnderTest['install']> | undefined;
  try {
    instance = options.system.install(world, options.size);
    const nemesis = new Nemesis(world, instance, faults, world.random.fork('nemesis'));
    nemesis.start();
    await world.runFor(options.safetyMs);
    nemesis.heal();
    const target = instance.okOperations() + options.livenessOperations;
    const progressed = await world.runUntil(
      () => instance!.okOperations() >= target,
      options.livenessBoundMs,
    );
    instance.stopWorkload();
    const drained = await world.runUntil(() => instance!.idle(), options.livenessBoundMs);
    if (!progressed || !drained) {
      outcome = {
        kind: 'liveness',
        message: progressed
          ? `operations still in flight ${options.livenessBoundMs} ms after the workload stopped`
          : `fewer than ${options.livenessOperations} operations completed within ${options.livenessBoundMs} ms of healing`,
      };
    }
    const violations = [...options.checkHistory(instance.history()), ...instance.checkInvariants()];
    if (violations.length > 0) outcome = { kind: 'correctness', message: violations.join('\n') };
  } catch (error) {
    outcome = { kind: 'crash', message: errorMessage(error) };
  }
  const history = instance?.history() ?? [];
  const stats = world.stats();
  return {
    seed: options.seed,
    faults,
    outcome,
    traceHash: traceHashOf(world.traceHash(), history),
    virtualMs: stats.nowMs,
    eventsRun: stats.eventsRun,
    microtaskDrains: stats.microtaskDrains,
    okOperations: instance?.okOperations() ?? 0,
    history,
    buggifySites: world.buggify.enabledSites(),
  };
}

function traceHashOf(worldHash: string, history: readonly HistoryEvent[]): string {
  const hash = new TraceHash();
  hash.text(worldHash);
  for (const event of history) hash.text(JSON.stringify(event));
  return hash.hex();
}
