// Bounded exhaustive exploration of the Paxos core (paper §4.2: "every combination of
// packet loss and reordering"): safe within the bounds, and it does catch injected bugs.
import { describe, expect, it } from 'vitest';
import type { ExploreBounds } from './explorer.ts';
import { explore, formatCounterexample } from './explorer.ts';
import { presetConfig } from './presets.ts';
import { World } from './world.ts';

const noFaults = { ticks: 0, duplicates: 0, drops: 0, crashes: 0, statesMax: 2_000_000 };

function bounds(overrides: Partial<ExploreBounds>): ExploreBounds {
  return { ...noFaults, depthMax: 10, ...overrides };
}

/**
 * Explores to the end within the bounds and finds no violation; at least `floors` of states
 * and schedules (set at half of what was measured: protocol changes move the counts, an
 * explorer that stops exploring fails), and `learned` values learned.
 */
function expectSafe(
  config: ReturnType<typeof presetConfig>,
  limits: ExploreBounds,
  floors: { readonly states: number; readonly schedules: bigint },
  learned: number,
): void {
  const { stats, counterexample } = explore(config, limits);
  expect(counterexample).toBeUndefined();
  expect(stats.truncated).toBe(false);
  expect(stats.statesExpanded).toBeGreaterThan(floors.states);
  expect(stats.schedules).toBeGreaterThan(floors.schedules);
  expect(stats.maxLearned).toBe(learned);
}

describe('exhaustive exploration of 3 replicas (paper §4.2)', () => {
  it('two competing proposers, every delivery order and loss to depth 11: agreement holds and both values get learned', () => {
    // Measured at 14a3995: 7127 states, 35614 transitions, 1843928 schedules.
    expectSafe(
      presetConfig({ proposalCount: 2 }),
      bounds({ depthMax: 11 }),
      { states: 3_500, schedules: 900_000n },
      2,
    );
  });

  it('one proposal with explicit flushes, a crash, a duplicate and a tick to depth 11: safe, and the value gets learned', () => {
    // Measured at 14a3995: 4895 states, 22986 transitions, 1941312 schedules.
    expectSafe(
      presetConfig({ proposalCount: 1, flushMode: 'explicit' }),
      bounds({ depthMax: 11, crashes: 1, duplicates: 1, ticks: 1 }),
      { states: 2_400, schedules: 950_000n },
      1,
    );
  });

  it('thrifty accepts (a quorum first, pushes on ticks), two competing proposers, a tick and a loss to depth 10: safe, both learned', () => {
    // Measured when added: 15661 states, 82020 transitions, 6509101 schedules. A push that
    // claims one index too many is caught within these bounds.
    expectSafe(
      presetConfig({ proposalCount: 2, thrifty: true }),
      bounds({ depthMax: 10, ticks: 1, drops: 1 }),
      { states: 7_800, schedules: 3_200_000n },
      2,
    );
  });

  it('thrifty accepts, one proposal with explicit flushes, a crash and two ticks to depth 12: safe, learned', () => {
    // Measured when added: 3764 states, 5957453 schedules.
    expectSafe(
      presetConfig({ proposalCount: 1, flushMode: 'explicit', thrifty: true }),
      bounds({ depthMax: 12, crashes: 1, ticks: 2 }),
      { states: 1_800, schedules: 2_900_000n },
      1,
    );
  });

  it('finds an agreement violation when an acceptor forgets its promise in a crash', () => {
    const config = presetConfig({ proposalCount: 2, bug: 'forgetPromise' });
    const { counterexample } = explore(config, bounds({ depthMax: 14, crashes: 1 }));
    expect(counterexample?.violation.kind).toBe('agreement');
    const text = formatCounterexample(
      counterexample ?? { violation: { kind: 'agreement', detail: '' }, trace: [] },
    );
    console.log(`forgetPromise counterexample:\n${text}`);
    expect(text).toMatch(/crash and restart n3/);
  });

  it('finds a persist-before-send violation when a replica sends before persisting', () => {
    const config = presetConfig({ proposalCount: 1, bug: 'sendBeforePersist' });
    const { counterexample } = explore(config, bounds({ depthMax: 4 }));
    expect(counterexample?.violation.kind).toBe('persistBeforeSend');
  });

  it("finds a leader counting its own vote before its write is durable (the parallel leader write's rule)", () => {
    const config = presetConfig({
      proposalCount: 2,
      competing: false,
      flushMode: 'explicit',
      bug: 'ownVoteBeforePersist',
    });
    const { counterexample } = explore(config, bounds({ depthMax: 14 }));
    expect(counterexample?.violation.kind).toBe('persistBeforeSend');
    expect(counterexample?.violation.detail).toMatch(
      /announced 1 chosen before a majority durably accepted it/,
    );
  });

  it('explores the same states in the same order on every run', () => {
    const run = (): string =>
      JSON.stringify(
        explore(presetConfig({ proposalCount: 1 }), bounds({ depthMax: 8 })).stats,
        (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
      );
    expect(run()).toBe(run());
  });

  it('a cloned world is independent of the original', () => {
    const world = World.initial(presetConfig({ proposalCount: 1 }));
    const before = world.canonicalText();
    const copy = world.clone();
    const [first] = copy.enabledActions(noFaults);
    expect(first?.kind).toBe('propose');
    if (first !== undefined) expect(copy.apply(first)).toBeUndefined();
    expect(world.canonicalText()).toBe(before);
    expect(copy.canonicalText()).not.toBe(before);
    expect(world.clone().canonicalText()).toBe(before);
  });
});
