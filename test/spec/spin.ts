// Runs SPIN on spec/cell.pml: generates the verifier for one set of bounds and variant,
// compiles it, runs it under a memory limit, and parses pan's report. Shared by the
// model-checking test (npm test) and the long runs of `npm run spec`.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const modelPath = fileURLToPath(new URL('../../spec/cell.pml', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const outputBytesMax = 64 * 1024 * 1024;

/** One set of bounds (spec/README.md explains each). */
export interface Bound {
  readonly name: BoundName;
  readonly what: string;
  /** Log length L: indexes 0 .. L-1. */
  readonly log: number;
  /** Promela defines: L (log length), MAXB (ballots), MAXROUND (rounds), and options. */
  readonly defines: readonly string[];
  /**
   * How pan stores visited states. Both are exhaustive: `hash` keeps whole state
   * vectors in a hash table of 2^hashPower slots; `ma` (-DMA) keeps them in a minimized
   * automaton, fifty times smaller here and about twice as slow.
   */
  readonly storage: 'hash' | 'ma';
  readonly hashPower: number;
  /**
   * What compiles the verifier. pan.c is about 8 MB of C here: gcc takes 10 to 20 s
   * even unoptimized, tcc (Debian package `tcc`) a tenth of a second for a verifier
   * about half as fast. At the quick bounds every search takes seconds, so tcc wins;
   * gcc is the fallback where tcc is not installed.
   */
  readonly compiler: 'tcc' | 'gcc';
  /** pan stops (and the check fails) rather than use more (-DMEMLIM). */
  readonly memoryLimitMb: number;
}

export type BoundName = 'quick' | 'log4' | 'full' | 'three-ballots' | 'any-proposer';

export const boundNames: readonly BoundName[] = ['quick', 'log4', 'full', 'three-ballots', 'any-proposer'];

export const bounds: Readonly<Record<BoundName, Bound>> = {
  quick: {
    name: 'quick',
    what: 'log 4, 2 ballots of round 1, no leader at the start (npm test)',
    log: 4,
    defines: ['-DL=4', '-DMAXB=2', '-DMAXROUND=1'],
    storage: 'hash',
    hashPower: 23,
    compiler: 'tcc',
    memoryLimitMb: 1024,
  },
  log4: {
    name: 'log4',
    what: 'log 4, 2 ballots of rounds 1-2 (every order of two ballots), no leader at the start',
    log: 4,
    defines: ['-DL=4', '-DMAXB=2', '-DMAXROUND=2'],
    storage: 'ma',
    hashPower: 20,
    compiler: 'gcc',
    memoryLimitMb: 2048,
  },
  full: {
    name: 'full',
    what: 'log 5, 2 ballots of rounds 1-2 (every order of two ballots), no leader at the start',
    log: 5,
    defines: ['-DL=5', '-DMAXB=2', '-DMAXROUND=2'],
    storage: 'ma',
    hashPower: 20,
    compiler: 'gcc',
    memoryLimitMb: 2048,
  },
  'three-ballots': {
    name: 'three-ballots',
    what: 'log 3, 3 ballots of rounds 1-2, no leader at the start',
    log: 3,
    defines: ['-DL=3', '-DMAXB=3', '-DMAXROUND=2'],
    storage: 'ma',
    hashPower: 20,
    compiler: 'gcc',
    memoryLimitMb: 2048,
  },
  'any-proposer': {
    name: 'any-proposer',
    what: 'as log4, and a proposer may propose at indexes whose jury it is not in',
    log: 4,
    defines: ['-DL=4', '-DMAXB=2', '-DMAXROUND=2', '-DANY_PROPOSER'],
    storage: 'ma',
    hashPower: 20,
    compiler: 'gcc',
    memoryLimitMb: 2048,
  },
};

/** What a variant searches for: nothing (the protocol), a bug's violation, a witness. */
export interface Variant {
  readonly name: string;
  readonly what: string;
  readonly defines: readonly string[];
  /** Searches for a counterexample (a bug's, or a witness scenario) rather than proving none. */
  readonly seeksViolation: boolean;
  /** The smallest log length at which the scenario exists. */
  readonly logMin?: number;
}

export const protocol: Variant = {
  name: 'protocol',
  what: 'agreement, one jury per index, no quorum of deposed nodes (§2.4, §4.3)',
  defines: [],
  seeksViolation: false,
};

export const bugs: readonly Variant[] = [
  {
    name: 'BUG_NO_ALPHA',
    what: 'a change takes effect at the next index while pipelining',
    defines: ['-DBUG_NO_ALPHA'],
    seeksViolation: true,
  },
  {
    name: 'BUG_STALE_QUORUM',
    what: "a proposer trusts a client's stale jury",
    defines: ['-DBUG_STALE_QUORUM'],
    seeksViolation: true,
  },
  {
    name: 'BUG_ABA',
    what: 'a node added back without a new incarnation',
    defines: ['-DBUG_ABA'],
    seeksViolation: true,
  },
];

/** Bugs that split the brain outright: two values chosen at one index. */
export const splitBrainBugs: readonly Variant[] = [
  {
    name: 'BUG_STALE_QUORUM+AGREEMENT_ONLY',
    what: "a proposer trusts a client's stale jury",
    defines: ['-DBUG_STALE_QUORUM', '-DAGREEMENT_ONLY'],
    seeksViolation: true,
    // JURY0 against JURY2 (disjoint majorities); JURY2 governs index 3 at the earliest.
    logMin: 4,
  },
  {
    name: 'BUG_ABA+AGREEMENT_ONLY',
    what: 'a node added back without a new incarnation',
    defines: ['-DBUG_ABA', '-DAGREEMENT_ONLY'],
    seeksViolation: true,
  },
];

/**
 * BUG_NO_ALPHA breaks "one jury per index" but cannot split the brain in this script:
 * consecutive single-node changes keep the old and new juries' majorities intersecting,
 * and a stale proposer is at most one change behind inside its window. Checked
 * exhaustively, like the protocol.
 */
export const agreementDespiteBug: Variant = {
  name: 'BUG_NO_ALPHA+AGREEMENT_ONLY',
  what: 'single-node changes keep majorities intersecting: agreement holds even so',
  defines: ['-DBUG_NO_ALPHA', '-DAGREEMENT_ONLY'],
  seeksViolation: false,
};

export const witnesses: readonly Variant[] = [
  {
    name: 'WITNESS_WINDOW',
    what: 'two changes chosen within one alpha window, then an index of the final jury decided',
    defines: ['-DWITNESS_WINDOW'],
    seeksViolation: true,
  },
  {
    name: 'WITNESS_STALE',
    what: 'a node removed by another leader, unaware of it, drives a decision',
    defines: ['-DWITNESS_STALE'],
    seeksViolation: true,
  },
  {
    name: 'WITNESS_ABA',
    what: "node 2's second incarnation is in a deciding quorum after its first accepted values",
    defines: ['-DWITNESS_ABA'],
    seeksViolation: true,
    // The final jury governs index 3 at the earliest (CFG2 at index 1, ALPHA = 2).
    logMin: 4,
  },
  {
    name: 'WITNESS_RECOVERY',
    what: 'a command is chosen under a later ballot that found it in phase 1',
    defines: ['-DWITNESS_RECOVERY'],
    seeksViolation: true,
  },
  {
    name: 'WITNESS_DUEL',
    what: 'two ballots of one round both hold a majority of promises (election contention)',
    defines: ['-DWITNESS_DUEL'],
    seeksViolation: true,
  },
];

/** pan's report, as parsed. */
export interface PanReport {
  readonly errors: number;
  readonly violated: string | undefined;
  readonly stateVectorBytes: number;
  readonly depthReached: number;
  readonly statesStored: number;
  readonly transitions: number;
  readonly memoryMb: number;
  readonly seconds: number;
  /** False if pan stopped early: depth limit, memory limit, or a violation. (A bitstate
   * search that completes is still not exhaustive.) */
  readonly complete: boolean;
  /** The shell commands that produced this report, from the repository root. */
  readonly commands: readonly string[];
  readonly output: string;
}

function numberAfter(pattern: RegExp, output: string): number {
  const match = pattern.exec(output);
  if (match?.[1] === undefined) throw new Error(`pan output not understood (${pattern}):\n${output}`);
  return Number(match[1]);
}

export function parsePan(output: string, commands: readonly string[]): PanReport {
  const errors = numberAfter(/errors: (\d+)/, output);
  const stopped =
    output.includes('Search not completed') ||
    output.includes('max search depth too small') ||
    output.includes('reached -DMEMLIM bound') ||
    errors > 0;
  return {
    errors,
    violated: /assertion violated (\S+)/.exec(output)?.[1],
    stateVectorBytes: numberAfter(/State-vector (\d+) byte/, output),
    depthReached: numberAfter(/depth reached (\d+)/, output),
    statesStored: numberAfter(/([\d.e+]+) states, stored/, output),
    transitions: numberAfter(/([\d.e+]+) transitions \(= stored\+matched\)/, output),
    memoryMb: numberAfter(/([\d.]+)\s+total actual memory usage/, output),
    seconds: numberAfter(/pan: elapsed time ([\d.e+]+) seconds/, output),
    complete: !stopped,
    commands,
    output,
  };
}

export interface CheckOptions {
  readonly bound: Bound;
  readonly variant: Variant;
  /** Where to generate and build the verifier (one folder per run). */
  readonly workDir: string;
  readonly timeoutMs: number;
  /** Lower nice priority for long runs on a shared machine. */
  readonly nice: boolean;
}

/**
 * Generates, compiles and runs the verifier for `variant` at `bound`. The protocol (and
 * any variant that must have no counterexample) is searched exhaustively with the
 * bound's storage. A variant that seeks a counterexample is searched with bitstate
 * storage (-DBITSTATE: 32 MB, not exhaustive): a counterexample it finds is a real run,
 * and if it finds none the check fails. Pan's default search order finds these runs
 * fastest (measured against -DT_REVERSE: at most 6.5 million states at log 5).
 */
export async function check(options: CheckOptions): Promise<PanReport> {
  const { bound, variant } = options;
  const dir = join(options.workDir, `${bound.name}-${variant.name}`);
  mkdirSync(dir, { recursive: true });
  const spinArgs = ['-a', ...bound.defines, ...variant.defines, modelPath];
  await run('spin', spinArgs, { cwd: dir });
  const storage = variant.seeksViolation ? 'bitstate' : bound.storage;
  const storageDefines =
    storage === 'bitstate' ? ['-DBITSTATE'] : storage === 'ma' ? [`-DMA=${await vectorBytes(dir)}`] : [];
  // A counterexample search ends within seconds at any bound: tcc there too.
  const wantsTcc = bound.compiler === 'tcc' || variant.seeksViolation;
  const compiler = wantsTcc && (await tccInstalled()) ? 'tcc' : 'gcc';
  const ccArgs = [
    ...(compiler === 'gcc' ? ['-O2'] : []),
    // Safety properties only (assertions, invalid end states): no cycle detection.
    '-DSAFETY',
    `-DMEMLIM=${bound.memoryLimitMb}`,
    ...storageDefines,
    '-o',
    'pan',
    'pan.c',
  ];
  await run(compiler, ccArgs, { cwd: dir });
  // -m: no depth limit short of the model's (a cut search is reported as incomplete).
  // -w: 2^n hash slots, or 2^n bits for bitstate.
  const hashPower = storage === 'ma' ? 20 : storage === 'bitstate' ? 28 : bound.hashPower;
  const panArgs = ['-m100000', `-w${hashPower}`];
  const panCommand = options.nice ? ['nice', './pan', ...panArgs] : ['./pan', ...panArgs];
  let output: string;
  try {
    const [file = './pan', ...args] = panCommand;
    const result = await run(file, args, { cwd: dir, maxBuffer: outputBytesMax, timeout: options.timeoutMs });
    output = result.stdout + result.stderr;
  } catch (error) {
    // pan exits non-zero when it stops on a violation; its report is still complete.
    const failed = error as { stdout?: string; stderr?: string };
    output = (failed.stdout ?? '') + (failed.stderr ?? '');
  }
  const model = relative(repositoryRoot, modelPath);
  const commands = [
    `spin -a ${[...bound.defines, ...variant.defines].join(' ')} ${model}`,
    `${compiler} ${ccArgs.join(' ')}`,
    panCommand.join(' '),
  ];
  return parsePan(output, commands);
}

let tccFound: Promise<boolean> | undefined;

function tccInstalled(): Promise<boolean> {
  tccFound ??= run('tcc', ['-v']).then(
    () => true,
    () => false,
  );
  return tccFound;
}

/** The state vector size of the generated verifier (pan -DMA needs it exactly). */
async function vectorBytes(dir: string): Promise<number> {
  // A search cut at depth 1 still prints the vector size in its report.
  await run('gcc', ['-O0', '-DSAFETY', '-o', 'pan-size', 'pan.c'], { cwd: dir });
  let output: string;
  try {
    const result = await run('./pan-size', ['-m1', '-w10'], { cwd: dir, maxBuffer: outputBytesMax });
    output = result.stdout;
  } catch (error) {
    output = (error as { stdout?: string }).stdout ?? '';
  }
  const match = /State-vector (\d+) byte/.exec(output);
  if (match?.[1] === undefined) throw new Error(`no state vector size in pan output:\n${output}`);
  return Number(match[1]);
}
