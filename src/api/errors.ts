// The error bodies of the HTTP API: a status, a machine-readable code and a human message,
// and the mapping from the node's non-answers (SubmitResponse kinds) to them.
import type { SubmitResponse } from '../node/index.ts';

/** Every `code` the API answers with, and its HTTP status. */
export const errorStatus = {
  /** 400: the body or a parameter is malformed; `field` names it. */
  invalid: 400,
  'malformed-json': 400,
  /** 404: no node knows the cell. */
  'cell-not-found': 404,
  /** 404: the cell left the nodes asked; `members` says where it is now (paper §2.5). */
  'cell-moved': 404,
  'route-not-found': 404,
  /** 404: no operation with this id on this node (operations live on the node that runs them). */
  'operation-not-found': 404,
  /** 400: the membership change does not fit the cell (already a member, not a member, last one). */
  'invalid-change': 400,
  /** 409: the cell exists with other members than the request named. */
  'cell-exists': 409,
  /** 409: another membership change or move of the cell is in progress; retry when it is done. */
  'change-in-progress': 409,
  /** 413: the body is larger than the server's bodyLimit. */
  'too-large': 413,
  'unsupported-media-type': 415,
  /** 503 + Retry-After: the cell sheds load (paper §3.5); safe to retry after the delay. */
  overloaded: 503,
  /** 503: nothing was applied (no leader, no quorum, node busy); safe to retry. */
  unavailable: 503,
  /** 503: an eventual read found replicas behind the session token; safe to retry. */
  behind: 503,
  /** 504: the request may or may not have been applied; a blind retry may apply it twice. */
  'outcome-unknown': 504,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly field?: string;
  readonly members?: readonly string[];
  readonly retryAfterMs?: number;
  readonly appliedIndex?: number;
  /** The running operation that holds the cell (409 change-in-progress from a move). */
  readonly operationId?: string;
}

/** An error answer: status, optional Retry-After seconds, and the body. */
export interface ErrorReply {
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly body: ErrorBody;
}

export function errorReply(code: ErrorCode, message: string, extra: Partial<ErrorBody> = {}): ErrorReply {
  return { status: errorStatus[code], body: { ...extra, code, message } };
}

/** The error answer of a SubmitResponse that is not a result or a lease outcome. */
export function submitErrorReply(
  cellId: string,
  response: Exclude<SubmitResponse, { kind: 'result' } | { kind: 'lease' }>,
): ErrorReply {
  switch (response.kind) {
    case 'not-found':
      return errorReply('cell-not-found', `no cell ${JSON.stringify(cellId)}`);
    case 'moved':
      return errorReply('cell-moved', `cell ${JSON.stringify(cellId)} moved`, { members: response.members });
    case 'invalid':
      return errorReply('invalid', response.error.message, { field: response.error.field });
    case 'overloaded': {
      const reply = errorReply('overloaded', 'the cell is overloaded; retry later', {
        retryAfterMs: response.retryAfterMs,
      });
      return { ...reply, retryAfterSeconds: Math.max(1, Math.ceil(response.retryAfterMs / 1000)) };
    }
    case 'not-leader':
      return errorReply('unavailable', `no leader reached (hint ${response.leaderHint ?? 'none'}); retry`);
    case 'unavailable':
      return errorReply('unavailable', `not applied: ${response.reason}; retry`);
    case 'behind':
      return errorReply('behind', 'replicas are behind the session token; retry', {
        appliedIndex: response.appliedIndex,
      });
    case 'outcome-unknown':
      return errorReply('outcome-unknown', 'the request may or may not have been applied');
  }
}
