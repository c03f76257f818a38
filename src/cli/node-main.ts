// The `physalia node` process: wires the real environment (TcpNetwork, LmdbStorage,
// SystemClock, OS-seeded Random) to a Node, logs with pino, and shuts down cleanly on
// SIGTERM (stop accepting, close cells, close storage); LMDB's fsync'd commits make it safe
// under SIGKILL. `runNode` is the entry the `physalia` CLI calls; `main` parses flags.
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { CellOptions } from '../cell/index.ts';
import { hostId } from '../env/index.ts';
import { realCellBinding } from '../node/cell-binding.ts';
import type { NodeLimits } from '../node/limits.ts';
import { Node } from '../node/node.ts';
import { nodeFrameBytesMax } from '../node/wire.ts';
import { nodeId } from '../paxos/index.ts';
import {
  AddressBook,
  LmdbStorage,
  loadKeyringFile,
  lockDataDir,
  parsePeerAddress,
  SystemClock,
  systemRandom,
  TcpNetwork,
} from '../runtime/index.ts';
import type { PeerAddress, TcpNetworkOptions } from '../runtime/index.ts';

/** Frame headers (key id, sender, receiver, MAC) on top of the node's largest envelope. */
const frameOverheadBytes = 4096;

/** Where the node sits in the datacenter (paper §2.1: placement uses the topology). */
export interface NodeTopology {
  readonly row: string;
  readonly rack: string;
  readonly powerDomain: string;
}

/** Everything a node process needs; `main` builds it from flags or a JSON config file. */
export interface NodeConfig {
  readonly id: string;
  /** host:port to listen on (port 0 picks one; read it back from RunningNode.address). */
  readonly listen: string;
  /** The address book: node (and client) id -> host:port. */
  readonly peers: Readonly<Record<string, string>>;
  /** Ids of the colony's nodes (heartbeats, locating cells); all peers when absent. */
  readonly colony?: readonly string[];
  readonly dataDir: string;
  readonly keyringPath: string;
  readonly topology: NodeTopology;
  /** Deployment color (a cell uses nodes of one color only). */
  readonly color: string;
  readonly testHooks?: boolean;
  readonly limits?: Partial<NodeLimits>;
  readonly cell?: Partial<CellOptions>;
  readonly logLevel?: string;
}

export interface RunningNode {
  readonly node: Node;
  readonly network: TcpNetwork;
  readonly storage: LmdbStorage;
  readonly address: PeerAddress;
  readonly config: NodeConfig;
  /** Clean shutdown: stop accepting frames, close the cells, close the storage. */
  close(): Promise<void>;
  /** Logs the node's and the transport's counters (also on SIGUSR2 and at shutdown). */
  logMetrics(): void;
}

/** Starts a node in this process. Throws (outer edge) on a bad config or keyring. */
export async function runNode(
  config: NodeConfig,
  logger: Logger = pino({ level: config.logLevel ?? 'info' }),
): Promise<RunningNode> {
  const listen = parsePeerAddress(config.listen.replace(/:0$/, ':1'));
  if (listen === undefined) throw new Error(`--listen: expected host:port, got ${config.listen}`);
  const port = config.listen.endsWith(':0') ? 0 : listen.port;
  const book = AddressBook.fromRecord(config.peers);
  if (book.kind === 'invalid') throw new Error(`peers: ${book.reason}`);
  const keyring = await loadKeyringFile(config.keyringPath);
  if (keyring.kind !== 'ok') throw new Error(`keyring ${config.keyringPath}: ${keyring.reason}`);
  const clock = new SystemClock();
  const random = systemRandom();
  const dataDirLock = await lockDataDir(config.dataDir);
  const { storage, network } = await openStorageAndNetwork(config.dataDir, {
    self: hostId(config.id),
    listen: { host: listen.host, port },
    addressBook: book.book,
    keyring: keyring.keyring,
    keyringPath: config.keyringPath,
    clock,
    random: random.fork('network'),
    limits: { frameBytesMax: nodeFrameBytesMax + frameOverheadBytes },
  }).catch(async (error: unknown) => {
    await dataDirLock.release();
    throw error;
  });
  const colony = (config.colony ?? book.book.hosts()).map((id) => nodeId(id));
  const node = new Node({
    self: nodeId(config.id),
    env: { clock, network, storage, random: random.fork('node') },
    cells: realCellBinding(config.cell),
    peers: colony,
    log: logger,
    ...(config.limits === undefined ? {} : { limits: config.limits }),
    ...(config.testHooks === true ? { testHooks: true } : {}),
  });
  const address = network.address;
  logger.info(
    { node: config.id, address, topology: config.topology, color: config.color, dataDir: config.dataDir },
    'node listening',
  );
  const logMetrics = (): void =>
    logger.info(
      {
        node: config.id,
        metrics: node.metrics(),
        transport: network.counters(),
        storage: storage.counters(),
      },
      'metrics',
    );
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await network.close();
      await node.close();
      logMetrics();
      await storage.close();
      await dataDirLock.release();
      logger.info({ node: config.id }, 'node stopped');
    })());
  return { node, network, storage, address, config, close, logMetrics };
}

/** Opens the store, then the transport; a failed start (an address in use) closes the store again. */
async function openStorageAndNetwork(
  dataDir: string,
  transport: TcpNetworkOptions,
): Promise<{ storage: LmdbStorage; network: TcpNetwork }> {
  const storage = LmdbStorage.open({ path: dataDir });
  try {
    return { storage, network: await TcpNetwork.start(transport) };
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw error;
  }
}

function peerOption(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected id=host:port');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** Reads a JSON file through the module loader (src/ may not import node:fs; see report). */
async function readJsonFile(path: string): Promise<unknown> {
  const url = pathToFileURL(path);
  url.searchParams.set('read', String(process.pid)); // a fresh module, not a cached one
  const loaded = (await import(url.href, { with: { type: 'json' } })) as { default: unknown };
  return loaded.default;
}

interface Flags {
  config?: string;
  id?: string;
  listen?: string;
  peers?: string;
  peer: Record<string, string>;
  colony?: string;
  data?: string;
  keyring?: string;
  row: string;
  rack: string;
  power: string;
  color: string;
  testHooks?: boolean;
  logLevel: string;
}

async function configFrom(flags: Flags): Promise<NodeConfig> {
  const file = flags.config === undefined ? {} : ((await readJsonFile(flags.config)) as Partial<NodeConfig>);
  const peersFile =
    flags.peers === undefined ? {} : ((await readJsonFile(flags.peers)) as Record<string, string>);
  const required = (value: string | undefined, name: string): string => {
    if (value === undefined) throw new Error(`missing --${name} (or "${name}" in --config)`);
    return value;
  };
  return {
    ...file,
    id: required(flags.id ?? file.id, 'id'),
    listen: required(flags.listen ?? file.listen, 'listen'),
    peers: { ...file.peers, ...peersFile, ...flags.peer },
    dataDir: required(flags.data ?? file.dataDir, 'data'),
    keyringPath: required(flags.keyring ?? file.keyringPath, 'keyring'),
    topology: file.topology ?? { row: flags.row, rack: flags.rack, powerDomain: flags.power },
    color: file.color ?? flags.color,
    ...(flags.colony === undefined ? {} : { colony: flags.colony.split(',') }),
    ...(flags.testHooks === true || file.testHooks === true ? { testHooks: true } : {}),
    logLevel: file.logLevel ?? flags.logLevel,
  };
}

/** The command, for the `physalia` CLI to mount as `physalia node`. */
export function nodeCommand(): Command {
  return new Command('node')
    .description('run one Physalia node (hosts many cell replicas)')
    .option('--config <file>', 'JSON config file (NodeConfig); flags override it')
    .option('--id <id>', 'node id')
    .option('--listen <host:port>', 'address to listen on')
    .option('--peers <file>', 'JSON address book {"id": "host:port"}')
    .option('--peer <id=host:port>', 'one address book entry (repeatable)', peerOption, {})
    .option('--colony <ids>', 'comma-separated node ids of the colony (default: every peer)')
    .option('--data <dir>', 'data directory (LMDB)')
    .option('--keyring <file>', 'keyring file')
    .option('--row <row>', 'topology: row', 'row-1')
    .option('--rack <rack>', 'topology: rack', 'rack-1')
    .option('--power <domain>', 'topology: power domain', 'power-1')
    .option('--color <color>', 'deployment color', 'blue')
    .option('--test-hooks', 'honour test-only control frames (simulated partitions)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (flags: Flags) => {
      const config = await configFrom(flags);
      const logger = pino({ level: config.logLevel ?? 'info' });
      const running = await runNode(config, logger);
      const stop = (signal: string): void => {
        logger.info({ signal }, 'shutting down');
        void running.close().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ error: String(error) }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.on('SIGUSR2', () => running.logMetrics());
    });
}

/** `tsx src/cli/node-main.ts --id n1 ...`: parses flags and runs until SIGTERM. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const command = nodeCommand();
  await command.parseAsync([...argv]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  });
}
