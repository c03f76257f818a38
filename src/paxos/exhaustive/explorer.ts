// Exhaustive bounded exploration of the Paxos core (paper §4.2, after TLC): depth-first
// over every enabled action of a World, safety checked after each, states pruned by hash.
import type { Action, ActionBudgets, Violation, WorldConfig } from './world.ts';
import { World, describeAction } from './world.ts';

export interface ExploreBounds extends ActionBudgets {
  /** Longest schedule (number of actions) explored. */
  readonly depthMax: number;
  /** Stop (and say `truncated`) after expanding this many states. */
  readonly statesMax: number;
}

export interface ExploreStats {
  /** Distinct (state, depth) pairs expanded: each had all its enabled actions tried. */
  statesExpanded: number;
  /** Distinct states (by fingerprint) reached at any depth. */
  distinctStates: number;
  /** Actions carried out (each followed by a safety check). */
  transitions: number;
  /** Actions that led to an already explored (state, depth) and were not expanded again. */
  revisitsPruned: number;
  /**
   * Maximal schedules covered: action sequences from the initial state that end at the
   * depth bound or where nothing is enabled. Counted exactly through pruned revisits.
   */
  schedules: bigint;
  /** Schedules that ended with nothing enabled (everything delivered, flushed, settled). */
  quiescentEnds: number;
  maxDepth: number;
  /** Most indices learned in any one reached state. */
  maxLearned: number;
  truncated: boolean;
}

export interface Counterexample {
  readonly violation: Violation;
  readonly trace: readonly string[];
}

export interface ExploreResult {
  readonly stats: ExploreStats;
  readonly counterexample: Counterexample | undefined;
}

class Found extends Error {
  constructor(readonly counterexample: Counterexample) {
    super(counterexample.violation.detail);
  }
}

class Truncated extends Error {}

/** Explores every schedule of `config` within `bounds`; stops at the first violation. */
export function explore(config: WorldConfig, bounds: ExploreBounds): ExploreResult {
  const stats: ExploreStats = {
    statesExpanded: 0,
    distinctStates: 0,
    transitions: 0,
    revisitsPruned: 0,
    schedules: 0n,
    quiescentEnds: 0,
    maxDepth: 0,
    maxLearned: 0,
    truncated: false,
  };
  const explored = new Map<number, bigint>();
  const seen = new Set<number>();
  const trace: Action[] = [];

  const dfs = (world: World, depth: number): bigint => {
    stats.maxDepth = Math.max(stats.maxDepth, depth);
    stats.maxLearned = Math.max(stats.maxLearned, world.summary().learned);
    if (depth >= bounds.depthMax) return 1n;
    const actions = world.enabledActions(bounds);
    if (actions.length === 0) {
      stats.quiescentEnds += 1;
      return 1n;
    }
    if (stats.statesExpanded >= bounds.statesMax) throw new Truncated();
    stats.statesExpanded += 1;
    let schedules = 0n;
    for (const action of actions) {
      const next = world.clone();
      trace.push(action);
      stats.transitions += 1;
      const violation = next.apply(action);
      if (violation !== undefined) {
        throw new Found({ violation, trace: trace.map((a) => describeAction(a, config)) });
      }
      const text = next.canonicalText();
      seen.add(World.hashText(text, 0));
      const key = World.hashText(text, depth + 1);
      const known = explored.get(key);
      if (known !== undefined) {
        stats.revisitsPruned += 1;
        schedules += known;
      } else {
        const below = dfs(next, depth + 1);
        explored.set(key, below);
        schedules += below;
      }
      trace.pop();
    }
    return schedules;
  };

  try {
    const root = World.initial(config);
    seen.add(World.hashText(root.canonicalText(), 0));
    stats.schedules = dfs(root, 0);
    stats.distinctStates = seen.size;
    return { stats, counterexample: undefined };
  } catch (error) {
    stats.distinctStates = seen.size;
    if (error instanceof Found) return { stats, counterexample: error.counterexample };
    if (error instanceof Truncated) {
      stats.truncated = true;
      return { stats, counterexample: undefined };
    }
    throw error;
  }
}

/** A counterexample as numbered lines. */
export function formatCounterexample(counterexample: Counterexample): string {
  const steps = counterexample.trace.map((line, i) => `  ${String(i + 1).padStart(3)}. ${line}`);
  return [`${counterexample.violation.kind} violation: ${counterexample.violation.detail}`, ...steps].join(
    '\n',
  );
}
