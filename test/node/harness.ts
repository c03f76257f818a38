// Real-process colony for tests, the fault runner and the benchmark: spawns `physalia node`
// processes (tsx) on loopback with free ports, a shared keyring and address book, and a
// client in this process that speaks the node wire protocol as an authenticated peer.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { decodeCellResponse, encodeCellRequest } from '../../src/cell/index.ts';
import type { CellRequest } from '../../src/cell/index.ts';
import { hostId } from '../../src/env/index.ts';
import type { HostId } from '../../src/env/index.ts';
import type { CellId, NodeMetrics, SubmitResponse } from '../../src/node/index.ts';
import { decodeNodeMessage, encodeNodeMessage, nodeFrameBytesMax } from '../../src/node/wire.ts';
import type { AdminOutcome, MoveOutcome, NodeMessage, RpcId } from '../../src/node/wire.ts';
import type { NodeId } from '../../src/paxos/index.ts';
import { AddressBook, parseKeyring, TcpNetwork } from '../../src/runtime/index.ts';
import type { Keyring, LmdbStorageCounters, TcpNetworkCounters } from '../../src/runtime/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const nodeMain = join(repoRoot, 'src/cli/node-main.ts');

/** Ports that were free a moment ago (bound to port 0 and released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((done, fail) => {
          const server = createServer();
          server.once('error', fail);
          server.listen(0, '127.0.0.1', () => done(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** One spawned node process (restartable on the same data directory). */
/** What a node logs as its metrics line (on SIGUSR2 and at shutdown). */
export interface NodeMetricsLine {
  readonly metrics: NodeMetrics;
  readonly transport: TcpNetworkCounters;
  readonly storage: LmdbStorageCounters;
}

/**
 * Extra Node.js flags for every node process, from PHYSALIA_NODE_ARGS (space-separated), to
 * profile a colony: `PHYSALIA_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:node`.
 */
function extraNodeArgs(): string[] {
  return (process.env.PHYSALIA_NODE_ARGS ?? '').split(' ').filter((arg) => arg.length > 0);
}

export class NodeProcess {
  child: ChildProcess | undefined;
  private log: WriteStream;
  /** Metrics log lines seen (newest last). */
  readonly metricsSeen: NodeMetricsLine[] = [];
  starts = 0;

  constructor(
    readonly id: NodeId,
    readonly port: number,
    private readonly args: readonly string[],
    readonly logPath: string,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  /** A second process with the same flags (same id, address and data directory), logging to `logPath`. */
  twin(logPath: string): NodeProcess {
    return new NodeProcess(this.id, this.port, this.args, logPath);
  }

  /** Started and listening (not killed since). */
  get up(): boolean {
    return this.ready && this.running;
  }

  private ready = false;

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and resolves once it logs that it listens. */
  start(timeoutMs = 30_000): Promise<void> {
    this.starts += 1;
    const child = spawn(process.execPath, [...extraNodeArgs(), '--import', 'tsx', nodeMain, ...this.args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.ready = false;
    spawned.add(child);
    child.once('exit', () => {
      spawned.delete(child);
      this.ready = false;
    });
    child.stderr.pipe(this.log, { end: false });
    const lines = createInterface({ input: child.stdout });
    return new Promise((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${this.id} did not start in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const early = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        fail(new Error(`${this.id} exited during start (${code ?? signal ?? '?'})`));
      };
      child.once('exit', early);
      lines.on('line', (line) => {
        this.log.write(`${line}\n`);
        if (line.includes('"msg":"node listening"')) {
          clearTimeout(timer);
          child.off('exit', early);
          this.ready = true;
          done();
        }
        if (line.includes('"msg":"metrics"')) {
          const parsed = JSON.parse(line) as NodeMetricsLine;
          this.metricsSeen.push({
            metrics: parsed.metrics,
            transport: parsed.transport,
            storage: parsed.storage,
          });
        }
      });
    });
  }

  /** Sends a signal and waits for the process to exit. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill(signal);
    await exited;
  }

  /** Asks the process to log its counters (SIGUSR2) and returns them. */
  async metrics(timeoutMs = 5_000): Promise<NodeMetricsLine> {
    const before = this.metricsSeen.length;
    this.child?.kill('SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    while (this.metricsSeen.length === before) {
      if (Date.now() > deadline) throw new Error(`${this.id}: no metrics logged`);
      await sleep(20);
    }
    const latest = this.metricsSeen[this.metricsSeen.length - 1];
    if (latest === undefined) throw new Error('unreachable');
    return latest;
  }

  closeLog(): void {
    this.log.end();
  }
}

export type ClientAttempt = SubmitResponse | { readonly kind: 'timeout' };

/** A client peer in this process speaking the node wire protocol over an authenticated TcpNetwork. */
export class NodeClient {
  private nextSequence = 1;
  private readonly session = randomBytes(4).readUInt32BE(0);
  private readonly pending = new Map<
    number,
    { from: string; resolve: (message: NodeMessage | undefined) => void }
  >();

  private constructor(readonly network: TcpNetwork) {
    network.onReceive((from, bytes) => {
      const decoded = decodeNodeMessage(bytes);
      if (decoded.kind !== 'decoded' || !('rpc' in decoded.message)) return;
      const { rpc } = decoded.message;
      const pending = this.pending.get(rpc.sequence);
      if (rpc.session !== this.session || pending === undefined || pending.from !== from) return;
      this.pending.delete(rpc.sequence);
      pending.resolve(decoded.message);
    });
  }

  static async start(id: string, port: number, book: AddressBook, keyring: Keyring): Promise<NodeClient> {
    const network = await TcpNetwork.start({
      self: hostId(id),
      listen: { host: '127.0.0.1', port },
      addressBook: book,
      keyring,
      limits: {
        frameBytesMax: nodeFrameBytesMax + 4096,
        sendQueueMessagesMax: 65_536,
        sendQueueBytesMax: 64 * 1024 * 1024,
      },
    });
    return new NodeClient(network);
  }

  /** Sends a message with a fresh rpc id to `to` and waits for the matching answer. */
  call(to: NodeId, build: (rpc: RpcId) => NodeMessage, timeoutMs: number): Promise<NodeMessage | undefined> {
    const sequence = this.nextSequence;
    this.nextSequence += 1;
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.pending.delete(sequence);
        done(undefined);
      }, timeoutMs);
      this.pending.set(sequence, {
        from: to,
        resolve: (message) => {
          clearTimeout(timer);
          done(message);
        },
      });
      this.network.send(
        to as string as HostId,
        encodeNodeMessage(build({ session: this.session, sequence })),
      );
    });
  }

  /** Gives up on every call waiting on `to` (its process was killed): they end as timeouts. */
  abandon(to: NodeId): void {
    for (const [sequence, pending] of [...this.pending]) {
      if (pending.from !== to) continue;
      this.pending.delete(sequence);
      pending.resolve(undefined);
    }
  }

  /** Submits through node `via` (which routes it to the cell); timeout: no answer in time. */
  submit(via: NodeId, cellId: CellId, request: CellRequest, timeoutMs = 5_000): Promise<ClientAttempt> {
    return this.cellCall('submit', via, cellId, request, timeoutMs);
  }

  /**
   * Sends a request to node `at` to be served by its own replica only (as a peer's forward
   * is): a node the cell left answers `moved` with where it went (paper §2.5).
   */
  serveAt(at: NodeId, cellId: CellId, request: CellRequest, timeoutMs = 5_000): Promise<ClientAttempt> {
    return this.cellCall('request', at, cellId, request, timeoutMs);
  }

  private async cellCall(
    kind: 'submit' | 'request',
    to: NodeId,
    cellId: CellId,
    request: CellRequest,
    timeoutMs: number,
  ): Promise<ClientAttempt> {
    const bytes = encodeCellRequest(request);
    const answer = await this.call(to, (rpc) => ({ kind, cellId, rpc, request: bytes }), timeoutMs);
    if (answer === undefined) return { kind: 'timeout' };
    if (answer.kind !== 'response') throw new Error(`unexpected answer ${answer.kind}`);
    switch (answer.answer.kind) {
      case 'moved':
        return { kind: 'moved', cellId, members: answer.answer.members };
      case 'not-found':
        return { kind: 'not-found', cellId };
      case 'cell': {
        const decoded = decodeCellResponse(answer.answer.response);
        if (decoded.kind !== 'decoded') throw new Error('undecodable response');
        return decoded.value;
      }
    }
  }

  /** Asks node `via` to move the cell onto `targets` (paper §2.4); undefined: no answer in time. */
  async move(
    via: NodeId,
    cellId: CellId,
    targets: readonly NodeId[],
    timeoutMs = 30_000,
  ): Promise<MoveOutcome | undefined> {
    const answer = await this.call(
      via,
      (rpc) => ({ kind: 'move', cellId, rpc, targets, timeoutMs }),
      timeoutMs + 5_000,
    );
    if (answer === undefined) return undefined;
    if (answer.kind !== 'move-reply') throw new Error(`unexpected answer ${answer.kind}`);
    return answer.outcome;
  }

  /** Creates the cell on each member (admin messages, retried); resolves with the outcomes. */
  async createCell(
    cellId: CellId,
    members: readonly NodeId[],
    timeoutMs = 10_000,
  ): Promise<Map<NodeId, AdminOutcome>> {
    const outcomes = new Map<NodeId, AdminOutcome>();
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      members.map(async (member) => {
        while (Date.now() < deadline) {
          const answer = await this.call(member, (rpc) => ({ kind: 'create', cellId, rpc, members }), 1_000);
          if (answer?.kind === 'admin-reply') {
            outcomes.set(member, answer.outcome);
            return;
          }
        }
      }),
    );
    return outcomes;
  }

  /** Test hook: makes node `at` drop every frame from and to `blocked` (a partition). */
  block(at: NodeId, blocked: readonly NodeId[]): void {
    this.network.send(at as string as HostId, encodeNodeMessage({ kind: 'test-block', blocked }));
  }

  close(): Promise<void> {
    return this.network.close();
  }
}

export interface ColonyOptions {
  readonly nodes?: number;
  readonly testHooks?: boolean;
  readonly extraArgs?: readonly string[];
}

/** Every node process spawned by this test process, killed if the test process exits. */
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A colony of node processes plus one client; `close` stops everything and removes the data. */
export class ProcessColony {
  private constructor(
    readonly dir: string,
    readonly nodes: ReadonlyMap<NodeId, NodeProcess>,
    readonly client: NodeClient,
    readonly keyringText: string,
    readonly book: AddressBook,
  ) {}

  get ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  node(id: NodeId): NodeProcess {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  upIds(): NodeId[] {
    return this.ids.filter((id) => this.node(id).up);
  }

  static async start(options: ColonyOptions = {}): Promise<ProcessColony> {
    const count = options.nodes ?? 7;
    const dir = mkdtempSync(join(tmpdir(), 'physalia-colony-'));
    const keyringText = JSON.stringify({
      signingKeyId: 'k1',
      keys: { k1: randomBytes(32).toString('base64') },
    });
    writeFileSync(join(dir, 'keyring.json'), keyringText);
    const ports = await freePorts(count + 1);
    const ids = Array.from({ length: count }, (_, index) => `n${index + 1}` as NodeId);
    const peers: Record<string, string> = { client: `127.0.0.1:${ports[count] ?? 0}` };
    ids.forEach((id, index) => (peers[id] = `127.0.0.1:${ports[index] ?? 0}`));
    writeFileSync(join(dir, 'peers.json'), JSON.stringify(peers));
    const nodes = new Map<NodeId, NodeProcess>();
    ids.forEach((id, index) => {
      mkdirSync(join(dir, id));
      const args = [
        ...[
          '--id',
          id,
          '--listen',
          peers[id] ?? '',
          '--peers',
          join(dir, 'peers.json'),
          '--colony',
          ids.join(','),
        ],
        ...['--data', join(dir, id, 'data'), '--keyring', join(dir, 'keyring.json'), '--log-level', 'info'],
        ...['--rack', `rack-${index % 3}`, '--power', `power-${index % 2}`],
        ...(options.testHooks === true ? ['--test-hooks'] : []),
        ...(options.extraArgs ?? []),
      ];
      nodes.set(id, new NodeProcess(id, ports[index] ?? 0, args, join(dir, id, 'node.log')));
    });
    const parsed = parseKeyring(keyringText);
    if (parsed.kind !== 'ok') throw new Error(parsed.reason);
    const book = AddressBook.fromRecord(peers);
    if (book.kind !== 'ok') throw new Error(book.reason);
    const client = await NodeClient.start('client', ports[count] ?? 0, book.book, parsed.keyring);
    const colony = new ProcessColony(dir, nodes, client, keyringText, book.book);
    try {
      await Promise.all([...nodes.values()].map((node) => node.start()));
    } catch (error) {
      await Promise.all([...nodes.values()].map((node) => node.stop('SIGKILL')));
      await client.close();
      throw error;
    }
    return colony;
  }

  async close(keepData = false): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.stop('SIGTERM')));
    for (const node of this.nodes.values()) node.closeLog();
    await this.client.close();
    if (!keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}
