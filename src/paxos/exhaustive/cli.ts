// `npm run explore -- [flags]`: exhaustive bounded exploration of the Paxos core (paper
// §4.2). Prints states, schedules, depth and time; exits 1 with a trace on a violation.
import { Command, InvalidArgumentError, Option } from 'commander';
import { SystemClock } from '../../runtime/system-clock.ts';
import type { ExploreBounds } from './explorer.ts';
import { explore, formatCounterexample } from './explorer.ts';
import type { InjectedBug, PresetOptions } from './presets.ts';
import { presetConfig } from './presets.ts';

function count(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

interface Flags {
  nodes: number;
  proposals: number;
  competing: boolean;
  flush: 'eager' | 'explicit';
  bug: InjectedBug;
  persistCheck: boolean;
  thrifty: boolean;
  depth: number;
  ticks: number;
  duplicates: number;
  drops: number;
  crashes: number;
  statesMax: number;
  seed: number;
}

const program = new Command('explore')
  .description('Explore every schedule of a small cell within the bounds, checking safety after each action.')
  .option('--nodes <n>', 'replicas in the cell', count, 3)
  .option('--proposals <n>', 'client proposals (1 or 2 in the usual cases)', count, 2)
  .option('--no-competing', 'send every proposal to n1 instead of one per node (no competing proposer)')
  .addOption(
    new Option('--flush <mode>', 'eager: Ready persisted and sent at once; explicit: flush is a choice point')
      .choices(['eager', 'explicit'])
      .default('eager'),
  )
  .addOption(
    new Option('--bug <bug>', 'inject a bug the explorer should catch')
      .choices(['none', 'forgetPromise', 'sendBeforePersist', 'ownVoteBeforePersist'])
      .default('none'),
  )
  .option('--no-persist-check', 'do not check that what a message claims is durable when it leaves')
  .option('--thrifty', 'leaders send each accept to a quorum first, the chosen entries to the rest later')
  .option('--depth <n>', 'longest schedule, in actions', count, 12)
  .option('--ticks <n>', 'ticks per schedule (only replicas that want a tick are ticked)', count, 0)
  .option('--duplicates <n>', 'message duplications per schedule', count, 0)
  .option(
    '--drops <n>',
    'explicit message drops per schedule (never delivering a message is always explored)',
    count,
    0,
  )
  .option('--crashes <n>', 'crash-restarts from durable state per schedule', count, 0)
  .option('--states-max <n>', 'stop after expanding this many states', count, 5_000_000)
  .option('--seed <n>', "seed of the replicas' election jitter", count, 1);

program.parse();
const flags = program.opts<Flags>();
const preset: Partial<PresetOptions> = {
  nodeCount: flags.nodes,
  proposalCount: flags.proposals,
  competing: flags.competing,
  flushMode: flags.flush,
  bug: flags.bug,
  checkPersistBeforeSend: flags.persistCheck,
  thrifty: flags.thrifty === true,
  seed: flags.seed,
};
const bounds: ExploreBounds = {
  depthMax: flags.depth,
  ticks: flags.ticks,
  duplicates: flags.duplicates,
  drops: flags.drops,
  crashes: flags.crashes,
  statesMax: flags.statesMax,
};

const clock = new SystemClock();
const startedMs = clock.monotonicMs();
const { stats, counterexample } = explore(presetConfig(preset), bounds);
const seconds = (clock.monotonicMs() - startedMs) / 1000;
console.log(`explore ${JSON.stringify({ ...preset, ...bounds })}`);
console.log(`states expanded   ${stats.statesExpanded}`);
console.log(`distinct states   ${stats.distinctStates}`);
console.log(`transitions       ${stats.transitions} (each followed by the safety checks)`);
console.log(`revisits pruned   ${stats.revisitsPruned}`);
const complete = !stats.truncated && counterexample === undefined;
console.log(`schedules covered ${complete ? String(stats.schedules) : 'not counted (search stopped early)'}`);
console.log(`quiescent ends    ${stats.quiescentEnds}`);
console.log(`max depth         ${stats.maxDepth}`);
console.log(`max learned       ${stats.maxLearned} indices`);
console.log(
  `time              ${seconds.toFixed(1)} s (${Math.round(stats.transitions / Math.max(seconds, 1e-3))} transitions/s)`,
);
if (stats.truncated)
  console.log(`TRUNCATED at --states-max ${bounds.statesMax}: not every schedule was explored`);
if (counterexample !== undefined) {
  console.log(formatCounterexample(counterexample));
  process.exitCode = 1;
} else {
  console.log('no safety violation');
}
