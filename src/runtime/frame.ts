// The wire format of the real network: length-prefixed frames authenticated with
// HMAC-SHA256 under a named key (paper §2.6), a stream decoder, and frame verification.
//
// Frame layout (all integers big-endian):
//   u32 bodyLength                      bytes after this field, at most frameBytesMax
//   body:
//     u8  version                       frameVersion (1)
//     u8  kind                          1 = hello (first frame of a connection), 2 = data,
//                                       3 = batch (several data payloads, one MAC)
//     u8  keyIdLength, keyId            ASCII, 1..64 bytes
//     u8  senderLength, sender          UTF-8 HostId, 1..255 bytes
//     u8  receiverLength, receiver      UTF-8 HostId, 1..255 bytes
//     payload                           opaque bytes; in a hello, feature bits (empty from an
//                                       older host); in a batch, one or more (u32 length,
//                                       bytes) pairs filling it exactly
//     mac[32]                           HMAC-SHA256(key[keyId], body without mac)
// The MAC covers version, kind, key id, sender, receiver and payload, so a frame can be
// neither altered nor redirected to another receiver nor attributed to another sender.
// A batch carries the messages a host sends one peer in one event-loop turn: one MAC, one
// header and one write for all of them, which is most of a message's cost on loopback.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from './keyring.ts';

export const frameVersion = 1;
export const frameLengthBytes = 4;
export const macBytes = 32;
/** Default bound on a frame body; a larger declared length closes the connection. */
export const defaultFrameBytesMax = 1024 * 1024;
/** Bound on frames before a connection has authenticated: a hello fits with room to spare. */
export const helloFrameBytesMax = 1024;
/** HostIds on the wire are at most this many UTF-8 bytes. */
export const hostIdBytesMax = 255;

export type FrameKind = 'hello' | 'data' | 'batch';
const kindCodes: Record<FrameKind, number> = { hello: 1, data: 2, batch: 3 };
const kindOfCode: ReadonlyMap<number, FrameKind> = new Map(
  Object.entries(kindCodes).map(([kind, code]) => [code, kind as FrameKind]),
);
/** Bytes a batch adds before each of its payloads (the u32 length). */
export const batchEntryHeaderBytes = 4;
/**
 * A hello's payload is one byte of feature bits (empty from a host that predates them).
 * `batch`: the host reads batch frames, so its peers may send it some.
 */
export const helloFeatureBatch = 1;

/** Why a received frame was dropped. */
export type FrameDropReason =
  | 'oversized' // declared length over the bound (closes the connection)
  | 'truncated' // the connection ended inside a frame
  | 'malformed' // inconsistent header, unknown version or kind
  | 'unknown-key' // key id not in the keyring
  | 'bad-mac' // authentication failed
  | 'wrong-receiver' // addressed to another host
  | 'wrong-sender' // sender differs from the connection's authenticated peer
  | 'no-handshake' // data before a valid hello
  | 'unexpected-hello'; // a second hello on one connection

export const frameDropReasons: readonly FrameDropReason[] = [
  'oversized',
  'truncated',
  'malformed',
  'unknown-key',
  'bad-mac',
  'wrong-receiver',
  'wrong-sender',
  'no-handshake',
  'unexpected-hello',
];

export interface FrameFields {
  readonly kind: FrameKind;
  readonly sender: string;
  readonly receiver: string;
  readonly payload: Uint8Array;
}

/** Encodes and signs a frame (length prefix included) with the keyring's signing key. */
export function encodeFrame(fields: FrameFields, keyring: Keyring): Buffer {
  const { frame, at } = startFrame(
    fields.kind,
    fields.sender,
    fields.receiver,
    fields.payload.byteLength,
    keyring,
  );
  frame.set(fields.payload, at);
  return signFrame(frame, at + fields.payload.byteLength, keyring);
}

/** Encodes and signs one batch frame carrying `payloads` (at least one), in order. */
export function encodeBatchFrame(
  sender: string,
  receiver: string,
  payloads: readonly Uint8Array[],
  keyring: Keyring,
): Buffer {
  if (payloads.length === 0) throw new RangeError('a batch carries at least one payload');
  let payloadBytes = 0;
  for (const payload of payloads) payloadBytes += batchEntryHeaderBytes + payload.byteLength;
  const started = startFrame('batch', sender, receiver, payloadBytes, keyring);
  const frame = started.frame;
  let at = started.at;
  for (const payload of payloads) {
    at = frame.writeUInt32BE(payload.byteLength, at);
    frame.set(payload, at);
    at += payload.byteLength;
  }
  return signFrame(frame, at, keyring);
}

/** Allocates a frame and writes its length prefix and header; `at` is where the payload goes. */
function startFrame(
  kind: FrameKind,
  senderId: string,
  receiverId: string,
  payloadBytes: number,
  keyring: Keyring,
): { frame: Buffer; at: number } {
  const keyId = Buffer.from(keyring.signingKeyId, 'ascii');
  const sender = Buffer.from(senderId, 'utf8');
  const receiver = Buffer.from(receiverId, 'utf8');
  if (sender.byteLength === 0 || sender.byteLength > hostIdBytesMax) throw new RangeError('sender id length');
  if (receiver.byteLength === 0 || receiver.byteLength > hostIdBytesMax)
    throw new RangeError('receiver id length');
  const headerBytes = 5 + keyId.byteLength + sender.byteLength + receiver.byteLength;
  const bodyBytes = headerBytes + payloadBytes + macBytes;
  const frame = Buffer.allocUnsafe(frameLengthBytes + bodyBytes);
  let at = frame.writeUInt32BE(bodyBytes, 0);
  at = frame.writeUInt8(frameVersion, at);
  at = frame.writeUInt8(kindCodes[kind], at);
  for (const field of [keyId, sender, receiver]) {
    at = frame.writeUInt8(field.byteLength, at);
    at += field.copy(frame, at);
  }
  return { frame, at };
}

/** Writes the MAC of everything between the length prefix and `macAt`, at `macAt`. */
function signFrame(frame: Buffer, macAt: number, keyring: Keyring): Buffer {
  const mac = createHmac('sha256', keyring.signingKey)
    .update(frame.subarray(frameLengthBytes, macAt))
    .digest();
  mac.copy(frame, macAt);
  return frame;
}

/**
 * The payloads of a verified batch frame, as views into it, or undefined when the lengths
 * do not fill it exactly (a malformed batch: none of it is delivered).
 */
export function splitBatch(payload: Uint8Array): Uint8Array[] | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const payloads: Uint8Array[] = [];
  let at = 0;
  while (at < payload.byteLength) {
    if (at + batchEntryHeaderBytes > payload.byteLength) return undefined;
    const length = view.getUint32(at);
    at += batchEntryHeaderBytes;
    if (at + length > payload.byteLength) return undefined;
    payloads.push(payload.subarray(at, at + length));
    at += length;
  }
  return payloads.length === 0 ? undefined : payloads;
}

/** The body size of a data frame between two hosts, for checking a payload bound. */
export function frameBodyBytes(
  keyIdBytes: number,
  sender: string,
  receiver: string,
  payloadBytes: number,
): number {
  return 5 + keyIdBytes + Buffer.byteLength(sender) + Buffer.byteLength(receiver) + payloadBytes + macBytes;
}

export type VerifiedFrame =
  | { readonly kind: 'ok'; readonly frame: FrameFields }
  | { readonly kind: 'dropped'; readonly reason: FrameDropReason };

interface Header {
  readonly frameKind: FrameKind;
  readonly keyId: string;
  readonly sender: string;
  readonly receiver: string;
  readonly payloadStart: number;
}

/** Reads the header of a body, or undefined if it is not well formed. */
function readHeader(body: Buffer): Header | undefined {
  if (body.byteLength < 5 + macBytes || body[0] !== frameVersion) return undefined;
  const frameKind = kindOfCode.get(body[1] ?? 0);
  if (frameKind === undefined) return undefined;
  const fields: string[] = [];
  let at = 2;
  for (const encoding of ['ascii', 'utf8', 'utf8'] as const) {
    const length = body[at] ?? 0;
    at += 1;
    if (length === 0 || at + length > body.byteLength - macBytes) return undefined;
    fields.push(body.toString(encoding, at, at + length));
    at += length;
  }
  const [keyId, sender, receiver] = fields as [string, string, string];
  return { frameKind, keyId, sender, receiver, payloadStart: at };
}

/** Authenticates a body (without its length prefix) and checks it is addressed to `self`. */
export function verifyFrame(body: Buffer, keyring: Keyring, self: string): VerifiedFrame {
  const header = readHeader(body);
  if (header === undefined) return { kind: 'dropped', reason: 'malformed' };
  const key = keyring.key(header.keyId);
  if (key === undefined) return { kind: 'dropped', reason: 'unknown-key' };
  const macStart = body.byteLength - macBytes;
  const expected = createHmac('sha256', key).update(body.subarray(0, macStart)).digest();
  if (!timingSafeEqual(expected, body.subarray(macStart))) return { kind: 'dropped', reason: 'bad-mac' };
  if (header.receiver !== self) return { kind: 'dropped', reason: 'wrong-receiver' };
  const payload = new Uint8Array(body.subarray(header.payloadStart, macStart)); // a copy the handler owns
  return {
    kind: 'ok',
    frame: { kind: header.frameKind, sender: header.sender, receiver: header.receiver, payload },
  };
}

export type DecodedChunk = { readonly kind: 'body'; readonly body: Buffer } | { readonly kind: 'oversized' };

/**
 * Splits a TCP byte stream into frame bodies, whatever the chunking. After an oversized
 * length the stream cannot be resynchronized: the decoder stops and the caller closes.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private stopped = false;

  constructor(private frameBytesMax: number = defaultFrameBytesMax) {}

  /** Changes the bound for frames not yet decoded (e.g. raised once a peer authenticates). */
  setFrameBytesMax(frameBytesMax: number): void {
    this.frameBytesMax = frameBytesMax;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Adds received bytes; take the frames out with `next`. */
  append(chunk: Buffer): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.byteLength;
  }

  /**
   * The next whole frame body, `oversized` (after which the decoder stops), or undefined
   * when more bytes are needed. One at a time, so a bound changed after a frame applies to
   * the frames behind it.
   */
  next(): DecodedChunk | undefined {
    if (this.stopped || this.bufferedBytes < frameLengthBytes) return undefined;
    const bodyBytes = this.headWith(frameLengthBytes).readUInt32BE(0);
    if (bodyBytes > this.frameBytesMax) {
      this.stopped = true;
      this.chunks = [];
      this.bufferedBytes = 0;
      return { kind: 'oversized' };
    }
    const frameBytes = frameLengthBytes + bodyBytes;
    if (this.bufferedBytes < frameBytes) return undefined;
    const body = this.headWith(frameBytes).subarray(frameLengthBytes, frameBytes);
    this.consume(frameBytes);
    return { kind: 'body', body };
  }

  /** Appends `chunk` and returns every frame now whole (for callers that never change the bound). */
  push(chunk: Buffer): DecodedChunk[] {
    this.append(chunk);
    const out: DecodedChunk[] = [];
    for (let item = this.next(); item !== undefined; item = this.next()) out.push(item);
    return out;
  }

  /** The first chunk, merged with the following ones until it holds `bytes` bytes. */
  private headWith(bytes: number): Buffer {
    const first = this.chunks[0]!;
    if (first.byteLength >= bytes) return first;
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged;
  }

  private consume(bytes: number): void {
    const first = this.chunks[0]!;
    if (first.byteLength === bytes) this.chunks.shift();
    else this.chunks[0] = first.subarray(bytes);
    this.bufferedBytes -= bytes;
  }
}
