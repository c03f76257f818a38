// The bytes one replica sends another of the same cell: a version byte, a kind byte, then a
// Paxos message (paxos codec) or a snapshot for a lagging peer (Paxos meta + state bytes).
// Decoding never throws: anything malformed is a typed error the replica counts and drops.
import { decodeMessage, encodeMessage, messageBytesMax } from '../paxos/index.ts';
import type { PaxosMessage, SnapshotMeta } from '../paxos/index.ts';
import { decodeAll, Writer } from './codec-io.ts';
import type { CellDecoded } from './codec-io.ts';
import { readSnapshotMeta, writeSnapshotMeta } from './storage-layout.ts';

export const wireFormatVersion = 1;
/** Largest peer message the cell decodes (a snapshot of a full partition fits). */
export const cellMessageBytesMax = messageBytesMax + 1024 * 1024;

export type CellMessage =
  | { readonly kind: 'paxos'; readonly message: PaxosMessage }
  | { readonly kind: 'snapshot'; readonly meta: SnapshotMeta; readonly state: Uint8Array };

const KIND_PAXOS = 1;
const KIND_SNAPSHOT = 2;

export function encodePaxosEnvelope(message: PaxosMessage): Uint8Array {
  const body = encodeMessage(message);
  const out = new Uint8Array(2 + body.length);
  out[0] = wireFormatVersion;
  out[1] = KIND_PAXOS;
  out.set(body, 2);
  return out;
}

export function encodeSnapshotEnvelope(meta: SnapshotMeta, state: Uint8Array): Uint8Array {
  const writer = new Writer();
  writer.byte(wireFormatVersion);
  writer.byte(KIND_SNAPSHOT);
  writeSnapshotMeta(writer, meta);
  writer.bytes(state);
  return writer.finish();
}

/** The kind of an envelope without decoding it all (for simulator network rules). */
export function cellMessageKind(bytes: Uint8Array): string {
  if (bytes[0] !== wireFormatVersion) return 'unknown';
  if (bytes[1] === KIND_SNAPSHOT) return 'snapshot';
  if (bytes[1] !== KIND_PAXOS) return 'unknown';
  const decoded = decodeMessage(bytes.subarray(2));
  return decoded.kind === 'ok' ? decoded.message.kind : 'unknown';
}

export function decodeCellMessage(bytes: Uint8Array): CellDecoded<CellMessage> {
  if (bytes.length > cellMessageBytesMax)
    return { kind: 'decode-error', reason: 'bad-value', field: 'length', offset: 0 };
  if (bytes[0] !== wireFormatVersion)
    return {
      kind: 'decode-error',
      reason: bytes.length === 0 ? 'truncated' : 'unknown-version',
      field: 'version',
      offset: 0,
    };
  if (bytes[1] === KIND_PAXOS) {
    const decoded = decodeMessage(bytes.subarray(2));
    if (decoded.kind !== 'ok')
      return { kind: 'decode-error', reason: 'bad-value', field: `paxos.${decoded.reason}`, offset: 2 };
    return { kind: 'decoded', value: { kind: 'paxos', message: decoded.message } };
  }
  return decodeAll(bytes, (reader) => {
    reader.byte('version');
    if (reader.byte('kind') !== KIND_SNAPSHOT) reader.fail('unknown-tag', 'kind');
    const meta = readSnapshotMeta(reader);
    return { kind: 'snapshot', meta, state: reader.bytes('state', cellMessageBytesMax) };
  });
}
