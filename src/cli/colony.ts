// The local colony: 9 node processes on loopback as 3 racks x 3 power domains, data under one
// directory (keyring, colony.json, per-node LMDB, logs, pid files); in the foreground (`npm
// start`, Ctrl-C stops it) or in the background (`physalia colony up | down | status`).
import { join, resolve } from 'node:path';
import type { TopologyEntry } from '../api/placement.ts';
import { nodeId } from '../paxos/index.ts';
import { ensureKeyringFile } from '../runtime/keygen.ts';
import {
  fileExists,
  makeDirectory,
  processAlive,
  readJsonFile,
  readTextFile,
  removeFile,
  signalProcess,
  sleepMs,
  spawnPhysalia,
  writeJsonFile,
  writeTextFile,
} from '../runtime/os-process.ts';
import type { ChildProcess } from '../runtime/os-process.ts';
import type { ServeConfig } from './serve.ts';

export const racks = 3;
export const powerDomainsPerRack = 3;
/** Peer ports are basePort+1..9, HTTP ports basePort+101..109. */
export const defaultBasePort = 7400;
export const colonyHost = '127.0.0.1';
/** How long to wait for every node to answer /readyz, and for a stopped node to exit. */
export const readyTimeoutMs = 90_000;
export const stopTimeoutMs = 20_000;

export interface ColonyNode {
  readonly id: string;
  readonly peer: string;
  readonly http: string;
  readonly rack: string;
  readonly powerDomain: string;
}

export interface Colony {
  readonly dataDir: string;
  readonly basePort: number;
  readonly nodes: readonly ColonyNode[];
}

export interface ColonyOptions {
  readonly dataDir: string;
  /** Ports to use; default: what colony.json says, else defaultBasePort. */
  readonly basePort?: number;
  readonly logLevel?: string;
}

const colonyFile = (dataDir: string): string => join(dataDir, 'colony.json');
const pidFile = (dataDir: string, id: string): string => join(dataDir, 'nodes', id, 'pid');
const logFile = (dataDir: string, id: string): string => join(dataDir, 'nodes', id, 'node.log');

export function colonyLayout(dataDir: string, basePort: number): Colony {
  const nodes: ColonyNode[] = [];
  for (let rack = 1; rack <= racks; rack++) {
    for (let power = 1; power <= powerDomainsPerRack; power++) {
      const n = (rack - 1) * powerDomainsPerRack + power;
      nodes.push({
        id: `n${n}`,
        peer: `${colonyHost}:${basePort + n}`,
        http: `${colonyHost}:${basePort + 100 + n}`,
        rack: `rack-${rack}`,
        powerDomain: `power-${power}`,
      });
    }
  }
  return { dataDir: resolve(dataDir), basePort, nodes };
}

/** The colony in `dataDir` (its colony.json), or undefined if it was never started. */
export function readColony(dataDir: string): Colony | undefined {
  const path = colonyFile(dataDir);
  if (!fileExists(path)) return undefined;
  const saved = readJsonFile(path) as { basePort: number };
  return colonyLayout(dataDir, saved.basePort);
}

export function topologyOf(colony: Colony): TopologyEntry[] {
  return colony.nodes.map((node) => ({
    nodeId: nodeId(node.id),
    row: 'row-1',
    rack: node.rack,
    powerDomain: node.powerDomain,
    http: node.http,
  }));
}

/** Writes colony.json, the keyring (first start only) and each node's serve config. */
async function prepare(options: ColonyOptions): Promise<{ colony: Colony; keyring: 'created' | 'existing' }> {
  const basePort = options.basePort ?? readColony(options.dataDir)?.basePort ?? defaultBasePort;
  const colony = colonyLayout(options.dataDir, basePort);
  const keyringPath = join(colony.dataDir, 'keyring.json');
  const keyring = await ensureKeyringFile(keyringPath);
  writeJsonFile(colonyFile(colony.dataDir), { basePort, nodes: colony.nodes });
  const peers = Object.fromEntries(colony.nodes.map((node) => [node.id, node.peer]));
  for (const node of colony.nodes) {
    const config: ServeConfig = {
      node: {
        id: node.id,
        listen: node.peer,
        peers,
        colony: colony.nodes.map((n) => n.id),
        dataDir: join(colony.dataDir, 'nodes', node.id, 'lmdb'),
        keyringPath,
        topology: { row: 'row-1', rack: node.rack, powerDomain: node.powerDomain },
        color: 'blue',
        logLevel: options.logLevel ?? 'warn',
      },
      http: node.http,
      topology: topologyOf(colony),
    };
    makeDirectory(join(colony.dataDir, 'nodes', node.id, 'lmdb'));
    writeJsonFile(join(colony.dataDir, 'nodes', node.id, 'serve.json'), config);
  }
  return { colony, keyring };
}

/** Pids of this colony's processes that are alive now. */
export function runningPids(colony: Colony): Map<string, number> {
  const alive = new Map<string, number>();
  for (const node of colony.nodes) {
    const pid = Number(readTextFile(pidFile(colony.dataDir, node.id))?.trim());
    if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid)) alive.set(node.id, pid);
  }
  return alive;
}

async function ready(node: ColonyNode): Promise<boolean> {
  try {
    const response = await fetch(`http://${node.http}/readyz`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Waits until every node answers /readyz with 200; false on timeout or a dead process. */
async function waitReady(colony: Colony, alive: () => boolean): Promise<boolean> {
  for (let waitedMs = 0; waitedMs < readyTimeoutMs; waitedMs += 250) {
    const answers = await Promise.all(colony.nodes.map(ready));
    if (answers.every(Boolean)) return true;
    if (!alive()) return false;
    await sleepMs(250);
  }
  return false;
}

function spawnColony(colony: Colony, detached: boolean): ChildProcess[] {
  return colony.nodes.map((node) => {
    const child = spawnPhysalia(
      ['serve', '--config', join(colony.dataDir, 'nodes', node.id, 'serve.json')],
      logFile(colony.dataDir, node.id),
      detached,
    );
    if (child.pid !== undefined) writeTextFile(pidFile(colony.dataDir, node.id), `${child.pid}\n`);
    return child;
  });
}

/** Sends SIGTERM to each pid, waits for them to exit (SIGKILL after stopTimeoutMs), removes pid files. */
async function stopPids(colony: Colony, pids: ReadonlyMap<string, number>): Promise<void> {
  for (const pid of pids.values()) signalProcess(pid, 'SIGTERM');
  for (let waitedMs = 0; waitedMs < stopTimeoutMs; waitedMs += 100) {
    if ([...pids.values()].every((pid) => !processAlive(pid))) break;
    await sleepMs(100);
  }
  for (const pid of pids.values()) if (processAlive(pid)) signalProcess(pid, 'SIGKILL');
  for (const id of pids.keys()) removeFile(pidFile(colony.dataDir, id));
}

export type StartOutcome =
  | {
      readonly kind: 'started';
      readonly colony: Colony;
      readonly keyring: 'created' | 'existing';
      readonly children: ChildProcess[];
    }
  | { readonly kind: 'already-running'; readonly colony: Colony; readonly pids: ReadonlyMap<string, number> }
  | { readonly kind: 'failed'; readonly colony: Colony; readonly reason: string };

/** Starts the 9 processes and waits until all are ready. On failure, stops what it started. */
export async function startColony(
  options: ColonyOptions,
  detached: boolean,
  /** Polled while waiting for readiness: true stops the start (e.g. Ctrl-C during start). */
  aborted: () => boolean = () => false,
): Promise<StartOutcome> {
  const existing = readColony(options.dataDir);
  if (existing !== undefined) {
    const pids = runningPids(existing);
    if (pids.size > 0) return { kind: 'already-running', colony: existing, pids };
  }
  const { colony, keyring } = await prepare(options);
  const children = spawnColony(colony, detached);
  const exited = new Set<string>();
  children.forEach((child, i) => child.once('exit', () => exited.add(colony.nodes[i]!.id)));
  const allReady = await waitReady(colony, () => (detached || exited.size === 0) && !aborted());
  if (!allReady) {
    await stopPids(colony, runningPids(colony));
    const dead = [...exited].join(', ');
    const logs = join(colony.dataDir, 'nodes', '<id>', 'node.log');
    return {
      kind: 'failed',
      colony,
      reason: `${aborted() ? 'interrupted' : dead === '' ? 'not ready in time' : `exited: ${dead}`}; see ${logs}`,
    };
  }
  return { kind: 'started', colony, keyring, children };
}

export async function stopColony(
  dataDir: string,
): Promise<{ kind: 'stopped'; count: number } | { kind: 'not-running' }> {
  const colony = readColony(dataDir);
  if (colony === undefined) return { kind: 'not-running' };
  const pids = runningPids(colony);
  if (pids.size === 0) return { kind: 'not-running' };
  await stopPids(colony, pids);
  return { kind: 'stopped', count: pids.size };
}

export interface NodeStatus {
  readonly node: ColonyNode;
  readonly pid: number | undefined;
  readonly ready: boolean;
}

export async function colonyStatus(dataDir: string): Promise<NodeStatus[] | undefined> {
  const colony = readColony(dataDir);
  if (colony === undefined) return undefined;
  const pids = runningPids(colony);
  return Promise.all(
    colony.nodes.map(async (node) => ({ node, pid: pids.get(node.id), ready: await ready(node) })),
  );
}

/** Stops the children of a foreground colony (npm start) on Ctrl-C. */
export async function stopChildren(colony: Colony): Promise<void> {
  await stopPids(colony, runningPids(colony));
}
