// The node wire format: one envelope per Network message, [version][kind][cellId][body],
// fixed-order fields with shortest-form varints (deterministic bytes). Decoding never
// throws: hostile bytes become a typed error the node counts and drops.
import type { NodeId } from '../paxos/index.ts';
import {
  readAdminRequest,
  readAdminResponse,
  readMoveOutcome,
  writeAdminRequest,
  writeAdminResponse,
  writeMoveOutcome,
} from './admin-wire.ts';
import type { MoveOutcome } from './admin-wire.ts';
import { ByteDecodeFailure, ByteReader, ByteWriter } from './bytes.ts';
import type { CellAdminRequest, CellAdminResponse, CellId } from './cell-contract.ts';

export type { MoveOutcome } from './admin-wire.ts';

export const nodeWireVersion = 1;
/** Largest envelope the node sends or decodes: a cell snapshot message fits (cell: 8 MiB + 1 MiB). */
export const nodeFrameBytesMax = 16 * 1024 * 1024;
/** Longest cell id (partition key) in UTF-8 bytes; keeps storage keys well under LMDB's bound. */
export const cellIdBytesMax = 256;
/** Longest node id in UTF-8 bytes (the transport's host id bound). */
export const nodeIdBytesMax = 255;
/** Most members a cell may list (the paper's cells have 7; reconfiguration adds one at a time). */
export const membersMax = 16;
/** Longest reason text carried in an admin reply. */
export const reasonBytesMax = 1024;
/** Longest a node may be asked to spend on one move (one hour). */
export const moveTimeoutMsMax = 60 * 60 * 1000;

/** Identifies one node-to-node request: a per-boot random session and a sequence number. */
export interface RpcId {
  readonly session: number;
  readonly sequence: number;
}

/** A cell as described across the wire (the part of the cell's description a client needs). */
export interface CellSummary {
  readonly members: readonly NodeId[];
  readonly isLeader: boolean;
  readonly leaderHint: NodeId | undefined;
  readonly appliedIndex: number;
  readonly commitIndex: number;
  readonly digest: string;
  readonly pendingRequests: number;
}

export type AdminOutcome =
  | { readonly kind: 'created' }
  | { readonly kind: 'exists'; readonly members: readonly NodeId[] }
  | { readonly kind: 'deleted' }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'failed'; readonly reason: string }
  /** A learner replica was created (answer to `learn`): it runs as `member` (`host#k`). */
  | { readonly kind: 'learning'; readonly member: NodeId };

/** Where a node says a cell is: hosted here (with members), moved (pointer), or unknown. */
export type Location =
  | { readonly kind: 'hosted'; readonly members: readonly NodeId[] }
  | { readonly kind: 'moved'; readonly members: readonly NodeId[] }
  | { readonly kind: 'not-found' };

/** A forwarded call's answer: the cell's own (`CellAnswer`), or a routing outcome. */
export type CellCallAnswer<CellAnswer> =
  | { readonly kind: 'cell'; readonly response: CellAnswer }
  | { readonly kind: 'moved'; readonly members: readonly NodeId[] }
  | { readonly kind: 'not-found' };

/** A forwarded request's answer: the cell's encoded CellResponse, or a routing outcome. */
export type ForwardAnswer = CellCallAnswer<Uint8Array>;

/** A forwarded admin request's answer: the cell's, or a routing outcome. */
export type AdminAnswer = CellCallAnswer<CellAdminResponse>;

export type DescribeAnswer =
  | { readonly kind: 'described'; readonly summary: CellSummary }
  | { readonly kind: 'moved'; readonly members: readonly NodeId[] }
  | { readonly kind: 'not-found' };

export type NodeMessage =
  /** A cell message between the replicas that run as the sending and receiving node ids. */
  | { readonly kind: 'cell'; readonly cellId: CellId; readonly payload: Uint8Array }
  /**
   * A cell message between members of which one at least is an incarnation (`n3#2`): delivered
   * only to the replica that runs as `to` (paper §2.4, ABA); `from` must be on the sending node.
   */
  | {
      readonly kind: 'cell-to';
      readonly cellId: CellId;
      readonly to: NodeId;
      readonly from: NodeId;
      readonly payload: Uint8Array;
    }
  /** A request forwarded by another node: served by this node's replica only, never forwarded on. */
  | { readonly kind: 'request'; readonly cellId: CellId; readonly rpc: RpcId; readonly request: Uint8Array }
  /** A client's request: this node routes it to a replica of the cell (bounded attempts). */
  | { readonly kind: 'submit'; readonly cellId: CellId; readonly rpc: RpcId; readonly request: Uint8Array }
  | {
      readonly kind: 'response';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly answer: ForwardAnswer;
    }
  | {
      readonly kind: 'create';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly members: readonly NodeId[];
    }
  | {
      readonly kind: 'delete';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly movedTo: readonly NodeId[];
    }
  | {
      readonly kind: 'admin-reply';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly outcome: AdminOutcome;
    }
  /** Create an empty learner replica as a fresh incarnation, told `members` (answer: `learning`). */
  | {
      readonly kind: 'learn';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly members: readonly NodeId[];
    }
  /** Delete the replica running as `member` (removed by a reconfiguration), leaving a pointer. */
  | {
      readonly kind: 'retire';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly member: NodeId;
      readonly movedTo: readonly NodeId[];
    }
  /** An admin request for the cell's replica on this node (served here, never forwarded on). */
  | {
      readonly kind: 'cell-admin';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly request: CellAdminRequest;
    }
  | {
      readonly kind: 'cell-admin-reply';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly answer: AdminAnswer;
    }
  /** Run a move of the cell onto the nodes `targets` on this node (the control plane's request). */
  | {
      readonly kind: 'move';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly targets: readonly NodeId[];
      readonly timeoutMs: number;
    }
  | {
      readonly kind: 'move-reply';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly outcome: MoveOutcome;
    }
  | { readonly kind: 'locate'; readonly cellId: CellId; readonly rpc: RpcId }
  | { readonly kind: 'located'; readonly cellId: CellId; readonly rpc: RpcId; readonly location: Location }
  | { readonly kind: 'describe'; readonly cellId: CellId; readonly rpc: RpcId }
  | {
      readonly kind: 'described';
      readonly cellId: CellId;
      readonly rpc: RpcId;
      readonly answer: DescribeAnswer;
    }
  | { readonly kind: 'heartbeat' }
  /** Test hook (honoured only by nodes started with test hooks): drop frames of these peers. */
  | { readonly kind: 'test-block'; readonly blocked: readonly NodeId[] };

export type NodeMessageKind = NodeMessage['kind'];

const kindTags: Readonly<Record<NodeMessageKind, number>> = {
  cell: 1,
  request: 2,
  response: 3,
  create: 4,
  delete: 5,
  'admin-reply': 6,
  locate: 7,
  located: 8,
  describe: 9,
  described: 10,
  heartbeat: 11,
  'test-block': 12,
  submit: 13,
  'cell-to': 14,
  learn: 15,
  retire: 16,
  'cell-admin': 17,
  'cell-admin-reply': 18,
  move: 19,
  'move-reply': 20,
};
const kindsByTag: ReadonlyMap<number, NodeMessageKind> = new Map(
  Object.entries(kindTags).map(([kind, tag]) => [tag, kind as NodeMessageKind]),
);

export type WireDecodeError = {
  readonly kind: 'decode-error';
  readonly reason: 'empty' | 'oversized' | 'unknown-version' | 'unknown-kind' | 'malformed';
  readonly field: string;
};
export type WireDecoded = { readonly kind: 'decoded'; readonly message: NodeMessage } | WireDecodeError;

// ---- Encoding --------------------------------------------------------------------------

function writeMembers(writer: ByteWriter, members: readonly NodeId[]): void {
  writer.uint(members.length);
  for (const member of members) writer.text(member);
}

function writeRpc(writer: ByteWriter, rpc: RpcId): void {
  writer.uint(rpc.session).uint(rpc.sequence);
}

function writeAdminOutcome(writer: ByteWriter, outcome: AdminOutcome): void {
  switch (outcome.kind) {
    case 'created':
      writer.byte(0);
      return;
    case 'exists':
      writeMembers(writer.byte(1), outcome.members);
      return;
    case 'deleted':
      writer.byte(2);
      return;
    case 'not-found':
      writer.byte(3);
      return;
    case 'failed':
      writer.byte(4).text(outcome.reason.slice(0, reasonBytesMax / 4));
      return;
    case 'learning':
      writer.byte(5).text(outcome.member);
      return;
  }
}

function writeAdminAnswer(writer: ByteWriter, answer: AdminAnswer): void {
  switch (answer.kind) {
    case 'cell':
      writeAdminResponse(writer.byte(0), answer.response);
      return;
    case 'moved':
      writeMembers(writer.byte(1), answer.members);
      return;
    case 'not-found':
      writer.byte(2);
      return;
  }
}

function readAdminAnswer(reader: ByteReader): AdminAnswer {
  switch (reader.byte('answer')) {
    case 0:
      return { kind: 'cell', response: readAdminResponse(reader) };
    case 1:
      return { kind: 'moved', members: readMembers(reader, 'answer.members') };
    case 2:
      return { kind: 'not-found' };
    default:
      throw new ByteDecodeFailure('answer');
  }
}

function writeLocation(writer: ByteWriter, location: Location | ForwardAnswer | DescribeAnswer): void {
  switch (location.kind) {
    case 'hosted':
      writeMembers(writer.byte(0), location.members);
      return;
    case 'moved':
      writeMembers(writer.byte(1), location.members);
      return;
    case 'not-found':
      writer.byte(2);
      return;
    case 'cell':
      writer.byte(3).raw(location.response);
      return;
    case 'described':
      writeSummary(writer.byte(4), location.summary);
      return;
  }
}

function writeSummary(writer: ByteWriter, summary: CellSummary): void {
  writeMembers(writer, summary.members);
  writer.byte(summary.isLeader ? 1 : 0);
  writer.byte(summary.leaderHint === undefined ? 0 : 1);
  if (summary.leaderHint !== undefined) writer.text(summary.leaderHint);
  writer
    .uint(summary.appliedIndex)
    .uint(summary.commitIndex)
    .text(summary.digest)
    .uint(summary.pendingRequests);
}

function writeBody(writer: ByteWriter, message: NodeMessage): void {
  switch (message.kind) {
    case 'cell':
      writer.raw(message.payload);
      return;
    case 'cell-to':
      writer.text(message.to).text(message.from).raw(message.payload);
      return;
    case 'learn':
      writeRpc(writer, message.rpc);
      writeMembers(writer, message.members);
      return;
    case 'retire':
      writeRpc(writer, message.rpc);
      writer.text(message.member);
      writeMembers(writer, message.movedTo);
      return;
    case 'cell-admin':
      writeRpc(writer, message.rpc);
      writeAdminRequest(writer, message.request);
      return;
    case 'cell-admin-reply':
      writeRpc(writer, message.rpc);
      writeAdminAnswer(writer, message.answer);
      return;
    case 'move':
      writeRpc(writer, message.rpc);
      writeMembers(writer, message.targets);
      writer.uint(message.timeoutMs);
      return;
    case 'move-reply':
      writeRpc(writer, message.rpc);
      writeMoveOutcome(writer, message.outcome);
      return;
    case 'request':
    case 'submit':
      writeRpc(writer, message.rpc);
      writer.raw(message.request);
      return;
    case 'response':
      writeRpc(writer, message.rpc);
      writeLocation(writer, message.answer);
      return;
    case 'create':
      writeRpc(writer, message.rpc);
      writeMembers(writer, message.members);
      return;
    case 'delete':
      writeRpc(writer, message.rpc);
      writeMembers(writer, message.movedTo);
      return;
    case 'admin-reply':
      writeRpc(writer, message.rpc);
      writeAdminOutcome(writer, message.outcome);
      return;
    case 'locate':
    case 'describe':
      writeRpc(writer, message.rpc);
      return;
    case 'located':
      writeRpc(writer, message.rpc);
      writeLocation(writer, message.location);
      return;
    case 'described':
      writeRpc(writer, message.rpc);
      writeLocation(writer, message.answer);
      return;
    case 'heartbeat':
      return;
    case 'test-block':
      writeMembers(writer, message.blocked);
      return;
  }
}

/** Reused by encodeNodeMessage (synchronous, so never shared by two calls at once). */
const scratchWriter = new ByteWriter(4096);

/** The deterministic bytes of one node message (one allocation: the result). */
export function encodeNodeMessage(message: NodeMessage): Uint8Array {
  const writer = scratchWriter;
  writer.reset();
  writer.byte(nodeWireVersion).byte(kindTags[message.kind]);
  writer.text('cellId' in message ? message.cellId : '');
  writeBody(writer, message);
  return writer.finish();
}

// ---- Decoding --------------------------------------------------------------------------

function readMembers(reader: ByteReader, field: string): NodeId[] {
  const count = reader.uint(`${field}.count`, membersMax);
  const members: NodeId[] = [];
  for (let index = 0; index < count; index += 1) {
    const member = reader.text(field, nodeIdBytesMax);
    if (member.length === 0 || members.includes(member as NodeId)) throw new ByteDecodeFailure(field);
    members.push(member as NodeId);
  }
  return members;
}

function readMember(reader: ByteReader, field: string): NodeId {
  const member = reader.text(field, nodeIdBytesMax);
  if (member.length === 0) throw new ByteDecodeFailure(field);
  return member as NodeId;
}

function readRpc(reader: ByteReader): RpcId {
  return { session: reader.uint('rpc.session', 0xffff_ffff), sequence: reader.uint('rpc.sequence') };
}

function readAdminOutcome(reader: ByteReader): AdminOutcome {
  const tag = reader.byte('outcome');
  switch (tag) {
    case 0:
      return { kind: 'created' };
    case 1:
      return { kind: 'exists', members: readMembers(reader, 'outcome.members') };
    case 2:
      return { kind: 'deleted' };
    case 3:
      return { kind: 'not-found' };
    case 4:
      return { kind: 'failed', reason: reader.text('outcome.reason', reasonBytesMax) };
    case 5:
      return { kind: 'learning', member: readMember(reader, 'outcome.member') };
    default:
      throw new ByteDecodeFailure('outcome');
  }
}

function readSummary(reader: ByteReader): CellSummary {
  const members = readMembers(reader, 'summary.members');
  const leaderFlag = reader.byte('summary.isLeader');
  const hintFlag = reader.byte('summary.leaderHint');
  if (leaderFlag > 1 || hintFlag > 1) throw new ByteDecodeFailure('summary.flags');
  const leaderHint =
    hintFlag === 1 ? (reader.text('summary.leaderHint', nodeIdBytesMax) as NodeId) : undefined;
  return {
    members,
    isLeader: leaderFlag === 1,
    leaderHint,
    appliedIndex: reader.uint('summary.appliedIndex'),
    commitIndex: reader.uint('summary.commitIndex'),
    digest: reader.text('summary.digest', 256),
    pendingRequests: reader.uint('summary.pendingRequests'),
  };
}

/** Reads a tagged answer; `allowed` lists the tags valid for this message kind. */
function readTagged(
  reader: ByteReader,
  allowed: readonly number[],
): Location | ForwardAnswer | DescribeAnswer {
  const tag = reader.byte('answer');
  if (!allowed.includes(tag)) throw new ByteDecodeFailure('answer');
  switch (tag) {
    case 0:
      return { kind: 'hosted', members: readMembers(reader, 'answer.members') };
    case 1:
      return { kind: 'moved', members: readMembers(reader, 'answer.members') };
    case 2:
      return { kind: 'not-found' };
    case 3:
      return { kind: 'cell', response: reader.rest() };
    default:
      return { kind: 'described', summary: readSummary(reader) };
  }
}

function readBody(reader: ByteReader, kind: NodeMessageKind, cellId: CellId): NodeMessage {
  switch (kind) {
    case 'cell':
      return { kind, cellId, payload: reader.rest() };
    case 'cell-to': {
      const to = readMember(reader, 'to');
      const from = readMember(reader, 'from');
      return { kind, cellId, to, from, payload: reader.rest() };
    }
    case 'learn':
      return { kind, cellId, rpc: readRpc(reader), members: readMembers(reader, 'members') };
    case 'retire': {
      const rpc = readRpc(reader);
      const member = readMember(reader, 'member');
      return { kind, cellId, rpc, member, movedTo: readMembers(reader, 'movedTo') };
    }
    case 'cell-admin':
      return { kind, cellId, rpc: readRpc(reader), request: readAdminRequest(reader) };
    case 'cell-admin-reply':
      return { kind, cellId, rpc: readRpc(reader), answer: readAdminAnswer(reader) };
    case 'move': {
      const rpc = readRpc(reader);
      const targets = readMembers(reader, 'targets');
      return { kind, cellId, rpc, targets, timeoutMs: reader.uint('timeoutMs', moveTimeoutMsMax) };
    }
    case 'move-reply':
      return { kind, cellId, rpc: readRpc(reader), outcome: readMoveOutcome(reader) };
    case 'request':
    case 'submit':
      return { kind, cellId, rpc: readRpc(reader), request: reader.rest() };
    case 'response':
      return { kind, cellId, rpc: readRpc(reader), answer: readTagged(reader, [1, 2, 3]) as ForwardAnswer };
    case 'create':
      return { kind, cellId, rpc: readRpc(reader), members: readMembers(reader, 'members') };
    case 'delete':
      return { kind, cellId, rpc: readRpc(reader), movedTo: readMembers(reader, 'movedTo') };
    case 'admin-reply':
      return { kind, cellId, rpc: readRpc(reader), outcome: readAdminOutcome(reader) };
    case 'locate':
    case 'describe':
      return { kind, cellId, rpc: readRpc(reader) };
    case 'located':
      return { kind, cellId, rpc: readRpc(reader), location: readTagged(reader, [0, 1, 2]) as Location };
    case 'described':
      return { kind, cellId, rpc: readRpc(reader), answer: readTagged(reader, [1, 2, 4]) as DescribeAnswer };
    case 'heartbeat':
      return { kind };
    case 'test-block':
      return { kind, blocked: readMembers(reader, 'blocked') };
  }
}

const cellScoped: ReadonlySet<NodeMessageKind> = new Set(['heartbeat', 'test-block']);

/** Decodes one envelope. Never throws. */
export function decodeNodeMessage(bytes: Uint8Array): WireDecoded {
  if (bytes.length === 0) return { kind: 'decode-error', reason: 'empty', field: 'envelope' };
  if (bytes.length > nodeFrameBytesMax)
    return { kind: 'decode-error', reason: 'oversized', field: 'envelope' };
  if (bytes[0] !== nodeWireVersion)
    return { kind: 'decode-error', reason: 'unknown-version', field: 'version' };
  const kind = kindsByTag.get(bytes[1] ?? 0);
  if (kind === undefined) return { kind: 'decode-error', reason: 'unknown-kind', field: 'kind' };
  const reader = new ByteReader(bytes.subarray(2));
  try {
    const cellId = reader.text('cellId', cellIdBytesMax) as CellId;
    if ((cellId.length === 0) !== cellScoped.has(kind)) throw new ByteDecodeFailure('cellId');
    const message = readBody(reader, kind, cellId);
    reader.end('trailing');
    return { kind: 'decoded', message };
  } catch (error) {
    if (error instanceof ByteDecodeFailure)
      return { kind: 'decode-error', reason: 'malformed', field: error.field };
    throw error;
  }
}
