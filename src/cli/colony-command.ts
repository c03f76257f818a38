// `physalia colony up | down | status`, and the foreground colony of `npm start`: start the
// 9-node local colony, print its endpoints and a first command, stop it on Ctrl-C.
import { Command } from 'commander';
import { colonyStatus, defaultBasePort, startColony, stopChildren, stopColony } from './colony.ts';
import type { Colony, ColonyOptions } from './colony.ts';

interface ColonyFlags {
  data: string;
  basePort?: number;
  logLevel: string;
}

function options(flags: ColonyFlags): ColonyOptions {
  return {
    dataDir: flags.data,
    logLevel: flags.logLevel,
    ...(flags.basePort === undefined ? {} : { basePort: flags.basePort }),
  };
}

function banner(colony: Colony, keyring: 'created' | 'existing', foreground: boolean): string[] {
  const first = colony.nodes[0]!;
  return [
    `Physalia colony: ${colony.nodes.length} nodes (3 racks x 3 power domains), data in ${colony.dataDir}`,
    keyring === 'created'
      ? `  new keyring: ${colony.dataDir}/keyring.json`
      : `  keyring: ${colony.dataDir}/keyring.json (kept)`,
    ...colony.nodes.map((n) => `  ${n.id}  ${n.rack}  ${n.powerDomain}  http://${n.http}  (peers ${n.peer})`),
    '',
    'Try (in another terminal):',
    '  npx physalia cell create volume/vol-1',
    '  npx physalia put volume/vol-1 primary node-7',
    '  npx physalia get volume/vol-1 primary',
    `  curl -s http://${first.http}/v1/cells/volume%2Fvol-1`,
    foreground ? 'Ctrl-C stops the colony (data is kept).' : 'Stop it with: npx physalia colony down',
  ];
}

const withColonyOptions = (command: Command): Command =>
  command
    .option(
      '--base-port <port>',
      `peer ports base+1..9, HTTP base+101..109 (default ${defaultBasePort}, or as before)`,
      (v) => Number(v),
    )
    .option('--log-level <level>', 'node log level (logs in <data>/nodes/<id>/node.log)', 'warn');

/** Runs the colony in the foreground until SIGINT/SIGTERM (npm start). */
export async function runForeground(flags: ColonyFlags): Promise<number> {
  // Signal handlers first: a Ctrl-C during start must still stop every child.
  let signalled: string | undefined;
  let onSignal: () => void = () => undefined;
  const stopRequested = new Promise<void>((done) => (onSignal = done));
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      signalled ??= name;
      onSignal();
    });
  }
  const started = await startColony(options(flags), false, () => signalled !== undefined);
  switch (started.kind) {
    case 'already-running':
      process.stderr.write(
        `error: a colony is already running in ${started.colony.dataDir} (pids ${[...started.pids.values()].join(', ')}); stop it with: npx physalia colony down\n`,
      );
      return 2;
    case 'failed':
      process.stderr.write(`error: the colony did not start: ${started.reason}\n`);
      return signalled === undefined ? 2 : 0;
    case 'started':
      break;
  }
  for (const line of banner(started.colony, started.keyring, true)) process.stdout.write(`${line}\n`);
  started.children.forEach((child, i) =>
    child.once('exit', (code, signal) => {
      if (signalled === undefined)
        process.stderr.write(
          `warning: ${started.colony.nodes[i]!.id} exited (${code ?? signal ?? '?'}); see its node.log\n`,
        );
    }),
  );
  await stopRequested;
  process.stdout.write(`\n${signalled ?? 'signal'}: stopping the colony...\n`);
  await stopChildren(started.colony);
  process.stdout.write('colony stopped (data kept)\n');
  return 0;
}

export function colonyCommand(globals: () => { data: string; json?: boolean }): Command {
  const dataDir = (): string => globals().data;
  const command = new Command('colony').description('the local 9-node colony on loopback');
  withColonyOptions(command.command('up').description('start the colony in the background')).action(
    async (flags: Omit<ColonyFlags, 'data'>) => {
      const started = await startColony(options({ ...flags, data: dataDir() }), true);
      switch (started.kind) {
        case 'already-running':
          process.stdout.write(
            `already running in ${started.colony.dataDir} (${started.pids.size} node processes)\n`,
          );
          return;
        case 'failed':
          process.stderr.write(`error: the colony did not start: ${started.reason}\n`);
          process.exitCode = 2;
          return;
        case 'started':
          for (const line of banner(started.colony, started.keyring, false))
            process.stdout.write(`${line}\n`);
      }
    },
  );
  command
    .command('down')
    .description('stop the background colony (SIGTERM, then SIGKILL after 20 s)')
    .action(async () => {
      const stopped = await stopColony(dataDir());
      process.stdout.write(
        stopped.kind === 'stopped' ? `stopped ${stopped.count} node processes\n` : 'not running\n',
      );
    });
  command
    .command('status')
    .description('each node: process and readiness')
    .action(async () => {
      const flags = globals();
      const status = await colonyStatus(dataDir());
      if (status === undefined) {
        process.stderr.write(
          `error: no colony in ${dataDir()} (start one: npm start, or npx physalia colony up)\n`,
        );
        process.exitCode = 2;
        return;
      }
      if (flags.json === true) {
        process.stdout.write(
          `${JSON.stringify(status.map((s) => ({ ...s.node, pid: s.pid ?? null, ready: s.ready })))}\n`,
        );
      } else {
        for (const s of status) {
          process.stdout.write(
            `${s.node.id}  ${s.node.rack}  ${s.node.powerDomain}  http://${s.node.http}  ${s.pid === undefined ? 'stopped' : `pid ${s.pid}`}  ${s.ready ? 'ready' : 'not ready'}\n`,
          );
        }
      }
      if (!status.every((s) => s.ready)) process.exitCode = 1;
    });
  return command;
}
