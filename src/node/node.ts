// One node: a host running many cell replicas on the env interfaces only (HostEnv), so the
// same code runs in the simulator and in a real process (paper §2.1). It demultiplexes the
// node wire format, loads and evicts replicas, ticks the busy ones from one timer, forwards
// client requests to a replica of the cell, and answers with forwarding pointers (§2.5).
import type { HostEnv, HostId, TimerHandle } from '../env/index.ts';
import { quorumSize } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { utf8 } from './bytes.ts';
import type { CellBinding, CellEnv, CellId, CellReplicaLike, CellRequest } from './cell-contract.ts';
import { CellTable } from './cell-table.ts';
import { defaultNodeLimits } from './limits.ts';
import type { NodeLimits } from './limits.ts';
import { CellRegistry } from './registry.ts';
import { OutboundRequests, RecentRequests } from './rpc.ts';
import { frameDropReasons } from './service.ts';
import type {
  CreateCellResult,
  DeleteCellResult,
  DescribeCellResult,
  FrameDropReason,
  HostedCell,
  NodeMetrics,
  NodeService,
  SubmitResponse,
} from './service.ts';
import { cellIdBytesMax, decodeNodeMessage, encodeNodeMessage, membersMax, nodeIdBytesMax } from './wire.ts';
import type {
  AdminOutcome,
  CellSummary,
  DescribeAnswer,
  ForwardAnswer,
  Location,
  NodeMessage,
  RpcId,
} from './wire.ts';

/** Structured log sink (pino's `logger.info(fields, message)` shape). */
export interface NodeLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const silentLogger: NodeLogger = { info: () => {}, warn: () => {}, error: () => {} };

export interface NodeOptions {
  readonly self: NodeId;
  readonly env: HostEnv;
  readonly cells: CellBinding;
  /** Every node of the colony this node may talk to (heartbeats, locating cells). */
  readonly peers?: readonly NodeId[];
  readonly limits?: Partial<NodeLimits>;
  readonly log?: NodeLogger;
  /** Honour test-only control frames (dropping a peer's frames to simulate a partition). */
  readonly testHooks?: boolean;
}

/** One attempt of routing a submit: a response, or no answer in time. */
type Attempt = SubmitResponse | { readonly kind: 'timeout' };

interface RouteState {
  readonly tried: Set<NodeId>;
  members: readonly NodeId[] | undefined;
  hint: NodeId | undefined;
  last: SubmitResponse | undefined;
}

type MutableMetrics = { -readonly [K in Exclude<keyof NodeMetrics, 'framesDropped'>]: number } & {
  readonly framesDropped: Record<FrameDropReason, number>;
};

function zeroMetrics(): MutableMetrics {
  const dropped = Object.fromEntries(frameDropReasons.map((reason) => [reason, 0])) as Record<
    FrameDropReason,
    number
  >;
  return {
    framesReceived: 0,
    framesSent: 0,
    framesDropped: dropped,
    cellsHosted: 0,
    cellsInMemory: 0,
    cellsLoaded: 0,
    cellsEvicted: 0,
    cellsCreated: 0,
    cellsDeleted: 0,
    requestsSubmitted: 0,
    requestsForwarded: 0,
    requestsTimedOut: 0,
    commits: 0,
    rejections: 0,
    forwardingPointersAnswered: 0,
    ticks: 0,
  };
}

/** Checks a cell id: non-empty and within the byte bound. */
export function cellIdProblem(cellId: string): string | undefined {
  if (cellId.length === 0) return 'cell id is empty';
  if (utf8(cellId).length > cellIdBytesMax) return `cell id is over ${cellIdBytesMax} bytes`;
  return undefined;
}

/** Checks a membership: 1..membersMax distinct, non-empty node ids within the byte bound. */
export function membersProblem(members: readonly string[]): string | undefined {
  if (members.length === 0 || members.length > membersMax) return `a cell has 1 to ${membersMax} members`;
  if (new Set(members).size !== members.length) return 'members repeat';
  for (const member of members) {
    if (member.length === 0 || utf8(member).length > nodeIdBytesMax) return `bad member id '${member}'`;
  }
  return undefined;
}

export class Node implements NodeService {
  readonly self: NodeId;
  private readonly env: HostEnv;
  private readonly binding: CellBinding;
  private readonly limits: NodeLimits;
  private readonly log: NodeLogger;
  private readonly registry: CellRegistry;
  private readonly table: CellTable;
  private readonly outbound: OutboundRequests;
  private readonly recent: RecentRequests;
  private readonly counters = zeroMetrics();
  private readonly knownPeers: readonly NodeId[];
  private readonly lastHeardMs = new Map<NodeId, number>();
  /** Cells under an admin change: their messages are dropped until it completes. */
  private readonly busy = new Map<CellId, Promise<unknown>>();
  /** Where cells live, as learned from creation, answers and pointers (bounded, LRU). */
  private readonly locations = new Map<CellId, { members: readonly NodeId[]; leader: NodeId | undefined }>();
  private blocked: ReadonlySet<string> = new Set();
  private inboundInFlight = 0;
  private timer: TimerHandle | undefined;
  private timerDueMs = Number.POSITIVE_INFINITY;
  private lastHeartbeatMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(private readonly options: NodeOptions) {
    this.self = options.self;
    this.env = options.env;
    this.binding = options.cells;
    this.limits = { ...defaultNodeLimits, ...options.limits };
    this.log = options.log ?? silentLogger;
    this.knownPeers = [...new Set(options.peers ?? [])].filter((peer) => peer !== this.self).sort();
    this.registry = new CellRegistry(this.env.storage);
    this.outbound = new OutboundRequests(
      this.env.clock,
      this.env.random.fork('node-rpc'),
      this.limits.outboundRequestsMax,
    );
    this.recent = new RecentRequests(this.limits.recentRequestsMax);
    this.table = new CellTable(this.binding, (cellId) => this.cellEnv(cellId), this.env.clock, this.limits, {
      loaded: () => (this.counters.cellsLoaded += 1),
      loadFailed: (cellId, reason) => this.log.error({ cellId, reason }, 'cell failed to load'),
      evicted: () => (this.counters.cellsEvicted += 1),
      workDropped: () => this.drop('overloaded'),
      becameActive: () => this.arm(),
    });
    this.env.network.onReceive((from, payload) => this.onFrame(from, payload));
    this.arm();
    this.log.info({ node: this.self, cellsHosted: this.registry.size }, 'node started');
  }

  // ---- NodeService --------------------------------------------------------------------

  async createCell(cellId: CellId, members: readonly NodeId[]): Promise<CreateCellResult> {
    const problem = cellIdProblem(cellId) ?? membersProblem(members);
    if (problem !== undefined) return { kind: 'invalid', reason: problem };
    if (this.closed) return { kind: 'unavailable', reason: 'node closed', acknowledgedBy: [] };
    const sorted = [...members];
    this.remember(cellId, sorted, undefined);
    const deadlineMs = this.env.clock.monotonicMs() + this.limits.createTimeoutMs;
    const outcomes = new Map<NodeId, AdminOutcome>();
    await new Promise<void>((resolve) => {
      let finished = 0;
      for (const member of sorted) {
        void this.adminUntil(
          member,
          deadlineMs,
          (rpc) => ({ kind: 'create', cellId, rpc, members: sorted }),
          () => this.createHere(cellId, sorted),
        ).then((outcome) => {
          finished += 1;
          if (outcome !== undefined) outcomes.set(member, outcome);
          if (finished === sorted.length || acknowledged(outcomes, sorted).length >= quorumSize(sorted))
            resolve();
        });
      }
    });
    return createResult(cellId, sorted, outcomes);
  }

  async deleteCell(cellId: CellId, movedTo: readonly NodeId[] = []): Promise<DeleteCellResult> {
    const problem = cellIdProblem(cellId) ?? (movedTo.length > 0 ? membersProblem(movedTo) : undefined);
    if (problem !== undefined) return { kind: 'unavailable', reason: problem };
    const outcome = await this.deleteHere(cellId, movedTo);
    switch (outcome.kind) {
      case 'deleted':
        return { kind: 'deleted', cellId };
      case 'not-found':
        return { kind: 'not-found', cellId };
      case 'created':
      case 'exists':
      case 'failed':
        return { kind: 'unavailable', reason: outcome.kind === 'failed' ? outcome.reason : outcome.kind };
    }
  }

  async describeCell(cellId: CellId): Promise<DescribeCellResult> {
    if (cellIdProblem(cellId) !== undefined) return { kind: 'not-found', cellId };
    const here = await this.describeHere(cellId);
    if (here.kind === 'described') return { kind: 'described', summary: here.summary, answeredBy: this.self };
    const members = here.kind === 'moved' ? here.members : await this.locate(cellId);
    if (members === undefined) return { kind: 'not-found', cellId };
    for (const member of this.preferLive(members.filter((member) => member !== this.self))) {
      const outcome = await this.outbound.call<DescribeAnswer>(
        member,
        'described',
        this.limits.requestTimeoutMs,
        (rpc) => this.send(member, { kind: 'describe', cellId, rpc }),
      );
      if (outcome.kind !== 'answered') continue;
      if (outcome.answer.kind === 'described')
        return { kind: 'described', summary: outcome.answer.summary, answeredBy: member };
      if (outcome.answer.kind === 'moved') return { kind: 'moved', cellId, members: outcome.answer.members };
    }
    if (here.kind === 'moved') return { kind: 'moved', cellId, members: here.members };
    return { kind: 'unavailable', reason: 'no member of the cell answered' };
  }

  async submit(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    const problem = cellIdProblem(cellId);
    if (problem !== undefined)
      return {
        kind: 'invalid',
        error: { kind: 'invalid', field: 'cellId', reason: 'bad-cell-id', message: problem },
      };
    if (this.closed) return { kind: 'unavailable', reason: 'node closed' };
    this.counters.requestsSubmitted += 1;
    const response = await this.route(cellId, request);
    this.countResponse(response);
    return response;
  }

  listCells(options: { readonly afterCellId?: CellId; readonly limit?: number } = {}): readonly HostedCell[] {
    const limit = Math.max(0, Math.min(options.limit ?? this.limits.listCellsMax, this.limits.listCellsMax));
    return this.registry
      .list(options.afterCellId, limit)
      .map(({ cellId, members }) => ({ cellId, members, loaded: this.table.isLoaded(cellId) }));
  }

  metrics(): NodeMetrics {
    return {
      ...this.counters,
      framesDropped: { ...this.counters.framesDropped },
      cellsHosted: this.registry.size,
      cellsInMemory: this.table.inMemory,
    };
  }

  peers(): readonly {
    readonly nodeId: NodeId;
    readonly lastHeardMs: number | undefined;
    readonly live: boolean;
  }[] {
    const all = new Set<NodeId>([...this.knownPeers, ...this.lastHeardMs.keys()]);
    return [...all].sort().map((nodeId) => ({
      nodeId,
      lastHeardMs: this.lastHeardMs.get(nodeId),
      live: this.isLive(nodeId),
    }));
  }

  /** Stops the node: no more frames or requests are served; replicas are closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.outbound.close();
    await Promise.allSettled([...this.busy.values()]);
    this.table.closeAll();
    this.log.info({ node: this.self }, 'node closed');
  }

  // ---- Incoming frames ----------------------------------------------------------------

  private drop(reason: FrameDropReason): void {
    this.counters.framesDropped[reason] += 1;
  }

  private onFrame(from: HostId, bytes: Uint8Array): void {
    this.counters.framesReceived += 1;
    if (this.closed) return this.drop('closed');
    if (this.blocked.has(from)) return this.drop('blocked');
    const decoded = decodeNodeMessage(bytes);
    if (decoded.kind === 'decode-error') return this.drop(decoded.reason);
    const peer = from as string as NodeId;
    this.lastHeardMs.set(peer, this.env.clock.monotonicMs());
    this.dispatch(peer, decoded.message);
  }

  private dispatch(from: NodeId, message: NodeMessage): void {
    switch (message.kind) {
      case 'cell':
        return this.onCellMessage(from, message.cellId, message.payload);
      case 'request':
        return this.onRequest(from, message.cellId, message.rpc, message.request, false);
      case 'submit':
        return this.onRequest(from, message.cellId, message.rpc, message.request, true);
      case 'create':
        return this.serveAdmin(from, message.cellId, message.rpc, () =>
          this.createHere(message.cellId, message.members),
        );
      case 'delete':
        return this.serveAdmin(from, message.cellId, message.rpc, () =>
          this.deleteHere(message.cellId, message.movedTo),
        );
      case 'locate':
        return this.send(from, {
          kind: 'located',
          cellId: message.cellId,
          rpc: message.rpc,
          location: this.where(message.cellId),
        });
      case 'describe':
        return void this.describeHere(message.cellId).then((answer) =>
          this.send(from, { kind: 'described', cellId: message.cellId, rpc: message.rpc, answer }),
        );
      case 'response':
        return this.answered(from, message.rpc, 'response', message.answer);
      case 'admin-reply':
        return this.answered(from, message.rpc, 'admin-reply', message.outcome);
      case 'located':
        return this.answered(from, message.rpc, 'located', message.location);
      case 'described':
        return this.answered(from, message.rpc, 'described', message.answer);
      case 'heartbeat':
        return;
      case 'test-block':
        if (this.options.testHooks !== true) return this.drop('hooks-disabled');
        this.blocked = new Set(message.blocked);
        this.log.warn({ blocked: message.blocked }, 'test hook: dropping frames of peers');
        return;
    }
  }

  private answered(from: NodeId, rpc: RpcId, kind: string, answer: unknown): void {
    if (!this.outbound.answer(from, rpc, kind, answer)) this.drop('unknown-request');
  }

  private onCellMessage(from: NodeId, cellId: CellId, payload: Uint8Array): void {
    let hosted = true;
    this.table.withReplica(
      cellId,
      () => (hosted = this.hosts(cellId)),
      (replica) => {
        if (replica !== undefined) replica.receive(from, payload);
        else this.drop(hosted ? 'cell-load-failed' : 'cell-not-hosted');
      },
    );
  }

  /** A forwarded request (served here only) or a client's submit (`route`: routed by this node). */
  private onRequest(from: NodeId, cellId: CellId, rpc: RpcId, bytes: Uint8Array, route: boolean): void {
    if (!this.recent.firstTime(from, rpc)) return this.drop('duplicate');
    const request = this.binding.decodeRequest(bytes);
    if (request === undefined) return this.drop('malformed');
    const reply = (answer: ForwardAnswer): void => this.send(from, { kind: 'response', cellId, rpc, answer });
    if (this.inboundInFlight >= this.limits.inboundRequestsMax) {
      this.drop('overloaded');
      return reply({
        kind: 'cell',
        response: this.binding.encodeResponse({ kind: 'overloaded', retryAfterMs: this.limits.leaderWaitMs }),
      });
    }
    this.inboundInFlight += 1;
    const serving = route ? this.submit(cellId, request) : this.serveForwarded(cellId, request);
    void serving.then((response) => {
      this.inboundInFlight -= 1;
      switch (response.kind) {
        case 'moved':
          return reply({ kind: 'moved', members: response.members });
        case 'not-found':
          return reply({ kind: 'not-found' });
        default:
          return reply({ kind: 'cell', response: this.binding.encodeResponse(response) });
      }
    });
  }

  private async serveForwarded(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    this.counters.requestsSubmitted += 1;
    const response = await this.submitHere(cellId, request);
    this.countResponse(response);
    return response;
  }

  private serveAdmin(from: NodeId, cellId: CellId, rpc: RpcId, run: () => Promise<AdminOutcome>): void {
    void run().then((outcome) => this.send(from, { kind: 'admin-reply', cellId, rpc, outcome }));
  }

  // ---- Sending and liveness -----------------------------------------------------------

  private send(to: NodeId, message: NodeMessage): void {
    if (this.closed || this.blocked.has(to)) return;
    this.counters.framesSent += 1;
    this.env.network.send(to as string as HostId, encodeNodeMessage(message));
  }

  private cellEnv(cellId: CellId): CellEnv {
    return {
      cellId,
      self: this.self,
      storage: this.env.storage,
      clock: this.env.clock,
      random: this.env.random.fork(`cell:${cellId}`),
      send: (to, payload) => this.send(to, { kind: 'cell', cellId, payload }),
    };
  }

  private isLive(peer: NodeId): boolean {
    if (peer === this.self || this.limits.heartbeatMs === 0) return true;
    const heard = this.lastHeardMs.get(peer);
    return heard !== undefined && this.env.clock.monotonicMs() - heard <= this.limits.peerLiveMs;
  }

  /** Live peers first (in a random order, spreading load), then the others. */
  private preferLive(members: readonly NodeId[]): NodeId[] {
    const shuffled = [...members];
    for (let index = shuffled.length - 1; index > 0; index -= 1) {
      const other = this.env.random.intBelow(index + 1);
      [shuffled[index], shuffled[other]] = [shuffled[other] as NodeId, shuffled[index] as NodeId];
    }
    return [
      ...shuffled.filter((peer) => this.isLive(peer)),
      ...shuffled.filter((peer) => !this.isLive(peer)),
    ];
  }

  // ---- The one timer: ticks, eviction, heartbeats ------------------------------------

  private desiredDelayMs(): number {
    if (this.table.activeCount > 0) return this.binding.tickMs;
    let delay = Number.POSITIVE_INFINITY;
    if (this.limits.heartbeatMs > 0 && this.knownPeers.length > 0) delay = this.limits.heartbeatMs;
    if (this.table.inMemory > 0)
      delay = Math.min(delay, Math.max(this.binding.tickMs, this.limits.idleEvictMs / 4));
    return delay;
  }

  private arm(): void {
    if (this.closed) return;
    const delay = this.desiredDelayMs();
    if (!Number.isFinite(delay)) return;
    const dueMs = this.env.clock.monotonicMs() + delay;
    if (this.timer !== undefined && this.timerDueMs <= dueMs) return;
    this.timer?.cancel();
    this.timerDueMs = dueMs;
    this.timer = this.env.clock.setTimer(delay, () => this.onTimer());
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDueMs = Number.POSITIVE_INFINITY;
    if (this.closed) return;
    this.counters.ticks += this.table.tickActive();
    this.table.evict();
    const nowMs = this.env.clock.monotonicMs();
    if (this.limits.heartbeatMs > 0 && nowMs - this.lastHeartbeatMs >= this.limits.heartbeatMs) {
      this.lastHeartbeatMs = nowMs;
      for (const peer of this.knownPeers) this.send(peer, { kind: 'heartbeat' });
    }
    this.arm();
  }

  // ---- Serving on this node -----------------------------------------------------------

  private hosts(cellId: CellId): boolean {
    return !this.busy.has(cellId) && this.registry.hosted(cellId) !== undefined;
  }

  /** Where this node says the cell is. */
  private where(cellId: CellId): Location {
    const members = this.registry.hosted(cellId);
    if (members !== undefined) return { kind: 'hosted', members };
    const pointer = this.registry.pointer(cellId, this.env.clock.nowMs());
    if (pointer !== undefined) {
      this.counters.forwardingPointersAnswered += 1;
      return { kind: 'moved', members: pointer.members };
    }
    return { kind: 'not-found' };
  }

  private async submitHere(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    const replica = await this.table.replica(cellId, () => this.hosts(cellId));
    if (replica !== undefined) {
      const answer = replica.submit(request);
      this.table.afterCall(cellId, replica); // it has work now: tick it, keep it in memory
      return answer;
    }
    const location = this.where(cellId);
    switch (location.kind) {
      case 'moved':
        return { kind: 'moved', cellId, members: location.members };
      case 'hosted':
        return { kind: 'unavailable', reason: 'cell is loading or changing on this node' };
      case 'not-found':
        return { kind: 'not-found', cellId };
    }
  }

  private async describeHere(cellId: CellId): Promise<DescribeAnswer> {
    const replica = await this.table.replica(cellId, () => this.hosts(cellId));
    if (replica !== undefined) return { kind: 'described', summary: summarize(replica) };
    const location = this.where(cellId);
    return location.kind === 'moved' ? location : { kind: 'not-found' };
  }

  /** Runs admin changes of one cell one at a time; the cell's frames are dropped meanwhile. */
  private async serialized(cellId: CellId, change: () => Promise<AdminOutcome>): Promise<AdminOutcome> {
    while (this.busy.has(cellId)) await this.busy.get(cellId);
    if (this.closed) return { kind: 'failed', reason: 'node closed' };
    if (this.busy.size >= this.limits.adminChangesMax)
      return { kind: 'failed', reason: 'overloaded: too many admin changes' };
    const running = change().catch((error: unknown) => {
      this.log.error({ cellId, error: String(error) }, 'admin change failed');
      return { kind: 'failed', reason: error instanceof Error ? error.message : String(error) } as const;
    });
    this.busy.set(cellId, running);
    try {
      return await running;
    } finally {
      this.busy.delete(cellId);
    }
  }

  private createHere(cellId: CellId, members: readonly NodeId[]): Promise<AdminOutcome> {
    return this.serialized(cellId, async () => {
      const existing = this.registry.hosted(cellId);
      if (existing !== undefined) {
        const replica = await this.table.replica(cellId, () => true);
        if (replica !== undefined) return { kind: 'exists', members: existing };
      }
      if (!members.includes(this.self)) return { kind: 'failed', reason: `${this.self} is not a member` };
      await this.binding.destroy(this.env.storage, cellId); // leftovers of an interrupted create
      await this.registry.host(cellId, members);
      const replica = await this.table.create(cellId, this.binding.create(this.cellEnv(cellId), members));
      if (replica === undefined) return { kind: 'failed', reason: 'replica could not be created' };
      this.counters.cellsCreated += 1;
      return { kind: 'created' };
    });
  }

  private deleteHere(cellId: CellId, movedTo: readonly NodeId[]): Promise<AdminOutcome> {
    return this.serialized(cellId, async () => {
      const existed = this.registry.hosted(cellId) !== undefined;
      await this.table.remove(cellId);
      await this.binding.destroy(this.env.storage, cellId);
      await this.registry.unhost(cellId, movedTo, this.env.clock.nowMs() + this.limits.forwardingPointerMs);
      this.locations.delete(cellId);
      if (movedTo.length > 0) this.remember(cellId, movedTo, undefined);
      if (!existed) return { kind: 'not-found' };
      this.counters.cellsDeleted += 1;
      this.log.info({ cellId, movedTo }, 'cell deleted');
      return { kind: 'deleted' };
    });
  }

  // ---- Routing client requests --------------------------------------------------------

  private remember(cellId: CellId, members: readonly NodeId[], leader: NodeId | undefined): void {
    this.locations.delete(cellId);
    this.locations.set(cellId, { members, leader });
    if (this.locations.size > this.limits.locationsMax) {
      const oldest = this.locations.keys().next();
      if (oldest.done !== true) this.locations.delete(oldest.value);
    }
  }

  /** The cell's members as this node knows them, asking the peers when it knows nothing. */
  private async locate(cellId: CellId): Promise<readonly NodeId[] | undefined> {
    const here = this.where(cellId);
    if (here.kind !== 'not-found') return here.members;
    const known = this.locations.get(cellId);
    if (known !== undefined) return known.members;
    const asked = this.preferLive(this.knownPeers.filter((peer) => !this.blocked.has(peer)));
    const members = await firstDefined(
      asked.map(async (peer) => {
        const outcome = await this.outbound.call<Location>(
          peer,
          'located',
          this.limits.requestTimeoutMs,
          (rpc) => this.send(peer, { kind: 'locate', cellId, rpc }),
        );
        return outcome.kind === 'answered' && outcome.answer.kind !== 'not-found'
          ? outcome.answer.members
          : undefined;
      }),
    );
    if (members !== undefined) this.remember(cellId, members, undefined);
    return members;
  }

  private async pickTarget(cellId: CellId, state: RouteState): Promise<NodeId | undefined> {
    const hint = state.hint;
    state.hint = undefined;
    if (hint !== undefined && !state.tried.has(hint)) return hint;
    state.members ??= await this.locate(cellId);
    if (state.members === undefined) return undefined;
    const leader = this.locations.get(cellId)?.leader;
    const candidates = state.members.filter((member) => !state.tried.has(member));
    if (leader !== undefined && candidates.includes(leader) && this.isLive(leader)) return leader;
    if (candidates.includes(this.self)) return this.self;
    return this.preferLive(candidates)[0];
  }

  private async route(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    const state: RouteState = { tried: new Set(), members: undefined, hint: undefined, last: undefined };
    for (let attempt = 0; attempt < this.limits.forwardAttemptsMax; attempt += 1) {
      const target = await this.pickTarget(cellId, state);
      if (target === undefined) break;
      const answer =
        target === this.self
          ? await this.submitHere(cellId, request)
          : await this.forward(target, cellId, request);
      if (answer.kind === 'timeout') {
        this.counters.requestsTimedOut += 1;
        return { kind: 'outcome-unknown' };
      }
      if (!(await this.followUp(cellId, target, answer, state))) return answer;
      state.last = answer;
    }
    return state.last ?? { kind: 'not-found', cellId };
  }

  /** After one attempt: true to try again (state updated), false when `answer` is final. */
  private async followUp(
    cellId: CellId,
    target: NodeId,
    answer: SubmitResponse,
    state: RouteState,
  ): Promise<boolean> {
    switch (answer.kind) {
      case 'moved':
        state.members = answer.members;
        this.remember(cellId, answer.members, undefined);
        state.tried.add(target);
        return true;
      case 'not-found':
      case 'unavailable':
        state.tried.add(target);
        return true;
      case 'not-leader': {
        const hint = answer.leaderHint;
        if (hint !== undefined && hint !== target && !state.tried.has(hint) && this.isLive(hint)) {
          state.hint = hint;
          state.tried.add(target);
        } else await this.wait(this.limits.leaderWaitMs); // an election is due; ask again
        return true;
      }
      case 'result':
      case 'lease':
        if (state.members !== undefined) this.remember(cellId, state.members, target);
        return false;
      case 'overloaded':
      case 'behind':
      case 'outcome-unknown':
      case 'invalid':
        return false;
    }
  }

  private async forward(target: NodeId, cellId: CellId, request: CellRequest): Promise<Attempt> {
    this.counters.requestsForwarded += 1;
    const bytes = this.binding.encodeRequest(request);
    const outcome = await this.outbound.call<ForwardAnswer>(
      target,
      'response',
      this.limits.requestTimeoutMs,
      (rpc) => this.send(target, { kind: 'request', cellId, rpc, request: bytes }),
    );
    switch (outcome.kind) {
      case 'timeout':
        return outcome;
      case 'overloaded':
        return { kind: 'overloaded', retryAfterMs: this.limits.leaderWaitMs };
      case 'closed':
        return { kind: 'unavailable', reason: 'node closed' };
      case 'answered':
        break;
    }
    const answer = outcome.answer;
    switch (answer.kind) {
      case 'moved':
        return { kind: 'moved', cellId, members: answer.members };
      case 'not-found':
        return { kind: 'not-found', cellId };
      case 'cell':
        return this.binding.decodeResponse(answer.response) ?? { kind: 'outcome-unknown' };
    }
  }

  private wait(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.env.clock.setTimer(delayMs, resolve));
  }

  /** Sends an admin message (or runs it here) until answered or the deadline passes. */
  private async adminUntil(
    member: NodeId,
    deadlineMs: number,
    message: (rpc: RpcId) => NodeMessage,
    here: () => Promise<AdminOutcome>,
  ): Promise<AdminOutcome | undefined> {
    if (member === this.self) return here();
    while (!this.closed && this.env.clock.monotonicMs() < deadlineMs) {
      const outcome = await this.outbound.call<AdminOutcome>(
        member,
        'admin-reply',
        this.limits.adminRetryMs,
        (rpc) => this.send(member, message(rpc)),
      );
      if (outcome.kind === 'answered') return outcome.answer;
      if (outcome.kind === 'closed') return undefined;
      if (outcome.kind === 'overloaded') await this.wait(this.limits.adminRetryMs);
    }
    return undefined;
  }

  private countResponse(response: SubmitResponse): void {
    switch (response.kind) {
      case 'result':
      case 'lease':
        this.counters.commits += 1;
        return;
      default:
        this.counters.rejections += 1;
    }
  }
}

function summarize(replica: CellReplicaLike): CellSummary {
  const description = replica.describe();
  return {
    members: description.members,
    isLeader: description.isLeader,
    leaderHint: description.leaderHint,
    appliedIndex: description.appliedIndex,
    commitIndex: description.commitIndex,
    digest: description.digest,
    pendingRequests: description.pendingRequests,
  };
}

function acknowledged(outcomes: ReadonlyMap<NodeId, AdminOutcome>, members: readonly NodeId[]): NodeId[] {
  const same = members.join('\u0000');
  return [...outcomes]
    .filter(
      ([, outcome]) =>
        outcome.kind === 'created' || (outcome.kind === 'exists' && outcome.members.join('\u0000') === same),
    )
    .map(([member]) => member)
    .sort();
}

function createResult(
  cellId: CellId,
  members: readonly NodeId[],
  outcomes: ReadonlyMap<NodeId, AdminOutcome>,
): CreateCellResult {
  const acks = acknowledged(outcomes, members);
  for (const outcome of outcomes.values()) {
    if (outcome.kind === 'exists' && outcome.members.join('\u0000') !== members.join('\u0000'))
      return { kind: 'invalid', reason: `cell exists with members ${outcome.members.join(',')}` };
  }
  if (acks.length < quorumSize(members))
    return { kind: 'unavailable', reason: 'fewer than a quorum of members answered', acknowledgedBy: acks };
  const allExisted = [...outcomes.values()].every((outcome) => outcome.kind === 'exists');
  if (allExisted) return { kind: 'exists', cellId, members };
  return { kind: 'created', cellId, members, acknowledgedBy: acks };
}

/** The first defined value among the promises, or undefined once all resolved without one. */
function firstDefined<T>(promises: readonly Promise<T | undefined>[]): Promise<T | undefined> {
  if (promises.length === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let pending = promises.length;
    for (const promise of promises) {
      void promise.then((value) => {
        pending -= 1;
        if (value !== undefined) resolve(value);
        else if (pending === 0) resolve(undefined);
      });
    }
  });
}
