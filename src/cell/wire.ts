// The bytes one replica sends another of the same cell: a version byte, a kind byte, then a
// Paxos message (paxos codec) or one chunk of a snapshot for a lagging peer (Paxos meta,
// the whole snapshot's length, the chunk size, the chunk's number and its bytes).
// Decoding never throws: anything malformed is a typed error the replica counts and drops.
import { decodeMessage, encodeMessageAfter, messageBytesMax } from '../paxos/index.ts';
import type { PaxosMessage, SnapshotMeta } from '../paxos/index.ts';
import { decodeAll, Writer } from './codec-io.ts';
import type { CellDecoded } from './codec-io.ts';
import { readSnapshotMeta, writeSnapshotMeta } from './storage-layout.ts';

export const wireFormatVersion = 1;
/** Largest peer message the cell decodes (a snapshot of a full partition fits). */
export const cellMessageBytesMax = messageBytesMax + 1024 * 1024;

/** Smallest chunk size a decoder accepts (bounds the chunk count of a transfer). */
export const snapshotChunkBytesMin = 1024;

/** One chunk of a snapshot: bytes [number * chunkBytes, ...) of a `totalBytes` snapshot. */
export interface SnapshotChunk {
  readonly kind: 'snapshot-chunk';
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly chunkBytes: number;
  readonly number: number;
  readonly bytes: Uint8Array;
}

export type CellMessage = { readonly kind: 'paxos'; readonly message: PaxosMessage } | SnapshotChunk;

const KIND_PAXOS = 1;
const KIND_SNAPSHOT = 2;

const paxosEnvelopeHeader = Uint8Array.of(wireFormatVersion, KIND_PAXOS);

export function encodePaxosEnvelope(message: PaxosMessage): Uint8Array {
  return encodeMessageAfter(paxosEnvelopeHeader, message);
}

export function encodeSnapshotChunk(chunk: Omit<SnapshotChunk, 'kind'>): Uint8Array {
  const writer = new Writer();
  writer.byte(wireFormatVersion);
  writer.byte(KIND_SNAPSHOT);
  writeSnapshotMeta(writer, chunk.meta);
  writer.uint(chunk.totalBytes);
  writer.uint(chunk.chunkBytes);
  writer.uint(chunk.number);
  writer.bytes(chunk.bytes);
  return writer.finish();
}

/** The chunks of one snapshot, each at most `chunkBytes` long (one empty chunk for 0 bytes). */
export function snapshotChunks(meta: SnapshotMeta, state: Uint8Array, chunkBytes: number): Uint8Array[] {
  const count = Math.max(1, Math.ceil(state.length / chunkBytes));
  return Array.from({ length: count }, (_, number) =>
    encodeSnapshotChunk({
      meta,
      totalBytes: state.length,
      chunkBytes,
      number,
      bytes: state.subarray(number * chunkBytes, (number + 1) * chunkBytes),
    }),
  );
}

/** The length chunk `number` must have in a snapshot of `totalBytes` cut every `chunkBytes`. */
export function chunkLength(totalBytes: number, chunkBytes: number, number: number): number {
  return Math.max(0, Math.min(chunkBytes, totalBytes - number * chunkBytes));
}

/** The kind of an envelope without decoding it all (for simulator network rules). */
export function cellMessageKind(bytes: Uint8Array): string {
  if (bytes[0] !== wireFormatVersion) return 'unknown';
  if (bytes[1] === KIND_SNAPSHOT) return 'snapshot-chunk';
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
  return decodeAll(bytes, (reader): SnapshotChunk => {
    reader.byte('version');
    if (reader.byte('kind') !== KIND_SNAPSHOT) reader.fail('unknown-tag', 'kind');
    const meta = readSnapshotMeta(reader);
    const totalBytes = reader.uint('totalBytes');
    const chunkBytes = reader.uint('chunkBytes');
    const number = reader.uint('number');
    if (chunkBytes < snapshotChunkBytesMin) reader.fail('bad-value', 'chunkBytes');
    if (number >= Math.max(1, Math.ceil(totalBytes / chunkBytes))) reader.fail('bad-value', 'number');
    const chunk = reader.bytes('bytes', chunkBytes);
    if (chunk.length !== chunkLength(totalBytes, chunkBytes, number) && !(totalBytes === 0 && number === 0))
      reader.fail('bad-value', 'bytes');
    return { kind: 'snapshot-chunk', meta, totalBytes, chunkBytes, number, bytes: chunk };
  });
}
