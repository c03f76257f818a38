// How the CLI shows things: values as text, outcomes as readable lines or JSON (--json), and
// its exit codes: 0 done, 1 answered "no" (not committed, missing, refused), 2 error, 3 unknown.
import type {
  ClientError,
  MembershipStep,
  MoveOperation,
  ReadOutcome,
  ScanEntry,
  TxnOutcome,
  Value,
} from '../client/index.ts';
import { encodeValue } from '../client/index.ts';

export const exitCodes = { ok: 0, no: 1, error: 2, unknown: 3 } as const;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** A value as a human reads it: "text" (JSON-quoted), 42, true, or 0xff00 for binary bytes. */
export function showValue(value: Value): string {
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  try {
    const text = utf8Strict.decode(value);
    if (/^[^\p{Cc}]*$/u.test(text)) return JSON.stringify(text);
  } catch {
    // not UTF-8: hex below
  }
  return `0x${Buffer.from(value).toString('hex')}`;
}

/** A value in --json output: the API's JSON forms, with "string" when the bytes are text. */
export function jsonValue(value: Value): unknown {
  const encoded = encodeValue(value);
  if (!(value instanceof Uint8Array)) return encoded;
  try {
    return { ...encoded, string: utf8Strict.decode(value) };
  } catch {
    return encoded;
  }
}

export function jsonRead(read: ReadOutcome): unknown {
  return read.found
    ? { key: read.key, found: true, value: jsonValue(read.value), version: read.version }
    : read;
}

export function jsonEntry(entry: ScanEntry): unknown {
  return { key: entry.key, value: jsonValue(entry.value), version: entry.version };
}

export function showRead(read: ReadOutcome): string {
  return read.found
    ? `${read.key} = ${showValue(read.value)}  (version ${read.version})`
    : `${read.key}: not found`;
}

export function showTxn(outcome: TxnOutcome): string[] {
  const reads = outcome.reads.map((read) => `  ${showRead(read)}`);
  if (outcome.kind === 'committed') return [`committed at index ${outcome.index}`, ...reads];
  const f = outcome.failure;
  const where =
    f.index === undefined ? '' : ` ${f.index}${f.key === undefined ? '' : ` on ${JSON.stringify(f.key)}`}`;
  const label =
    f.kind === 'condition-failed' ? 'condition' : f.kind === 'write-failed' ? 'write' : 'partition';
  return [`NOT committed (index ${outcome.index}): ${label}${where} failed: ${f.reason ?? f.kind}`, ...reads];
}

export function jsonTxn(outcome: TxnOutcome): unknown {
  return {
    committed: outcome.kind === 'committed',
    index: outcome.index,
    reads: outcome.reads.map(jsonRead),
    ...(outcome.kind === 'not-committed' ? { failure: outcome.failure } : {}),
  };
}

export function errorExitCode(error: ClientError): number {
  return error.kind === 'outcome-unknown' ? exitCodes.unknown : exitCodes.error;
}

export function showError(error: ClientError): string {
  switch (error.kind) {
    case 'invalid':
      return `error: invalid ${error.field}: ${error.message}`;
    case 'cell-not-found':
      return `error: no such cell ${JSON.stringify(error.cellId)} (create it with: physalia cell create ${error.cellId})`;
    case 'cell-exists':
      return `error: the cell exists with members ${error.members.join(', ')}`;
    case 'invalid-change':
      return `error: the change does not fit the cell: ${error.message}`;
    case 'change-in-progress':
      return `error: ${error.message}${error.operationId === undefined ? '' : ` (see: physalia cell operation ${error.operationId})`}`;
    case 'operation-not-found':
      return `error: ${error.message}`;
    case 'outcome-unknown':
      return `error: outcome unknown (the write may or may not have been applied): ${error.message}`;
    case 'unavailable':
      return `error: unavailable after ${error.attempts} attempts: ${error.message}`;
    case 'protocol':
      return `error: unexpected answer: ${error.message}`;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One change as a sentence: `replaced n3 by n6#2`; `cellId` adds where (`added n4#1 to cell "x"`). */
export function showChange(step: MembershipStep, cellId?: string): string {
  const cell = (preposition: string): string =>
    cellId === undefined ? '' : ` ${preposition} cell ${JSON.stringify(cellId)}`;
  const change = step.change;
  switch (change.kind) {
    case 'add':
      return `added ${change.node}${cell('to')}`;
    case 'remove':
      return `removed ${change.node}${cell('from')}`;
    case 'replace':
      return `replaced ${change.remove} by ${change.add}${cell('in')}`;
  }
}

/** A completed membership change: what changed, where it was chosen, and the members now. */
export function showStep(cellId: string, step: MembershipStep): string[] {
  const chosen = step.chosenIndex === undefined ? 'in effect' : `chosen at index ${step.chosenIndex}`;
  const removed =
    step.change.kind === 'add'
      ? undefined
      : step.change.kind === 'remove'
        ? step.change.node
        : step.change.remove;
  const retired =
    removed === undefined
      ? ''
      : step.retired
        ? `; ${removed} retired, pointing to the new members`
        : `; ${removed} did not answer: its node keeps a deposed replica`;
  return [
    `${showChange(step, cellId)} (${chosen}, ${seconds(step.elapsedMs)}${retired})`,
    `  members: ${step.members.join(', ')}`,
  ];
}

/** A line per step of a move, numbered from 1. */
export function showMoveStep(step: MembershipStep, number: number): string {
  const at = step.chosenIndex === undefined ? '' : `index ${step.chosenIndex}, `;
  return `  step ${number}: ${showChange(step)} (${at}${seconds(step.elapsedMs)})`;
}

/** How a move ended (or where it stands when the wait ran out). */
export function showMoveEnd(operation: MoveOperation): string[] {
  switch (operation.state) {
    case 'succeeded':
      return [
        `moved cell ${JSON.stringify(operation.cellId)} in ${operation.steps.length} step(s): members ${(operation.members ?? []).join(', ')}`,
      ];
    case 'failed':
      return [
        `error: the move stopped after ${operation.steps.length} step(s): ${operation.error?.code ?? 'failed'}: ${operation.error?.message ?? ''}`,
      ];
    case 'running':
      return [
        `still moving after ${operation.steps.length} step(s); follow it with: physalia cell operation ${operation.id} --node-endpoint ${operation.endpoint}`,
      ];
  }
}
