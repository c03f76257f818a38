// The node wire encodings of reconfiguration (paper §2.4): a cell's admin requests and
// answers (membership changes, no-ops) forwarded to its leader, and the short outcome of a
// move asked of a node. Fixed-order fields; readers throw ByteDecodeFailure only (the
// envelope decoder turns it into a typed error).
import type { NodeId } from '../paxos/index.ts';
import { ByteDecodeFailure } from './bytes.ts';
import type { ByteReader, ByteWriter } from './bytes.ts';
import type { CellAdminRequest, CellAdminResponse, MembershipChange } from './cell-contract.ts';
// The envelope's bounds (read at call time only, so the import cycle with wire.ts is harmless).
import { membersMax as listedMembersMax, nodeIdBytesMax as memberBytesMax, reasonBytesMax } from './wire.ts';

export function writeMemberList(writer: ByteWriter, members: readonly NodeId[]): void {
  writer.uint(members.length);
  for (const member of members) writer.text(member);
}

export function readMemberList(reader: ByteReader, field: string): NodeId[] {
  const count = reader.uint(`${field}.count`, listedMembersMax);
  const members: NodeId[] = [];
  for (let index = 0; index < count; index += 1) {
    const member = reader.text(field, memberBytesMax);
    if (member.length === 0 || members.includes(member as NodeId)) throw new ByteDecodeFailure(field);
    members.push(member as NodeId);
  }
  return members;
}

function readMember(reader: ByteReader, field: string): NodeId {
  const member = reader.text(field, memberBytesMax);
  if (member.length === 0) throw new ByteDecodeFailure(field);
  return member as NodeId;
}

function writeReason(writer: ByteWriter, reason: string): void {
  writer.text(reason.slice(0, reasonBytesMax / 4));
}

function writeChange(writer: ByteWriter, change: MembershipChange): void {
  switch (change.kind) {
    case 'add':
      writer.byte(0).text(change.node);
      return;
    case 'remove':
      writer.byte(1).text(change.node);
      return;
    case 'replace':
      writer.byte(2).text(change.remove).text(change.add);
      return;
  }
}

function readChange(reader: ByteReader): MembershipChange {
  switch (reader.byte('change')) {
    case 0:
      return { kind: 'add', node: readMember(reader, 'change.node') };
    case 1:
      return { kind: 'remove', node: readMember(reader, 'change.node') };
    case 2: {
      const remove = readMember(reader, 'change.remove');
      return { kind: 'replace', remove, add: readMember(reader, 'change.add') };
    }
    default:
      throw new ByteDecodeFailure('change');
  }
}

export function writeAdminRequest(writer: ByteWriter, request: CellAdminRequest): void {
  switch (request.kind) {
    case 'noop':
      writer.byte(0);
      return;
    case 'reconfigure':
      writeChange(writer.byte(1), request.change);
      return;
  }
}

export function readAdminRequest(reader: ByteReader): CellAdminRequest {
  switch (reader.byte('admin')) {
    case 0:
      return { kind: 'noop' };
    case 1:
      return { kind: 'reconfigure', change: readChange(reader) };
    default:
      throw new ByteDecodeFailure('admin');
  }
}

export function writeAdminResponse(writer: ByteWriter, response: CellAdminResponse): void {
  switch (response.kind) {
    case 'reconfigured':
      writeMemberList(writer.byte(0), response.members);
      writer.uint(response.chosenIndex).uint(response.effectiveFrom);
      return;
    case 'noop-chosen':
      writer.byte(1).uint(response.index);
      return;
    case 'config-change-in-progress':
      writer.byte(2);
      return;
    case 'invalid-change':
      writeReason(writer.byte(3), response.reason);
      return;
    case 'not-leader':
      writer.byte(4).bool(response.leaderHint !== undefined);
      if (response.leaderHint !== undefined) writer.text(response.leaderHint);
      return;
    case 'overloaded':
      writer.byte(5).uint(Math.max(0, Math.floor(response.retryAfterMs)));
      return;
    case 'outcome-unknown':
      writer.byte(6);
      return;
    case 'unavailable':
      writeReason(writer.byte(7), response.reason);
      return;
  }
}

export function readAdminResponse(reader: ByteReader): CellAdminResponse {
  switch (reader.byte('response')) {
    case 0: {
      const members = readMemberList(reader, 'response.members');
      const chosenIndex = reader.uint('response.chosenIndex');
      return {
        kind: 'reconfigured',
        members,
        chosenIndex,
        effectiveFrom: reader.uint('response.effectiveFrom'),
      };
    }
    case 1:
      return { kind: 'noop-chosen', index: reader.uint('response.index') };
    case 2:
      return { kind: 'config-change-in-progress' };
    case 3:
      return { kind: 'invalid-change', reason: reader.text('response.reason', reasonBytesMax) };
    case 4: {
      const present = reader.byte('response.hint');
      if (present > 1) throw new ByteDecodeFailure('response.hint');
      return {
        kind: 'not-leader',
        leaderHint: present === 1 ? readMember(reader, 'response.hint') : undefined,
      };
    }
    case 5:
      return { kind: 'overloaded', retryAfterMs: reader.uint('response.retryAfterMs') };
    case 6:
      return { kind: 'outcome-unknown' };
    case 7:
      return { kind: 'unavailable', reason: reader.text('response.reason', reasonBytesMax) };
    default:
      throw new ByteDecodeFailure('response');
  }
}

/** What a node answers to a `move` it was asked to run: where the cell is, or why it stopped. */
export type MoveOutcome =
  | { readonly kind: 'moved-cell'; readonly members: readonly NodeId[]; readonly steps: number }
  | {
      readonly kind: 'move-failed';
      readonly failure: string;
      readonly reason: string;
      readonly steps: number;
    };

export function writeMoveOutcome(writer: ByteWriter, outcome: MoveOutcome): void {
  switch (outcome.kind) {
    case 'moved-cell':
      writeMemberList(writer.byte(0), outcome.members);
      writer.uint(outcome.steps);
      return;
    case 'move-failed':
      writer.byte(1).text(outcome.failure.slice(0, 64));
      writeReason(writer, outcome.reason);
      writer.uint(outcome.steps);
      return;
  }
}

export function readMoveOutcome(reader: ByteReader): MoveOutcome {
  switch (reader.byte('move')) {
    case 0: {
      const members = readMemberList(reader, 'move.members');
      return { kind: 'moved-cell', members, steps: reader.uint('move.steps') };
    }
    case 1: {
      const failure = reader.text('move.failure', 64);
      const reason = reader.text('move.reason', reasonBytesMax);
      return { kind: 'move-failed', failure, reason, steps: reader.uint('move.steps') };
    }
    default:
      throw new ByteDecodeFailure('move');
  }
}
