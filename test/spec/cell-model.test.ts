// Model-checks spec/cell.pml (the cell protocol with pipelining and reconfiguration,
// paper §2.4 and §4.3) with SPIN at the `quick` bounds: the protocol must have no
// counterexample in an exhaustive search, each deliberately broken variant must have
// one at the same bounds, and each witness scenario must be reachable there.
// `npm run spec -- --bound full` runs the same checks at the larger bounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { afterAll, describe, it } from 'vitest';
import type { PanReport, Variant } from './spin.ts';
import { agreementDespiteBug, bounds, bugs, check, protocol, splitBrainBugs, witnesses } from './spin.ts';

const workDir = mkdtempSync(join(tmpdir(), 'physalia-spec-'));
const bound = bounds.quick;
const stepTimeoutMs = 150_000;
const testTimeoutMs = 180_000;

// Generating a verifier (spin -a) takes most of each check's time and one core: the
// tests run concurrently, at most one check per core.
const checksAtOnceMax = Math.max(1, availableParallelism());
let checksRunning = 0;
const checksWaiting: (() => void)[] = [];

async function checkQuick(variant: Variant): Promise<PanReport> {
  while (checksRunning >= checksAtOnceMax) await new Promise<void>((resume) => checksWaiting.push(resume));
  checksRunning += 1;
  let report: PanReport;
  try {
    report = await check({ bound, variant, workDir, timeoutMs: stepTimeoutMs, nice: false });
  } finally {
    checksRunning -= 1;
    checksWaiting.shift()?.();
  }
  console.log(
    `[spec] ${bound.name} ${variant.name}: ${report.statesStored} states stored, ` +
      `${report.transitions} transitions, depth ${report.depthReached}, errors ${report.errors}` +
      `${report.violated === undefined ? '' : `, violated ${report.violated}`}, ${report.seconds.toFixed(1)} s`,
  );
  return report;
}

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe.concurrent('cell protocol model (spec/cell.pml, SPIN)', () => {
  it(
    `has no counterexample in an exhaustive search at ${bound.what}: agreement, one jury per index, no quorum of deposed nodes (§2.4, §4.3)`,
    async ({ expect }) => {
      const report = await checkQuick(protocol);
      expect(report.violated).toBeUndefined();
      expect(report.errors).toBe(0);
      expect(report.complete).toBe(true);
      expect(report.output).not.toContain('invalid end state (');
      // The search really covers the space: elections with contention, both changes
      // and the final jury (the witnesses below show each scenario is in it).
      expect(report.statesStored).toBeGreaterThan(500_000);
    },
    testTimeoutMs,
  );

  it.for(bugs)(
    'finds a counterexample in $name ($what)',
    { timeout: testTimeoutMs },
    async (bug, { expect }) => {
      const report = await checkQuick(bug);
      expect(report.errors).toBeGreaterThan(0);
      expect(['agreement', 'oneJury', 'quorumOfJury']).toContain(report.violated);
    },
  );

  it.for(splitBrainBugs)(
    'finds two values chosen at one index in $name ($what)',
    { timeout: testTimeoutMs },
    async (bug, { expect }) => {
      const report = await checkQuick(bug);
      expect(report.violated).toBe('agreement');
    },
  );

  it(
    `keeps agreement under BUG_NO_ALPHA in an exhaustive search (${agreementDespiteBug.what})`,
    async ({ expect }) => {
      const report = await checkQuick(agreementDespiteBug);
      expect(report.errors).toBe(0);
      expect(report.complete).toBe(true);
      expect(report.statesStored).toBeGreaterThan(500_000);
    },
    testTimeoutMs,
  );

  it.for(witnesses)(
    'reaches the scenario $name ($what)',
    { timeout: testTimeoutMs },
    async (witness, { expect }) => {
      const report = await checkQuick(witness);
      expect(report.violated).toBe('witness');
    },
  );
});
