// Reconfiguration from the SDK (paper §2.4): one membership change (answered once complete),
// an explicit no-op, and a move started as an operation and polled on the node that runs it
// until it ends. Nothing here is retried blindly: a change whose answer was lost is reported
// as an unknown outcome (describe the cell to see where it stands).
import type { Clock } from '../env/index.ts';
import type { Caller } from './caller.ts';
import type { ClientError, MemberChange, MemberChangeInput, MembershipStep, MoveOperation } from './types.ts';

/** Default deadline of a change (the server's own default) and of a whole move. */
export const changeTimeoutMsDefault = 60_000;
export const moveTimeoutMsDefault = 10 * 60_000;
/** Each poll of an operation waits this long on the server for it to end. */
export const operationPollWaitMs = 10_000;
/** Time for the answer to travel on top of a server-side wait. */
const answerMarginMs = 5_000;

const cellPath = (cellId: string): string => `/v1/cells/${encodeURIComponent(cellId)}`;

function record(candidate: unknown): Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null ? (candidate as Record<string, unknown>) : {};
}

function protocol(message: string): ClientError {
  return { kind: 'protocol', message };
}

function decodeChange(candidate: unknown): MemberChange | undefined {
  const change = record(candidate);
  const text = (value: unknown): value is string => typeof value === 'string';
  if (change.kind === 'add' && text(change.node)) return { kind: 'add', node: change.node };
  if (change.kind === 'remove' && text(change.node)) return { kind: 'remove', node: change.node };
  if (change.kind === 'replace' && text(change.remove) && text(change.add))
    return { kind: 'replace', remove: change.remove, add: change.add };
  return undefined;
}

export function decodeStep(candidate: unknown): MembershipStep | undefined {
  const step = record(candidate);
  const change = decodeChange(step.change);
  if (change === undefined || !Array.isArray(step.members) || typeof step.elapsedMs !== 'number')
    return undefined;
  return {
    change,
    members: step.members.map(String),
    ...(typeof step.chosenIndex === 'number' ? { chosenIndex: step.chosenIndex } : {}),
    retired: step.retired === true,
    elapsedMs: step.elapsedMs,
  };
}

function decodeOperation(candidate: unknown, endpoint: string): MoveOperation | undefined {
  const body = record(candidate);
  const steps = Array.isArray(body.steps) ? body.steps.map(decodeStep) : undefined;
  const state = body.state;
  if (typeof body.id !== 'string' || steps === undefined || steps.some((step) => step === undefined))
    return undefined;
  if (state !== 'running' && state !== 'succeeded' && state !== 'failed') return undefined;
  const error = record(body.error);
  return {
    kind: 'operation',
    id: body.id,
    cellId: String(body.cellId),
    node: String(body.node),
    endpoint,
    to: Array.isArray(body.to) ? body.to.map(String) : [],
    state,
    steps: steps as MembershipStep[],
    ...(Array.isArray(body.members) ? { members: body.members.map(String) } : {}),
    ...(typeof error.code === 'string'
      ? { error: { code: error.code, message: String(error.message) } }
      : {}),
  };
}

/** POST /members: one add, remove or replace, answered once in effect and caught up. */
export async function changeMembers(
  caller: Caller,
  cellId: string,
  change: MemberChangeInput,
  timeoutMs: number,
): Promise<({ kind: 'changed'; cellId: string } & MembershipStep) | ClientError> {
  const result = await caller.send({
    method: 'POST',
    path: `${cellPath(cellId)}/members`,
    body: { ...change, timeoutMs },
    cellId,
    idempotent: false,
    retryOutcomeUnknown: false,
    timeoutMs: timeoutMs + answerMarginMs,
  });
  if (result.kind !== 'ok') return result;
  const step = decodeStep(result.body);
  return step === undefined ? protocol('members: bad body') : { kind: 'changed', cellId, ...step };
}

export async function noop(
  caller: Caller,
  cellId: string,
): Promise<{ kind: 'noop-chosen'; index: number } | ClientError> {
  const result = await caller.send({
    method: 'POST',
    path: `${cellPath(cellId)}/noop`,
    cellId,
    idempotent: true, // a second no-op is harmless
    retryOutcomeUnknown: true,
  });
  if (result.kind !== 'ok') return result;
  const index = record(result.body).index;
  return typeof index === 'number' ? { kind: 'noop-chosen', index } : protocol('noop: bad body');
}

/** POST /move: starts the move; the operation names the node (and endpoint) to poll. */
export async function startMove(
  caller: Caller,
  cellId: string,
  to: readonly string[],
  timeoutMs: number,
): Promise<MoveOperation | ClientError> {
  const result = await caller.send({
    method: 'POST',
    path: `${cellPath(cellId)}/move`,
    body: { to, timeoutMs },
    cellId,
    idempotent: false,
    retryOutcomeUnknown: false,
  });
  if (result.kind !== 'ok') return result;
  return decodeOperation(result.body, result.endpoint) ?? protocol('move: bad body');
}

/** GET /v1/operations/{id} at `endpoint`, waiting up to `waitMs` on the server for it to end. */
export async function getOperation(
  caller: Caller,
  id: string,
  endpoint: string,
  waitMs: number,
): Promise<MoveOperation | ClientError> {
  const result = await caller.send({
    endpoint,
    method: 'GET',
    path: `/v1/operations/${encodeURIComponent(id)}?waitMs=${waitMs}`,
    idempotent: true,
    retryOutcomeUnknown: false,
    timeoutMs: waitMs + answerMarginMs,
  });
  if (result.kind !== 'ok') return result;
  return decodeOperation(result.body, endpoint) ?? protocol('operation: bad body');
}

/** Starts a move and polls it until it ends or `timeoutMs` passes (then: the running operation). */
export async function moveCell(
  caller: Caller,
  clock: Clock,
  cellId: string,
  to: readonly string[],
  options: { timeoutMs?: number; onProgress?: (operation: MoveOperation) => void },
): Promise<MoveOperation | ClientError> {
  const timeoutMs = options.timeoutMs ?? moveTimeoutMsDefault;
  const deadlineMs = clock.monotonicMs() + timeoutMs + answerMarginMs;
  let operation = await startMove(caller, cellId, to, timeoutMs);
  if (operation.kind !== 'operation') return operation;
  let seen = -1;
  for (;;) {
    if (operation.steps.length !== seen || operation.state !== 'running') options.onProgress?.(operation);
    seen = operation.steps.length;
    const leftMs = deadlineMs - clock.monotonicMs();
    if (operation.state !== 'running' || leftMs <= 0) return operation;
    const next = await getOperation(
      caller,
      operation.id,
      operation.endpoint,
      Math.min(operationPollWaitMs, leftMs),
    );
    if (next.kind !== 'operation') return next;
    operation = next;
  }
}
