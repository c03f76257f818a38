#!/usr/bin/env -S node --import tsx
// `physalia`: the command line of Physalia: the local colony, a node process, cells, data and
// leases. Readable output by default, --json for scripts; exit 0 done, 1 "no", 2 error, 3 unknown.
import { Command, CommanderError } from 'commander';
import { colonyCommand } from './colony-command.ts';
import { cellCommand, dataCommands } from './commands.ts';
import type { GlobalFlags } from './commands.ts';
import { nodeCommand } from './node-main.ts';
import { isMainModule } from '../runtime/os-process.ts';
import { serveCommand } from './serve.ts';

export function program(): Command {
  const root = new Command('physalia')
    .description('Physalia: a transactional key-value store of many tiny Paxos cells')
    .option(
      '--endpoint <host:port>',
      'a node HTTP API to talk to, repeatable (default: $PHYSALIA_ENDPOINTS, or the colony in --data)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--data <dir>', 'the local colony data directory', './data')
    .option('--json', 'JSON output for scripts')
    .option('--eventual', 'eventually consistent reads (any replica)')
    .showHelpAfterError();
  const globals = (): GlobalFlags => root.opts<GlobalFlags>();
  root.addCommand(colonyCommand(globals));
  root.addCommand(nodeCommand());
  root.addCommand(serveCommand());
  root.addCommand(cellCommand(globals));
  for (const command of dataCommands(globals)) root.addCommand(command);
  root.exitOverride();
  return root;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await program().parseAsync([...argv]);
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(
      `error: ${error instanceof Error ? (process.env.PHYSALIA_DEBUG === undefined ? error.message : error.stack) : String(error)}\n`,
    );
    process.exitCode = 2;
  }
}

if (isMainModule(import.meta.url)) {
  void main(process.argv);
}
