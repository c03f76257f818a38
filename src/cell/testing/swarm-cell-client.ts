// TEST-ONLY: the client processes of the cell swarm. Each runs on its own client host and
// sends `consistent` read / write / cas / incr operations over the sim network to the
// replica it believes leads, following leader hints, and records them in the history:
// a definite refusal (not-leader, unavailable, overloaded) is retried until a deadline,
// then `fail`; no answer or `outcome-unknown` is `info`; a failed condition is `fail`.
// The retry rules follow CellWorkload (workload.ts), over the network instead of in-process.
// The cell's membership changes under the clients (the swarm's operator): each client keeps
// its own, possibly stale, view of it, taken from a discovery directory only now and then
// (after refusals and timeouts), and follows leader hints to any host. A stale view may only
// cost failed or redirected requests, never a wrong answer (paper §2.4).
import type { HostId, Network, Random } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import type { World } from '../../simworld/index.ts';
import type { HistoryRecorder, HistoryScalar } from '../../simworld/checkers/index.ts';
import { transaction } from '../../model/index.ts';
import type { Operation, OperationResult } from '../../model/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import { hostOfMember } from '../reconfig.ts';
import type { CellRequest, CellResponse } from '../types.ts';
import { decodeEnvelope, encodeRequest } from './swarm-envelope.ts';

/** Timing of the clients, in virtual milliseconds of true time. */
export interface ClientTiming {
  /**
   * An attempt with no answer after this long makes the operation indeterminate. Each
   * timeout doubles it (up to attemptTimeoutMsMax) and a result resets it, so a slow but
   * live cell (slow disks, delayed messages) still gets answers through.
   */
  readonly attemptTimeoutMs: number;
  readonly attemptTimeoutMsMax: number;
  /** Retrying definite refusals stops after this long: the operation definitely failed. */
  readonly operationDeadlineMs: number;
  readonly thinkMsMax: number;
}

/**
 * The discovery cache of the run: the cell's membership (as hosts) as last published by the
 * operator. Clients copy it into their own views only now and then, so views go stale.
 */
export class MembershipDirectory {
  private hosts: readonly HostId[];
  /** Publications so far (the first members count as one). */
  version = 1;

  constructor(members: readonly NodeId[]) {
    this.hosts = members.map((m) => hostId(hostOfMember(m)));
  }

  publish(members: readonly NodeId[]): void {
    this.hosts = members.map((m) => hostId(hostOfMember(m)));
    this.version += 1;
  }

  get current(): readonly HostId[] {
    return this.hosts;
  }
}

/** What all clients of one run share. */
export interface ClientShared {
  readonly world: World;
  /** Every server host of the run (spares included): a leader hint may name any of them. */
  readonly servers: readonly HostId[];
  readonly directory: MembershipDirectory;
  readonly keys: readonly string[];
  readonly recorder: HistoryRecorder;
  readonly timing: ClientTiming;
  /** Unique values for writes and cas. */
  nextValue: number;
  /** The value some client last saw on each key, to aim cas at a likely match. */
  readonly lastSeen: Map<string, number | null>;
}

type Attempt = { readonly kind: 'answer'; readonly response: CellResponse } | { readonly kind: 'timeout' };

type FinalAnswer =
  | { readonly kind: 'result'; readonly result: OperationResult }
  | { readonly kind: 'refused' }
  | { readonly kind: 'indeterminate' };

/** Most operations one client may await answers for: one (plus stale answers, dropped). */
const ATTEMPTS_OUTSTANDING_MAX = 1;
/** Leader hints followed in a row; then the client picks from its view again. */
const REDIRECTS_FOLLOWED_MAX = 3;
/** After a refusal or timeout, the chance a client refreshes its view from the directory. */
const VIEW_REFRESH_PROBABILITY = 0.5;

/** One client process on one client host. */
export class SwarmClient {
  /** Operations that got a definite answer from the cell (committed or condition failed). */
  definiteAnswers = 0;
  committed = 0;
  /** Times this client copied the directory into its view. */
  viewRefreshes = 0;
  /** Attempts sent to a host that is not in the published membership (a stale view or hint). */
  staleAttempts = 0;
  /** The membership (as hosts) this client believes the cell has: possibly stale. */
  private view: readonly HostId[];
  private network: Network | undefined;
  private nextRequestId = 1;
  private readonly waiting = new Map<number, (response: CellResponse) => void>();
  private leaderGuess: HostId | undefined;
  private attemptTimeoutMs: number;

  constructor(
    private readonly shared: ClientShared,
    readonly process: number,
    private readonly random: Random,
  ) {
    this.attemptTimeoutMs = shared.timing.attemptTimeoutMs;
    this.view = shared.directory.current;
  }

  /** Attaches the client host's network (at each boot of the host). */
  attach(network: Network): void {
    this.network = network;
    this.waiting.clear();
    network.onReceive((_from, bytes) => {
      const envelope = decodeEnvelope(bytes);
      if (envelope?.kind !== 'response') return;
      const resolve = this.waiting.get(envelope.requestId);
      if (resolve === undefined) return;
      this.waiting.delete(envelope.requestId);
      resolve(envelope.response);
    });
  }

  /** Runs random operations while `running()`, then returns. */
  async run(running: () => boolean): Promise<void> {
    await this.sleep(this.random.intBelow(10));
    while (running()) {
      await this.randomOperation();
      await this.sleep(this.random.intBelow(this.shared.timing.thinkMsMax + 1));
    }
  }

  /** Reads `key` until a read is answered; false if `deadlineMs` (true time) passes first. */
  async finalRead(key: string, deadlineMs: number): Promise<boolean> {
    while (this.shared.world.nowMs < deadlineMs) {
      if ((await this.read(key)).kind === 'result') return true;
      await this.sleep(10);
    }
    return false;
  }

  private now(): number {
    return this.shared.world.nowMs;
  }

  private async randomOperation(): Promise<void> {
    const { keys } = this.shared;
    const key = keys[this.random.intBelow(keys.length)]!;
    const choice = this.random.intBelow(10);
    if (choice < 3) await this.read(key);
    else if (choice < 6) await this.write(key);
    else if (choice < 8) await this.cas(key);
    else await this.incr(key);
  }

  private async read(key: string): Promise<FinalAnswer> {
    this.shared.recorder.invoke(this.process, 'read', key, null, this.now());
    const answer = await this.perform(transaction({ reads: [key] }));
    this.complete(answer, (result) => {
      const value = readScalar(result, key);
      this.shared.lastSeen.set(key, typeof value === 'number' ? value : null);
      return value;
    });
    return answer;
  }

  private async write(key: string): Promise<void> {
    const value = this.shared.nextValue++;
    this.shared.recorder.invoke(this.process, 'write', key, value, this.now());
    const answer = await this.perform(transaction({ writes: [{ kind: 'put', key, value: BigInt(value) }] }));
    this.complete(answer, () => {
      this.shared.lastSeen.set(key, value);
      return undefined;
    });
  }

  private async cas(key: string): Promise<void> {
    const seen = this.shared.lastSeen.get(key) ?? null;
    const expected = this.random.intBelow(4) === 0 ? null : seen;
    const value = this.shared.nextValue++;
    this.shared.recorder.invoke(this.process, 'cas', key, [expected, value], this.now());
    const condition =
      expected === null
        ? ({ kind: 'absent', key } as const)
        : ({ kind: 'equals', key, value: BigInt(expected) } as const);
    const answer = await this.perform(
      transaction({ conditions: [condition], writes: [{ kind: 'put', key, value: BigInt(value) }] }),
    );
    this.complete(answer, () => {
      this.shared.lastSeen.set(key, value);
      return undefined;
    });
  }

  private async incr(key: string): Promise<void> {
    const delta = 1 + this.random.intBelow(3);
    this.shared.recorder.invoke(this.process, 'incr', key, delta, this.now());
    const answer = await this.perform(
      transaction({ writes: [{ kind: 'increment', key, delta: BigInt(delta) }] }),
    );
    this.complete(answer, () => undefined);
  }

  /** Records the completion; `onCommitted` returns what an ok read read (undefined for others). */
  private complete(
    answer: FinalAnswer,
    onCommitted: (result: OperationResult) => HistoryScalar | undefined,
  ): void {
    const { recorder } = this.shared;
    switch (answer.kind) {
      case 'refused':
        recorder.fail(this.process, this.now());
        return;
      case 'indeterminate':
        recorder.info(this.process, this.now());
        return;
      case 'result':
        this.definiteAnswers += 1;
        if (answer.result.kind === 'committed') {
          this.committed += 1;
          recorder.ok(this.process, this.now(), onCommitted(answer.result));
        } else {
          recorder.fail(this.process, this.now());
        }
        return;
    }
  }

  /** Sends `operation` until it gets a final answer, retrying definite refusals. */
  private async perform(operation: Operation): Promise<FinalAnswer> {
    const deadline = this.now() + this.shared.timing.operationDeadlineMs;
    let target = this.pickTarget();
    let redirects = 0;
    while (this.now() < deadline) {
      const attempt = await this.attempt(target, { kind: 'operation', operation, consistency: 'consistent' });
      const { timing } = this.shared;
      if (attempt.kind === 'timeout') {
        this.maybeRefreshView();
        this.leaderGuess = undefined;
        this.attemptTimeoutMs = Math.min(timing.attemptTimeoutMsMax, this.attemptTimeoutMs * 2);
        return { kind: 'indeterminate' };
      }
      const response = attempt.response;
      // A refusal from the guessed leader ends the guess (it may be deposed, or its hint stale).
      if (response.kind !== 'result' && target === this.leaderGuess) this.leaderGuess = undefined;
      switch (response.kind) {
        case 'result':
          this.attemptTimeoutMs = timing.attemptTimeoutMs;
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
          redirects += 1;
          if (response.leaderHint !== undefined && redirects <= REDIRECTS_FOLLOWED_MAX) {
            target = this.afterNotLeader(target, response.leaderHint);
            break;
          }
          // No hint, or hints going round (stale ones, from deposed replicas): ask anew.
          redirects = 0;
          this.maybeRefreshView();
          target = this.pickTarget(target);
          await this.sleep(10);
          break;
        case 'overloaded':
          await this.sleep(response.retryAfterMs);
          break;
        case 'unavailable':
          this.maybeRefreshView();
          target = this.pickTarget(target);
          await this.sleep(10 + this.random.intBelow(20));
          break;
      }
    }
    return { kind: 'refused' };
  }

  /** A leader hint is a member id (`n3` or `n3#2`): follow it to its host, if a server host. */
  private afterNotLeader(target: HostId, hint: NodeId | undefined): HostId {
    const host = hint === undefined ? undefined : hostId(hostOfMember(hint));
    if (host !== undefined && host !== target && this.shared.servers.includes(host)) return host;
    return this.pickTarget(target);
  }

  private maybeRefreshView(): void {
    if (this.random.nextFloat() >= VIEW_REFRESH_PROBABILITY) return;
    this.view = this.shared.directory.current;
    this.viewRefreshes += 1;
  }

  private pickTarget(avoid?: HostId): HostId {
    const servers = this.view;
    if (this.leaderGuess !== undefined && this.leaderGuess !== avoid) return this.leaderGuess;
    let pick = servers[this.random.intBelow(servers.length)]!;
    if (pick === avoid && servers.length > 1) pick = servers[(servers.indexOf(pick) + 1) % servers.length]!;
    this.leaderGuess = undefined;
    return pick;
  }

  /** One request to one replica; a timeout if no answer within attemptTimeoutMs. */
  private attempt(target: HostId, request: CellRequest): Promise<Attempt> {
    const network = this.network;
    if (network === undefined) throw new Error('SwarmClient: no network attached');
    const requestId = this.nextRequestId++;
    if (!this.shared.directory.current.includes(target)) this.staleAttempts += 1;
    return new Promise((resolve) => {
      if (this.waiting.size >= ATTEMPTS_OUTSTANDING_MAX) this.waiting.clear();
      const scheduler = this.shared.world.scheduler;
      const timer = scheduler.after(this.attemptTimeoutMs, () => {
        if (!this.waiting.delete(requestId)) return;
        scheduler.notePromiseSettled();
        resolve({ kind: 'timeout' });
      });
      this.waiting.set(requestId, (response) => {
        timer.cancelled = true;
        scheduler.notePromiseSettled();
        resolve({ kind: 'answer', response });
      });
      network.send(target, encodeRequest(requestId, request));
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) =>
      this.shared.world.after(ms, () => {
        this.shared.world.scheduler.notePromiseSettled();
        resolve();
      }),
    );
  }
}

function readScalar(result: OperationResult, key: string): HistoryScalar {
  if (result.kind !== 'committed') throw new Error(`a read did not commit: ${result.kind}`);
  const read = result.reads.find((r) => r.key === key);
  if (read === undefined || !read.found) return null;
  if (typeof read.value !== 'bigint') throw new Error('register values are integers');
  return Number(read.value);
}
