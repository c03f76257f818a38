// `npm run faults -- --seconds N --history FILE`: starts a 7-process colony on loopback, runs
// a register workload while SIGKILLing and restarting up to three nodes and partitioning
// nodes through the test hook, writes the client history as JSON Lines, and exits non-zero
// on any violation (1: not linearizable, 2: acknowledged write lost, 3: the run failed).
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { ProcessColony } from './harness.ts';
import { cellsOf, createCells, runWorkload } from './workload.ts';

interface Flags {
  seconds: string;
  history?: string;
  nodes: string;
  cells: string;
  keys: string;
  clients: string;
  killEveryMs: string;
  downMax: string;
  partitionEveryMs: string;
  keepData?: boolean;
}

async function run(flags: Flags): Promise<number> {
  const stamp = (): string => new Date().toISOString();
  const log = (line: string): void => console.log(`${stamp()} ${line}`);
  log(`starting ${flags.nodes} node processes`);
  const colony = await ProcessColony.start({ nodes: Number(flags.nodes), testHooks: true });
  try {
    const cells = Number(flags.cells);
    await createCells(colony, cellsOf(cells));
    log(`created ${cells} cells on all nodes; workload for ${flags.seconds} s`);
    const report = await runWorkload(colony, {
      cells,
      keysPerCell: Number(flags.keys),
      clients: Number(flags.clients),
      durationMs: Number(flags.seconds) * 1000,
      killEveryMs: Number(flags.killEveryMs),
      downMax: Number(flags.downMax),
      restartAfterMs: 1_500,
      partitionEveryMs: Number(flags.partitionEveryMs),
      log,
    });
    const history = flags.history ?? `${colony.dir}.history.jsonl`;
    writeFileSync(history, report.recorder.toJsonLines());
    log(`history: ${report.recorder.events().length} events -> ${history}`);
    log(
      `operations: ok ${report.ok}, fail ${report.fail}, info ${report.info}; kills ${report.kills}, partitions ${report.partitions}`,
    );
    const linear = report.linearizable;
    log(
      `linearizability: ${linear.kind}${linear.kind === 'not-linearizable' ? ` (${linear.key}: ${linear.message})` : ''}`,
    );
    if (report.durability.kind === 'checked')
      log(
        `durability: ${report.durability.acknowledgedWritesChecked} acknowledged writes checked, ${report.durability.violations.length} lost`,
      );
    else log(`durability: ${report.durability.kind}`);
    if (linear.kind !== 'linearizable') return 1;
    if (report.durability.kind !== 'checked' || report.durability.violations.length > 0) return 2;
    return 0;
  } finally {
    await colony.close(flags.keepData === true);
    if (flags.keepData === true) log(`data kept in ${colony.dir}`);
  }
}

const command = new Command('faults')
  .description('real-process fault test of a node colony (kills, restarts, partitions)')
  .option('--seconds <n>', 'workload duration', '30')
  .option('--history <file>', 'where to write the history (JSON Lines)')
  .option('--nodes <n>', 'node processes', '7')
  .option('--cells <n>', 'cells (each on every node)', '4')
  .option('--keys <n>', 'registers per cell', '2')
  .option('--clients <n>', 'concurrent clients', '8')
  .option('--kill-every-ms <ms>', 'SIGKILL a node this often (0: never)', '2000')
  .option('--down-max <n>', 'most nodes down at once', '3')
  .option('--partition-every-ms <ms>', 'partition a node from two peers this often (0: never)', '3000')
  .option('--keep-data', 'keep the data directories and logs')
  .action(async (flags: Flags) => {
    process.exitCode = await run(flags).catch((error: unknown) => {
      console.error(error);
      return 3;
    });
  });

await command.parseAsync(process.argv);
