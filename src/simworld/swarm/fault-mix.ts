// The random fault mix of one swarm run, drawn from the run's seed: which kinds of
// network, clock, disk and process faults are on, and how hard, so that different seeds
// explore different combinations (FoundationDB-style swarm testing).
import type { Random } from '../../env/index.ts';
import type { FaultTolerance } from './system-under-test.ts';

export interface FaultMix {
  /** Probability each message is dropped, for the whole safety phase. */
  readonly loss: number;
  readonly duplicate: number;
  /** Extra random delay making messages overtake each other (0: off). */
  readonly reorderWindowMs: number;
  /** Base one-way latency: a LAN (0.5-2 ms) or a slow, jittery network (1-50 ms). */
  readonly latency: 'lan' | 'slow';
  readonly partitions: boolean;
  readonly oneWayPartitions: boolean;
  readonly crashes: boolean;
  /** Crashes of whole racks or power domains. */
  readonly groupCrashes: boolean;
  /** Clock drift and wall-clock jumps. */
  readonly clockFaults: boolean;
  readonly pauses: boolean;
  readonly slowDisks: boolean;
  readonly fullDisks: boolean;
  /** A crash keeps a random prefix of the non-durable batches, instead of none. */
  readonly crashKeepsPrefix: boolean;
  /** Hosts whose stored data gets corrupted (at most the system's tolerance). */
  readonly corruptedDisks: number;
  readonly buggify: boolean;
  /** Mean virtual time between two nemesis actions. */
  readonly nemesisIntervalMs: number;
}

/** A mix with nothing on: the baseline the liveness phase returns to. */
export const NO_FAULTS: FaultMix = {
  loss: 0,
  duplicate: 0,
  reorderWindowMs: 0,
  latency: 'lan',
  partitions: false,
  oneWayPartitions: false,
  crashes: false,
  groupCrashes: false,
  clockFaults: false,
  pauses: false,
  slowDisks: false,
  fullDisks: false,
  crashKeepsPrefix: false,
  corruptedDisks: 0,
  buggify: false,
  nemesisIntervalMs: 500,
};

/** Draws a mix: each fault kind is on with probability one half, at a random strength. */
export function drawFaultMix(random: Random, tolerance: FaultTolerance): FaultMix {
  const on = (): boolean => random.nextFloat() < 0.5;
  const pick = (values: readonly number[]): number => values[random.intBelow(values.length)]!;
  return {
    loss: on() ? pick([0.01, 0.05, 0.1, 0.2, 0.3]) : 0,
    duplicate: on() ? pick([0.01, 0.05, 0.2]) : 0,
    reorderWindowMs: on() ? pick([2, 10, 50]) : 0,
    latency: on() ? 'slow' : 'lan',
    partitions: on(),
    oneWayPartitions: on(),
    crashes: on(),
    groupCrashes: on(),
    clockFaults: on(),
    pauses: on(),
    slowDisks: on(),
    fullDisks: on(),
    crashKeepsPrefix: on(),
    corruptedDisks: on() ? random.intBelow(tolerance.corruptedDisksMax + 1) : 0,
    buggify: on(),
    nemesisIntervalMs: pick([50, 200, 1_000]),
  };
}

/** The mix as `name=value` pairs, only the faults that are on. */
export function describeFaultMix(mix: FaultMix): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(mix)) {
    if (value === NO_FAULTS[name as keyof FaultMix] && name !== 'nemesisIntervalMs') continue;
    parts.push(value === true ? name : `${name}=${String(value)}`);
  }
  return parts.join(' ');
}
