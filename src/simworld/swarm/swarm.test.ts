// Tests of the swarm runner: hundreds of seeds of random fault mixes pass on the correct
// register, the same seed replays the same trace, and each failure kind (correctness,
// liveness, crash) is reported as such, with deliberate bugs as the proof.
import { describe, expect, it } from 'vitest';
import { hostId } from '../../env/index.ts';
import { abdSystem } from '../examples/abd-system.ts';
import { historyViolations } from './checks.ts';
import { drawFaultMix, NO_FAULTS } from './fault-mix.ts';
import { EXIT_CODES, runSeed } from './runner.ts';
import type { RunOptions } from './runner.ts';
import type { SystemUnderTest } from './system-under-test.ts';
import { SeededRandom } from '../../env/index.ts';

const quick = (seed: number, system: SystemUnderTest = abdSystem()): RunOptions => ({
  seed,
  system,
  size: { servers: 3, clients: 2 },
  safetyMs: 300,
  livenessBoundMs: 3_000,
  livenessOperations: 3,
  checkHistory: historyViolations,
});

describe('swarm runner', () => {
  it('300 seeds of random fault mixes all pass on the correct register', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 300; seed += 1) {
      const report = await runSeed(quick(seed));
      if (report.outcome.kind !== 'pass') failures.push(`seed ${seed}: ${report.outcome.kind}`);
    }
    expect(failures).toEqual([]);
  });

  it('the same seed gives the same trace hash and history; another seed another', async () => {
    const first = await runSeed(quick(42));
    const second = await runSeed(quick(42));
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.history).toEqual(first.history);
    expect((await runSeed(quick(43))).traceHash).not.toBe(first.traceHash);
  });

  it('fault mixes differ across seeds and respect the system tolerance', () => {
    const mixes = Array.from({ length: 50 }, (_, seed) =>
      drawFaultMix(new SeededRandom(seed), { corruptedDisksMax: 0 }),
    );
    expect(new Set(mixes.map((mix) => JSON.stringify(mix))).size).toBeGreaterThan(40);
    expect(mixes.every((mix) => mix.corruptedDisks === 0)).toBe(true);
  });

  it('finds replicas that accept older writes as a linearizability failure', async () => {
    const buggy = abdSystem({ keys: ['x'], bugs: { acceptOlderWrites: true } });
    const faults = { ...NO_FAULTS, loss: 0.1, reorderWindowMs: 10 };
    let message = '';
    for (let seed = 1; seed <= 20 && message === ''; seed += 1) {
      const report = await runSeed({
        ...quick(seed, buggy),
        faults,
        size: { servers: 5, clients: 6 },
        safetyMs: 1_000,
      });
      if (report.outcome.kind === 'correctness') message = report.outcome.message;
    }
    expect(message).toMatch(/not linearizable/);
  });

  it('finds acknowledgement before durability as a correctness failure', async () => {
    const buggy = abdSystem({ bugs: { ackBeforeDurable: true } });
    let found = false;
    for (let seed = 1; seed <= 60 && !found; seed += 1) {
      const faults = {
        ...NO_FAULTS,
        crashes: true,
        groupCrashes: true,
        slowDisks: true,
        nemesisIntervalMs: 50,
      };
      found = (await runSeed({ ...quick(seed, buggy), faults })).outcome.kind === 'correctness';
    }
    expect(found).toBe(true);
  });

  it('reports liveness and crash failures with their own outcomes and exit codes', async () => {
    const stuck: SystemUnderTest = {
      name: 'stuck',
      tolerance: { corruptedDisksMax: 0 },
      install: (world) => {
        world.addHost({ name: 'n1' });
        return {
          servers: [hostId('n1')],
          clients: [],
          stopWorkload: () => undefined,
          idle: () => true,
          okOperations: () => 0,
          history: () => [],
          checkInvariants: () => [],
        };
      },
    };
    const throwing: SystemUnderTest = {
      ...stuck,
      install: (world, size) => {
        const instance = stuck.install(world, size);
        world.after(10, () => {
          throw new Error('boom');
        });
        return instance;
      },
    };
    const liveness = await runSeed({ ...quick(1, stuck), faults: NO_FAULTS });
    expect(liveness.outcome.kind).toBe('liveness');
    const crash = await runSeed({ ...quick(1, throwing), faults: NO_FAULTS });
    expect(crash.outcome).toMatchObject({ kind: 'crash' });
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.keys(EXIT_CODES).length);
  });
});
