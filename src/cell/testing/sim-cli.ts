// `npm run sim`: the simworld swarm command with the real cell as its default system (and the
// ABD register as `--system register`). Flags and exit codes are the swarm command's
// (src/simworld/swarm/command.ts): `--seeds N [--first-seed S]`, `--seed N`, `--history FILE`,
// `--self-check`; exit 1 crash, 2 liveness, 3 correctness, 4 nondeterminism, 64 usage.
// The cell prints, before each run's line, what its operator did (`cell seed=... reconfig:
// add=... remove=...`), and a total at the end; `--system cell-no-reconfig` runs the cell
// without the operator (no membership changes, no spare hosts), for comparisons.
import { abdSystem } from '../../simworld/examples/abd-system.ts';
import { swarmMain } from '../../simworld/swarm/command.ts';
import type { SwarmSystemEntry } from '../../simworld/swarm/command.ts';
import { CELL_SWARM_RUN, cellSystem, describeRunSummary } from './swarm-cell-system.ts';
import type { CellRunSummary } from './swarm-cell-system.ts';
import { emptyReconfigCounts } from './swarm-operator.ts';
import type { ReconfigCounts } from './swarm-operator.ts';

const register: SwarmSystemEntry = { make: () => abdSystem() };
const quiet = process.argv.includes('--quiet');
/** A replay of one seed also prints every server host's final state. */
const replay = process.argv.includes('--seed');
const total: ReconfigCounts = emptyReconfigCounts();
let runs = 0;
let runsWithOperator = 0;

function noteRun(summary: CellRunSummary): void {
  runs += 1;
  if (summary.operator) runsWithOperator += 1;
  for (const kind of Object.keys(total) as Array<keyof ReconfigCounts>)
    total[kind] += summary.reconfigurations[kind];
  if (!quiet) process.stdout.write(`${describeRunSummary(summary)}\n`);
  if (replay) process.stdout.write(`  ${summary.hosts.join('\n  ')}\n`);
}

const SYSTEMS: Readonly<Record<string, SwarmSystemEntry>> = {
  cell: { make: () => cellSystem({ onRunSummary: noteRun }), ...CELL_SWARM_RUN },
  'cell-no-reconfig': {
    make: () => cellSystem({ operator: undefined, onRunSummary: noteRun }),
    ...CELL_SWARM_RUN,
  },
  register,
  abd: register,
  // Deliberately broken registers: the swarm must fail on them (exit code 3).
  'abd-bug-accept-older-writes': { make: () => abdSystem({ bugs: { acceptOlderWrites: true } }) },
  'abd-bug-ack-before-durable': { make: () => abdSystem({ bugs: { ackBeforeDurable: true } }) },
};

process.on('exit', () => {
  if (runs === 0) return;
  const counts = Object.entries(total)
    .map(([kind, value]) => `${kind}=${value}`)
    .join(' ');
  process.stdout.write(
    `cell reconfigurations over ${runs} runs (${runsWithOperator} with an operator): ${counts}\n`,
  );
});

swarmMain(SYSTEMS, 'cell');
