// `npm run bench:node`: the node on real processes (7 by default; `--nodes N`, every cell
// on all of them). Measures (1) commit latency of one client on one cell, (2) throughput
// and latency with 1, 16, 64 and 256 concurrent clients over 1,000 cells, led from one node
// and then spread over all nodes (`--leaders`), (3) resident bytes per idle cell replica,
// loaded and evicted (in this process), (4) time and memory to create 100,000 cells on the
// colony. Prints what was measured, on what, and the issue's etcd figures as reference (not
// measured here).
// Profile the node processes with PHYSALIA_NODE_ARGS (see test/node/harness.ts).
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { partitionKey, transaction } from '../src/model/index.ts';
import type { CellId } from '../src/node/index.ts';
import type { NodeId } from '../src/paxos/index.ts';
import type { ClientAttempt } from '../test/node/harness.ts';
import { ProcessColony, sleep } from '../test/node/harness.ts';
import { measureIdleCellBytes } from './node-memory.ts';

interface Flags {
  nodes: string;
  latencyOps: string;
  warmupOps: string;
  seconds: string;
  cells: string;
  createCells: string;
  memoryCells: string;
  concurrency: string;
  leaders: string;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (value: number): string => `${value.toFixed(2)} ms`;

/** CPU time (user + system, all threads) a process has used, in ms (Linux /proc). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return Number.NaN;
  }
}

/** Writes completed and sectors written on all block devices (Linux /proc/diskstats). */
function diskWrites(): { writes: number; bytes: number } {
  let writes = 0;
  let bytes = 0;
  try {
    for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !/^(sd|vd|nvme|xvd)[a-z0-9]*$/.test(f[2] ?? '') || /p?\d+$/.test(f[2] ?? ''))
        continue;
      writes += Number(f[7]);
      bytes += Number(f[9]) * 512;
    }
  } catch {
    return { writes: Number.NaN, bytes: Number.NaN };
  }
  return { writes, bytes };
}

/**
 * The machine's CPU time since boot, in clock ticks (Linux /proc/stat, all cores): busy
 * (user, nice, system, interrupts), stolen by the hypervisor, and all of it (idle and I/O
 * wait too).
 */
function machineTicks(): { busy: number; steal: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const busy = user + nice + system + irq + softirq;
    return { busy, steal, total: busy + steal + idle + iowait };
  } catch {
    return { busy: Number.NaN, steal: Number.NaN, total: Number.NaN };
  }
}

interface Usage {
  readonly cpuMs: number[];
  readonly storage: Array<{ commits: number; commitMsTotal: number }>;
  readonly disk: { writes: number; bytes: number };
  readonly machine: { busy: number; steal: number; total: number };
}

async function usage(colony: ProcessColony): Promise<Usage> {
  const lines = await Promise.all(colony.ids.map((id) => colony.node(id).metrics()));
  return {
    cpuMs: colony.ids.map((id) => cpuMs(colony.node(id).child?.pid)),
    storage: lines.map((line) => ({
      commits: line.storage.commits,
      commitMsTotal: line.storage.commitMsTotal,
    })),
    disk: diskWrites(),
    machine: machineTicks(),
  };
}

/** Where the time went between two usage readings, per committed client request. */
function describeUsage(before: Usage, after: Usage, commits: number, seconds: number): string {
  const cpu = after.cpuMs.map((value, i) => value - (before.cpuMs[i] ?? 0));
  const lmdbCommits = after.storage.map((s, i) => s.commits - (before.storage[i]?.commits ?? 0));
  const lmdbMs = after.storage.map((s, i) => s.commitMsTotal - (before.storage[i]?.commitMsTotal ?? 0));
  const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
  const writes = after.disk.writes - before.disk.writes;
  const bytes = after.disk.bytes - before.disk.bytes;
  const machineTotal = Math.max(1, after.machine.total - before.machine.total);
  const machineShare = (field: 'busy' | 'steal'): string =>
    (((after.machine[field] - before.machine[field]) / machineTotal) * 100).toFixed(0);
  return (
    `    machine CPU ${machineShare('busy')}% busy, ${machineShare('steal')}% stolen (all ${availableParallelism()} cores, every process and the kernel); ` +
    `per committed request: node CPU ${(sum(cpu) / commits).toFixed(2)} ms over all ${cpu.length} processes ` +
    `(busiest node ${((Math.max(...cpu) / (seconds * 1000)) * 100).toFixed(0)}% of a core); ` +
    `log commits ${(sum(lmdbCommits) / commits).toFixed(2)} (mean ${ms(sum(lmdbMs) / Math.max(1, sum(lmdbCommits)))} each, flush included); ` +
    `disk ${(writes / seconds).toFixed(0)} writes/s, ${(bytes / seconds / 1e6).toFixed(1)} MB/s`
  );
}

function put(
  key: string,
  value: number,
): { kind: 'operation'; operation: ReturnType<typeof transaction>; consistency: 'consistent' } {
  return {
    kind: 'operation',
    operation: transaction({ writes: [{ kind: 'put', key, value: BigInt(value) }] }),
    consistency: 'consistent',
  };
}

const committed = (attempt: ClientAttempt): boolean =>
  attempt.kind === 'result' && attempt.result.kind === 'committed';

/** Creates cells on all nodes, `parallel` at a time; returns the elapsed milliseconds. */
async function createMany(
  colony: ProcessColony,
  cells: readonly CellId[],
  parallel: number,
): Promise<number> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < cells.length) {
        const cellId = cells[next++] as CellId;
        const outcomes = await colony.client.createCell(cellId, colony.ids, 60_000);
        const acks = [...outcomes.values()].filter(
          (outcome) => outcome.kind === 'created' || outcome.kind === 'exists',
        );
        if (acks.length < 4) failed += 1;
      }
    }),
  );
  if (failed > 0) console.log(`  warning: ${failed} cells without a quorum of acks`);
  return performance.now() - started;
}

/**
 * Writes until committed through `first` (the node that campaigns when the cell has no
 * leader yet), following not-leader hints; returns the leader.
 */
async function warm(colony: ProcessColony, cellId: CellId, first = colony.ids[0] as NodeId): Promise<NodeId> {
  let via = first;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const response = await colony.client.submit(via, cellId, put('warm', attempt));
    if (committed(response)) break;
    if (response.kind === 'not-leader' && response.leaderHint !== undefined) via = response.leaderHint;
    else await sleep(50);
  }
  const answer = await colony.client.call(via, (rpc) => ({ kind: 'describe', cellId, rpc }), 5_000);
  if (answer?.kind === 'described' && answer.answer.kind === 'described') {
    const summary = answer.answer.summary;
    return summary.isLeader ? via : (summary.leaderHint ?? via);
  }
  return via;
}

async function latency(colony: ProcessColony, operations: number, warmupOperations: number): Promise<void> {
  const cellId = partitionKey('latency');
  await createMany(colony, [cellId], 1);
  const leader = await warm(colony, cellId);
  const other = colony.ids.find((id) => id !== leader) as NodeId;
  // Warm up: JIT, connections, and the LMDB files' growth (a flush that extends a file is
  // slower than one in place; a long-running node reuses freed pages). Measured here:
  // after 500 commits p50 was 2.5 ms, after 3,000 it was 1.5 ms.
  for (let index = 0; index < warmupOperations; index += 1)
    await colony.client.submit(leader, cellId, put('warm', index));
  for (const [label, via] of [
    ['to the leader', leader],
    ['to another member (one forwarding hop)', other],
  ] as const) {
    const samples: number[] = [];
    const before = await usage(colony);
    const startedAll = performance.now();
    for (let index = 0; index < operations; index += 1) {
      const started = performance.now();
      const response = await colony.client.submit(via, cellId, put('k', index));
      if (committed(response)) samples.push(performance.now() - started);
    }
    const seconds = (performance.now() - startedAll) / 1000;
    const after = await usage(colony);
    samples.sort((a, b) => a - b);
    console.log(
      `commit latency, 1 client, 1 cell, ${label}, after ${warmupOperations} warm-up commits: ${samples.length}/${operations} committed, p50 ${ms(percentile(samples, 50))}, p99 ${ms(percentile(samples, 99))}, max ${ms(samples[samples.length - 1] ?? Number.NaN)}`,
    );
    console.log(describeUsage(before, after, samples.length, seconds));
  }
}

/** Where the throughput cells' leaders are: all on one node, or spread over every node. */
type LeaderPlacement = 'one-node' | 'spread';

async function throughput(
  colony: ProcessColony,
  cellCount: number,
  seconds: number,
  levels: readonly number[],
  placement: LeaderPlacement,
): Promise<void> {
  const cells = Array.from({ length: cellCount }, (_, index) => partitionKey(`tp-${placement}-${index}`));
  const createMs = await createMany(colony, cells, 64);
  console.log(
    `created ${cellCount} cells (${colony.ids.length} replicas each) in ${(createMs / 1000).toFixed(1)} s`,
  );
  const leaders = new Map<CellId, NodeId>();
  let warmed = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (warmed < cells.length) {
        const index = warmed++;
        const cellId = cells[index] as CellId;
        // The first node written through campaigns: one node for all, or each in turn.
        const first = placement === 'spread' ? colony.ids[index % colony.ids.length] : colony.ids[0];
        leaders.set(cellId, await warm(colony, cellId, first));
      }
    }),
  );
  const perNode = colony.ids.map((id) => [...leaders.values()].filter((leader) => leader === id).length);
  console.log(`leaders (${placement}): ${colony.ids.map((id, i) => `${id} ${perNode[i]}`).join(', ')}`);
  for (const clients of levels) {
    const samples: number[] = [];
    let errors = 0;
    const until = performance.now() + seconds * 1000;
    let value = 0;
    const before = await usage(colony);
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < until) {
          const cellId = cells[Math.floor(Math.random() * cells.length)] as CellId;
          const via: NodeId = leaders.get(cellId) ?? colony.ids[0] ?? ('n1' as NodeId);
          const started = performance.now();
          const response = await colony.client.submit(via, cellId, put('k', value++));
          if (committed(response)) samples.push(performance.now() - started);
          else {
            errors += 1;
            if (response.kind === 'not-leader' && response.leaderHint !== undefined)
              leaders.set(cellId, response.leaderHint);
          }
        }
      }),
    );
    const after = await usage(colony);
    samples.sort((a, b) => a - b);
    console.log(
      `throughput, leaders ${placement}, ${String(clients).padStart(3)} clients over ${cellCount} cells: ${(samples.length / seconds).toFixed(0)} commits/s, p50 ${ms(percentile(samples, 50))}, p99 ${ms(percentile(samples, 99))}, p99.9 ${ms(percentile(samples, 99.9))}; ${errors} not committed`,
    );
    console.log(describeUsage(before, after, samples.length, seconds));
  }
}

/** Resident bytes of a process (`field` of /proc/PID/status: VmRSS, RssAnon, RssFile). */
function residentBytes(pid: number | undefined, field = 'VmRSS'): number {
  if (pid === undefined) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return match === null ? Number.NaN : Number(match[1]) * 1024;
}

/** Resident bytes of every node process of the colony, in id order. */
function residentPerNode(colony: ProcessColony, field = 'VmRSS'): number[] {
  return colony.ids.map((id) => residentBytes(colony.node(id).child?.pid, field));
}

/** Byte counts as whole MiB, one per node, joined by slashes. */
function mibPerNode(bytes: readonly number[]): string {
  return bytes.map((value) => (value / 2 ** 20).toFixed(0)).join('/');
}

async function creation(colony: ProcessColony, count: number): Promise<void> {
  const rssBefore = residentPerNode(colony);
  const cells = Array.from({ length: count }, (_, index) => partitionKey(`bulk${index}`));
  const elapsedMs = await createMany(colony, cells, 256);
  await sleep(1_000);
  const rssAfter = residentPerNode(colony);
  const growth = rssAfter.map((after, index) => after - (rssBefore[index] ?? 0));
  const disk = execFileSync('du', ['-sb', colony.dir]).toString().split('\t')[0] ?? '?';
  console.log(
    `created ${count} cells x ${colony.ids.length} replicas in ${(elapsedMs / 1000).toFixed(1)} s (${(count / (elapsedMs / 1000)).toFixed(0)} cells/s); ` +
      `RSS per node after: ${mibPerNode(rssAfter)} MiB (growth ${mibPerNode(growth)} MiB), ` +
      `of which anonymous (heap and buffers) ${mibPerNode(residentPerNode(colony, 'RssAnon'))} MiB ` +
      `and file-backed (LMDB's map and code, page cache the kernel can drop) ${mibPerNode(residentPerNode(colony, 'RssFile'))} MiB; ` +
      `data on disk (all nodes, LMDB map files) ${(Number(disk) / 2 ** 20).toFixed(0)} MiB`,
  );
  await afterIdle(colony);
}

/** Seconds a node's idle cells may take to leave memory (defaultNodeLimits.idleEvictMs, 30 s, and a margin). */
const evictionWaitSeconds = 60;
/** Seconds to wait after the last eviction before reading memory (the heap is collected lazily). */
const settleSeconds = 30;

/**
 * Memory once the new cells are idle: right after creation each node still holds up to
 * cellsInMemoryMax loaded replicas until they idle out, and the garbage of creating them
 * until V8 collects it (when its heuristics decide: a node may still hold it here).
 */
async function afterIdle(colony: ProcessColony): Promise<void> {
  const startedMs = performance.now();
  let loaded: number[] = [];
  for (let second = 0; second < evictionWaitSeconds; second += 1) {
    loaded = (await Promise.all(colony.ids.map((id) => colony.node(id).metrics()))).map(
      (line) => line.metrics.cellsInMemory,
    );
    if (loaded.every((count) => count === 0)) break;
    await sleep(1_000);
  }
  await sleep(settleSeconds * 1_000);
  console.log(
    `  once idle (replicas in memory per node ${loaded.join('/')}, read ${((performance.now() - startedMs) / 1000).toFixed(0)} s after creation): ` +
      `RSS per node ${mibPerNode(residentPerNode(colony))} MiB, anonymous ${mibPerNode(residentPerNode(colony, 'RssAnon'))} MiB, ` +
      `file-backed ${mibPerNode(residentPerNode(colony, 'RssFile'))} MiB`,
  );
}

/** The machine's durable-write floor: 4 KiB overwrites in place, each followed by fdatasync. */
function fdatasyncFloor(dir: string, writes: number): { p50: number; p99: number } {
  const fd = openSync(join(dir, 'fdatasync-probe'), 'w');
  const page = Buffer.alloc(4096, 1);
  const samples: number[] = [];
  try {
    writeSync(fd, page, 0, page.length, 0);
    fdatasyncSync(fd);
    for (let index = 0; index < writes; index += 1) {
      const started = performance.now();
      writeSync(fd, page, 0, page.length, 0);
      fdatasyncSync(fd);
      samples.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function run(flags: Flags): Promise<void> {
  const nodes = Number(flags.nodes);
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new Error(`--nodes must be a positive integer, not ${flags.nodes}`);
  const placements = flags.leaders.split(',') as LeaderPlacement[];
  const unknown = placements.filter((placement) => placement !== 'one-node' && placement !== 'spread');
  if (unknown.length > 0) throw new Error(`--leaders takes one-node and spread, not ${unknown.join(',')}`);
  console.log(
    `bench:node on ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores shared by ${nodes} node processes and this client; fsync on (each commit one flushed write-ahead log append, checkpoints into LMDB); loopback TCP with HMAC frames`,
  );
  console.log(
    'reference (issue 6, etcd 3.4, 3 members on loopback on this machine, NOT measured here): ~1,200 puts/s with 1 client (p50 0.76 ms), ~8,000/s with 64-256 clients; targets: p50 <= 1 ms, p99 <= 5 ms, <= 1 KB per evicted cell',
  );
  const floorDir = mkdtempSync(join(tmpdir(), 'physalia-floor-'));
  try {
    const floor = fdatasyncFloor(floorDir, 500);
    console.log(
      `this disk, one process, 4 KiB overwrite + fdatasync: p50 ${ms(floor.p50)}, p99 ${ms(floor.p99)} (every commit needs one such flush on a majority of the ${nodes} nodes, at the same time on this one disk)`,
    );
  } finally {
    rmSync(floorDir, { recursive: true, force: true });
  }
  const colony = await ProcessColony.start({ nodes });
  try {
    await latency(colony, Number(flags.latencyOps), Number(flags.warmupOps));
    const levels = flags.concurrency.split(',').map(Number);
    for (const placement of placements)
      await throughput(colony, Number(flags.cells), Number(flags.seconds), levels, placement);
    if (Number(flags.createCells) > 0) await creation(colony, Number(flags.createCells));
  } finally {
    await colony.close();
  }
  // Last: the cells it writes leave the disk busy for seconds after (writeback), which the
  // colony's flushes would wait behind.
  const memoryDir = mkdtempSync(join(tmpdir(), 'physalia-memory-'));
  try {
    const memory = await measureIdleCellBytes(memoryDir, Number(flags.memoryCells));
    console.log(
      `memory per idle cell replica (one node in this process, ${flags.memoryCells} single-member cells): loaded ${memory.loadedBytesPerCell.toFixed(0)} B, evicted ${memory.evictedBytesPerCell.toFixed(0)} B (V8 heap + external, after GC, with the store's write log checkpointed)`,
    );
  } finally {
    rmSync(memoryDir, { recursive: true, force: true });
  }
}

await new Command('bench:node')
  .option('--nodes <n>', 'node processes; every cell has one replica on each (the issue: 7)', '7')
  .option('--latency-ops <n>', 'sequential commits for the latency figure', '2000')
  .option('--warmup-ops <n>', 'sequential commits before the latency figure (not counted)', '4000')
  .option('--seconds <n>', 'seconds per concurrency level', '5')
  .option('--cells <n>', 'cells the throughput clients spread over', '1000')
  .option('--concurrency <list>', 'client counts', '1,16,64,256')
  .option(
    '--leaders <list>',
    'where the throughput cells are led: one-node (the node that got their first write), spread (every node in turn)',
    'one-node,spread',
  )
  .option('--create-cells <n>', 'cells to create for the creation figure (0: skip)', '100000')
  .option('--memory-cells <n>', 'cells for the in-process memory figure', '20000')
  .action(run)
  .parseAsync(process.argv);
