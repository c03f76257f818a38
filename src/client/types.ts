// The SDK's typed vocabulary: what callers pass (values, conditions, writes), what they get
// back (outcomes), and the tagged union of errors. Strings are a convenience for UTF-8 bytes.
import type { Value } from '../model/index.ts';

export type { Value } from '../model/index.ts';

/** A value as callers give it: a string is stored as its UTF-8 bytes. */
export type ValueInput = Value | string;

export type ConditionInput =
  | { readonly kind: 'exists'; readonly key: string }
  | { readonly kind: 'absent'; readonly key: string }
  | { readonly kind: 'equals'; readonly key: string; readonly value: ValueInput }
  | { readonly kind: 'version-equals'; readonly key: string; readonly version: number }
  | {
      readonly kind: 'compare';
      readonly key: string;
      readonly comparison: 'lt' | 'le' | 'gt' | 'ge';
      readonly operand: bigint;
    };

export type WriteInput =
  | { readonly kind: 'put'; readonly key: string; readonly value: ValueInput }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'increment'; readonly key: string; readonly delta: bigint };

export interface TxnInput {
  readonly reads?: readonly string[];
  readonly conditions?: readonly ConditionInput[];
  readonly writes?: readonly WriteInput[];
}

export type ReadOutcome =
  | { readonly key: string; readonly found: true; readonly value: Value; readonly version: number }
  | { readonly key: string; readonly found: false };

/** Why a transaction did not commit (as the cell decided at its log position). */
export interface TxnFailure {
  readonly kind: 'condition-failed' | 'write-failed' | 'partition-full';
  readonly index?: number;
  readonly key?: string;
  readonly reason?: string;
}

export type TxnOutcome =
  | { readonly kind: 'committed'; readonly index: number; readonly reads: readonly ReadOutcome[] }
  | {
      readonly kind: 'not-committed';
      readonly index: number;
      readonly reads: readonly ReadOutcome[];
      readonly failure: TxnFailure;
    };

export interface ScanEntry {
  readonly key: string;
  readonly value: Value;
  readonly version: number;
}

export interface ScanPage {
  readonly kind: 'page';
  readonly index: number;
  readonly entries: readonly ScanEntry[];
  readonly nextCursor?: string;
}

/** Errors of the SDK. Every call returns one of these instead of throwing. */
export type ClientError =
  /** The request is malformed; `field` names the part at fault. Nothing was applied. */
  | { readonly kind: 'invalid'; readonly field: string; readonly message: string }
  | { readonly kind: 'cell-not-found'; readonly cellId: string; readonly message: string }
  | { readonly kind: 'cell-exists'; readonly members: readonly string[]; readonly message: string }
  /** A membership change that does not fit the cell (already a member, not a member). Nothing changed. */
  | { readonly kind: 'invalid-change'; readonly message: string }
  /** Another change or move of the cell is in progress (`operationId`: the move). Nothing changed. */
  | { readonly kind: 'change-in-progress'; readonly message: string; readonly operationId?: string }
  /** No such operation on the node asked (operations live on the node that runs them). */
  | { readonly kind: 'operation-not-found'; readonly message: string }
  /** The write may or may not have been applied; it was not retried (see `retryOutcomeUnknown`). */
  | { readonly kind: 'outcome-unknown'; readonly message: string }
  /** Every attempt was refused (overloaded, unavailable, unreachable); nothing was applied. */
  | { readonly kind: 'unavailable'; readonly attempts: number; readonly message: string }
  /** A server answered something this SDK does not understand. */
  | { readonly kind: 'protocol'; readonly message: string };

export function isClientError(candidate: { readonly kind: string }): candidate is ClientError {
  return [
    'invalid',
    'cell-not-found',
    'cell-exists',
    'invalid-change',
    'change-in-progress',
    'operation-not-found',
    'outcome-unknown',
    'unavailable',
    'protocol',
  ].includes(candidate.kind);
}

/** The lease answers other than a grant (a grant is a `Lease`, see lease.ts). */
export type LeaseRefusal =
  | { readonly kind: 'held-by-other'; readonly holder: string; readonly grantIndex: number }
  | { readonly kind: 'not-holder'; readonly holder: string | undefined };

/** A single-node membership change, named by node ids (`remove` also takes a member id `node#k`). */
export type MemberChangeInput =
  | { readonly add: string }
  | { readonly remove: string }
  | { readonly replace: { readonly remove: string; readonly add: string } };

/** One change as the cell voted on it: an added node runs a fresh incarnation `node#k`. */
export type MemberChange =
  | { readonly kind: 'add'; readonly node: string }
  | { readonly kind: 'remove'; readonly node: string }
  | { readonly kind: 'replace'; readonly remove: string; readonly add: string };

/** A completed membership change (paper §2.4). */
export interface MembershipStep {
  readonly change: MemberChange;
  /** The members once the change is in effect. */
  readonly members: readonly string[];
  readonly chosenIndex?: number;
  /** The removed member deleted its replica, leaving a forwarding pointer. */
  readonly retired: boolean;
  readonly elapsedMs: number;
}

/** A move in progress or ended, as the node running it reports it. */
export interface MoveOperation {
  readonly kind: 'operation';
  readonly id: string;
  readonly cellId: string;
  /** The node running it, and the endpoint to poll it at. */
  readonly node: string;
  readonly endpoint: string;
  readonly to: readonly string[];
  readonly state: 'running' | 'succeeded' | 'failed';
  readonly steps: readonly MembershipStep[];
  readonly members?: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
}
