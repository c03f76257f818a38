// Benchmark of one cell (issue 4 figures): messages per commit and commits per CPU-second
// against batch size and pipeline depth alpha, for a 7-replica cell in simworld with no disk
// latency, 1 ms links and a saturating closed-loop workload (writes, submitted to the
// leader as co-located clients through the cell harness). CPU is the whole single-threaded
// simulation (7 replicas, network, disks, scheduler), measured with process.cpuUsage.
// Run: npm run bench:cell [-- --virtual-ms 1000 --seed 1]
import { cpus } from 'node:os';
import { transaction } from '../src/model/index.ts';
import { constant } from '../src/simworld/index.ts';
import { cellCluster } from '../src/cell/testing/sim-cell-host.ts';
import type { CellCluster } from '../src/cell/testing/sim-cell-host.ts';
import type { CellDescription } from '../src/cell/index.ts';

const REPLICAS = 7;
const BATCH_SIZES = [1, 4, 16, 64] as const;
const ALPHAS = [1, 3, 8] as const;
const KEYS = 100;
/**
 * Requests kept outstanding: four full pipelines' worth (measured: with two, batches run
 * half full, because answers reach the writers only after apply), so the leader always has
 * a full batch waiting. The leader's waiting-request bound is raised to match, so nothing is
 * shed as `overloaded` (that column shows it).
 */
const outstandingFor = (alpha: number, batch: number): number => Math.max(4, 4 * alpha * batch);

interface Figures {
  readonly alpha: number;
  readonly batch: number;
  readonly commits: number;
  readonly entries: number;
  readonly messages: number;
  readonly overloaded: number;
  readonly cpuMs: number;
  readonly virtualMs: number;
}

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index < 0 ? fallback : Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

function totals(cluster: CellCluster): { messages: number; entries: number; overloaded: number } {
  const described: CellDescription[] = cluster.liveCells().map(([, cell]) => cell.describe());
  return {
    messages: described.reduce((sum, d) => sum + d.counters.messagesSent, 0),
    entries: Math.max(...described.map((d) => d.appliedIndex)),
    overloaded: described.reduce((sum, d) => sum + d.counters.overloaded, 0),
  };
}

function sleep(cluster: CellCluster, ms: number): Promise<void> {
  return new Promise((resolve) =>
    cluster.world.after(ms, () => {
      cluster.world.scheduler.notePromiseSettled();
      resolve();
    }),
  );
}

/** Closed-loop writers on the leader's host; counts committed answers while `counting`. */
function startWriters(cluster: CellCluster, leader: string, outstanding: number) {
  const state = { running: true, counting: false, commits: 0 };
  let next = 0;
  const loop = async (): Promise<void> => {
    while (state.running) {
      const key = `k${next % KEYS}`;
      next += 1;
      const operation = transaction({ writes: [{ kind: 'put', key, value: BigInt(next) }] });
      const answer = await cluster.submit(leader, {
        kind: 'operation',
        operation,
        consistency: 'consistent',
      });
      if (state.counting && answer.kind === 'result' && answer.result.kind === 'committed')
        state.commits += 1;
      if (answer.kind === 'overloaded') await sleep(cluster, answer.retryAfterMs);
    }
  };
  for (let i = 0; i < outstanding; i += 1) void loop();
  return state;
}

/** Writes until one commits; returns the leader that committed it. */
async function warmUp(cluster: CellCluster): Promise<string> {
  const operation = transaction({ writes: [{ kind: 'put', key: 'warm-up', value: 1n }] });
  let target = 'n1';
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const answer = await cluster.settle(
      cluster.submit(target, { kind: 'operation', operation, consistency: 'consistent' }),
    );
    if (answer.kind === 'result') return target;
    if (answer.kind === 'not-leader' && answer.leaderHint !== undefined) target = answer.leaderHint;
    else await cluster.world.runFor(100);
  }
  throw new Error('no leader committed the warm-up write');
}

async function measure(alpha: number, batch: number, seed: number, virtualMs: number): Promise<Figures> {
  const cluster = cellCluster({
    seed,
    replicas: REPLICAS,
    latency: constant(1),
    cellOptions: {
      alpha,
      batchRequestsMax: batch,
      checkInvariants: false,
      waitingRequestsMax: outstandingFor(alpha, batch),
    },
  });
  for (const member of cluster.members) cluster.world.disk(member).syncLatency(constant(0));
  const leader = await warmUp(cluster);
  const writers = startWriters(cluster, leader, outstandingFor(alpha, batch));
  await cluster.world.runFor(200); // fill the pipeline before measuring
  const before = totals(cluster);
  const cpuBefore = process.cpuUsage();
  writers.counting = true;
  await cluster.world.runFor(virtualMs);
  writers.counting = false;
  const cpu = process.cpuUsage(cpuBefore);
  const after = totals(cluster);
  writers.running = false;
  return {
    alpha,
    batch,
    commits: writers.commits,
    entries: after.entries - before.entries,
    messages: after.messages - before.messages,
    overloaded: after.overloaded - before.overloaded,
    cpuMs: (cpu.user + cpu.system) / 1_000,
    virtualMs,
  };
}

function row(f: Figures): string {
  const cells = [
    String(f.alpha),
    String(f.batch),
    String(f.commits),
    String(f.entries),
    (f.commits / Math.max(1, f.entries)).toFixed(1),
    (f.messages / Math.max(1, f.commits)).toFixed(2),
    (f.messages / Math.max(1, f.entries)).toFixed(1),
    ((f.commits / f.virtualMs) * 1_000).toFixed(0),
    String(f.overloaded),
    f.cpuMs.toFixed(0),
    ((f.commits / f.cpuMs) * 1_000).toFixed(0),
  ];
  return cells.map((cell) => cell.padStart(10)).join(' ');
}

async function main(): Promise<void> {
  const virtualMs = flag('--virtual-ms', 1_000);
  const seed = flag('--seed', 1);
  console.log(
    `cell benchmark on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, shared with other ` +
      `engineers' jobs), node ${process.version}, single-threaded simulation`,
  );
  console.log(
    `what: ${REPLICAS}-replica cell in simworld (seed ${seed}), disk sync latency 0 ms, links 1 ms, no faults; ` +
      `closed-loop put writers on the leader's host (4 x alpha x batch outstanding), ${KEYS} keys; ` +
      `measured over ${virtualMs} ms of virtual time after a 200 ms fill`,
  );
  console.log(
    'against: batch 1 / alpha 1 (no batching, no pipelining) is the baseline; Multi-Paxos phase 2 costs ' +
      `accept + accepted per peer = ${2 * (REPLICAS - 1)} messages per entry when the commit index rides on ` +
      `the next accept, ${3 * (REPLICAS - 1)} with a separate commit message`,
  );
  console.log(
    [
      'alpha',
      'batch',
      'commits',
      'entries',
      'req/entry',
      'msg/commit',
      'msg/entry',
      'commit/vs',
      'overloaded',
      'cpuMs',
      'commit/cpus',
    ]
      .map((h) => h.padStart(10))
      .join(' '),
  );
  for (const alpha of ALPHAS) {
    for (const batch of BATCH_SIZES) console.log(row(await measure(alpha, batch, seed, virtualMs)));
  }
  console.log(
    'columns: commit/vs = commits per virtual second; commit/cpus = commits per CPU-second of the ' +
      'whole simulation (all 7 replicas, the simulated network and disks, the scheduler)',
  );
}

await main();
