// Long-running operations of one API server (a cell move, paper §2.4: one replacement at a
// time, each caught up before the next): an id the client polls at GET /v1/operations/{id},
// the steps done so far, and the outcome. Held in this server's memory, bounded: the oldest
// finished operations are forgotten first; a restart forgets them all (the move itself is
// safe to run again: it resumes from wherever the cell is).
import type { Clock } from '../env/index.ts';
import type { CellId, MembershipStep, MoveResult, NodeService } from '../node/index.ts';
import type { NodeId } from '../paxos/index.ts';
import type { ErrorBody } from './errors.ts';
import { reconfigureErrorReply, stepBody } from './reconfig-json.ts';

/** Operations kept (running and finished); beyond it the oldest finished one is forgotten. */
export const operationsMax = 1000;
/** Longest a GET of an operation may wait for it to finish (`waitMs`). */
export const operationWaitMsMax = 30_000;

export type OperationState = 'running' | 'succeeded' | 'failed';

/** An operation as the API shows it (JSON). */
export interface OperationBody {
  readonly id: string;
  readonly kind: 'move';
  readonly cellId: string;
  /** The node whose API runs the operation (poll this node). */
  readonly node: string;
  readonly to: readonly string[];
  readonly state: OperationState;
  /** Wall-clock milliseconds. */
  readonly startedAtMs: number;
  readonly finishedAtMs?: number;
  readonly steps: readonly ReturnType<typeof stepBody>[];
  /** The cell's members once it succeeded. */
  readonly members?: readonly string[];
  /** Why it failed (the same codes as the API's errors). */
  readonly error?: ErrorBody;
}

interface Operation {
  body: OperationBody;
  readonly done: Promise<void>;
}

export class OperationTable {
  private readonly operations = new Map<string, Operation>();
  private nextSequence = 1;
  /** Distinguishes this server's ids from those of its earlier runs. */
  private readonly epoch: string;

  constructor(
    private readonly node: NodeService,
    private readonly clock: Clock,
  ) {
    this.epoch = Math.floor(clock.nowMs()).toString(36);
  }

  /** The running move of `cellId` on this server, if any. */
  runningFor(cellId: CellId): OperationBody | undefined {
    for (const operation of this.operations.values())
      if (operation.body.cellId === cellId && operation.body.state === 'running') return operation.body;
    return undefined;
  }

  /** Starts a move; undefined when the table is full of running operations. */
  startMove(cellId: CellId, to: readonly NodeId[], timeoutMs: number): OperationBody | undefined {
    if (!this.makeRoom()) return undefined;
    const id = `${this.node.self}-${this.epoch}-${this.nextSequence++}`;
    const steps: ReturnType<typeof stepBody>[] = [];
    const running: OperationBody = {
      id,
      kind: 'move',
      cellId,
      node: this.node.self,
      to,
      state: 'running',
      startedAtMs: this.clock.nowMs(),
      steps,
    };
    const operation: Operation = {
      body: running,
      done: this.node
        .moveCell(cellId, to, {
          timeoutMs,
          onStep: (step: MembershipStep) => {
            steps.push(stepBody(step));
          },
        })
        .then((result) => {
          operation.body = this.finished(operation.body, result);
        }),
    };
    this.operations.set(id, operation);
    return operation.body;
  }

  /** The operation now, or once it finished if that comes within `waitMs`. */
  async get(id: string, waitMs: number): Promise<OperationBody | undefined> {
    const operation = this.operations.get(id);
    if (operation === undefined) return undefined;
    if (operation.body.state === 'running' && waitMs > 0) {
      let timer: { cancel(): void } | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = this.clock.setTimer(Math.min(waitMs, operationWaitMsMax), resolve);
      });
      await Promise.race([operation.done, timeout]);
      timer?.cancel();
    }
    return operation.body;
  }

  private finished(body: OperationBody, result: MoveResult): OperationBody {
    const finishedAtMs = this.clock.nowMs();
    const steps = result.steps.map(stepBody);
    if (result.kind === 'moved-cell')
      return { ...body, state: 'succeeded', finishedAtMs, steps, members: result.members };
    return {
      ...body,
      state: 'failed',
      finishedAtMs,
      steps,
      error: reconfigureErrorReply(body.cellId, result.failure).body,
    };
  }

  /** Forgets the oldest finished operation when full; false when every one still runs. */
  private makeRoom(): boolean {
    if (this.operations.size < operationsMax) return true;
    for (const [id, operation] of this.operations) {
      if (operation.body.state !== 'running') {
        this.operations.delete(id);
        return true;
      }
    }
    return false;
  }
}
