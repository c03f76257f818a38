// TEST-ONLY: the bytes on the simulated network of the cell swarm. A server host carries
// both its replica's peer messages and its clients' requests, so every message gets one tag
// byte: a peer message, or a client request / response with a request id. Decoding never
// throws; anything malformed is undefined and dropped.
import { decodeCellRequest, decodeCellResponse, encodeCellRequest, encodeCellResponse } from '../index.ts';
import type { CellRequest, CellResponse } from '../index.ts';
import { cellMessageKind } from '../wire.ts';

const TAG_PEER = 0x50;
const TAG_REQUEST = 0x51;
const TAG_RESPONSE = 0x52;
/** Tag byte plus a u32 request id. */
const HEADER_BYTES = 5;

export type SwarmEnvelope =
  | { readonly kind: 'peer'; readonly message: Uint8Array }
  | { readonly kind: 'request'; readonly requestId: number; readonly request: CellRequest }
  | { readonly kind: 'response'; readonly requestId: number; readonly response: CellResponse };

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

/** The envelope in `bytes`, or undefined when it is malformed. */
export function decodeEnvelope(bytes: Uint8Array): SwarmEnvelope | undefined {
  if (bytes[0] === TAG_PEER) return { kind: 'peer', message: bytes.subarray(1) };
  if (bytes.length < HEADER_BYTES) return undefined;
  const requestId = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
  const body = bytes.subarray(HEADER_BYTES);
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
      return cellMessageKind(bytes.subarray(1));
    case TAG_REQUEST:
      return 'client-request';
    case TAG_RESPONSE:
      return 'client-response';
    default:
      return 'unknown';
  }
}
