// Deterministic binary codec for Paxos messages: a version byte, a kind byte, then the
// fields as fixed-order tuples. Decoding hostile bytes returns a typed error, never throws.
import { ByteWriter } from '../model/index.ts';
import type { PaxosMessage } from './messages.ts';
import type { Ballot, EntryValue, LogEntry, LogIndex, NodeId } from './types.ts';
import { ballotRoundMax, nodeIdBytesMax, zeroBallot } from './types.ts';

export const codecVersion = 1;
/** Largest encoded message accepted by `decodeMessage`. */
export const messageBytesMax = 8 * 1024 * 1024;
/** Most log entries in one message (promise, catch-up reply). */
export const entriesPerMessageMax = 1024;
/** Most members in one configuration entry. */
export const membersPerConfigMax = 64;

export type DecodeErrorKind =
  'tooLarge' | 'truncated' | 'unknownVersion' | 'unknownKind' | 'badValue' | 'trailingBytes';

export interface DecodeError {
  readonly kind: 'decodeError';
  readonly reason: DecodeErrorKind;
  readonly detail: string;
}

export type DecodeResult = { readonly kind: 'ok'; readonly message: PaxosMessage } | DecodeError;

const kindCodes = {
  prepare: 1,
  promise: 2,
  nack: 3,
  accept: 4,
  accepted: 5,
  commit: 6,
  catchupRequest: 7,
  catchupReply: 8,
} as const satisfies Record<PaxosMessage['kind'], number>;

const valueCodes = { noop: 0, payload: 1, config: 2 } as const;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class DecodeFailure extends Error {
  constructor(
    readonly reason: DecodeErrorKind,
    detail: string,
  ) {
    super(detail);
  }
}

/** Longest string `Reader.text` tries to read as ASCII before calling the UTF-8 decoder. */
const asciiFastBytesMax = 32;

class Reader {
  private offset = 0;
  constructor(private readonly data: Uint8Array) {}
  u8(): number {
    const byte = this.data[this.offset];
    if (byte === undefined) throw new DecodeFailure('truncated', `at byte ${this.offset}`);
    this.offset += 1;
    return byte;
  }
  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i += 1) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if (!Number.isSafeInteger(value)) throw new DecodeFailure('badValue', 'integer too large');
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new DecodeFailure('badValue', 'non-minimal integer');
        return value;
      }
      scale *= 0x80;
    }
    throw new DecodeFailure('badValue', 'integer too long');
  }
  /** Length-prefixed bytes, copied (a caller may keep them; the input is a whole frame). */
  raw(): Uint8Array {
    return this.view().slice();
  }
  /** Length-prefixed bytes as a view of the input (valid while the input is). */
  view(): Uint8Array {
    const length = this.uint();
    if (length > this.data.length - this.offset) throw new DecodeFailure('truncated', 'bytes');
    const out = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
  text(maxBytes: number): string {
    const bytes = this.view(); // decoded into a string: no copy needed
    if (bytes.length > maxBytes) throw new DecodeFailure('badValue', 'string too long');
    if (bytes.length <= asciiFastBytesMax) {
      // Short ASCII (every node id in practice): no decoder call. ASCII is valid UTF-8 as is.
      let ascii = '';
      let i = 0;
      for (; i < bytes.length && bytes[i]! < 0x80; i += 1) ascii += String.fromCharCode(bytes[i]!);
      if (i === bytes.length) return ascii;
    }
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new DecodeFailure('badValue', 'invalid UTF-8');
    }
  }
  count(max: number, what: string): number {
    const n = this.uint();
    if (n > max) throw new DecodeFailure('badValue', `too many ${what}: ${n}`);
    return n;
  }
  done(): void {
    if (this.offset !== this.data.length) throw new DecodeFailure('trailingBytes', `${this.offset}`);
  }
}

function writeBallot(w: ByteWriter, b: Ballot): void {
  w.uint(b.round);
  w.text(b.nodeId);
}

function readBallot(r: Reader): Ballot {
  const round = r.uint();
  if (round > ballotRoundMax) throw new DecodeFailure('badValue', 'ballot round too large');
  const node = r.text(nodeIdBytesMax);
  if ((round === 0) !== (node === '')) throw new DecodeFailure('badValue', 'ballot');
  // Ballots are immutable values, and a leader's entries all carry the same one: share the
  // last decoded object rather than keep one per entry held in a log.
  const last = lastBallotRead;
  if (last.round === round && last.nodeId === node) return last;
  lastBallotRead = { round, nodeId: node as NodeId } as Ballot;
  return lastBallotRead;
}

let lastBallotRead: Ballot = zeroBallot;

function writeValue(w: ByteWriter, value: EntryValue): void {
  w.byte(valueCodes[value.kind]);
  switch (value.kind) {
    case 'noop':
      return;
    case 'payload':
      w.bytes(value.payload);
      return;
    case 'config':
      w.uint(value.members.length);
      for (const member of value.members) w.text(member);
      return;
  }
}

function readValue(r: Reader): EntryValue {
  const code = r.u8();
  if (code === valueCodes.noop) return { kind: 'noop' };
  if (code === valueCodes.payload) return { kind: 'payload', payload: r.raw() };
  if (code === valueCodes.config) {
    const n = r.count(membersPerConfigMax, 'members');
    const members: NodeId[] = [];
    for (let i = 0; i < n; i += 1) {
      const member = r.text(nodeIdBytesMax);
      if (member === '') throw new DecodeFailure('badValue', 'empty member');
      members.push(member as NodeId);
    }
    return { kind: 'config', members };
  }
  throw new DecodeFailure('badValue', `entry value kind ${code}`);
}

function writeEntries(w: ByteWriter, entries: readonly LogEntry[]): void {
  w.uint(entries.length);
  for (const entry of entries) {
    w.uint(entry.index);
    writeBallot(w, entry.ballot);
    writeValue(w, entry.value);
  }
}

function readIndex(r: Reader): LogIndex {
  return r.uint() as LogIndex;
}

function readEntries(r: Reader): LogEntry[] {
  const n = r.count(entriesPerMessageMax, 'entries');
  const entries: LogEntry[] = [];
  for (let i = 0; i < n; i += 1) {
    const index = readIndex(r);
    if (index === 0) throw new DecodeFailure('badValue', 'entry index 0');
    entries.push({ index, ballot: readBallot(r), value: readValue(r) });
  }
  return entries;
}

/** Encodes a message. Deterministic: equal messages give equal bytes. */
export function encodeMessage(message: PaxosMessage): Uint8Array {
  return encodeMessageAfter(noPrefix, message);
}

const noPrefix = new Uint8Array(0);

/**
 * The bytes of `prefix` followed by the encoded message, in one buffer (an envelope's
 * header without a second copy of the message).
 */
export function encodeMessageAfter(prefix: Uint8Array, message: PaxosMessage): Uint8Array {
  const w = sharedWriter;
  w.reset();
  w.raw(prefix);
  w.byte(codecVersion);
  w.byte(kindCodes[message.kind]);
  switch (message.kind) {
    case 'prepare':
      writeBallot(w, message.ballot);
      w.uint(message.fromIndex);
      break;
    case 'promise':
      writeBallot(w, message.ballot);
      w.uint(message.commitIndex);
      writeEntries(w, message.entries);
      break;
    case 'nack':
      writeBallot(w, message.ballot);
      writeBallot(w, message.promisedBallot);
      break;
    case 'accept':
      writeEntries(w, [message.entry]);
      w.uint(message.commitIndex);
      break;
    case 'accepted':
      writeBallot(w, message.ballot);
      w.uint(message.index);
      break;
    case 'commit':
      writeBallot(w, message.ballot);
      w.uint(message.commitIndex);
      break;
    case 'catchupRequest':
      w.uint(message.fromIndex);
      break;
    case 'catchupReply':
      w.uint(message.commitIndex);
      writeEntries(w, message.entries);
      break;
  }
  const bytes = w.finish();
  if (bytes.length > writerKeptBytesMax) sharedWriter = new ByteWriter(writerInitialBytes);
  return bytes;
}

/** Bytes the shared writer starts with; it doubles as needed. */
const writerInitialBytes = 1024;
/** After a message longer than this the shared writer is replaced (its big buffer is not kept). */
const writerKeptBytesMax = 64 * 1024;
/** The writer every encode uses in turn (encoding is synchronous and never re-entered). */
let sharedWriter = new ByteWriter(writerInitialBytes);

function readBody(r: Reader, kind: number): PaxosMessage {
  switch (kind) {
    case kindCodes.prepare:
      return { kind: 'prepare', ballot: readBallot(r), fromIndex: readIndex(r) };
    case kindCodes.promise:
      return { kind: 'promise', ballot: readBallot(r), commitIndex: readIndex(r), entries: readEntries(r) };
    case kindCodes.nack:
      return { kind: 'nack', ballot: readBallot(r), promisedBallot: readBallot(r) };
    case kindCodes.accept: {
      const entries = readEntries(r);
      const entry = entries[0];
      if (entry === undefined || entries.length > 1) throw new DecodeFailure('badValue', 'accept entry');
      return { kind: 'accept', entry, commitIndex: readIndex(r) };
    }
    case kindCodes.accepted:
      return { kind: 'accepted', ballot: readBallot(r), index: readIndex(r) };
    case kindCodes.commit:
      return { kind: 'commit', ballot: readBallot(r), commitIndex: readIndex(r) };
    case kindCodes.catchupRequest:
      return { kind: 'catchupRequest', fromIndex: readIndex(r) };
    case kindCodes.catchupReply:
      return { kind: 'catchupReply', commitIndex: readIndex(r), entries: readEntries(r) };
    default:
      throw new DecodeFailure('unknownKind', `kind ${kind}`);
  }
}

/** Decodes bytes from a peer. Never throws: bad input gives a `decodeError`. */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  if (bytes.length > messageBytesMax) {
    return { kind: 'decodeError', reason: 'tooLarge', detail: `${bytes.length} bytes` };
  }
  try {
    const r = new Reader(bytes);
    const version = r.u8();
    if (version !== codecVersion) {
      return { kind: 'decodeError', reason: 'unknownVersion', detail: `version ${version}` };
    }
    const message = readBody(r, r.u8());
    r.done();
    return { kind: 'ok', message };
  } catch (error) {
    if (error instanceof DecodeFailure) {
      return { kind: 'decodeError', reason: error.reason, detail: error.message };
    }
    throw error;
  }
}
