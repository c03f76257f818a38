// `npm run spec -- --bound full`: model-checks spec/cell.pml at one set of bounds (or
// `all`): the protocol exhaustively, then every bug variant and witness at the same
// bounds (`--only protocol|exhaustive|searches` for one part). Prints one Markdown row
// per run with the exact commands; exits 1 on any unexpected result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Bound, BoundName, PanReport, Variant } from './spin.ts';
import {
  agreementDespiteBug,
  boundNames,
  bounds,
  bugs,
  check,
  protocol,
  splitBrainBugs,
  witnesses,
} from './spin.ts';

const { values: flags } = parseArgs({
  options: {
    bound: { type: 'string', default: 'full' },
    only: { type: 'string', default: 'all' },
    'timeout-minutes': { type: 'string', default: '180' },
    'keep-dir': { type: 'boolean', default: false },
  },
});

function isBoundName(name: string): name is BoundName {
  return (boundNames as readonly string[]).includes(name);
}

/** The verdict for one run: what was expected, and whether pan said so. */
function verdict(variant: Variant, report: PanReport): { readonly ok: boolean; readonly text: string } {
  if (!variant.seeksViolation) {
    const ok = report.errors === 0 && report.complete;
    return {
      ok,
      text: ok ? 'no counterexample, search complete' : `UNEXPECTED: ${report.violated ?? 'incomplete'}`,
    };
  }
  if (variant.name.startsWith('WITNESS')) {
    const ok = report.violated === 'witness';
    return { ok, text: ok ? 'reached' : 'UNEXPECTED: not reached' };
  }
  const expected = variant.defines.includes('-DAGREEMENT_ONLY')
    ? ['agreement']
    : ['agreement', 'oneJury', 'quorumOfJury'];
  const ok = report.violated !== undefined && expected.includes(report.violated);
  return { ok, text: ok ? `${report.violated ?? ''} violated` : 'UNEXPECTED: no counterexample' };
}

function row(bound: Bound, variant: Variant, report: PanReport): string {
  const { ok, text } = verdict(variant, report);
  const cells = [
    bound.name,
    variant.name,
    text,
    report.statesStored.toLocaleString('en-US'),
    report.transitions.toLocaleString('en-US'),
    String(report.depthReached),
    `${report.memoryMb.toFixed(0)} MB`,
    `${report.seconds.toFixed(1)} s`,
    String(report.errors),
    `\`${report.commands.join(' && ')}\``,
  ];
  return `| ${cells.join(' | ')} |${ok ? '' : ' <-- FAILED'}`;
}

/**
 * `protocol`: the exhaustive check of the protocol; `exhaustive`: every exhaustive check
 * (also the bug variant that must keep agreement); `searches`: the counterexample
 * searches (bugs that must fail, witnesses that must be reached); `all`: everything.
 */
function chosenVariants(only: string): readonly Variant[] {
  const searches = [...bugs, ...splitBrainBugs, ...witnesses];
  switch (only) {
    case 'protocol':
      return [protocol];
    case 'exhaustive':
      return [protocol, agreementDespiteBug];
    case 'searches':
      return searches;
    case 'all':
      return [protocol, agreementDespiteBug, ...searches];
    default:
      return [];
  }
}

async function main(): Promise<number> {
  const requested = flags.bound;
  const names: readonly BoundName[] =
    requested === 'all' ? boundNames : isBoundName(requested) ? [requested] : [];
  if (names.length === 0) {
    console.error(`unknown --bound ${requested}; one of: ${[...boundNames, 'all'].join(', ')}`);
    return 2;
  }
  if (chosenVariants(flags.only).length === 0) {
    console.error(`unknown --only ${flags.only}; one of: protocol, exhaustive, searches, all`);
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'physalia-spec-'));
  const timeoutMs = Number(flags['timeout-minutes']) * 60_000;
  let failures = 0;
  console.log(
    '| bound | variant | result | states stored | transitions | depth | memory | pan time | errors | commands |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  try {
    for (const name of names) {
      const bound = bounds[name];
      const variants = chosenVariants(flags.only).filter((v) => (v.logMin ?? 0) <= bound.log);
      for (const variant of variants) {
        const report = await check({ bound, variant, workDir, timeoutMs, nice: true });
        if (!verdict(variant, report).ok) failures += 1;
        console.log(row(bound, variant, report));
      }
    }
  } finally {
    if (flags['keep-dir']) console.error(`verifiers kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
