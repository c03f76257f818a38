// The swarm command as a library, so that an entry point above simworld (the cell's) can offer
// its own systems: `--seeds 1000 [--first-seed S]` runs random fault mixes over seeds S, S+1,
// ...; `--seed N` replays one; `--history FILE` writes its client history as JSON Lines;
// `--self-check` runs each seed twice and compares traces. Exit codes: see EXIT_CODES.
import { Command, InvalidArgumentError } from 'commander';
import { osSeed } from '../../runtime/system-random.ts';
import { writeTextFile } from '../../runtime/text-file.ts';
import { describeFaultMix } from './fault-mix.ts';
import { EXIT_CODES, runSeed } from './runner.ts';
import type { RunOptions, RunReport } from './runner.ts';
import { historyViolations } from './checks.ts';
import type { SystemUnderTest } from './system-under-test.ts';

/** A system the command can run, with its default run shape (flags override each). */
export interface SwarmSystemEntry {
  readonly make: () => SystemUnderTest;
  readonly servers?: number;
  readonly clients?: number;
  readonly safetyMs?: number;
  readonly livenessMs?: number;
  readonly livenessOps?: number;
}

/** Defaults when neither the flags nor the system entry say. */
const RUN_DEFAULTS = { servers: 5, clients: 3, safetyMs: 3_000, livenessMs: 5_000, livenessOps: 5 } as const;
/** The most seeds one invocation runs. */
const SEEDS_MAX = 10_000_000;

function integer(name: string, min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    }
    return value;
  };
}

interface ParsedFlags {
  seeds: number;
  firstSeed?: number;
  seed?: number;
  history?: string;
  selfCheck: boolean;
  system: string;
  servers?: number;
  clients?: number;
  safetyMs?: number;
  livenessMs?: number;
  livenessOps?: number;
  quiet: boolean;
}

type Flags = ParsedFlags & Required<Pick<ParsedFlags, keyof typeof RUN_DEFAULTS>>;

function parseFlags(
  argv: readonly string[],
  systems: Readonly<Record<string, SwarmSystemEntry>>,
  defaultSystem: string,
): ParsedFlags {
  const program = new Command('sim')
    .description('Swarm-test a system in the deterministic simulator over many seeds.')
    .option('--seeds <n>', 'number of seeds to run', integer('--seeds', 1, SEEDS_MAX), 1)
    .option(
      '--first-seed <s>',
      'first seed (drawn and printed when absent)',
      integer('--first-seed', 0, 2 ** 32 - 1),
    )
    .option('--seed <n>', 'replay exactly one seed', integer('--seed', 0, 2 ** 32 - 1))
    .option(
      '--history <file>',
      'write the history of the first failing (else the last) run as JSON Lines ("-": stdout)',
    )
    .option('--self-check', 'run every seed twice and fail if the trace hashes differ', false)
    .option('--system <name>', `system under test: ${Object.keys(systems).join(', ')}`, defaultSystem)
    .option('--servers <n>', 'server hosts (0: the system draws it per seed)', integer('--servers', 0, 99))
    .option('--clients <n>', 'client hosts', integer('--clients', 1, 99))
    .option('--safety-ms <ms>', 'virtual time with faults on', integer('--safety-ms', 0, 1e9))
    .option('--liveness-ms <ms>', 'bound on progress after healing', integer('--liveness-ms', 1, 1e9))
    .option('--liveness-ops <n>', 'operations required after healing', integer('--liveness-ops', 1, 1e6))
    .option('--quiet', 'print only failures and the summary', false)
    .exitOverride();
  program.parse(argv, { from: 'user' });
  return program.opts<ParsedFlags>();
}

function withDefaults(parsed: ParsedFlags, entry: SwarmSystemEntry): Flags {
  return {
    ...parsed,
    servers: parsed.servers ?? entry.servers ?? RUN_DEFAULTS.servers,
    clients: parsed.clients ?? entry.clients ?? RUN_DEFAULTS.clients,
    safetyMs: parsed.safetyMs ?? entry.safetyMs ?? RUN_DEFAULTS.safetyMs,
    livenessMs: parsed.livenessMs ?? entry.livenessMs ?? RUN_DEFAULTS.livenessMs,
    livenessOps: parsed.livenessOps ?? entry.livenessOps ?? RUN_DEFAULTS.livenessOps,
  };
}

function printRun(report: RunReport, flags: Flags): void {
  const line =
    `seed=${report.seed} outcome=${report.outcome.kind} ops=${report.okOperations} ` +
    `virtualMs=${Math.round(report.virtualMs)} events=${report.eventsRun} trace=${report.traceHash} ` +
    `faults: ${describeFaultMix(report.faults)}`;
  if (report.outcome.kind !== 'pass') {
    process.stdout.write(`${line}\n  ${report.outcome.message.split('\n').join('\n  ')}\n`);
    process.stdout.write(`  replay: npm run sim -- ${replayFlags(flags)} --seed ${report.seed}\n`);
  } else if (!flags.quiet) {
    process.stdout.write(`${line}\n`);
  }
}

function replayFlags(flags: Flags): string {
  return (
    `--system ${flags.system} --servers ${flags.servers} --clients ${flags.clients} --safety-ms ${flags.safetyMs} ` +
    `--liveness-ms ${flags.livenessMs} --liveness-ops ${flags.livenessOps}`
  );
}

function writeHistory(report: RunReport, target: string): void {
  const text = report.history.map((event) => JSON.stringify(event)).join('\n') + '\n';
  if (target === '-') process.stdout.write(text);
  else writeTextFile(target, text);
}

/** Runs the swarm command over `argv` (without the program name); resolves to the exit code. */
export async function runSwarmCommand(
  argv: readonly string[],
  systems: Readonly<Record<string, SwarmSystemEntry>>,
  defaultSystem: string,
): Promise<number> {
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(argv, systems, defaultSystem);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? EXIT_CODES.pass : EXIT_CODES.usage;
  }
  const entry = systems[parsed.system];
  if (entry === undefined) {
    process.stderr.write(`unknown --system ${parsed.system}\n`);
    return EXIT_CODES.usage;
  }
  const flags = withDefaults(parsed, entry);
  const firstSeed = flags.seed ?? flags.firstSeed ?? osSeed();
  const count = flags.seed === undefined ? flags.seeds : 1;
  process.stdout.write(
    `swarm: system=${flags.system} first-seed=${firstSeed} seeds=${count} ${replayFlags(flags)}\n`,
  );
  return runSeeds(flags, entry.make(), firstSeed, count);
}

async function runSeeds(
  flags: Flags,
  system: SystemUnderTest,
  firstSeed: number,
  count: number,
): Promise<number> {
  const failures: Array<{ seed: number; code: number }> = [];
  let last: RunReport | undefined;
  let firstFailure: RunReport | undefined;
  for (let index = 0; index < count; index += 1) {
    const seed = (firstSeed + index) >>> 0;
    const options: RunOptions = {
      seed,
      system,
      size: { servers: flags.servers, clients: flags.clients },
      safetyMs: flags.safetyMs,
      livenessBoundMs: flags.livenessMs,
      livenessOperations: flags.livenessOps,
      checkHistory: historyViolations,
    };
    last = await runSeed(options);
    printRun(last, flags);
    if (last.outcome.kind !== 'pass') {
      failures.push({ seed, code: EXIT_CODES[last.outcome.kind] });
      firstFailure ??= last;
    }
    if (flags.selfCheck) {
      const again = await runSeed(options);
      if (again.traceHash !== last.traceHash) {
        process.stdout.write(
          `seed=${seed} NONDETERMINISTIC: trace ${last.traceHash} then ${again.traceHash}\n`,
        );
        failures.push({ seed, code: EXIT_CODES.nondeterminism });
      }
    }
  }
  const shown = firstFailure ?? last;
  if (flags.history !== undefined && shown !== undefined) writeHistory(shown, flags.history);
  const failedSeeds = failures.map((failure) => failure.seed).join(' ');
  process.stdout.write(
    `swarm: ${count - failures.length}/${count} passed${failures.length > 0 ? `; failed seeds: ${failedSeeds}` : ''}\n`,
  );
  return failures[0]?.code ?? EXIT_CODES.pass;
}

/** Runs the command as a process's main: exit code set, crashes mapped to EXIT_CODES.crash. */
export function swarmMain(systems: Readonly<Record<string, SwarmSystemEntry>>, defaultSystem: string): void {
  // A rejection no event caught is a crash of the code under test.
  process.on('unhandledRejection', (reason) => {
    process.stdout.write(`crash: unhandled rejection: ${String(reason)}\n`);
    process.exit(EXIT_CODES.crash);
  });
  runSwarmCommand(process.argv.slice(2), systems, defaultSystem).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stdout.write(`crash: ${String(error)}\n`);
      process.exitCode = EXIT_CODES.crash;
    },
  );
}
