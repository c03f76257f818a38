// Model-checks spec/cell.pml (the cell protocol with pipelining and reconfiguration,
// paper §2.4 and §4.3) with SPIN: the protocol must have no counterexample, each
// deliberately broken variant must have one, and each witness scenario must be reachable.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const modelPath = fileURLToPath(new URL('../../spec/cell.pml', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'physalia-spec-'));

/** Bounds (spec/README.md says why): the exhaustive check runs at the small ones. */
const smallBounds = ['-DL=3', '-DMAXROUND=1', '-DSTEADY'];
const fullBounds = ['-DL=4', '-DMAXROUND=2'];
/** pan: no search depth limit short of the model's (checked below), 2^25 hash slots. */
const panArgs = ['-m100000', '-w25'];
const outputBytesMax = 16 * 1024 * 1024;
const stepTimeoutMs = 170_000;
const testTimeoutMs = 200_000;

interface PanResult {
  readonly errors: number;
  readonly statesStored: number;
  readonly violated: string | undefined;
  readonly output: string;
  readonly seconds: number;
}

function parsePan(output: string, seconds: number): PanResult {
  const errors = /errors: (\d+)/.exec(output);
  const stored = /(\d+) states, stored/.exec(output);
  const violated = /assertion violated (\S+)/.exec(output);
  if (errors?.[1] === undefined || stored?.[1] === undefined) {
    throw new Error(`pan output not understood:\n${output}`);
  }
  return {
    errors: Number(errors[1]),
    statesStored: Number(stored[1]),
    violated: violated?.[1],
    output,
    seconds,
  };
}

/** Generates, compiles and runs the verifier for the model with `defines`. */
async function check(
  name: string,
  defines: readonly string[],
  panDefines: readonly string[] = [],
): Promise<PanResult> {
  const dir = join(workDir, name);
  await run('mkdir', ['-p', dir]);
  await run('spin', ['-a', ...defines, modelPath], { cwd: dir });
  // -DSAFETY: only safety properties (assertions, invalid end states) are checked,
  // so pan leaves out the cycle-detection machinery. -DT_REVERSE (searches for a
  // counterexample only) tries each state's steps last-to-first: the same complete
  // search in another order, which reaches these scenarios within seconds.
  await run('gcc', ['-O2', '-DSAFETY', ...panDefines, '-o', 'pan', 'pan.c'], { cwd: dir });
  const startedAtMs = performance.now();
  let output: string;
  try {
    const result = await run('./pan', panArgs, {
      cwd: dir,
      maxBuffer: outputBytesMax,
      timeout: stepTimeoutMs,
    });
    output = result.stdout + result.stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    output = (failed.stdout ?? '') + (failed.stderr ?? '');
  }
  const result = parsePan(output, (performance.now() - startedAtMs) / 1000);
  console.log(
    `[spec] ${name}: ${result.statesStored} states stored, errors ${result.errors}` +
      `${result.violated === undefined ? '' : `, violated ${result.violated}`}, ${result.seconds.toFixed(1)} s`,
  );
  return result;
}

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('cell protocol model (spec/cell.pml, SPIN)', () => {
  it(
    'has no counterexample: agreement, one jury per index, no quorum of deposed nodes (§2.4, §4.3)',
    async () => {
      const result = await check('protocol', smallBounds);
      expect(result.output).not.toContain('max search depth too small');
      expect(result.output).not.toContain('invalid end state (');
      expect(result.violated).toBeUndefined();
      expect(result.errors).toBe(0);
      expect(result.statesStored).toBeGreaterThan(1_000_000);
    },
    testTimeoutMs,
  );

  it.each([
    ['BUG_NO_ALPHA', 'a change that takes effect at the next index while pipelining', fullBounds],
    ['BUG_STALE_QUORUM', "a proposer that trusts a client's stale jury", fullBounds],
    ['BUG_ABA', 'a node added back without a new incarnation', fullBounds],
  ])(
    'finds a counterexample in %s (%s)',
    async (bug, _what, bounds) => {
      const result = await check(bug, [...bounds, `-D${bug}`], ['-DT_REVERSE']);
      expect(result.errors).toBeGreaterThan(0);
      expect(['agreement', 'oneJury', 'quorumOfJury']).toContain(result.violated);
    },
    testTimeoutMs,
  );

  it.each([
    [
      'WITNESS_WINDOW',
      'two changes chosen within one alpha window, then an index of the final jury decided',
      fullBounds,
    ],
    ['WITNESS_STALE', 'a deposed node unaware of it drives a decision', fullBounds],
    ['WITNESS_ABA', "node 2's second incarnation is in a deciding quorum", fullBounds],
  ])(
    'reaches the scenario %s (%s)',
    async (witness, _what, bounds) => {
      const result = await check(witness, [...bounds, `-D${witness}`], ['-DT_REVERSE']);
      expect(result.violated).toBe('witness');
    },
    testTimeoutMs,
  );
});
