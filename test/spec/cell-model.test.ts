// Model-checks spec/cell.pml (the cell protocol with pipelining and reconfiguration,
// paper §2.4 and §4.3) with SPIN at the `quick` bounds: the protocol must have no
// counterexample in an exhaustive search, each deliberately broken variant must have
// one at the same bounds, and each witness scenario must be reachable there.
// `npm run spec -- --bound full` runs the same checks at the larger bounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PanReport, Variant } from './spin.ts';
import { agreementDespiteBug, bounds, bugs, check, protocol, splitBrainBugs, witnesses } from './spin.ts';

const workDir = mkdtempSync(join(tmpdir(), 'physalia-spec-'));
const bound = bounds.quick;
const stepTimeoutMs = 150_000;
const testTimeoutMs = 180_000;

async function checkQuick(variant: Variant): Promise<PanReport> {
  const report = await check({ bound, variant, workDir, timeoutMs: stepTimeoutMs, nice: false });
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

describe('cell protocol model (spec/cell.pml, SPIN)', () => {
  it(
    `has no counterexample in an exhaustive search at ${bound.what}: agreement, one jury per index, no quorum of deposed nodes (§2.4, §4.3)`,
    async () => {
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

  it.each(bugs.map((bug) => [bug.name, bug.what, bug] as const))(
    'finds a counterexample in %s (%s)',
    async (_name, _what, bug) => {
      const report = await checkQuick(bug);
      expect(report.errors).toBeGreaterThan(0);
      expect(['agreement', 'oneJury', 'quorumOfJury']).toContain(report.violated);
    },
    testTimeoutMs,
  );

  it.each(splitBrainBugs.map((bug) => [bug.name, bug.what, bug] as const))(
    'finds two values chosen at one index in %s (%s)',
    async (_name, _what, bug) => {
      const report = await checkQuick(bug);
      expect(report.violated).toBe('agreement');
    },
    testTimeoutMs,
  );

  it(
    `keeps agreement under BUG_NO_ALPHA in an exhaustive search (${agreementDespiteBug.what})`,
    async () => {
      const report = await checkQuick(agreementDespiteBug);
      expect(report.errors).toBe(0);
      expect(report.complete).toBe(true);
      expect(report.statesStored).toBeGreaterThan(500_000);
    },
    testTimeoutMs,
  );

  it.each(witnesses.map((witness) => [witness.name, witness.what, witness] as const))(
    'reaches the scenario %s (%s)',
    async (_name, _what, witness) => {
      const report = await checkQuick(witness);
      expect(report.violated).toBe('witness');
    },
    testTimeoutMs,
  );
});
