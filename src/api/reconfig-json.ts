// The JSON of reconfiguration in the HTTP API (paper §2.4): the body of a membership change
// (`{add}`, `{remove}`, `{replace: {remove, add}}`), of a move (`{to}`), a step as answered,
// and the mapping of the node's typed refusals to error replies.
import type { MembershipChange, MembershipStep, ReconfigureFailure } from '../node/index.ts';
import { nodeId } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { errorReply } from './errors.ts';
import type { ErrorReply } from './errors.ts';
import type { Decoded } from './json.ts';
import { replicasMax } from './placement.ts';

/** Default and largest `timeoutMs` of a membership change or a move. */
export const changeTimeoutMsDefault = 60_000;
export const moveTimeoutMsDefault = 10 * 60_000;
export const reconfigureTimeoutMsMax = 60 * 60_000;

function isRecord(candidate: unknown): candidate is Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate);
}

function fail(field: string, message: string): Decoded<never> {
  return { kind: 'field-error', field, message: `${field}: ${message}` };
}

/** The host part of a member id (`n3#2` runs on `n3`). */
function hostOf(member: string): string {
  const hash = member.indexOf('#');
  return hash < 0 ? member : member.slice(0, hash);
}

/** A node of the colony (`allowMember`: or a member id `node#k` on one, as `remove` accepts). */
function decodeNode(
  candidate: unknown,
  field: string,
  nodes: ReadonlySet<string>,
  allowMember: boolean,
): Decoded<NodeId> {
  if (typeof candidate !== 'string' || candidate.length === 0) return fail(field, 'expected a node id');
  if (!allowMember && candidate.includes('#'))
    return fail(field, 'expected a node id (the node picks the new member id)');
  if (!nodes.has(hostOf(candidate))) return fail(field, 'not a node of this colony');
  return { kind: 'ok', value: nodeId(candidate) };
}

export function decodeTimeout(candidate: unknown, fallbackMs: number): Decoded<number> {
  if (candidate === undefined) return { kind: 'ok', value: fallbackMs };
  if (
    typeof candidate !== 'number' ||
    !Number.isSafeInteger(candidate) ||
    candidate < 1 ||
    candidate > reconfigureTimeoutMsMax
  )
    return fail('timeoutMs', `expected an integer in 1..${reconfigureTimeoutMsMax}`);
  return { kind: 'ok', value: candidate };
}

/** `{add: node}` | `{remove: node or member}` | `{replace: {remove, add}}`, plus `timeoutMs?`. */
export function decodeChangeBody(
  body: unknown,
  nodes: ReadonlySet<string>,
): Decoded<{ change: MembershipChange; timeoutMs: number }> {
  if (!isRecord(body)) return fail('body', 'expected a JSON object');
  const given = ['add', 'remove', 'replace'].filter((key) => body[key] !== undefined);
  if (given.length !== 1) return fail('body', 'expected exactly one of "add", "remove", "replace"');
  const timeoutMs = decodeTimeout(body.timeoutMs, changeTimeoutMsDefault);
  if (timeoutMs.kind !== 'ok') return timeoutMs;
  const ok = (change: MembershipChange): Decoded<{ change: MembershipChange; timeoutMs: number }> => ({
    kind: 'ok',
    value: { change, timeoutMs: timeoutMs.value },
  });
  if (body.add !== undefined) {
    const node = decodeNode(body.add, 'add', nodes, false);
    return node.kind === 'ok' ? ok({ kind: 'add', node: node.value }) : node;
  }
  if (body.remove !== undefined) {
    const node = decodeNode(body.remove, 'remove', nodes, true);
    return node.kind === 'ok' ? ok({ kind: 'remove', node: node.value }) : node;
  }
  if (!isRecord(body.replace)) return fail('replace', 'expected {"remove": node, "add": node}');
  const remove = decodeNode(body.replace.remove, 'replace.remove', nodes, true);
  if (remove.kind !== 'ok') return remove;
  const add = decodeNode(body.replace.add, 'replace.add', nodes, false);
  if (add.kind !== 'ok') return add;
  return ok({ kind: 'replace', remove: remove.value, add: add.value });
}

/** `{to: [node ids], timeoutMs?}`: where the cell should end up. */
export function decodeMoveBody(
  body: unknown,
  nodes: ReadonlySet<string>,
): Decoded<{ to: NodeId[]; timeoutMs: number }> {
  if (!isRecord(body)) return fail('body', 'expected a JSON object');
  if (!Array.isArray(body.to) || body.to.length === 0 || body.to.length > replicasMax)
    return fail('to', `expected 1..${replicasMax} node ids`);
  const to: NodeId[] = [];
  for (const [index, candidate] of (body.to as unknown[]).entries()) {
    const node = decodeNode(candidate, `to[${index}]`, nodes, false);
    if (node.kind !== 'ok') return node;
    if (to.includes(node.value)) return fail(`to[${index}]`, 'repeats a node');
    to.push(node.value);
  }
  const timeoutMs = decodeTimeout(body.timeoutMs, moveTimeoutMsDefault);
  if (timeoutMs.kind !== 'ok') return timeoutMs;
  return { kind: 'ok', value: { to, timeoutMs: timeoutMs.value } };
}

/** A step as answered: the change in member ids, the members after it, where it was chosen. */
export function stepBody(step: MembershipStep): {
  change: MembershipChange;
  members: readonly string[];
  chosenIndex?: number;
  retired: boolean;
  elapsedMs: number;
} {
  return {
    change: step.change,
    members: step.members,
    ...(step.chosenIndex === undefined ? {} : { chosenIndex: step.chosenIndex }),
    retired: step.retired,
    elapsedMs: Math.round(step.elapsedMs),
  };
}

/** The error reply of a change or move that did not complete. */
export function reconfigureErrorReply(cellId: string, failure: ReconfigureFailure): ErrorReply {
  switch (failure.kind) {
    case 'not-found':
      return errorReply('cell-not-found', `no cell ${JSON.stringify(cellId)}`);
    case 'moved':
      return errorReply('cell-moved', `cell ${JSON.stringify(cellId)} moved`, { members: failure.members });
    case 'invalid-change':
      return errorReply('invalid-change', failure.reason);
    case 'config-change-in-progress':
      return errorReply(
        'change-in-progress',
        'another membership change of the cell is in progress; retry once it is done',
      );
    case 'unavailable':
      return {
        ...errorReply('unavailable', `nothing changed: ${failure.reason}; retry`),
        retryAfterSeconds: 1,
      };
    case 'incomplete':
      return errorReply('outcome-unknown', `${failure.reason}; describe the cell to see where it stands`);
  }
}
