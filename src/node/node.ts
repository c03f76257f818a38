// One node: a host running many cell replicas on the env interfaces only (HostEnv), so the
// same code runs in the simulator and in a real process (paper §2.1). It demultiplexes the
// node wire format, loads and evicts replicas, ticks the busy ones from one timer, forwards
// client and admin requests to a replica of the cell, answers with forwarding pointers (§2.5),
// delivers cell messages by incarnation (`n3#2`, §2.4 ABA), retires replicas a reconfiguration
// removed, and runs membership changes and moves (reconfigure.ts).
import { hostOfMember } from '../cell/index.ts';
import type { HostEnv, HostId, TimerHandle } from '../env/index.ts';
import { quorumSize } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { utf8 } from './bytes.ts';
import type {
  CellAdminRequest,
  CellAdminResponse,
  CellBinding,
  CellEnv,
  CellId,
  CellMembershipStatus,
  CellReplicaLike,
  CellRequest,
  MembershipChange,
  ReplicaHooks,
} from './cell-contract.ts';
import { CellTable } from './cell-table.ts';
import { defaultNodeLimits } from './limits.ts';
import type { NodeLimits } from './limits.ts';
import { changeMembers, moveCell } from './reconfigure.ts';
import type { ReconfigurePorts, ReconfigureTiming } from './reconfigure.ts';
import { CellRegistry } from './registry.ts';
import { OutboundRequests, RecentRequests } from './rpc.ts';
import { frameDropReasons } from './service.ts';
import type {
  AdminCellResponse,
  CreateCellResult,
  DeleteCellResult,
  DescribeCellResult,
  FrameDropReason,
  HostedCell,
  MoveResult,
  NodeMetrics,
  NodeService,
  ReconfigureOptions,
  ReconfigureResult,
  SubmitResponse,
} from './service.ts';
import { cellIdBytesMax, decodeNodeMessage, encodeNodeMessage, membersMax, nodeIdBytesMax } from './wire.ts';
import type {
  AdminAnswer,
  AdminOutcome,
  CellCallAnswer,
  CellSummary,
  DescribeAnswer,
  ForwardAnswer,
  Location,
  MoveOutcome,
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

/** What a forwarded call can end in besides the cell's own answer (both response types hold these). */
type ForwardRouting =
  | { readonly kind: 'overloaded'; readonly retryAfterMs: number }
  | { readonly kind: 'unavailable'; readonly reason: string }
  | { readonly kind: 'not-found'; readonly cellId: CellId }
  | { readonly kind: 'moved'; readonly cellId: CellId; readonly members: readonly NodeId[] };

/** One attempt of routing a request to one node: its answer, or none in time. */
type Attempt<T> = { readonly kind: 'answered'; readonly answer: T } | { readonly kind: 'timeout' };

/** An attempt made before routing started (at this node's leading replica) and its answer. */
interface FirstTry<T> {
  readonly target: NodeId;
  readonly answer: T;
}

/** What one answer means for routing: done (at the leader, or not), or where to try next. */
type RouteHop =
  | { readonly kind: 'final'; readonly atLeader: boolean }
  | { readonly kind: 'moved'; readonly members: readonly NodeId[] }
  | { readonly kind: 'next' }
  | { readonly kind: 'not-leader'; readonly hint: NodeId | undefined };

/** Routing state of one request. Members and hints are node ids (hosts), not member ids. */
interface RouteState {
  readonly tried: Set<NodeId>;
  members: readonly NodeId[] | undefined;
  hint: NodeId | undefined;
}

/** The distinct nodes that run `members` (member ids `n3#2` run on node `n3`). */
function hostsOf(members: readonly NodeId[]): NodeId[] {
  return [...new Set(members.map((member) => hostOfMember(member) as NodeId))];
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
    cellsRetired: 0,
    reconfigurations: 0,
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
  // A UTF-16 code unit takes at most 3 bytes of UTF-8: short ids need no encoding (every request).
  if (cellId.length * 3 > cellIdBytesMax && utf8(cellId).length > cellIdBytesMax)
    return `cell id is over ${cellIdBytesMax} bytes`;
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
  /** Client requests this node's replicas are serving (submitted here, not yet answered). */
  private clientRequestsServing = 0;
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
  /** Where cells live (nodes), as learned from creation, answers and pointers (bounded, LRU). */
  private readonly locations = new Map<CellId, { members: readonly NodeId[]; leader: NodeId | undefined }>();
  /** Cells whose removed replica waits out retireAfterMs before it is deleted. */
  private readonly retiring = new Set<CellId>();
  /** Cells a membership change or move runs for on this node (one at a time per cell). */
  private readonly reconfiguring = new Set<CellId>();
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
    this.table = new CellTable((cellId) => this.loadReplica(cellId), this.env.clock, this.limits, {
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
    const problem =
      cellIdProblem(cellId) ??
      membersProblem(members) ??
      (members.some((member) => member.includes('#'))
        ? 'create a cell on node ids; member ids host#k are made by reconfiguration'
        : undefined);
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
      case 'learning':
      case 'failed':
        return { kind: 'unavailable', reason: outcome.kind === 'failed' ? outcome.reason : outcome.kind };
    }
  }

  /** Describes the cell from a replica of it, following forwarding pointers (bounded hops). */
  async describeCell(cellId: CellId): Promise<DescribeCellResult> {
    if (cellIdProblem(cellId) !== undefined) return { kind: 'not-found', cellId };
    const here = await this.describeHere(cellId);
    if (here.kind === 'described') return { kind: 'described', summary: here.summary, answeredBy: this.self };
    const members = here.kind === 'moved' ? hostsOf(here.members) : await this.locate(cellId);
    if (members === undefined) return { kind: 'not-found', cellId };
    let pointer = here.kind === 'moved' ? here.members : undefined;
    const tried = new Set<NodeId>([this.self]);
    const queue = this.preferLive(members);
    for (let hops = 0; queue.length > 0;) {
      const member = queue.shift() as NodeId;
      if (tried.has(member)) continue;
      tried.add(member);
      const outcome = await this.outbound.call<DescribeAnswer>(
        member,
        'described',
        this.limits.requestTimeoutMs,
        (rpc) => this.send(member, { kind: 'describe', cellId, rpc }),
      );
      if (outcome.kind !== 'answered') continue;
      if (outcome.answer.kind === 'described')
        return { kind: 'described', summary: outcome.answer.summary, answeredBy: member };
      if (outcome.answer.kind === 'moved' && hops < this.limits.forwardAttemptsMax) {
        // A newer pointer: where the cell went after `member` left. Ask there first.
        hops += 1;
        pointer = outcome.answer.members;
        queue.unshift(...this.preferLive(hostsOf(pointer).filter((next) => !tried.has(next))));
      }
    }
    if (pointer !== undefined) return { kind: 'moved', cellId, members: pointer };
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
    const response = await this.routeSubmit(cellId, request);
    this.countResponse(response);
    return response;
  }

  private async routeSubmit(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    // The common case, a client that found the leader: its replica is in memory here and
    // leads, so it takes the request without a lookup of where the cell is. An answer that
    // would send routing on (it lost the lead meanwhile) routes as usual.
    let firstTry: FirstTry<SubmitResponse> | undefined;
    if (this.table.peek(cellId)?.isLeader === true && !this.busy.has(cellId)) {
      const answer = await this.submitHere(cellId, request);
      if (submitHop(answer).kind === 'final') return answer;
      firstTry = { target: this.self, answer };
    }
    const routed = await this.route<SubmitResponse>(
      cellId,
      (target) =>
        target === this.self
          ? this.reached(this.submitHere(cellId, request))
          : this.forward(target, cellId, request),
      submitHop,
      firstTry,
    );
    if (routed === undefined) return { kind: 'not-found', cellId };
    if (routed.kind === 'answered') return routed.answer;
    this.counters.requestsTimedOut += 1;
    return { kind: 'outcome-unknown' };
  }

  async adminCell(cellId: CellId, request: CellAdminRequest): Promise<AdminCellResponse> {
    if (cellIdProblem(cellId) !== undefined) return { kind: 'not-found', cellId };
    if (this.closed) return { kind: 'unavailable', reason: 'node closed' };
    const routed = await this.route<AdminCellResponse>(
      cellId,
      (target) =>
        target === this.self
          ? this.reached(this.adminHere(cellId, request))
          : this.forwardAdmin(target, cellId, request),
      adminHop,
    );
    if (routed === undefined) return { kind: 'not-found', cellId };
    return routed.kind === 'answered' ? routed.answer : { kind: 'outcome-unknown' };
  }

  changeMembers(
    cellId: CellId,
    change: MembershipChange,
    options: ReconfigureOptions = {},
  ): Promise<ReconfigureResult> {
    return this.reconfigureExclusively(
      cellId,
      async (ports, timing) => {
        const deadlineMs =
          this.env.clock.monotonicMs() + (options.timeoutMs ?? this.limits.reconfigureTimeoutMs);
        const result = await changeMembers(ports, timing, cellId, change, deadlineMs);
        if (result.kind === 'reconfigured') this.noteStep(cellId, result.step.members);
        return result;
      },
      (failure) => failure,
    );
  }

  moveCell(
    cellId: CellId,
    targets: readonly NodeId[],
    options: ReconfigureOptions = {},
  ): Promise<MoveResult> {
    return this.reconfigureExclusively(
      cellId,
      (ports, timing) => {
        const deadlineMs = this.env.clock.monotonicMs() + (options.timeoutMs ?? this.limits.moveTimeoutMs);
        return moveCell(ports, timing, cellId, targets, deadlineMs, (step) => {
          this.noteStep(cellId, step.members);
          options.onStep?.(step);
        });
      },
      (failure) => ({ kind: 'move-failed', cellId, failure, steps: [] }),
    );
  }

  listCells(options: { readonly afterCellId?: CellId; readonly limit?: number } = {}): readonly HostedCell[] {
    const limit = Math.max(0, Math.min(options.limit ?? this.limits.listCellsMax, this.limits.listCellsMax));
    return this.registry.list(options.afterCellId, limit).map(({ cellId, self, members }) => ({
      cellId,
      member: self ?? this.self,
      members,
      loaded: this.table.isLoaded(cellId),
    }));
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
    // Runs for every message: the admin kinds' closures live in dispatchAdmin, so that this
    // function captures nothing (V8 would allocate the captured variables on every call).
    switch (message.kind) {
      case 'cell':
        return this.onCellMessage(message.cellId, from, this.self, message.payload);
      case 'cell-to':
        if (hostOfMember(message.from) !== from || hostOfMember(message.to) !== this.self)
          return this.drop('wrong-member');
        return this.onCellMessage(message.cellId, message.from, message.to, message.payload);
      case 'request':
        return this.onRequest(from, message.cellId, message.rpc, message.request, false);
      case 'submit':
        return this.onRequest(from, message.cellId, message.rpc, message.request, true);
      case 'create':
      case 'delete':
      case 'learn':
      case 'retire':
        return this.dispatchAdmin(from, message);
      case 'cell-admin':
        return this.onCellAdmin(from, message.cellId, message.rpc, message.request);
      case 'move':
        return this.onMove(from, message.cellId, message.rpc, message.targets, message.timeoutMs);
      case 'locate':
        return this.send(from, {
          kind: 'located',
          cellId: message.cellId,
          rpc: message.rpc,
          location: this.where(message.cellId),
        });
      case 'describe':
        return this.onDescribe(from, message.cellId, message.rpc);
      case 'response':
        return this.answered(from, message.rpc, 'response', message.answer);
      case 'admin-reply':
        return this.answered(from, message.rpc, 'admin-reply', message.outcome);
      case 'cell-admin-reply':
        return this.answered(from, message.rpc, 'cell-admin-reply', message.answer);
      case 'move-reply':
        return this.answered(from, message.rpc, 'move-reply', message.outcome);
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

  private onDescribe(from: NodeId, cellId: CellId, rpc: RpcId): void {
    void this.describeHere(cellId).then((answer) =>
      this.send(from, { kind: 'described', cellId, rpc, answer }),
    );
  }

  /** The node-level admin requests (create, delete, learn, retire): served and answered. */
  private dispatchAdmin(
    from: NodeId,
    message: Extract<NodeMessage, { kind: 'create' | 'delete' | 'learn' | 'retire' }>,
  ): void {
    switch (message.kind) {
      case 'create':
        return this.serveAdmin(from, message.cellId, message.rpc, () =>
          this.createHere(message.cellId, message.members),
        );
      case 'delete':
        return this.serveAdmin(from, message.cellId, message.rpc, () =>
          this.deleteHere(message.cellId, message.movedTo),
        );
      case 'learn':
        return this.serveAdmin(from, message.cellId, message.rpc, () =>
          this.learnHere(message.cellId, message.members),
        );
      case 'retire':
        return this.serveAdmin(from, message.cellId, message.rpc, () =>
          this.retireHere(message.cellId, message.member, message.movedTo),
        );
    }
  }

  private answered(from: NodeId, rpc: RpcId, kind: string, answer: unknown): void {
    if (!this.outbound.answer(from, rpc, kind, answer)) this.drop('unknown-request');
  }

  /** A cell message from member `from` to member `to`: delivered only to the replica running as `to`. */
  private onCellMessage(cellId: CellId, from: NodeId, to: NodeId, payload: Uint8Array): void {
    // In memory as the member addressed (almost every message): no closures, and none of
    // the slow path's captured variables (V8 would allocate their context on every call).
    const loaded = this.table.touchLoaded(cellId, to);
    if (loaded !== undefined) {
      loaded.receive(from, payload);
      this.table.afterCall(cellId, loaded);
      return;
    }
    this.onCellMessageLoading(cellId, from, to, payload);
  }

  /** A cell message for a replica not in memory as the member addressed: load it first. */
  private onCellMessageLoading(cellId: CellId, from: NodeId, to: NodeId, payload: Uint8Array): void {
    let reason: FrameDropReason = 'cell-load-failed';
    const hosted = (): boolean => {
      const record = this.registry.hosted(cellId);
      if (record === undefined || this.busy.has(cellId)) reason = 'cell-not-hosted';
      else if ((record.self ?? this.self) !== to) reason = 'stale-incarnation';
      else return true;
      return false;
    };
    this.table.withReplica(cellId, hosted, (replica) => {
      if (replica === undefined) return this.drop(reason);
      if (this.table.selfOf(cellId) !== to) return this.drop('stale-incarnation');
      replica.receive(from, payload);
    });
  }

  /** A forwarded admin request: served by this node's replica only, never forwarded on. */
  private onCellAdmin(from: NodeId, cellId: CellId, rpc: RpcId, request: CellAdminRequest): void {
    if (!this.recent.firstTime(from, rpc)) return this.drop('duplicate');
    void this.adminHere(cellId, request).then((response) => {
      const answer: AdminAnswer =
        response.kind === 'moved'
          ? { kind: 'moved', members: response.members }
          : response.kind === 'not-found'
            ? { kind: 'not-found' }
            : { kind: 'cell', response };
      this.send(from, { kind: 'cell-admin-reply', cellId, rpc, answer });
    });
  }

  /** A peer (the control plane) asks this node to run a move and answer when it ends. */
  private onMove(
    from: NodeId,
    cellId: CellId,
    rpc: RpcId,
    targets: readonly NodeId[],
    timeoutMs: number,
  ): void {
    if (!this.recent.firstTime(from, rpc)) return this.drop('duplicate');
    void this.moveCell(cellId, targets, { timeoutMs }).then((result) => {
      const outcome: MoveOutcome =
        result.kind === 'moved-cell'
          ? { kind: 'moved-cell', members: result.members, steps: result.steps.length }
          : {
              kind: 'move-failed',
              failure: result.failure.kind,
              reason: 'reason' in result.failure ? result.failure.reason : result.failure.kind,
              steps: result.steps.length,
            };
      this.send(from, { kind: 'move-reply', cellId, rpc, outcome });
    });
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
    this.sendEncoded(to, encodeNodeMessage(message));
  }

  private sendEncoded(to: NodeId, bytes: Uint8Array): void {
    if (this.closed || this.blocked.has(to)) return;
    this.counters.framesSent += 1;
    this.env.network.send(to as string as HostId, bytes);
  }

  /**
   * The last plain cell message encoded, by its cell and payload: a replica broadcasts one
   * payload object to its peers one after another (CellEnv.send), and the node encodes it
   * once for all.
   */
  private lastCellMessage: { cellId: CellId; payload: Uint8Array; bytes: Uint8Array } | undefined;

  private sendCellPayload(to: NodeId, cellId: CellId, payload: Uint8Array): void {
    let last = this.lastCellMessage;
    if (last === undefined || last.payload !== payload || last.cellId !== cellId) {
      last = { cellId, payload, bytes: encodeNodeMessage({ kind: 'cell', cellId, payload }) };
      this.lastCellMessage = last;
    }
    this.sendEncoded(to, last.bytes);
  }

  /** The environment of the cell's replica that runs as member `self`. */
  private cellEnv(cellId: CellId, self: NodeId): CellEnv {
    const plain = self === this.self;
    return {
      cellId,
      self,
      storage: this.env.storage,
      clock: this.env.clock,
      random: this.env.random.fork(plain ? `cell:${cellId}` : `cell:${cellId}:${self}`),
      send: (to, payload) => {
        const host = hostOfMember(to) as NodeId;
        // Plain frames between plain ids; addressed frames when either side is an incarnation.
        if (plain && host === to) this.sendCellPayload(host, cellId, payload);
        else this.send(host, { kind: 'cell-to', cellId, to, from: self, payload });
      },
    };
  }

  /** Hooks of a replica running as `self`: when it applies its own removal, retire it later. */
  private hooksFor(cellId: CellId, self: NodeId): ReplicaHooks {
    return { onRemoved: () => this.scheduleRetire(cellId, self), hostQuiet: this.hostQuiet };
  }

  /** Quiet: few enough client requests served here that thrifty accepts pay off. */
  private readonly hostQuiet = (): boolean => this.clientRequestsServing <= this.limits.thriftyRequestsMax;

  /** Loads a hosted cell's replica from storage, as the member id the registry names. */
  private loadReplica(cellId: CellId): { self: NodeId; loading: Promise<CellReplicaLike | undefined> } {
    const self = this.registry.hosted(cellId)?.self ?? this.self;
    return { self, loading: this.binding.load(this.cellEnv(cellId, self), this.hooksFor(cellId, self)) };
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

  /** Where this node says the cell is (the in-memory replica's membership is the freshest). */
  private where(cellId: CellId): Location {
    const record = this.registry.hosted(cellId);
    if (record !== undefined)
      return { kind: 'hosted', members: this.table.peek(cellId)?.membership().members ?? record.members };
    const pointer = this.registry.pointer(cellId, this.env.clock.nowMs());
    if (pointer !== undefined) {
      this.counters.forwardingPointersAnswered += 1;
      return { kind: 'moved', members: pointer.members };
    }
    return { kind: 'not-found' };
  }

  private submitHere(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    const loaded = this.table.touchLoaded(cellId);
    return loaded !== undefined
      ? this.submitTo(cellId, loaded, request)
      : this.submitHereLoading(cellId, request);
  }

  private async submitTo(
    cellId: CellId,
    replica: CellReplicaLike,
    request: CellRequest,
  ): Promise<SubmitResponse> {
    this.clientRequestsServing += 1;
    const answer = replica.submit(request);
    this.table.afterCall(cellId, replica); // it has work now: tick it, keep it in memory
    try {
      return await answer;
    } finally {
      this.clientRequestsServing -= 1;
    }
  }

  /** Submits once the replica is loaded (if this node hosts the cell), else says where it is. */
  private async submitHereLoading(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    const replica = await this.table.replica(cellId, () => this.hosts(cellId));
    if (replica !== undefined) return this.submitTo(cellId, replica, request);
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

  private async adminHere(cellId: CellId, request: CellAdminRequest): Promise<AdminCellResponse> {
    const replica = await this.table.replica(cellId, () => this.hosts(cellId));
    if (replica !== undefined) {
      const answer = replica.admin(request);
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
    if (replica !== undefined) {
      const status = replica.membership();
      // A removed replica lingers until it retires, and its view stops at its removal: it
      // points on, as the forwarding pointer it leaves when it retires will.
      if (status.removedFrom === undefined) return { kind: 'described', summary: summarize(replica) };
      return { kind: 'moved', members: onwardMembers(status, this.table.selfOf(cellId) ?? this.self) };
    }
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
        if (replica !== undefined) return { kind: 'exists', members: existing.members };
      }
      if (!members.includes(this.self)) return { kind: 'failed', reason: `${this.self} is not a member` };
      await this.binding.destroy(this.env.storage, cellId); // leftovers of an interrupted create
      await this.registry.host(cellId, this.self, members);
      const replica = await this.table.create(cellId, this.self, () =>
        this.binding.create(this.cellEnv(cellId, this.self), members, this.hooksFor(cellId, this.self)),
      );
      if (replica === undefined) return { kind: 'failed', reason: 'replica could not be created' };
      this.counters.cellsCreated += 1;
      return { kind: 'created' };
    });
  }

  /**
   * Starts an empty learner of the cell here as a fresh incarnation `self#k` (paper §2.4), told
   * `members` (the current membership, without it). A replica of the cell already here that is
   * not among `members` (a learner never added, or a removed member) is wiped first: it never
   * answers again under its id, so this is safe whatever it had voted.
   */
  private learnHere(cellId: CellId, members: readonly NodeId[]): Promise<AdminOutcome> {
    return this.serialized(cellId, async () => {
      const present = members.find((member) => hostOfMember(member) === this.self);
      if (present !== undefined)
        return { kind: 'failed', reason: `${this.self} already runs member ${present}` };
      await this.table.remove(cellId);
      await this.binding.destroy(this.env.storage, cellId);
      const incarnation = this.registry.nextIncarnation();
      const self = `${this.self}#${incarnation}` as NodeId;
      await this.registry.host(cellId, self, members, incarnation); // durable before anyone hears of `self`
      const replica = await this.table.create(cellId, self, () =>
        this.binding.create(this.cellEnv(cellId, self), members, this.hooksFor(cellId, self)),
      );
      if (replica === undefined) return { kind: 'failed', reason: 'replica could not be created' };
      this.counters.cellsCreated += 1;
      this.log.info({ cellId, member: self, members }, 'learner created');
      return { kind: 'learning', member: self };
    });
  }

  /** Deletes the replica running as `member` (removed from the cell), leaving a pointer to `movedTo`. */
  private retireHere(cellId: CellId, member: NodeId, movedTo: readonly NodeId[]): Promise<AdminOutcome> {
    return this.serialized(cellId, async () => {
      const record = this.registry.hosted(cellId);
      if (record === undefined || (record.self ?? this.self) !== member) return { kind: 'not-found' };
      await this.table.remove(cellId);
      await this.binding.destroy(this.env.storage, cellId);
      await this.registry.unhost(cellId, movedTo, this.env.clock.nowMs() + this.limits.forwardingPointerMs);
      this.locations.delete(cellId);
      if (movedTo.length > 0) this.remember(cellId, hostsOf(movedTo), undefined);
      this.counters.cellsRetired += 1;
      this.log.info({ cellId, member, movedTo }, 'removed replica retired');
      return { kind: 'deleted' };
    });
  }

  /** A replica applied its own removal: after retireAfterMs (it may still vote below that), retire it. */
  private scheduleRetire(cellId: CellId, self: NodeId): void {
    if (this.closed || this.retiring.has(cellId) || this.retiring.size >= this.limits.retiresPendingMax)
      return;
    this.retiring.add(cellId);
    this.env.clock.setTimer(this.limits.retireAfterMs, () => {
      void this.retireRemoved(cellId, self).finally(() => this.retiring.delete(cellId));
    });
  }

  private async retireRemoved(cellId: CellId, self: NodeId): Promise<void> {
    if (this.closed || (this.registry.hosted(cellId)?.self ?? this.self) !== self) return;
    const replica = await this.table.replica(cellId, () => this.hosts(cellId));
    const status = replica?.membership();
    if (status === undefined || (status.isMember && status.removedFrom === undefined)) return;
    await this.retireHere(cellId, self, onwardMembers(status, self));
  }

  private deleteHere(cellId: CellId, movedTo: readonly NodeId[]): Promise<AdminOutcome> {
    return this.serialized(cellId, async () => {
      const existed = this.registry.hosted(cellId) !== undefined;
      await this.table.remove(cellId);
      await this.binding.destroy(this.env.storage, cellId);
      await this.registry.unhost(cellId, movedTo, this.env.clock.nowMs() + this.limits.forwardingPointerMs);
      this.locations.delete(cellId);
      if (movedTo.length > 0) this.remember(cellId, hostsOf(movedTo), undefined);
      if (!existed) return { kind: 'not-found' };
      this.counters.cellsDeleted += 1;
      this.log.info({ cellId, movedTo }, 'cell deleted');
      return { kind: 'deleted' };
    });
  }

  // ---- Routing client requests --------------------------------------------------------

  /** Remembers where the cell lives: `nodes` are node ids (not member ids), `leader` one of them. */
  private remember(cellId: CellId, nodes: readonly NodeId[], leader: NodeId | undefined): void {
    this.locations.delete(cellId);
    this.locations.set(cellId, { members: nodes, leader });
    if (this.locations.size > this.limits.locationsMax) {
      const oldest = this.locations.keys().next();
      if (oldest.done !== true) this.locations.delete(oldest.value);
    }
  }

  /** The nodes of the cell as this node knows them, asking the peers when it knows nothing. */
  private async locate(cellId: CellId): Promise<readonly NodeId[] | undefined> {
    const here = this.where(cellId);
    if (here.kind !== 'not-found') return hostsOf(here.members);
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
          ? hostsOf(outcome.answer.members)
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

  /**
   * Routes a request to a node of the cell (this one or a peer), following moves and
   * not-leader hints, at most forwardAttemptsMax attempts. Undefined: no node of the cell
   * was found; a timeout ends routing (the outcome is unknown).
   */
  private async route<T>(
    cellId: CellId,
    attempt: (target: NodeId) => Promise<Attempt<T>>,
    hopOf: (answer: T) => RouteHop,
    firstTry?: FirstTry<T>,
  ): Promise<Attempt<T> | undefined> {
    const state: RouteState = { tried: new Set(), members: undefined, hint: undefined };
    let last: Attempt<T> | undefined;
    let count = 0;
    if (firstTry !== undefined) {
      // An attempt the caller made already: routing goes on from its answer.
      last = { kind: 'answered', answer: firstTry.answer };
      count += 1;
      if (!(await this.followUp(cellId, firstTry.target, hopOf(firstTry.answer), state))) return last;
    }
    for (; count < this.limits.forwardAttemptsMax; count += 1) {
      const target = await this.pickTarget(cellId, state);
      if (target === undefined) break;
      const reached = await attempt(target);
      if (reached.kind === 'timeout') return reached;
      if (!(await this.followUp(cellId, target, hopOf(reached.answer), state))) return reached;
      last = reached;
    }
    return last;
  }

  /** After one attempt: true to try again (state updated), false when the answer is final. */
  private async followUp(cellId: CellId, target: NodeId, hop: RouteHop, state: RouteState): Promise<boolean> {
    switch (hop.kind) {
      case 'moved':
        state.members = hostsOf(hop.members);
        this.remember(cellId, state.members, undefined);
        state.tried.add(target);
        return true;
      case 'next':
        state.tried.add(target);
        return true;
      case 'not-leader': {
        const hint = hop.hint === undefined ? undefined : (hostOfMember(hop.hint) as NodeId);
        if (hint !== undefined && hint !== target && !state.tried.has(hint) && this.isLive(hint)) {
          state.hint = hint;
          state.tried.add(target);
        } else await this.wait(this.limits.leaderWaitMs); // an election is due; ask again
        return true;
      }
      case 'final':
        if (hop.atLeader && state.members !== undefined) this.remember(cellId, state.members, target);
        return false;
    }
  }

  private async reached<T>(answer: Promise<T>): Promise<Attempt<T>> {
    return { kind: 'answered', answer: await answer };
  }

  private async forward(
    target: NodeId,
    cellId: CellId,
    request: CellRequest,
  ): Promise<Attempt<SubmitResponse>> {
    this.counters.requestsForwarded += 1;
    const bytes = this.binding.encodeRequest(request);
    return this.forwardCall<Uint8Array, SubmitResponse>(
      target,
      cellId,
      'response',
      (rpc) => this.send(target, { kind: 'request', cellId, rpc, request: bytes }),
      (response) => this.binding.decodeResponse(response) ?? { kind: 'outcome-unknown' },
    );
  }

  private forwardAdmin(
    target: NodeId,
    cellId: CellId,
    request: CellAdminRequest,
  ): Promise<Attempt<AdminCellResponse>> {
    return this.forwardCall<CellAdminResponse, AdminCellResponse>(
      target,
      cellId,
      'cell-admin-reply',
      (rpc) => this.send(target, { kind: 'cell-admin', cellId, rpc, request }),
      (response) => response,
    );
  }

  /**
   * Sends one forwarded request and maps its answer: the cell's own (through `fromCell`),
   * a forwarding pointer, not-found, or the call's failure (overloaded, closed, timeout).
   */
  private async forwardCall<CellAnswer, Response>(
    target: NodeId,
    cellId: CellId,
    replyKind: 'response' | 'cell-admin-reply',
    sendRequest: (rpc: RpcId) => void,
    fromCell: (response: CellAnswer) => Response,
  ): Promise<Attempt<Response | ForwardRouting>> {
    const outcome = await this.outbound.call<CellCallAnswer<CellAnswer>>(
      target,
      replyKind,
      this.limits.requestTimeoutMs,
      sendRequest,
    );
    const answered = (answer: Response | ForwardRouting): Attempt<Response | ForwardRouting> => ({
      kind: 'answered',
      answer,
    });
    switch (outcome.kind) {
      case 'timeout':
        return outcome;
      case 'overloaded':
        return answered({ kind: 'overloaded', retryAfterMs: this.limits.leaderWaitMs });
      case 'closed':
        return answered({ kind: 'unavailable', reason: 'node closed' });
      case 'answered':
        break;
    }
    const answer = outcome.answer;
    switch (answer.kind) {
      case 'moved':
        return answered({ kind: 'moved', cellId, members: answer.members });
      case 'not-found':
        return answered({ kind: 'not-found', cellId });
      case 'cell':
        return answered(fromCell(answer.response));
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

  // ---- Reconfiguration ----------------------------------------------------------------

  /** Runs one change or move of the cell; refuses a second one of the same cell meanwhile. */
  private async reconfigureExclusively<T>(
    cellId: CellId,
    run: (ports: ReconfigurePorts, timing: ReconfigureTiming) => Promise<T>,
    refuse: (
      failure: Extract<
        ReconfigureResult,
        { kind: 'invalid-change' | 'config-change-in-progress' | 'unavailable' }
      >,
    ) => T,
  ): Promise<T> {
    const problem = cellIdProblem(cellId);
    if (problem !== undefined) return refuse({ kind: 'invalid-change', reason: problem });
    if (this.closed) return refuse({ kind: 'unavailable', reason: 'node closed' });
    if (this.reconfiguring.has(cellId)) return refuse({ kind: 'config-change-in-progress' });
    if (this.reconfiguring.size >= this.limits.reconfigurationsMax)
      return refuse({ kind: 'unavailable', reason: 'overloaded: too many reconfigurations on this node' });
    this.reconfiguring.add(cellId);
    try {
      return await run(this.reconfigurePorts(), {
        pollMs: this.limits.reconfigurePollMs,
        caughtUpEntries: this.limits.caughtUpEntries,
        changeInProgressWaitMs: this.limits.changeInProgressWaitMs,
        retireTimeoutMs: this.limits.createTimeoutMs,
      });
    } finally {
      this.reconfiguring.delete(cellId);
    }
  }

  private noteStep(cellId: CellId, members: readonly NodeId[]): void {
    this.counters.reconfigurations += 1;
    this.remember(cellId, hostsOf(members), undefined);
    this.log.info({ cellId, members }, 'membership changed');
  }

  private reconfigurePorts(): ReconfigurePorts {
    return {
      nowMs: () => this.env.clock.monotonicMs(),
      stopped: () => this.closed,
      sleep: (ms) => this.wait(ms),
      describe: (cellId) => this.describeCell(cellId),
      describeAt: async (host, cellId) => {
        if (host === this.self) return this.describeHere(cellId);
        const outcome = await this.outbound.call<DescribeAnswer>(
          host,
          'described',
          this.limits.requestTimeoutMs,
          (rpc) => this.send(host, { kind: 'describe', cellId, rpc }),
        );
        return outcome.kind === 'answered' ? outcome.answer : undefined;
      },
      admin: (cellId, request) => this.adminCell(cellId, request),
      learnAt: (host, cellId, members, deadlineMs) =>
        this.adminUntil(
          host,
          deadlineMs,
          (rpc) => ({ kind: 'learn', cellId, rpc, members }),
          () => this.learnHere(cellId, members),
        ),
      retireAt: (host, cellId, member, movedTo, deadlineMs) =>
        this.adminUntil(
          host,
          deadlineMs,
          (rpc) => ({ kind: 'retire', cellId, rpc, member, movedTo }),
          () => this.retireHere(cellId, member, movedTo),
        ),
      isNode: (host) => host === this.self || this.knownPeers.includes(host),
    };
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

/** Routing of a client request by its answer (see RouteHop). */
function submitHop(answer: SubmitResponse): RouteHop {
  switch (answer.kind) {
    case 'moved':
      return { kind: 'moved', members: answer.members };
    case 'not-found':
    case 'unavailable':
      return { kind: 'next' };
    case 'not-leader':
      return { kind: 'not-leader', hint: answer.leaderHint };
    case 'result':
    case 'lease':
      return { kind: 'final', atLeader: true };
    case 'overloaded':
    case 'behind':
    case 'outcome-unknown':
    case 'invalid':
      return { kind: 'final', atLeader: false };
  }
}

/** Routing of an admin request by its answer: only a leader computes a change or refuses it. */
function adminHop(answer: AdminCellResponse): RouteHop {
  switch (answer.kind) {
    case 'moved':
      return { kind: 'moved', members: answer.members };
    case 'not-found':
    case 'unavailable':
      return { kind: 'next' };
    case 'not-leader':
      return { kind: 'not-leader', hint: answer.leaderHint };
    case 'reconfigured':
    case 'noop-chosen':
    case 'config-change-in-progress':
    case 'invalid-change':
      return { kind: 'final', atLeader: true };
    case 'overloaded':
    case 'outcome-unknown':
      return { kind: 'final', atLeader: false };
  }
}

/**
 * Where a removed replica points: the members it knows minus itself (its change is
 * single-node, so every one of them is a member of the new configuration, whether or not the
 * change is in effect there).
 */
function onwardMembers(status: CellMembershipStatus, self: NodeId): NodeId[] {
  return status.members.filter((member) => member !== self);
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
