// The Physalia SDK: `connect({ endpoints })`, then per cell (partition key) transactions,
// get/put/delete/increment/compare-and-set, paged scans, sessions and leases over the HTTP API,
// and the cell's membership: add, remove, replace one member, move, no-op (reconfig.ts).
import type { Clock, Random } from '../env/index.ts';
import { SystemClock, systemRandom } from '../runtime/index.ts';
import { Caller, defaultRetryPolicy, Router } from './caller.ts';
import type { CallResult, RetryPolicy } from './caller.ts';
import { decodeAll, decodeEntry, decodeRead, encodeCondition, encodeWrite, toValue } from './json.ts';
import { Lease } from './lease.ts';
import * as reconfig from './reconfig.ts';
import { fetchTransport } from './transport.ts';
import type { HttpTransport } from './transport.ts';
import type {
  ClientError,
  LeaseRefusal,
  MemberChangeInput,
  MembershipStep,
  MoveOperation,
  ScanPage,
  TxnFailure,
  TxnInput,
  TxnOutcome,
  Value,
  ValueInput,
} from './types.ts';

export interface ConnectOptions {
  /** host:port (or http://host:port) of one or more nodes' HTTP API; any node serves any cell. */
  readonly endpoints: readonly string[];
  readonly clock?: Clock;
  readonly random?: Random;
  readonly transport?: HttpTransport;
  readonly retry?: Partial<RetryPolicy>;
}

export type Consistency = 'consistent' | 'eventual';

/**
 * Monotonic reads across calls (per cell): the token is the largest log index this session has
 * seen from the cell; eventual reads are served only by replicas that applied at least that far.
 */
export class Session {
  private readonly tokens = new Map<string, number>();
  token(cellId: string): number {
    return this.tokens.get(cellId) ?? 0;
  }
  observe(cellId: string, index: number): void {
    if (index > this.token(cellId)) this.tokens.set(cellId, index);
  }
}

export interface CellOptions {
  /** `consistent` (default): linearizable. `eventual`: any replica, possibly stale. */
  readonly consistency?: Consistency;
  readonly session?: Session;
  /** Retry a write whose outcome is unknown (it may then apply twice). Default false. */
  readonly retryOutcomeUnknown?: boolean;
}

export type ScanRangeInput = { readonly prefix: string } | { readonly start: string; readonly end?: string };

export type CellCreated = {
  readonly kind: 'created' | 'exists';
  readonly cellId: string;
  readonly members: readonly string[];
};

export interface CellDescription {
  readonly kind: 'described';
  readonly cellId: string;
  readonly members: readonly string[];
  readonly leaderHint: string | undefined;
  readonly appliedIndex: number;
  readonly commitIndex: number;
  readonly digest: string;
  readonly answeredBy: string;
}

function record(candidate: unknown): Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null ? (candidate as Record<string, unknown>) : {};
}

function protocol(message: string): ClientError {
  return { kind: 'protocol', message };
}

export const cellPath = (cellId: string): string => `/v1/cells/${encodeURIComponent(cellId)}`;

export class PhysaliaClient {
  readonly caller: Caller;
  private readonly clock: Clock;

  constructor(options: ConnectOptions) {
    this.clock = options.clock ?? new SystemClock({ unref: false }); // backoff timers keep a CLI alive
    const random = options.random ?? systemRandom();
    const router = new Router(options.endpoints, random.fork('router'));
    this.caller = new Caller(
      router,
      options.transport ?? fetchTransport(),
      this.clock,
      random.fork('backoff'),
      {
        ...defaultRetryPolicy,
        ...options.retry,
      },
    );
  }

  cell(cellId: string, options: CellOptions = {}): CellClient {
    return new CellClient(this, this.clock, cellId, options);
  }

  newSession(): Session {
    return new Session();
  }

  /** Creates a cell with explicit members, or placed by the colony (`replicas`, default 7). */
  async createCell(
    cellId: string,
    options: { members?: readonly string[]; replicas?: number } = {},
  ): Promise<CellCreated | ClientError> {
    const result = await this.caller.send({
      method: 'POST',
      path: '/v1/cells',
      body: { cellId, ...options },
      idempotent: true, // creating is idempotent: same members, same cell
      retryOutcomeUnknown: false,
    });
    if (result.kind !== 'ok') return result;
    const body = record(result.body);
    if (!Array.isArray(body.members)) return protocol('create: no members');
    return { kind: body.created === true ? 'created' : 'exists', cellId, members: body.members.map(String) };
  }

  async describeCell(cellId: string): Promise<CellDescription | ClientError> {
    await this.learnNodes();
    const result = await this.caller.send({
      method: 'GET',
      path: cellPath(cellId),
      cellId,
      idempotent: true,
      retryOutcomeUnknown: false,
    });
    if (result.kind !== 'ok') return result;
    const body = record(result.body);
    if (!Array.isArray(body.members) || typeof body.appliedIndex !== 'number')
      return protocol('describe: bad body');
    const members = body.members.map(String);
    const leaderHint = typeof body.leaderHint === 'string' ? body.leaderHint : undefined;
    this.caller.router.learnCell(cellId, members, leaderHint);
    return {
      kind: 'described',
      cellId,
      members,
      leaderHint,
      appliedIndex: body.appliedIndex,
      commitIndex: Number(body.commitIndex),
      digest: String(body.digest),
      answeredBy: String(body.answeredBy),
    };
  }

  /** The cells hosted by the node at `endpoint` (default: the first endpoint). */
  async listCells(options: { endpoint?: string; after?: string; limit?: number } = {}): Promise<
    | {
        kind: 'cells';
        node: string;
        cells: { cellId: string; members: string[]; loaded: boolean }[];
        nextAfter?: string;
      }
    | ClientError
  > {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const result = await this.caller.send({
      endpoint: options.endpoint ?? this.caller.router.endpoints[0]!,
      method: 'GET',
      path: `/v1/cells?${query.toString()}`,
      idempotent: true,
      retryOutcomeUnknown: false,
    });
    if (result.kind !== 'ok') return result;
    const body = record(result.body);
    if (!Array.isArray(body.cells)) return protocol('list: bad body');
    return {
      kind: 'cells',
      node: String(body.node),
      cells: body.cells as { cellId: string; members: string[]; loaded: boolean }[],
      ...(typeof body.nextAfter === 'string' ? { nextAfter: body.nextAfter } : {}),
    };
  }

  /**
   * One membership change of the cell (paper §2.4), named by node ids: `{add}`, `{remove}` (a
   * node or a member id) or `{replace: {remove, add}}`. The node creates the new member's
   * replica (a fresh incarnation `node#k`), has the change chosen and in effect, waits until the
   * new member caught up and retires the removed one; answered then, or an error (nothing is
   * retried once sent: a lost answer is `outcome-unknown`).
   */
  async changeMembers(
    cellId: string,
    change: MemberChangeInput,
    options: { timeoutMs?: number } = {},
  ): Promise<({ kind: 'changed'; cellId: string } & MembershipStep) | ClientError> {
    await this.learnNodes();
    return reconfig.changeMembers(
      this.caller,
      cellId,
      change,
      options.timeoutMs ?? reconfig.changeTimeoutMsDefault,
    );
  }

  addMember(cellId: string, node: string, options: { timeoutMs?: number } = {}) {
    return this.changeMembers(cellId, { add: node }, options);
  }

  removeMember(cellId: string, node: string, options: { timeoutMs?: number } = {}) {
    return this.changeMembers(cellId, { remove: node }, options);
  }

  replaceMember(cellId: string, remove: string, add: string, options: { timeoutMs?: number } = {}) {
    return this.changeMembers(cellId, { replace: { remove, add } }, options);
  }

  /**
   * Moves the cell onto the nodes `to`, one replacement at a time, each new member caught up
   * before the next. Polls the node running it until it ends (state `succeeded` or `failed`,
   * with the steps done) or `timeoutMs` passes (state still `running`: poll `operation`).
   */
  async moveCell(
    cellId: string,
    to: readonly string[],
    options: { timeoutMs?: number; onProgress?: (operation: MoveOperation) => void } = {},
  ): Promise<MoveOperation | ClientError> {
    await this.learnNodes();
    return reconfig.moveCell(this.caller, this.clock, cellId, to, options);
  }

  /** Starts a move and returns at once (poll it with `operation`). */
  async startMove(cellId: string, to: readonly string[], options: { timeoutMs?: number } = {}) {
    await this.learnNodes();
    return reconfig.startMove(this.caller, cellId, to, options.timeoutMs ?? reconfig.moveTimeoutMsDefault);
  }

  /** An operation of the node at `endpoint`, waiting up to `waitMs` for it to end. */
  operation(
    id: string,
    endpoint: string,
    options: { waitMs?: number } = {},
  ): Promise<MoveOperation | ClientError> {
    return reconfig.getOperation(this.caller, id, endpoint, options.waitMs ?? 0);
  }

  /** Has the cell's leader choose one no-op (a chosen change takes effect alpha entries later). */
  noop(cellId: string): Promise<{ kind: 'noop-chosen'; index: number } | ClientError> {
    return reconfig.noop(this.caller, cellId);
  }

  /** Learns node id -> endpoint once (for routing to a cell's leader); failures are ignored. */
  async learnNodes(): Promise<void> {
    if (this.caller.router.knowsNodes) return;
    const result = await this.caller.send({
      method: 'GET',
      path: '/v1/colony',
      idempotent: true,
      retryOutcomeUnknown: false,
    });
    if (result.kind !== 'ok') return;
    const nodes = record(result.body).nodes;
    if (Array.isArray(nodes)) this.caller.router.learnNodes(nodes as { nodeId: string; http: string }[]);
  }
}

/** Connects to a colony. Nothing is sent until the first call. */
export function connect(options: ConnectOptions): PhysaliaClient {
  return new PhysaliaClient(options);
}

export type GetOutcome =
  | { readonly kind: 'found'; readonly value: Value; readonly version: number; readonly index: number }
  | { readonly kind: 'missing'; readonly index: number };

export type LeaseAnswer = Lease | LeaseRefusal | ClientError;

/** One cell (partition key) of the colony. Every method resolves; none rejects. */
export class CellClient {
  constructor(
    private readonly client: PhysaliaClient,
    private readonly clock: Clock,
    readonly cellId: string,
    readonly options: CellOptions,
  ) {}

  /** Routes to the cell's leader once it is known (one describe per cell, then cached). */
  private async send(path: string, body: unknown, idempotent: boolean): Promise<CallResult> {
    const router = this.client.caller.router;
    if (!router.hasRoute(this.cellId)) {
      const described = await this.client.describeCell(this.cellId);
      if (described.kind === 'cell-not-found' || described.kind === 'invalid') return described;
    }
    return this.client.caller.send({
      method: 'POST',
      path: `${cellPath(this.cellId)}${path}`,
      body,
      cellId: this.cellId,
      idempotent,
      retryOutcomeUnknown: this.options.retryOutcomeUnknown ?? false,
    });
  }

  private readOptions(): Record<string, unknown> {
    const consistency = this.options.consistency ?? 'consistent';
    const session = this.options.session?.token(this.cellId);
    return {
      consistency,
      ...(consistency === 'eventual' && session !== undefined && session > 0
        ? { sessionIndex: session }
        : {}),
    };
  }

  /** Reads, conditions and writes at one log position; conditions failing is `not-committed`. */
  async txn(input: TxnInput): Promise<TxnOutcome | ClientError> {
    const writes = input.writes ?? [];
    const body = {
      reads: input.reads ?? [],
      conditions: (input.conditions ?? []).map(encodeCondition),
      writes: writes.map(encodeWrite),
      ...this.readOptions(),
    };
    const result = await this.send('/txn', body, writes.length === 0);
    if (result.kind !== 'ok') return result;
    const answer = record(result.body);
    const reads = decodeAll(answer.reads, decodeRead);
    if (typeof answer.index !== 'number' || reads === undefined) return protocol('txn: bad body');
    this.options.session?.observe(this.cellId, answer.index);
    if (answer.committed === true) return { kind: 'committed', index: answer.index, reads };
    return {
      kind: 'not-committed',
      index: answer.index,
      reads,
      failure: record(answer.failure) as unknown as TxnFailure,
    };
  }

  async get(key: string): Promise<GetOutcome | ClientError> {
    const outcome = await this.txn({ reads: [key] });
    if (outcome.kind !== 'committed')
      return outcome.kind === 'not-committed' ? protocol('a read did not commit') : outcome;
    const read = outcome.reads[0];
    if (read === undefined) return protocol('get: no read');
    return read.found
      ? { kind: 'found', value: read.value, version: read.version, index: outcome.index }
      : { kind: 'missing', index: outcome.index };
  }

  put(key: string, value: ValueInput): Promise<TxnOutcome | ClientError> {
    return this.txn({ writes: [{ kind: 'put', key, value }] });
  }

  delete(key: string): Promise<TxnOutcome | ClientError> {
    return this.txn({ writes: [{ kind: 'delete', key }] });
  }

  /** Adds `delta` to an integer (a missing key counts as 0); returns the new value. */
  async increment(
    key: string,
    delta = 1n,
  ): Promise<{ kind: 'incremented'; value: bigint; index: number } | TxnOutcome | ClientError> {
    const outcome = await this.txn({ reads: [key], writes: [{ kind: 'increment', key, delta }] });
    if (outcome.kind !== 'committed') return outcome;
    const read = outcome.reads[0];
    const before = read?.found === true && typeof read.value === 'bigint' ? read.value : 0n;
    return { kind: 'incremented', value: before + delta, index: outcome.index };
  }

  /** Writes `next` only if the key holds `expected` (undefined: only if the key is absent). */
  compareAndSet(
    key: string,
    expected: ValueInput | undefined,
    next: ValueInput,
  ): Promise<TxnOutcome | ClientError> {
    const condition =
      expected === undefined
        ? { kind: 'absent' as const, key }
        : { kind: 'equals' as const, key, value: toValue(expected) };
    return this.txn({ reads: [key], conditions: [condition], writes: [{ kind: 'put', key, value: next }] });
  }

  /** One page of a scan; pass `nextCursor` back as `cursor` for the next. */
  async scanPage(
    range: ScanRangeInput,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<ScanPage | ClientError> {
    const result = await this.send('/scan', { ...range, ...options, ...this.readOptions() }, true);
    if (result.kind !== 'ok') return result;
    const answer = record(result.body);
    const entries = decodeAll(answer.entries, decodeEntry);
    if (typeof answer.index !== 'number' || entries === undefined) return protocol('scan: bad body');
    this.options.session?.observe(this.cellId, answer.index);
    return {
      kind: 'page',
      index: answer.index,
      entries,
      ...(typeof answer.nextCursor === 'string' ? { nextCursor: answer.nextCursor } : {}),
    };
  }

  /** Every page of a scan in key order; an error is yielded last. Each page is its own read. */
  async *scan(
    range: ScanRangeInput,
    options: { pageSize?: number } = {},
  ): AsyncGenerator<ScanPage | ClientError> {
    let cursor: string | undefined;
    do {
      const page = await this.scanPage(range, {
        ...(options.pageSize === undefined ? {} : { limit: options.pageSize }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      yield page;
      if (page.kind !== 'page') return;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  private async lease(
    action: 'acquire' | 'renew',
    name: string,
    holder: string,
    durationMs: number,
  ): Promise<LeaseAnswer> {
    const sentAtMs = this.clock.monotonicMs(); // BEFORE the first send: see Lease's contract
    const result = await this.send(
      `/leases/${encodeURIComponent(name)}/${action}`,
      { holder, durationMs },
      false,
    );
    if (result.kind !== 'ok') return result;
    const outcome = record(record(result.body).outcome);
    switch (outcome.kind) {
      case 'granted':
        return new Lease(
          this.clock,
          this.cellId,
          name,
          holder,
          durationMs,
          Number(outcome.grantIndex),
          sentAtMs + Number(outcome.holderValidMs),
        );
      case 'held-by-other':
        return {
          kind: 'held-by-other',
          holder: String(outcome.holder),
          grantIndex: Number(outcome.grantIndex),
        };
      case 'not-holder':
        return {
          kind: 'not-holder',
          holder: typeof outcome.holder === 'string' ? outcome.holder : undefined,
        };
      default:
        return protocol(`lease: unexpected outcome ${String(outcome.kind)}`);
    }
  }

  /** Acquires `name` for `holder`; a Lease is valid per its contract (see lease.ts). */
  acquireLease(name: string, holder: string, durationMs: number): Promise<LeaseAnswer> {
    return this.lease('acquire', name, holder, durationMs);
  }

  /** Renews a lease this holder has; the new Lease replaces the old one. */
  renewLease(lease: { name: string; holder: string; durationMs: number }): Promise<LeaseAnswer> {
    return this.lease('renew', lease.name, lease.holder, lease.durationMs);
  }

  /** Releases a lease; stop acting as holder before calling this. */
  async releaseLease(
    name: string,
    holder: string,
  ): Promise<{ kind: 'released' } | LeaseRefusal | ClientError> {
    const result = await this.send(`/leases/${encodeURIComponent(name)}/release`, { holder }, false);
    if (result.kind !== 'ok') return result;
    const outcome = record(record(result.body).outcome);
    if (outcome.kind === 'released') return { kind: 'released' };
    if (outcome.kind === 'not-holder')
      return { kind: 'not-holder', holder: typeof outcome.holder === 'string' ? outcome.holder : undefined };
    return protocol(`lease: unexpected outcome ${String(outcome.kind)}`);
  }
}
