// The reconfiguration routes of the HTTP API (paper §2.4): one membership change, run to the
// end (the new member's replica created first, the change chosen and in effect, the new member
// caught up, the removed one retired) and answered synchronously; a move, long, answered with
// an operation to poll; an explicit no-op so a change takes effect on an idle cell.
import type { CellId, NodeService } from '../node/index.ts';
import { errorReply } from './errors.ts';
import type { ErrorReply } from './errors.ts';
import type { Decoded } from './json.ts';
import { operationWaitMsMax } from './operations.ts';
import type { OperationTable } from './operations.ts';
import { decodeChangeBody, decodeMoveBody, reconfigureErrorReply, stepBody } from './reconfig-json.ts';

export type Reply = {
  readonly status: number;
  readonly body: unknown;
  readonly retryAfterSeconds?: number;
  readonly location?: string;
};

function invalid(error: Extract<Decoded<unknown>, { kind: 'field-error' }>): ErrorReply {
  return errorReply('invalid', error.message, { field: error.field });
}

/** Refuses while this server runs a move of the cell (the node would refuse it too). */
function busyWithMove(operations: OperationTable, cellId: CellId): ErrorReply | undefined {
  const running = operations.runningFor(cellId);
  if (running === undefined) return undefined;
  return errorReply('change-in-progress', `operation ${running.id} is moving the cell`, {
    operationId: running.id,
  });
}

/** POST /v1/cells/{cellId}/members: one add, remove or replace, answered when complete. */
export async function changeMembers(
  node: NodeService,
  operations: OperationTable,
  nodes: ReadonlySet<string>,
  cellId: CellId,
  body: unknown,
): Promise<Reply | ErrorReply> {
  const decoded = decodeChangeBody(body, nodes);
  if (decoded.kind !== 'ok') return invalid(decoded);
  const busy = busyWithMove(operations, cellId);
  if (busy !== undefined) return busy;
  const result = await node.changeMembers(cellId, decoded.value.change, {
    timeoutMs: decoded.value.timeoutMs,
  });
  if (result.kind !== 'reconfigured') return reconfigureErrorReply(cellId, result);
  return { status: 200, body: { cellId, ...stepBody(result.step) } };
}

/** POST /v1/cells/{cellId}/move: starts a move; 202 with the operation to poll. */
export async function startMove(
  node: NodeService,
  operations: OperationTable,
  nodes: ReadonlySet<string>,
  cellId: CellId,
  body: unknown,
): Promise<Reply | ErrorReply> {
  const decoded = decodeMoveBody(body, nodes);
  if (decoded.kind !== 'ok') return invalid(decoded);
  const busy = busyWithMove(operations, cellId);
  if (busy !== undefined) return busy;
  // Fail fast on a cell that is not there: a poll should not be needed to learn that.
  const described = await node.describeCell(cellId);
  switch (described.kind) {
    case 'not-found':
      return reconfigureErrorReply(cellId, described);
    case 'moved':
      return reconfigureErrorReply(cellId, described);
    case 'unavailable':
    case 'described':
      break;
  }
  const operation = operations.startMove(cellId, decoded.value.to, decoded.value.timeoutMs);
  if (operation === undefined)
    return {
      ...errorReply('unavailable', 'too many operations running on this node; retry'),
      retryAfterSeconds: 5,
    };
  return { status: 202, body: operation, location: `/v1/operations/${encodeURIComponent(operation.id)}` };
}

/** GET /v1/operations/{operationId}?waitMs=N: the operation, waiting up to N ms for it to end. */
export async function getOperation(
  operations: OperationTable,
  id: string,
  query: unknown,
): Promise<Reply | ErrorReply> {
  const raw = (query as { waitMs?: unknown } | undefined)?.waitMs;
  const waitMs = raw === undefined ? 0 : Number(raw);
  if (!Number.isSafeInteger(waitMs) || waitMs < 0 || waitMs > operationWaitMsMax)
    return errorReply('invalid', `waitMs: expected an integer in 0..${operationWaitMsMax}`, {
      field: 'waitMs',
    });
  const operation = await operations.get(id, waitMs);
  if (operation === undefined)
    return errorReply('operation-not-found', `no operation ${JSON.stringify(id)} on this node`);
  return { status: 200, body: operation };
}

/** POST /v1/cells/{cellId}/noop: one no-op chosen through the leader (a change takes effect). */
export async function noop(node: NodeService, cellId: CellId): Promise<Reply | ErrorReply> {
  const response = await node.adminCell(cellId, { kind: 'noop' });
  switch (response.kind) {
    case 'noop-chosen':
      return { status: 200, body: { cellId, index: response.index } };
    case 'not-found':
    case 'moved':
      return reconfigureErrorReply(cellId, response);
    case 'not-leader':
      return { ...errorReply('unavailable', 'no leader reached; retry'), retryAfterSeconds: 1 };
    case 'unavailable':
      return { ...errorReply('unavailable', `not chosen: ${response.reason}; retry`), retryAfterSeconds: 1 };
    case 'overloaded': {
      const reply = errorReply('overloaded', 'the cell is overloaded; retry later', {
        retryAfterMs: response.retryAfterMs,
      });
      return { ...reply, retryAfterSeconds: Math.max(1, Math.ceil(response.retryAfterMs / 1000)) };
    }
    case 'outcome-unknown':
      return errorReply('outcome-unknown', 'the no-op may or may not have been chosen');
    case 'reconfigured':
    case 'invalid-change':
    case 'config-change-in-progress':
      return errorReply('internal', `a ${response.kind} answer to a no-op`);
  }
}
