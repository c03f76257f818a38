// TEST-ONLY: client workloads over a CellCluster that record what they saw and check it.
// - Register clients: read / write / cas on a few keys through `consistent` operations,
//   recorded as a history for the linearizability checker. An attempt answered with a
//   definite refusal (not-leader, unavailable, overloaded) is retried; outcome-unknown or
//   no answer makes the operation indeterminate (`info`); a failed condition is `fail`.
// - Lease clients: acquire / renew / release one lease under the holder's contract
//   (leases.ts), recording the real-time interval during which each believes it holds it.
// `finish()` heals the world, requires progress (final reads of every key), and checks
// linearizability, replica agreement and lease exclusivity.
import {
  checkHistoryDurability,
  checkHistoryLinearizable,
  HistoryRecorder,
} from '../../simworld/checkers/index.ts';
import type { FinalRead, HistoryScalar } from '../../simworld/checkers/index.ts';
import type { Random } from '../../env/index.ts';
import { transaction } from '../../model/index.ts';
import type { Operation, OperationResult } from '../../model/index.ts';
import type { CellRequest, CellResponse } from '../types.ts';
import type { CellCluster } from './sim-cell-host.ts';

export interface WorkloadOptions {
  readonly clients: number;
  readonly keys?: number;
  /** An attempt with no answer after this long is indeterminate. */
  readonly attemptTimeoutMs?: number;
  /** Give up (definitely not applied) after retrying refusals this long. */
  readonly operationDeadlineMs?: number;
  /** Pause between a client's operations. */
  readonly thinkMs?: number;
}

export interface WorkloadReport {
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly finalReadsOk: number;
  readonly violations: readonly string[];
}

type Attempt = { kind: 'answer'; response: CellResponse } | { kind: 'timeout' };

interface Interval {
  readonly holder: string;
  readonly startMs: number;
  endMs: number;
}

/** Drives register and lease clients against one cluster and checks what they saw. */
export class CellWorkload {
  readonly recorder = new HistoryRecorder();
  readonly leaseIntervals: Interval[] = [];
  private readonly random: Random;
  private stopped = false;
  private active = 0;
  private nextValue = 1;
  private leaderGuess: string | undefined;
  private counts = { ok: 0, fail: 0, info: 0, leaseGrants: 0 };
  private readonly keys: readonly string[];
  private readonly attemptTimeoutMs: number;
  private readonly operationDeadlineMs: number;
  private readonly thinkMs: number;

  constructor(
    readonly cluster: CellCluster,
    readonly options: WorkloadOptions,
  ) {
    this.random = cluster.world.random.fork('workload');
    this.keys = Array.from({ length: options.keys ?? 3 }, (_, i) => `k${i}`);
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 1_000;
    this.operationDeadlineMs = options.operationDeadlineMs ?? 3_000;
    this.thinkMs = options.thinkMs ?? 5;
    for (let p = 0; p < options.clients; p += 1) this.startClient(p);
  }

  get leaseGrants(): number {
    return this.counts.leaseGrants;
  }

  get okOperations(): number {
    return this.counts.ok;
  }

  private now(): number {
    return this.cluster.world.nowMs;
  }

  private startClient(process: number): void {
    this.active += 1;
    this.cluster.world.after(this.random.intBelow(10), () => void this.clientLoop(process));
  }

  private async clientLoop(process: number): Promise<void> {
    while (!this.stopped) {
      await this.registerOperation(process, this.keys[this.random.intBelow(this.keys.length)]!);
      await this.sleep(this.random.intBelow(this.thinkMs + 1));
    }
    this.active -= 1;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) =>
      this.cluster.world.after(ms, () => {
        this.cluster.world.scheduler.notePromiseSettled();
        resolve();
      }),
    );
  }

  /** One register operation, recorded: invoke, then ok / fail / info. */
  private async registerOperation(process: number, key: string): Promise<void> {
    const choice = this.random.intBelow(10);
    if (choice < 4) {
      this.recorder.invoke(process, 'read', key, null, this.now());
      const answer = await this.perform(transaction({ reads: [key] }));
      this.complete(process, answer, (result) => ({ read: readScalar(result, key) }));
    } else if (choice < 7) {
      const value = this.nextValue++;
      this.recorder.invoke(process, 'write', key, value, this.now());
      const answer = await this.perform(
        transaction({ writes: [{ kind: 'put', key, value: BigInt(value) }] }),
      );
      this.complete(process, answer, () => ({}));
    } else {
      const expected =
        this.random.intBelow(2) === 0 ? null : Math.max(1, this.nextValue - 1 - this.random.intBelow(3));
      const value = this.nextValue++;
      this.recorder.invoke(process, 'cas', key, [expected, value], this.now());
      const condition =
        expected === null
          ? ({ kind: 'absent', key } as const)
          : ({ kind: 'equals', key, value: BigInt(expected) } as const);
      const answer = await this.perform(
        transaction({ conditions: [condition], writes: [{ kind: 'put', key, value: BigInt(value) }] }),
      );
      this.complete(process, answer, () => ({}));
    }
  }

  private complete(
    process: number,
    answer: FinalAnswer,
    onCommitted: (result: OperationResult) => { read?: HistoryScalar },
  ): void {
    const now = this.now();
    switch (answer.kind) {
      case 'refused':
        this.counts.fail += 1;
        this.recorder.fail(process, now);
        return;
      case 'indeterminate':
        this.counts.info += 1;
        this.recorder.info(process, now);
        return;
      case 'result':
        if (answer.result.kind === 'committed') {
          this.counts.ok += 1;
          const { read } = onCommitted(answer.result);
          this.recorder.ok(process, now, read);
        } else {
          this.counts.fail += 1;
          this.recorder.fail(process, now);
        }
        return;
    }
  }

  /** Sends an operation until it gets a final answer, retrying definite refusals. */
  private async perform(operation: Operation): Promise<FinalAnswer> {
    const deadline = this.now() + this.operationDeadlineMs;
    let target = this.pickTarget();
    let hops = 0;
    while (this.now() < deadline) {
      const attempt = await this.attempt(target, { kind: 'operation', operation, consistency: 'consistent' });
      if (attempt.kind === 'timeout') {
        this.leaderGuess = undefined;
        return { kind: 'indeterminate' };
      }
      const response = attempt.response;
      switch (response.kind) {
        case 'result':
          this.leaderGuess = target;
          return { kind: 'result', result: response.result };
        case 'outcome-unknown':
          this.leaderGuess = undefined;
          return { kind: 'indeterminate' };
        case 'lease':
        case 'invalid':
        case 'behind':
          throw new Error(`unexpected answer ${response.kind} to a consistent operation`);
        case 'not-leader':
          target =
            response.leaderHint !== undefined && response.leaderHint !== target
              ? response.leaderHint
              : this.pickTarget(target);
          hops += 1;
          // Replicas may point at each other while membership changes (a learner and a
          // deposed node): after a round of hints, pause before following more.
          if (response.leaderHint === undefined || hops % (this.cluster.members.length + 1) === 0)
            await this.sleep(10);
          break;
        case 'overloaded':
          await this.sleep(response.retryAfterMs);
          break;
        case 'unavailable':
          target = this.pickTarget(target);
          await this.sleep(10 + this.random.intBelow(20));
          break;
      }
    }
    return { kind: 'refused' };
  }

  private pickTarget(avoid?: string): string {
    const members = this.cluster.members;
    if (this.leaderGuess !== undefined && this.leaderGuess !== avoid) return this.leaderGuess;
    let pick = members[this.random.intBelow(members.length)]!;
    if (pick === avoid && members.length > 1) pick = members[(members.indexOf(pick) + 1) % members.length]!;
    this.leaderGuess = undefined;
    return pick;
  }

  /** One request to one replica; a timeout if no answer in attemptTimeoutMs. */
  private attempt(target: string, request: CellRequest): Promise<Attempt> {
    return new Promise((resolve) => {
      let done = false;
      const timer = this.cluster.world.scheduler.after(this.attemptTimeoutMs, () => {
        if (done) return;
        done = true;
        this.cluster.world.scheduler.notePromiseSettled();
        resolve({ kind: 'timeout' });
      });
      this.cluster.submit(target, request).then(
        (response) => {
          if (done) return;
          done = true;
          timer.cancelled = true;
          resolve({ kind: 'answer', response });
        },
        () => undefined,
      );
    });
  }

  // ---- Leases -------------------------------------------------------------------------

  /**
   * A lease client on client host `host` (its own clock): acquires `name`, holds it for a
   * while under the holder contract, sometimes releases, sometimes just walks away (so
   * others must wait out the lease and take it over).
   */
  startLeaseClient(host: string, name: string, durationMs: number): void {
    this.active += 1;
    const loop = async (): Promise<void> => {
      while (!this.stopped) {
        const granted = await this.leaseRound(host, name, durationMs);
        // Contend hard: retry soon after a refusal, so takeovers happen right at expiry.
        await this.sleep(this.random.intBelow(granted ? durationMs : Math.ceil(durationMs / 16)));
      }
      this.active -= 1;
    };
    this.cluster.world.after(this.random.intBelow(20), () => void loop());
  }

  /** One acquire; true when granted (and then held until the holder's own clock says stop). */
  private async leaseRound(host: string, name: string, durationMs: number): Promise<boolean> {
    const clock = this.cluster.world.host(host).clock;
    const sentAtMs = clock.monotonicMs();
    const attempt = await this.attempt(this.pickTarget(), {
      kind: 'lease-acquire',
      name,
      holder: host,
      durationMs,
    });
    if (attempt.kind !== 'answer') return false;
    const response = attempt.response;
    if (response.kind === 'not-leader' && response.leaderHint !== undefined)
      this.leaderGuess = response.leaderHint;
    if (response.kind !== 'lease' || response.outcome.kind !== 'granted') return false;
    this.counts.leaseGrants += 1;
    const validUntilMs = sentAtMs + response.outcome.holderValidMs;
    const remainingMs = validUntilMs - clock.monotonicMs();
    if (remainingMs <= 0) return true;
    const interval: Interval = { holder: host, startMs: this.now(), endMs: Number.POSITIVE_INFINITY };
    this.leaseIntervals.push(interval);
    const releaseEarly = this.random.intBelow(2) === 0;
    await new Promise<void>((resolve) => {
      // The holder's own clock decides when its belief ends (it may run fast or slow).
      clock.setTimer(releaseEarly ? Math.floor(remainingMs / 2) : remainingMs, () => {
        interval.endMs = this.now();
        this.cluster.world.scheduler.notePromiseSettled();
        resolve();
      });
    });
    // Stop believing first, then release (contract rule 1).
    if (releaseEarly) await this.attempt(this.pickTarget(), { kind: 'lease-release', name, holder: host });
    return true;
  }

  /** Pairs of holders whose belief intervals overlap in simulated real time. */
  leaseOverlaps(): string[] {
    const sorted = [...this.leaseIntervals].sort((a, b) => a.startMs - b.startMs);
    const problems: string[] = [];
    for (let i = 0; i < sorted.length; i += 1) {
      for (let j = i + 1; j < sorted.length && sorted[j]!.startMs < sorted[i]!.endMs; j += 1) {
        const [a, b] = [sorted[i]!, sorted[j]!];
        if (a.holder !== b.holder)
          problems.push(
            `${a.holder} [${a.startMs},${a.endMs}) overlaps ${b.holder} [${b.startMs},${b.endMs})`,
          );
      }
    }
    return problems;
  }

  // ---- The end of a run ---------------------------------------------------------------

  stop(): void {
    this.stopped = true;
  }

  /**
   * Stops the workload, heals everything, then requires liveness (a final consistent read
   * of every key within `livenessMs`) and checks linearizability (which includes the final
   * reads: an acknowledged write lost would show there), replica agreement and leases.
   */
  async finish(livenessMs = 10_000): Promise<WorkloadReport> {
    const world = this.cluster.world;
    this.stop();
    await world.runUntil(
      () => this.active === 0 && this.leaseIntervals.every((i) => i.endMs !== Infinity),
      20_000,
    );
    world.healAll();
    for (const host of this.cluster.serverHosts) world.clock(host).rate(1);
    const violations: string[] = [];
    let finalReadsOk = 0;
    const finalReads: FinalRead[] = [];
    const finalProcess = this.options.clients + 1000;
    const deadline = this.now() + livenessMs;
    for (const key of this.keys) {
      let answer: FinalAnswer = { kind: 'refused' };
      // Indeterminate reads constrain nothing: retry until one completes or time is up.
      while (answer.kind !== 'result' && this.now() < deadline) {
        const invokeTimeMs = this.now();
        this.recorder.invoke(finalProcess, 'read', key, null, invokeTimeMs);
        answer = await world.settle(this.perform(transaction({ reads: [key] })), livenessMs + 5_000);
        this.complete(finalProcess, answer, (result) => {
          const value = readScalar(result, key);
          finalReads.push({ key, value, invokeTimeMs, completeTimeMs: this.now() });
          return { read: value };
        });
      }
      if (answer.kind === 'result') finalReadsOk += 1;
      else violations.push(`liveness: no final read of ${key} within ${livenessMs} ms of healing`);
    }
    await world.runFor(500);
    violations.push(...this.checks());
    const durability = checkHistoryDurability(this.recorder.events(), finalReads);
    if (durability.kind !== 'checked') violations.push(`durability: malformed history`);
    else violations.push(...durability.violations.map((lost) => `durability: ${lost.message}`));
    return { ...this.counts, finalReadsOk, violations };
  }

  /** Safety checks over what was recorded so far. */
  checks(): string[] {
    const violations: string[] = [];
    const linear = checkHistoryLinearizable(this.recorder.events());
    if (linear.kind !== 'linearizable')
      violations.push(`linearizability: ${JSON.stringify(linear).slice(0, 600)}`);
    violations.push(...this.cluster.agreementViolations.map((v) => `agreement: ${v}`));
    violations.push(...this.leaseOverlaps().map((v) => `lease: ${v}`));
    for (const [host, cell] of this.cluster.liveCells()) {
      const failed = cell.describe().failed;
      if (failed !== undefined) violations.push(`${host} failed: ${failed}`);
    }
    return violations;
  }
}

type FinalAnswer =
  | { readonly kind: 'result'; readonly result: OperationResult }
  | { readonly kind: 'refused' }
  | { readonly kind: 'indeterminate' };

function readScalar(result: OperationResult, key: string): HistoryScalar {
  if (result.kind !== 'committed') throw new Error(`a read did not commit: ${result.kind}`);
  const read = result.reads.find((r) => r.key === key);
  if (read === undefined || !read.found) return null;
  if (typeof read.value !== 'bigint') throw new Error('register values are integers');
  return Number(read.value);
}

export function cellWorkload(cluster: CellCluster, options: WorkloadOptions): CellWorkload {
  return new CellWorkload(cluster, options);
}
