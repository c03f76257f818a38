// `physalia serve --config FILE`: one node of a colony with its HTTP API: runs the node
// (runNode: TCP, LMDB, keyring) and mounts the API server on it; SIGTERM/SIGINT stop both cleanly.
import { Command } from 'commander';
import { pino } from 'pino';
import { buildApiServer } from '../api/server.ts';
import type { TopologyEntry } from '../api/placement.ts';
import { parsePeerAddress, SystemClock } from '../runtime/index.ts';
import { runNode } from './node-main.ts';
import type { NodeConfig } from './node-main.ts';
import { readJsonFile } from '../runtime/os-process.ts';

/** What one colony process runs: its node, where its API listens, and the colony's topology. */
export interface ServeConfig {
  readonly node: NodeConfig;
  /** host:port of the HTTP API. */
  readonly http: string;
  readonly topology: readonly TopologyEntry[];
}

/** Starts the node and its API; resolves with a stop function once both listen. */
export async function serve(config: ServeConfig): Promise<{ stop(): Promise<void>; httpAddress: string }> {
  const logger = pino({ level: config.node.logLevel ?? 'info' });
  const http = parsePeerAddress(config.http);
  if (http === undefined) throw new Error(`http: expected host:port, got ${config.http}`);
  const running = await runNode(config.node, logger);
  const app = buildApiServer({
    node: running.node,
    topology: config.topology,
    clock: new SystemClock(),
    transportCounters: () => running.network.counters(),
    storage: running.storage,
    processMetrics: true,
  });
  try {
    await app.listen({ host: http.host, port: http.port });
  } catch (error: unknown) {
    await running.close();
    throw error;
  }
  logger.info({ node: config.node.id, http: config.http }, 'api listening');
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await app.close();
      await running.close();
    })());
  return { stop, httpAddress: config.http };
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run one node with its HTTP API (what the local colony runs)')
    .requiredOption('--config <file>', 'JSON ServeConfig: { node: NodeConfig, http, topology }')
    .action(async (flags: { config: string }) => {
      const config = readJsonFile(flags.config) as ServeConfig;
      const server = await serve(config);
      const shutdown = (): void => {
        void server.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
