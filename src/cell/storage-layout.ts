// How one cell replica lays out its durable state in the host's shared Storage, and how a
// PersistDelta becomes ONE atomic batch. Every value carries a checksum of its key and bytes,
// so a corrupted or misplaced record is detected at load instead of trusted.
//
// Layout, under cellKeyPrefix(cellId) = 'C' | u32 BE byte length of cellId | UTF-8 cellId:
//   prefix 0x01                 promised ballot (round, node id)
//   prefix 0x02                 commit index
//   prefix 0x03                 Paxos snapshot meta (index, memberships that still govern)
//   prefix 0x04                 state-machine snapshot (model state + lease table)
//   prefix 0x05                 applied index of that state-machine snapshot
//   prefix 0x10 | u64 BE index  one accepted log entry (ballot, value); big-endian so
//                               entries sort by index and range-delete below a snapshot
// Every value is: CRC-32 of (key | body), 4 bytes big-endian, then the body. A CRC catches
// torn and flipped bits as a cryptographic hash would, at a tenth of the cost per record.
// Records of the earlier format (8 bytes of SHA-256, then the body) still load.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { StorageWrite, Storage } from '../env/index.ts';
import type {
  Ballot,
  ConfigRecord,
  EntryValue,
  LogEntry,
  LogIndex,
  NodeId,
  PersistDelta,
  PersistedState,
  SnapshotMeta,
} from '../paxos/index.ts';
import { zeroBallot } from '../paxos/index.ts';
import { decodeAll, Writer } from './codec-io.ts';
import type { CellDecoded, Reader } from './codec-io.ts';
import type { CellId } from './types.ts';

const utf8 = new TextEncoder();
const CHECKSUM_BYTES = 4;
const checksumPlaceholder = new Uint8Array(CHECKSUM_BYTES);
const TAG_PROMISED = 0x01;
const TAG_COMMIT = 0x02;
const TAG_SNAPSHOT_META = 0x03;
const TAG_STATE_SNAPSHOT = 0x04;
const TAG_APPLIED = 0x05;
const TAG_ENTRY = 0x10;
/** Most members in one stored configuration, and most stored configurations. */
const STORED_MEMBERS_MAX = 64;
const STORED_CONFIGS_MAX = 64;

/** The prefix of every key of one cell; no cell's prefix is a prefix of another's. */
export function cellKeyPrefix(cellId: CellId): Uint8Array {
  const name = utf8.encode(cellId);
  const prefix = new Uint8Array(5 + name.length);
  prefix[0] = 0x43;
  new DataView(prefix.buffer).setUint32(1, name.length);
  prefix.set(name, 5);
  return prefix;
}

function key(prefix: Uint8Array, tag: number, index?: number): Uint8Array {
  const extra = index === undefined ? 0 : 8;
  const out = new Uint8Array(prefix.length + 1 + extra);
  out.set(prefix);
  out[prefix.length] = tag;
  if (index !== undefined) writeUint64(out, prefix.length + 1, index);
  return out;
}

/** `value` (a safe integer, at least 0) as 8 bytes big-endian at `offset`. */
function writeUint64(out: Uint8Array, offset: number, value: number): void {
  let high = Math.floor(value / 2 ** 32);
  let low = value >>> 0;
  for (let i = 3; i >= 0; i -= 1) {
    out[offset + i] = high & 0xff;
    out[offset + 4 + i] = low & 0xff;
    high >>>= 8;
    low >>>= 8;
  }
}

/** The exclusive end of the prefix's key range. */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i -= 1) {
    if (out[i]! < 0xff) {
      out[i] = out[i]! + 1;
      return out.slice(0, i + 1);
    }
  }
  throw new Error('prefixEnd: prefix is all 0xff');
}

function checksum(keyBytes: Uint8Array, body: Uint8Array): number {
  return crc32(body, crc32(keyBytes));
}

/** Reused by `startSeal` and `seal` (synchronous, never re-entered); replaced after a large record. */
let sealWriter = new Writer(1024);
const sealWriterBytesMax = 64 * 1024;

/** The shared writer, emptied, with room for the checksum: the caller writes a body to it, then seals. */
function startSeal(): Writer {
  const writer = sealWriter;
  writer.reset();
  writer.raw(checksumPlaceholder);
  return writer;
}

/** A stored value: the checksum of key and the body written since `startSeal`, then the body (one copy). */
function seal(keyBytes: Uint8Array): Uint8Array {
  const sealed = sealWriter.finish();
  if (sealed.byteLength > sealWriterBytesMax) sealWriter = new Writer(1024);
  const body = sealed.subarray(CHECKSUM_BYTES);
  const sum = checksum(keyBytes, body);
  sealed[0] = sum >>> 24;
  sealed[1] = (sum >>> 16) & 0xff;
  sealed[2] = (sum >>> 8) & 0xff;
  sealed[3] = sum & 0xff;
  return sealed;
}

/** The body of a stored value, or undefined when its checksum does not match. */
function unseal(keyBytes: Uint8Array, value: Uint8Array): Uint8Array | undefined {
  if (value.length < CHECKSUM_BYTES) return undefined;
  const body = value.subarray(CHECKSUM_BYTES);
  const stored = new DataView(value.buffer, value.byteOffset, CHECKSUM_BYTES).getUint32(0);
  if (stored === checksum(keyBytes, body)) return body;
  return unsealLegacy(keyBytes, value);
}

/** Bytes of the checksum records had before CRC-32: the first 8 bytes of SHA-256(key | body). */
const LEGACY_CHECKSUM_BYTES = 8;

/**
 * A record written before the CRC-32 format (an earlier version of this code on the same
 * data directory): it still loads, so an upgrade in place loses nothing. Rewritten records
 * take the new format.
 */
function unsealLegacy(keyBytes: Uint8Array, value: Uint8Array): Uint8Array | undefined {
  if (value.length < LEGACY_CHECKSUM_BYTES) return undefined;
  const body = value.subarray(LEGACY_CHECKSUM_BYTES);
  const digest = createHash('sha256').update(keyBytes).update(body).digest();
  for (let i = 0; i < LEGACY_CHECKSUM_BYTES; i += 1) if (digest[i] !== value[i]) return undefined;
  return body;
}

function writeBallot(writer: Writer, ballot: Ballot): void {
  writer.uint(ballot.round);
  writer.text(ballot.nodeId);
}

function readBallot(reader: Reader): Ballot {
  const round = reader.uint('ballot.round');
  return { round, nodeId: reader.text('ballot.nodeId') as NodeId } as Ballot;
}

function writeEntryValue(writer: Writer, value: EntryValue): void {
  switch (value.kind) {
    case 'noop':
      writer.byte(0);
      return;
    case 'payload':
      writer.byte(1);
      writer.bytes(value.payload);
      return;
    case 'config':
      writer.byte(2);
      writeMembers(writer, value.members);
      return;
  }
}

function readEntryValue(reader: Reader): EntryValue {
  const tag = reader.byte('value.kind');
  if (tag === 0) return { kind: 'noop' };
  if (tag === 1) return { kind: 'payload', payload: reader.bytes('value.payload') };
  if (tag === 2) return { kind: 'config', members: readMembers(reader) };
  return reader.fail('unknown-tag', 'value.kind');
}

function writeMembers(writer: Writer, members: readonly NodeId[]): void {
  writer.uint(members.length);
  for (const member of members) writer.text(member);
}

function readMembers(reader: Reader): NodeId[] {
  const count = reader.uint('members.count');
  if (count > STORED_MEMBERS_MAX) reader.fail('bad-value', 'members.count');
  const members: NodeId[] = [];
  for (let i = 0; i < count; i += 1) members.push(reader.text('member') as NodeId);
  return members;
}

function encodeSnapshotMeta(meta: SnapshotMeta): Uint8Array {
  const writer = new Writer();
  writer.uint(meta.index);
  writer.uint(meta.configs.length);
  for (const config of meta.configs) {
    writer.uint(config.effectiveFrom);
    writeMembers(writer, config.members);
  }
  return writer.finish();
}

export function readSnapshotMeta(reader: Reader): SnapshotMeta {
  const index = reader.uint('meta.index') as LogIndex;
  const count = reader.uint('meta.configs');
  if (count === 0 || count > STORED_CONFIGS_MAX) reader.fail('bad-value', 'meta.configs');
  const configs: ConfigRecord[] = [];
  for (let i = 0; i < count; i += 1) {
    configs.push({
      effectiveFrom: reader.uint('config.effectiveFrom') as LogIndex,
      members: readMembers(reader),
    });
  }
  return { index, configs };
}

export function writeSnapshotMeta(writer: Writer, meta: SnapshotMeta): void {
  writer.raw(encodeSnapshotMeta(meta));
}

function encodeWith(write: (writer: Writer) => void): Uint8Array {
  const writer = new Writer();
  write(writer);
  return writer.finish();
}

/** A state-machine snapshot to store beside a delta (written in the same batch). */
export interface StoredStateSnapshot {
  readonly appliedIndex: number;
  readonly bytes: Uint8Array;
}

/**
 * A compaction deletes its entries' keys one by one (no range read) when it knows the index
 * of the snapshot before it and drops at most this many indices; otherwise (the first
 * compaction after a create, a lagging replica installing a peer's snapshot far ahead) it
 * lists the stored entry keys below the new snapshot.
 */
const compactionDeletesMax = 4096;

/** Binds one cell's key layout to a storage. */
export class CellStore {
  readonly prefix: Uint8Array;
  /**
   * The snapshot index of the last snapshot meta written or loaded, when no stored entry
   * lies at or below it (so the stored entries are all above it); undefined when unknown.
   */
  private snapshotIndexStored: number | undefined;

  constructor(
    readonly storage: Storage,
    cellId: CellId,
  ) {
    this.prefix = cellKeyPrefix(cellId);
  }

  /** The put of the body written to `startSeal()`'s writer, at the key of `tag` (and `index`). */
  private put(tag: number, index?: number): StorageWrite {
    const k = key(this.prefix, tag, index);
    return { kind: 'put', key: k, value: seal(k) };
  }

  /** The whole delta (and an optional state-machine snapshot) as ONE batch, in the delta's order. */
  batchFor(delta: PersistDelta | undefined, stateSnapshot?: StoredStateSnapshot): StorageWrite[] {
    const writes: StorageWrite[] = [];
    if (delta?.snapshot !== undefined) {
      const from = this.snapshotIndexStored;
      const to = delta.snapshot.index;
      if (from !== undefined && from <= to && to - from <= compactionDeletesMax) {
        // Every stored entry lies above `from`: delete (from, to] by key, without a range
        // read (which sorts the storage overlay's new keys and opens an LMDB cursor).
        for (let index = from + 1; index <= to; index += 1)
          writes.push({ kind: 'delete', key: key(this.prefix, TAG_ENTRY, index) });
      } else {
        const end = key(this.prefix, TAG_ENTRY, to + 1);
        for (const [k] of this.storage.range({ start: key(this.prefix, TAG_ENTRY, 0), end }))
          writes.push({ kind: 'delete', key: k });
      }
      this.snapshotIndexStored = to;
      writeSnapshotMeta(startSeal(), delta.snapshot);
      writes.push(this.put(TAG_SNAPSHOT_META));
    }
    if (stateSnapshot !== undefined) {
      startSeal().raw(stateSnapshot.bytes);
      writes.push(this.put(TAG_STATE_SNAPSHOT));
      startSeal().uint(stateSnapshot.appliedIndex);
      writes.push(this.put(TAG_APPLIED));
    }
    for (const entry of delta?.entries ?? []) {
      const writer = startSeal();
      writeBallot(writer, entry.ballot);
      writeEntryValue(writer, entry.value);
      writes.push(this.put(TAG_ENTRY, entry.index));
    }
    const promised = delta?.promisedBallot;
    if (promised !== undefined) {
      writeBallot(startSeal(), promised);
      writes.push(this.put(TAG_PROMISED));
    }
    const commitIndex = delta?.commitIndex;
    if (commitIndex !== undefined) {
      startSeal().uint(commitIndex);
      writes.push(this.put(TAG_COMMIT));
    }
    return writes;
  }

  /** The stored Paxos snapshot meta and state-machine snapshot (to teach a peer); undefined if damaged. */
  loadSnapshot(): { meta: SnapshotMeta; bytes: Uint8Array } | undefined {
    const metaKey = key(this.prefix, TAG_SNAPSHOT_META);
    const stateKey = key(this.prefix, TAG_STATE_SNAPSHOT);
    const metaValue = this.storage.get(metaKey);
    const stateValue = this.storage.get(stateKey);
    if (metaValue === undefined || stateValue === undefined) return undefined;
    const metaBody = unseal(metaKey, metaValue);
    const stateBody = unseal(stateKey, stateValue);
    if (metaBody === undefined || stateBody === undefined) return undefined;
    const meta = decodeAll(metaBody, (r) => readSnapshotMeta(r));
    return meta.kind === 'decoded' ? { meta: meta.value, bytes: stateBody.slice() } : undefined;
  }

  /** Every key of the cell, as deletes. */
  deleteAll(): StorageWrite[] {
    return [...this.storage.range({ start: this.prefix, end: prefixEnd(this.prefix) })].map(([k]) => ({
      kind: 'delete' as const,
      key: k,
    }));
  }

  /** Reads the stored state: 'absent' when the cell has none, a typed error when damaged. */
  load(): LoadResult {
    const records = new Map<number, Uint8Array>();
    const entries: LogEntry[] = [];
    for (const [k, v] of this.storage.range({ start: this.prefix, end: prefixEnd(this.prefix) })) {
      const body = unseal(k, v);
      const tag = k[this.prefix.length];
      if (body === undefined || tag === undefined) return { kind: 'corrupt', detail: 'checksum mismatch' };
      if (tag !== TAG_ENTRY) {
        records.set(tag, body);
        continue;
      }
      const index = Number(new DataView(k.buffer, k.byteOffset).getBigUint64(this.prefix.length + 1));
      const decoded = decodeAll(body, (r) => ({ ballot: readBallot(r), value: readEntryValue(r) }));
      if (decoded.kind === 'decode-error')
        return { kind: 'corrupt', detail: `entry ${index}: ${decoded.field}` };
      entries.push({ index: index as LogIndex, ballot: decoded.value.ballot, value: decoded.value.value });
    }
    return this.assemble(records, entries);
  }

  private assemble(records: Map<number, Uint8Array>, entries: LogEntry[]): LoadResult {
    const commit = records.get(TAG_COMMIT);
    const meta = records.get(TAG_SNAPSHOT_META);
    if (commit === undefined && meta === undefined && entries.length === 0) return { kind: 'absent' };
    const fields = [commit, meta, records.get(TAG_STATE_SNAPSHOT), records.get(TAG_APPLIED)];
    if (fields.some((f) => f === undefined)) return { kind: 'corrupt', detail: 'missing record' };
    const parts = [
      decodeAll(commit!, (r) => r.uint('commit')),
      decodeAll(meta!, (r) => readSnapshotMeta(r)),
      decodeAll(records.get(TAG_APPLIED)!, (r) => r.uint('applied')),
      decodeAll(records.get(TAG_PROMISED) ?? encodeWith((w) => writeBallot(w, zeroBallot)), (r) =>
        readBallot(r),
      ),
    ] as const;
    const [commitIndex, snapshot, applied, promised] = parts;
    if (
      commitIndex.kind !== 'decoded' ||
      snapshot.kind !== 'decoded' ||
      applied.kind !== 'decoded' ||
      promised.kind !== 'decoded'
    )
      return { kind: 'corrupt', detail: 'undecodable record' };
    // Entries at or below the snapshot are ignored (and deleted by the next compaction's
    // range read); with none, compactions delete by key.
    const snapshotIndex = snapshot.value.index;
    this.snapshotIndexStored = entries.some((e) => e.index <= snapshotIndex) ? undefined : snapshotIndex;
    const state: PersistedState = {
      promisedBallot: promised.value,
      commitIndex: commitIndex.value as LogIndex,
      snapshot: snapshot.value,
      entries: entries.filter((e) => e.index > snapshot.value.index),
    };
    return {
      kind: 'found',
      state,
      stateSnapshot: { appliedIndex: applied.value, bytes: records.get(TAG_STATE_SNAPSHOT)! },
    };
  }
}

export type LoadResult =
  | { readonly kind: 'absent' }
  | { readonly kind: 'corrupt'; readonly detail: string }
  | { readonly kind: 'found'; readonly state: PersistedState; readonly stateSnapshot: StoredStateSnapshot };

export type { CellDecoded };
