// TEST-ONLY: the bytes on the simulated network of the cell swarm. A server host carries
// its replica's peer messages, its clients' requests and the operator's admin requests, so
// every message gets one tag byte: a peer message (framed with member ids when either
// carries an incarnation, see sim-cell-host.ts), or a request / response with a request id.
// Admin requests and answers (membership changes, no-ops: not part of the cell's client
// codec) are JSON, validated on decode. Decoding never throws; anything malformed is
// undefined and dropped.
import { nodeId } from '../../paxos/index.ts';
import type { NodeId } from '../../paxos/index.ts';
import { decodeCellRequest, decodeCellResponse, encodeCellRequest, encodeCellResponse } from '../index.ts';
import type {
  CellAdminRequest,
  CellAdminResponse,
  CellRequest,
  CellResponse,
  MembershipChange,
} from '../index.ts';
import { cellMessageKind } from '../wire.ts';
import { unframe } from './sim-cell-host.ts';

const TAG_PEER = 0x50;
const TAG_REQUEST = 0x51;
const TAG_RESPONSE = 0x52;
const TAG_ADMIN_REQUEST = 0x53;
const TAG_ADMIN_RESPONSE = 0x54;
/** Longest admin JSON body accepted (a 9-member answer is far below). */
const ADMIN_BODY_BYTES_MAX = 4_096;
/** Tag byte plus a u32 request id. */
const HEADER_BYTES = 5;

export type SwarmEnvelope =
  | { readonly kind: 'peer'; readonly message: Uint8Array }
  | { readonly kind: 'request'; readonly requestId: number; readonly request: CellRequest }
  | { readonly kind: 'response'; readonly requestId: number; readonly response: CellResponse }
  | { readonly kind: 'admin-request'; readonly requestId: number; readonly request: CellAdminRequest }
  | { readonly kind: 'admin-response'; readonly requestId: number; readonly response: CellAdminResponse };

export function encodePeer(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + message.length);
  out[0] = TAG_PEER;
  out.set(message, 1);
  return out;
}

function withHeader(tag: number, requestId: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out[0] = tag;
  new DataView(out.buffer).setUint32(1, requestId);
  out.set(body, HEADER_BYTES);
  return out;
}

export function encodeRequest(requestId: number, request: CellRequest): Uint8Array {
  return withHeader(TAG_REQUEST, requestId, encodeCellRequest(request));
}

export function encodeResponse(requestId: number, response: CellResponse): Uint8Array {
  return withHeader(TAG_RESPONSE, requestId, encodeCellResponse(response));
}

export function encodeAdminRequest(requestId: number, request: CellAdminRequest): Uint8Array {
  return withHeader(TAG_ADMIN_REQUEST, requestId, new TextEncoder().encode(JSON.stringify(request)));
}

export function encodeAdminResponse(requestId: number, response: CellAdminResponse): Uint8Array {
  return withHeader(TAG_ADMIN_RESPONSE, requestId, new TextEncoder().encode(JSON.stringify(response)));
}

/** The envelope in `bytes`, or undefined when it is malformed. */
export function decodeEnvelope(bytes: Uint8Array): SwarmEnvelope | undefined {
  if (bytes[0] === TAG_PEER) return { kind: 'peer', message: bytes.subarray(1) };
  if (bytes.length < HEADER_BYTES) return undefined;
  const requestId = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
  const body = bytes.subarray(HEADER_BYTES);
  if (bytes[0] === TAG_ADMIN_REQUEST) {
    const request = adminRequest(parseJson(body));
    return request === undefined ? undefined : { kind: 'admin-request', requestId, request };
  }
  if (bytes[0] === TAG_ADMIN_RESPONSE) {
    const response = adminResponse(parseJson(body));
    return response === undefined ? undefined : { kind: 'admin-response', requestId, response };
  }
  if (bytes[0] === TAG_REQUEST) {
    const decoded = decodeCellRequest(body);
    return decoded.kind === 'decoded' ? { kind: 'request', requestId, request: decoded.value } : undefined;
  }
  if (bytes[0] === TAG_RESPONSE) {
    const decoded = decodeCellResponse(body);
    return decoded.kind === 'decoded' ? { kind: 'response', requestId, response: decoded.value } : undefined;
  }
  return undefined;
}

/** The kind of a message, for network rules that match by kind (the Paxos kind for peers). */
export function swarmMessageKind(bytes: Uint8Array): string {
  switch (bytes[0]) {
    case TAG_PEER:
      return cellMessageKind(unframe('', '', bytes.subarray(1)).message);
    case TAG_REQUEST:
      return 'client-request';
    case TAG_RESPONSE:
      return 'client-response';
    case TAG_ADMIN_REQUEST:
      return 'admin-request';
    case TAG_ADMIN_RESPONSE:
      return 'admin-response';
    default:
      return 'unknown';
  }
}

/** A plain JSON object, or undefined (never throws). */
function parseJson(body: Uint8Array): Record<string, unknown> | undefined {
  if (body.length > ADMIN_BODY_BYTES_MAX) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function member(value: unknown): NodeId | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 64 ? nodeId(value) : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function adminRequest(value: Record<string, unknown> | undefined): CellAdminRequest | undefined {
  if (value?.kind === 'noop') return { kind: 'noop' };
  if (value?.kind !== 'reconfigure' || typeof value.change !== 'object' || value.change === null)
    return undefined;
  const change = membershipChange(value.change as Record<string, unknown>);
  return change === undefined ? undefined : { kind: 'reconfigure', change };
}

function membershipChange(value: Record<string, unknown>): MembershipChange | undefined {
  const [node, remove, add] = [member(value.node), member(value.remove), member(value.add)];
  switch (value.kind) {
    case 'add':
      return node === undefined ? undefined : { kind: 'add', node };
    case 'remove':
      return node === undefined ? undefined : { kind: 'remove', node };
    case 'replace':
      return remove === undefined || add === undefined ? undefined : { kind: 'replace', remove, add };
    default:
      return undefined;
  }
}

function adminResponse(value: Record<string, unknown> | undefined): CellAdminResponse | undefined {
  const text = (field: unknown): string | undefined => (typeof field === 'string' ? field : undefined);
  switch (value?.kind) {
    case 'reconfigured': {
      const members = Array.isArray(value.members) ? value.members.map(member) : [];
      const [chosenIndex, effectiveFrom] = [count(value.chosenIndex), count(value.effectiveFrom)];
      if (members.length === 0 || members.some((m) => m === undefined)) return undefined;
      if (chosenIndex === undefined || effectiveFrom === undefined) return undefined;
      return { kind: 'reconfigured', members: members as NodeId[], chosenIndex, effectiveFrom };
    }
    case 'noop-chosen': {
      const index = count(value.index);
      return index === undefined ? undefined : { kind: 'noop-chosen', index };
    }
    case 'not-leader': {
      const leaderHint = member(value.leaderHint);
      return { kind: 'not-leader', leaderHint };
    }
    case 'overloaded': {
      const retryAfterMs = count(value.retryAfterMs);
      return retryAfterMs === undefined ? undefined : { kind: 'overloaded', retryAfterMs };
    }
    case 'invalid-change':
    case 'unavailable': {
      const reason = text(value.reason);
      return reason === undefined ? undefined : { kind: value.kind, reason };
    }
    case 'config-change-in-progress':
    case 'outcome-unknown':
      return { kind: value.kind };
    default:
      return undefined;
  }
}
