// A register workload against a real-process colony with a nemesis (SIGKILL and restart of
// up to `downMax` nodes, and partitions through the test hook), recording a client history
// for the linearizability and durability checkers (JSON Lines, simworld checkers format).
import { partitionKey, transaction } from '../../src/model/index.ts';
import type { CellId, SubmitResponse } from '../../src/node/index.ts';
import type { NodeId } from '../../src/paxos/index.ts';
import {
  checkHistoryDurability,
  checkHistoryLinearizable,
  HistoryRecorder,
} from '../../src/simworld/checkers/index.ts';
import type { FinalRead, HistoryScalar } from '../../src/simworld/checkers/index.ts';
import type { ClientAttempt, ProcessColony } from './harness.ts';
import { sleep } from './harness.ts';

export interface WorkloadOptions {
  readonly cells: number;
  readonly keysPerCell: number;
  readonly clients: number;
  readonly durationMs: number;
  readonly opTimeoutMs?: number;
  /** Kill (SIGKILL) a node this often, keeping at most `downMax` down; 0: never. */
  readonly killEveryMs?: number;
  readonly downMax?: number;
  readonly restartAfterMs?: number;
  /** Partition one node from two peers this often (needs test hooks); 0: never. */
  readonly partitionEveryMs?: number;
  readonly log?: (line: string) => void;
}

export interface WorkloadReport {
  readonly recorder: HistoryRecorder;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly kills: number;
  readonly partitions: number;
  readonly finalReads: readonly FinalRead[];
  readonly linearizable: ReturnType<typeof checkHistoryLinearizable>;
  readonly durability: ReturnType<typeof checkHistoryDurability>;
}

const random = (bound: number): number => Math.floor(Math.random() * bound);
const pick = <T>(items: readonly T[]): T | undefined => items[random(items.length)];

export function cellsOf(count: number): CellId[] {
  return Array.from({ length: count }, (_, index) => partitionKey(`reg${index}`));
}

/** Creates each cell on all nodes of the colony; throws unless a quorum acknowledged. */
export async function createCells(colony: ProcessColony, cells: readonly CellId[]): Promise<void> {
  for (const cellId of cells) {
    const outcomes = await colony.client.createCell(cellId, colony.ids);
    const acks = [...outcomes.values()].filter(
      (outcome) => outcome.kind === 'created' || outcome.kind === 'exists',
    );
    if (acks.length < Math.floor(colony.ids.length / 2) + 1)
      throw new Error(`create ${cellId}: ${acks.length} acks`);
  }
}

function readOf(response: SubmitResponse): HistoryScalar {
  if (response.kind !== 'result' || response.result.kind !== 'committed')
    throw new Error('not a committed read');
  const read = response.result.reads[0];
  if (read === undefined || !read.found) return null;
  if (typeof read.value !== 'bigint') throw new Error('not an integer');
  return Number(read.value);
}

/** How a response ends an operation: ok (it happened), fail (it did not), info (unknown). */
function classify(attempt: ClientAttempt): 'ok' | 'fail' | 'info' {
  switch (attempt.kind) {
    case 'result':
      return attempt.result.kind === 'committed' ? 'ok' : 'fail';
    case 'not-leader':
    case 'overloaded':
    case 'behind':
    case 'unavailable':
    case 'invalid':
    case 'not-found':
    case 'moved':
      return 'fail';
    case 'lease':
    case 'outcome-unknown':
    case 'timeout':
      return 'info';
  }
}

class Nemesis {
  kills = 0;
  partitions = 0;
  private readonly restarts: Promise<void>[] = [];

  constructor(
    private readonly colony: ProcessColony,
    private readonly options: WorkloadOptions,
  ) {}

  /** Kills and partitions run side by side until `until`; then waits for the restarts. */
  async run(until: number): Promise<void> {
    await Promise.all([this.killLoop(until), this.partitionLoop(until)]);
    await Promise.all(this.restarts);
  }

  private async killLoop(until: number): Promise<void> {
    const every = this.options.killEveryMs ?? 0;
    if (every <= 0) return;
    while (Date.now() + every < until) {
      await sleep(every);
      this.killOne();
    }
  }

  private async partitionLoop(until: number): Promise<void> {
    const every = this.options.partitionEveryMs ?? 0;
    if (every <= 0) return;
    await sleep(every / 2);
    while (Date.now() + every / 2 < until) {
      await this.partitionOne(every / 2);
      await sleep(every / 2);
    }
  }

  private killOne(): void {
    const down = this.colony.ids.length - this.colony.upIds().length;
    const victim = pick(this.colony.upIds());
    if (victim === undefined || down >= (this.options.downMax ?? 3)) return;
    this.kills += 1;
    this.options.log?.(`kill -9 ${victim}`);
    const node = this.colony.node(victim);
    this.restarts.push(
      node.stop('SIGKILL').then(async () => {
        this.colony.client.abandon(victim);
        await sleep(this.options.restartAfterMs ?? 1_000);
        this.options.log?.(`restart ${victim}`);
        await node.start().catch(async (error: unknown) => {
          this.options.log?.(`restart of ${victim} failed (${String(error)}); retrying`);
          await node.start();
        });
      }),
    );
  }

  private async partitionOne(durationMs: number): Promise<void> {
    const up = this.colony.upIds();
    const isolated = pick(up);
    if (isolated === undefined || durationMs <= 0) return;
    const others = up
      .filter((id) => id !== isolated)
      .sort(() => Math.random() - 0.5)
      .slice(0, 2);
    this.partitions += 1;
    this.options.log?.(`partition ${isolated} | ${others.join(',')}`);
    this.colony.client.block(isolated, others);
    for (const other of others) this.colony.client.block(other, [isolated]);
    await sleep(durationMs);
    this.colony.client.block(isolated, []);
    for (const other of others) this.colony.client.block(other, []);
  }
}

/** Runs the workload with the nemesis, then heals, reads every key, and checks the history. */
export async function runWorkload(colony: ProcessColony, options: WorkloadOptions): Promise<WorkloadReport> {
  const cells = cellsOf(options.cells);
  const keys = cells.flatMap((cellId) =>
    Array.from({ length: options.keysPerCell }, (_, index) => ({ cellId, key: `k${index}` })),
  );
  const recorder = new HistoryRecorder();
  const start = performance.now();
  const now = (): number => performance.now() - start;
  const counts = { ok: 0, fail: 0, info: 0 };
  let nextValue = 1;
  let nextProcess = options.clients;
  const until = Date.now() + options.durationMs;
  const operate = async (
    process: number,
    target: { cellId: CellId; key: string },
    write: boolean,
  ): Promise<'ok' | 'fail' | 'info'> => {
    const via = pick(colony.upIds());
    if (via === undefined) return 'fail';
    const name = `${target.cellId}/${target.key}`;
    const value = nextValue++;
    recorder.invoke(process, write ? 'write' : 'read', name, write ? value : null, now());
    const request = write
      ? transaction({ writes: [{ kind: 'put', key: target.key, value: BigInt(value) }] })
      : transaction({ reads: [target.key] });
    const attempt = await colony.client.submit(
      via,
      target.cellId,
      { kind: 'operation', operation: request, consistency: 'consistent' },
      options.opTimeoutMs ?? 4_000,
    );
    const outcome = classify(attempt);
    counts[outcome] += 1;
    if (outcome === 'ok')
      recorder.ok(process, now(), write || attempt.kind !== 'result' ? undefined : readOf(attempt));
    else if (outcome === 'fail') recorder.fail(process, now());
    else recorder.info(process, now());
    return outcome;
  };
  const client = async (first: number): Promise<void> => {
    let process = first;
    while (Date.now() < until) {
      const target = pick(keys);
      if (target === undefined) return;
      const outcome = await operate(process, target, Math.random() < 0.5);
      if (outcome === 'info') process = nextProcess++; // an indeterminate op stays open forever
      if (outcome === 'fail') await sleep(20 + random(30));
    }
  };
  const nemesis = new Nemesis(colony, options);
  await Promise.all([
    nemesis.run(until),
    ...Array.from({ length: options.clients }, (_, index) => client(index)),
  ]);
  const finalReads = await readAll(colony, keys, recorder, now, () => nextProcess++);
  const events = recorder.events();
  return {
    recorder,
    ...counts,
    kills: nemesis.kills,
    partitions: nemesis.partitions,
    finalReads,
    linearizable: checkHistoryLinearizable(events),
    durability: checkHistoryDurability(events, finalReads),
  };
}

/** After healing, reads every key (retrying) and records the reads in the history. */
async function readAll(
  colony: ProcessColony,
  keys: readonly { cellId: CellId; key: string }[],
  recorder: HistoryRecorder,
  now: () => number,
  newProcess: () => number,
): Promise<FinalRead[]> {
  await Promise.all(colony.ids.filter((id) => !colony.node(id).up).map((id) => colony.node(id).start()));
  const reads: FinalRead[] = [];
  for (const { cellId, key } of keys) {
    const name = `${cellId}/${key}`;
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 50) throw new Error(`final read of ${name} never succeeded`);
      const process = newProcess();
      const via = colony.ids[attempt % colony.ids.length] as NodeId;
      const invokeTimeMs = now();
      recorder.invoke(process, 'read', name, null, invokeTimeMs);
      const response = await colony.client.submit(via, cellId, {
        kind: 'operation',
        operation: transaction({ reads: [key] }),
        consistency: 'consistent',
      });
      if (classify(response) === 'ok' && response.kind === 'result') {
        const value = readOf(response);
        const completeTimeMs = now();
        recorder.ok(process, completeTimeMs, value);
        reads.push({ key: name, value, invokeTimeMs, completeTimeMs });
        break;
      }
      if (classify(response) === 'fail') recorder.fail(process, now());
      else recorder.info(process, now());
      await sleep(200);
    }
  }
  return reads;
}
