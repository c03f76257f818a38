// Test-only stand-in for a NodeService: cells are in-memory model states applied through the
// real validate + apply, leases are a simple table, membership changes follow the node's own
// planning (new members are fresh incarnations `host#k`), and scripted answers simulate failures.
import type { Clock, TimerHandle } from '../../env/index.ts';
import { apply, createState, DEFAULT_MODEL_LIMITS, logIndex, validate } from '../../model/index.ts';
import type { ModelState } from '../../model/index.ts';
import { nextMoveChange, planChange } from '../../node/index.ts';
import type {
  AdminCellResponse,
  CellAdminRequest,
  CellId,
  CellRequest,
  MembershipChange,
  MembershipStep,
  MoveResult,
  ReconfigureFailure,
  ReconfigureOptions,
  ReconfigureResult,
  CreateCellResult,
  DeleteCellResult,
  DescribeCellResult,
  HostedCell,
  NodeMetrics,
  NodeService,
  SubmitResponse,
} from '../../node/index.ts';
import { frameDropReasons } from '../../node/service.ts';
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';

/** A clock whose timers fire at once (on a microtask), moving time forward to their due time. */
export class AutoClock implements Clock {
  now = 1_000;
  /** Every delay asked for, in order (to check backoff). */
  readonly delaysMs: number[] = [];
  nowMs(): number {
    return 1_700_000_000_000 + this.now;
  }
  monotonicMs(): number {
    return this.now;
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    this.delaysMs.push(delayMs);
    let cancelled = false;
    queueMicrotask(() => {
      if (cancelled) return;
      this.now += delayMs;
      callback();
    });
    return { cancel: () => (cancelled = true) };
  }
}

interface FakeCell {
  state: ModelState;
  members: readonly NodeId[];
  leases: Map<string, { holder: string; durationMs: number; grantIndex: number }>;
}

export class FakeNode implements NodeService {
  readonly self = nodeId('n1');
  readonly cells = new Map<string, FakeCell>();
  /** Answers to give instead of applying, consumed one per submit of that cell. */
  readonly scripted = new Map<string, SubmitResponse[]>();
  readonly submitted: { cellId: CellId; request: CellRequest }[] = [];
  /** Failures to answer instead of changing, consumed one per changeMembers or moveCell of that cell. */
  readonly scriptedChanges = new Map<string, ReconfigureFailure[]>();
  /** Answers to give to admin requests of a cell instead of choosing them. */
  readonly scriptedAdmin = new Map<string, AdminCellResponse[]>();
  /** Every change asked for, in order. */
  readonly changes: { cellId: CellId; change: MembershipChange; timeoutMs: number | undefined }[] = [];
  /** While set, a move waits for it before its last step (to observe a running operation). */
  moveGate: Promise<void> | undefined;
  private incarnations = 0;

  createCell(cellId: CellId, members: readonly NodeId[]): Promise<CreateCellResult> {
    const existing = this.cells.get(cellId);
    if (existing !== undefined) return Promise.resolve({ kind: 'exists', cellId, members: existing.members });
    this.cells.set(cellId, { state: createState(), members, leases: new Map() });
    return Promise.resolve({ kind: 'created', cellId, members, acknowledgedBy: members });
  }

  deleteCell(cellId: CellId): Promise<DeleteCellResult> {
    return Promise.resolve(
      this.cells.delete(cellId) ? { kind: 'deleted', cellId } : { kind: 'not-found', cellId },
    );
  }

  describeCell(cellId: CellId): Promise<DescribeCellResult> {
    const cell = this.cells.get(cellId);
    if (cell === undefined) return Promise.resolve({ kind: 'not-found', cellId });
    const index = cell.state.appliedIndex;
    return Promise.resolve({
      kind: 'described',
      answeredBy: this.self,
      summary: {
        members: cell.members,
        isLeader: true,
        leaderHint: this.self,
        appliedIndex: index,
        commitIndex: index,
        digest: 'fake',
        pendingRequests: 0,
      },
    });
  }

  submit(cellId: CellId, request: CellRequest): Promise<SubmitResponse> {
    this.submitted.push({ cellId, request });
    const scripted = this.scripted.get(cellId)?.shift();
    if (scripted !== undefined) return Promise.resolve(scripted);
    const cell = this.cells.get(cellId);
    if (cell === undefined) return Promise.resolve({ kind: 'not-found', cellId });
    const index = logIndex(cell.state.appliedIndex + 1);
    if (request.kind !== 'operation') return Promise.resolve(this.lease(cell, request, index));
    const validation = validate(request.operation, DEFAULT_MODEL_LIMITS);
    if (validation.kind === 'invalid') return Promise.resolve({ kind: 'invalid', error: validation });
    const outcome = apply(cell.state, validation.operation, index);
    cell.state = outcome.state;
    return Promise.resolve({ kind: 'result', result: outcome.result, index });
  }

  adminCell(cellId: CellId, request: CellAdminRequest): Promise<AdminCellResponse> {
    const scripted = this.scriptedAdmin.get(cellId)?.shift();
    if (scripted !== undefined) return Promise.resolve(scripted);
    const cell = this.cells.get(cellId);
    if (cell === undefined) return Promise.resolve({ kind: 'not-found', cellId });
    const index = cell.state.appliedIndex + 1;
    cell.state = { ...cell.state, appliedIndex: logIndex(index) };
    if (request.kind === 'noop') return Promise.resolve({ kind: 'noop-chosen', index });
    return Promise.resolve({
      kind: 'invalid-change',
      reason: 'the fake takes changes through changeMembers',
    });
  }

  changeMembers(
    cellId: CellId,
    change: MembershipChange,
    options: ReconfigureOptions = {},
  ): Promise<ReconfigureResult> {
    this.changes.push({ cellId, change, timeoutMs: options.timeoutMs });
    return Promise.resolve(this.change(cellId, change));
  }

  async moveCell(
    cellId: CellId,
    targets: readonly NodeId[],
    options: ReconfigureOptions = {},
  ): Promise<MoveResult> {
    const steps: MembershipStep[] = [];
    for (;;) {
      const cell = this.cells.get(cellId);
      if (cell === undefined)
        return { kind: 'move-failed', cellId, failure: { kind: 'not-found', cellId }, steps };
      const change = nextMoveChange(cell.members, undefined, targets);
      if (change === undefined) return { kind: 'moved-cell', cellId, members: cell.members, steps };
      if (this.moveGate !== undefined && steps.length > 0) await this.moveGate;
      const result = this.change(cellId, change);
      if (result.kind !== 'reconfigured') return { kind: 'move-failed', cellId, failure: result, steps };
      steps.push(result.step);
      options.onStep?.(result.step);
    }
  }

  private change(cellId: CellId, change: MembershipChange): ReconfigureResult {
    const scripted = this.scriptedChanges.get(cellId)?.shift();
    if (scripted !== undefined) return scripted;
    const cell = this.cells.get(cellId);
    if (cell === undefined) return { kind: 'not-found', cellId };
    const plan = planChange(cell.members, change);
    if ('kind' in plan) return plan;
    const incoming =
      plan.addHost === undefined ? undefined : nodeId(`${plan.addHost}#${(this.incarnations += 1)}`);
    const kept = cell.members.filter((member) => member !== plan.removeMember);
    cell.members = [...kept, ...(incoming === undefined ? [] : [incoming])].sort();
    const index = cell.state.appliedIndex + 1;
    cell.state = { ...cell.state, appliedIndex: logIndex(index) };
    const voted: MembershipChange =
      plan.removeMember !== undefined && incoming !== undefined
        ? { kind: 'replace', remove: plan.removeMember, add: incoming }
        : incoming !== undefined
          ? { kind: 'add', node: incoming }
          : { kind: 'remove', node: plan.removeMember! };
    return {
      kind: 'reconfigured',
      cellId,
      step: { change: voted, members: cell.members, chosenIndex: index, retired: true, elapsedMs: 12 },
    };
  }

  private lease(
    cell: FakeCell,
    request: Exclude<CellRequest, { kind: 'operation' }>,
    index: number,
  ): SubmitResponse {
    cell.state = { ...cell.state, appliedIndex: logIndex(index) };
    const current = cell.leases.get(request.name);
    if (request.kind === 'lease-release') {
      if (current?.holder !== request.holder)
        return { kind: 'lease', outcome: { kind: 'not-holder', holder: current?.holder }, index };
      cell.leases.delete(request.name);
      return { kind: 'lease', outcome: { kind: 'released' }, index };
    }
    if (current !== undefined && current.holder !== request.holder) {
      return {
        kind: 'lease',
        outcome: { kind: 'held-by-other', holder: current.holder, grantIndex: current.grantIndex },
        index,
      };
    }
    if (request.kind === 'lease-renew' && current === undefined) {
      return { kind: 'lease', outcome: { kind: 'not-holder', holder: undefined }, index };
    }
    cell.leases.set(request.name, {
      holder: request.holder,
      durationMs: request.durationMs,
      grantIndex: index,
    });
    const holderValidMs = Math.floor(request.durationMs / 3);
    return {
      kind: 'lease',
      outcome: {
        kind: 'granted',
        holder: request.holder,
        durationMs: request.durationMs,
        holderValidMs,
        grantIndex: index,
      },
      index,
    };
  }

  listCells(options: { readonly afterCellId?: CellId; readonly limit?: number } = {}): readonly HostedCell[] {
    return [...this.cells.entries()]
      .filter(([id]) => options.afterCellId === undefined || id > options.afterCellId)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, options.limit ?? 100)
      .map(([id, cell]) => ({
        cellId: id as CellId,
        member: this.self,
        members: cell.members,
        loaded: true,
      }));
  }

  metrics(): NodeMetrics {
    return {
      framesReceived: 0,
      framesSent: 0,
      framesDropped: Object.fromEntries(
        frameDropReasons.map((reason) => [reason, 0]),
      ) as NodeMetrics['framesDropped'],
      cellsHosted: this.cells.size,
      cellsInMemory: this.cells.size,
      cellsLoaded: 0,
      cellsEvicted: 0,
      cellsCreated: this.cells.size,
      cellsDeleted: 0,
      cellsRetired: 0,
      reconfigurations: this.changes.length,
      requestsSubmitted: this.submitted.length,
      requestsForwarded: 0,
      requestsTimedOut: 0,
      commits: this.submitted.length,
      rejections: 0,
      forwardingPointersAnswered: 0,
      ticks: 0,
    };
  }

  peers(): readonly {
    readonly nodeId: NodeId;
    readonly lastHeardMs: number | undefined;
    readonly live: boolean;
  }[] {
    return ['n2', 'n3', 'n4', 'n5'].map((id) => ({ nodeId: nodeId(id), lastHeardMs: 0, live: true }));
  }
}

/** A 3 racks x 3 power domains topology of n1..n9 (HTTP ports are placeholders). */
export function gridTopology(): {
  nodeId: NodeId;
  row: string;
  rack: string;
  powerDomain: string;
  http: string;
}[] {
  return Array.from({ length: 9 }, (_, i) => ({
    nodeId: nodeId(`n${i + 1}`),
    row: 'row-1',
    rack: `rack-${Math.floor(i / 3) + 1}`,
    powerDomain: `power-${(i % 3) + 1}`,
    http: `127.0.0.1:${18_001 + i}`,
  }));
}
