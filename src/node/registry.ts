// The node's durable registry of the cells it hosts (cell id -> the member id its replica runs
// as, and the membership it was told), of its forwarding pointers (cell id -> where the cell
// went, until when; paper §2.5), and of the counter that numbers replica incarnations (§2.4,
// ABA), kept in the host's Storage under the prefix 'N' (cells use 'C'), so a restart knows all.
import type { Storage, StorageWrite } from '../env/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { ByteDecodeFailure, ByteReader, ByteWriter, utf8 } from './bytes.ts';
import type { CellId } from './cell-contract.ts';
import { cellIdBytesMax, membersMax, nodeIdBytesMax } from './wire.ts';

const PREFIX = 0x4e; // 'N'
const HOSTED = 0x72; // 'r'
const POINTER = 0x70; // 'p'
const INCARNATIONS = 0x69; // 'i': one record, the last incarnation number handed out
const RECORD_VERSION = 1;
/** Hosted records since reconfiguration: they name the member id the replica runs as. */
const HOSTED_VERSION = 2;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const incarnationsKey = new Uint8Array([PREFIX, INCARNATIONS]);

function keyOf(space: number, cellId: CellId): Uint8Array {
  const id = utf8(cellId);
  const key = new Uint8Array(2 + id.length);
  key[0] = PREFIX;
  key[1] = space;
  key.set(id, 2);
  return key;
}

function encodeMembers(members: readonly NodeId[], expiresAtMs?: number): Uint8Array {
  const writer = new ByteWriter().byte(RECORD_VERSION);
  if (expiresAtMs !== undefined) writer.uint(Math.max(0, Math.floor(expiresAtMs)));
  writer.uint(members.length);
  for (const member of members) writer.text(member);
  return writer.finish();
}

function decodeMembers(
  bytes: Uint8Array,
  withExpiry: boolean,
): { members: NodeId[]; expiresAtMs: number } | undefined {
  try {
    const reader = new ByteReader(bytes);
    if (reader.byte('version') !== RECORD_VERSION) return undefined;
    const expiresAtMs = withExpiry ? reader.uint('expiresAtMs') : 0;
    const count = reader.uint('count', membersMax);
    const members: NodeId[] = [];
    for (let index = 0; index < count; index += 1)
      members.push(reader.text('member', nodeIdBytesMax) as NodeId);
    reader.end('trailing');
    return { members, expiresAtMs };
  } catch (error) {
    if (error instanceof ByteDecodeFailure) return undefined;
    throw error;
  }
}

function encodeHosted(self: NodeId, members: readonly NodeId[]): Uint8Array {
  const writer = new ByteWriter().byte(HOSTED_VERSION).text(self);
  writer.uint(members.length);
  for (const member of members) writer.text(member);
  return writer.finish();
}

/** A hosted record of either version (version 1 records run as the node's own id). */
function decodeHosted(bytes: Uint8Array): { self: NodeId | undefined; members: NodeId[] } | undefined {
  if (bytes[0] === RECORD_VERSION) {
    const decoded = decodeMembers(bytes, false);
    return decoded === undefined ? undefined : { self: undefined, members: decoded.members };
  }
  try {
    const reader = new ByteReader(bytes);
    if (reader.byte('version') !== HOSTED_VERSION) return undefined;
    const self = reader.text('self', nodeIdBytesMax) as NodeId;
    const count = reader.uint('count', membersMax);
    const members: NodeId[] = [];
    for (let index = 0; index < count; index += 1)
      members.push(reader.text('member', nodeIdBytesMax) as NodeId);
    reader.end('trailing');
    return { self, members };
  } catch (error) {
    if (error instanceof ByteDecodeFailure) return undefined;
    throw error;
  }
}

/** What the registry says of a hosted cell. */
export interface HostedRecord {
  /** The member id the replica runs as (`n3` or `n3#2`); undefined: the node's own id. */
  readonly self: NodeId | undefined;
  /** The membership the replica was created with (a learner is not among them). */
  readonly members: readonly NodeId[];
}

/** A forwarding pointer: the cell left this node for `members`; valid until `expiresAtMs` (wall). */
export interface ForwardingPointer {
  readonly members: readonly NodeId[];
  readonly expiresAtMs: number;
}

/** Interns equal member lists so that many cells with one membership share one array. */
class MembersInterner {
  private readonly lists = new Map<string, readonly NodeId[]>();
  /** Bound on distinct lists kept; beyond it lists are returned un-interned. */
  static readonly listsMax = 100_000;

  intern(members: readonly NodeId[]): readonly NodeId[] {
    const key = members.join('\u0000');
    const known = this.lists.get(key);
    if (known !== undefined) return known;
    const frozen = Object.freeze([...members]);
    if (this.lists.size < MembersInterner.listsMax) this.lists.set(key, frozen);
    return frozen;
  }
}

/** Reads and writes the registry records. Reads are synchronous (Storage reads its writes). */
export class CellRegistry {
  private hostedCount = 0;
  private readonly interner = new MembersInterner();

  constructor(private readonly storage: Storage) {
    for (const _entry of storage.range({
      start: new Uint8Array([PREFIX, HOSTED]),
      end: new Uint8Array([PREFIX, HOSTED + 1]),
    })) {
      this.hostedCount += 1;
    }
  }

  get size(): number {
    return this.hostedCount;
  }

  /** The record of a cell this node hosts, or undefined when it does not host it. */
  hosted(cellId: CellId): HostedRecord | undefined {
    const bytes = this.storage.get(keyOf(HOSTED, cellId));
    if (bytes === undefined) return undefined;
    const decoded = decodeHosted(bytes);
    return decoded === undefined
      ? undefined
      : { self: decoded.self, members: this.interner.intern(decoded.members) };
  }

  /**
   * Records durably that this node hosts the cell as member `self` (and drops any pointer
   * of it). With `incarnation`, the incarnation counter is stored in the same write.
   */
  async host(cellId: CellId, self: NodeId, members: readonly NodeId[], incarnation?: number): Promise<void> {
    const existed = this.storage.get(keyOf(HOSTED, cellId)) !== undefined;
    const writes: StorageWrite[] = [
      { kind: 'put', key: keyOf(HOSTED, cellId), value: encodeHosted(self, members) },
      { kind: 'delete', key: keyOf(POINTER, cellId) },
    ];
    if (incarnation !== undefined)
      writes.push({ kind: 'put', key: incarnationsKey, value: new ByteWriter().uint(incarnation).finish() });
    await this.storage.write(writes);
    if (!existed) this.hostedCount += 1;
  }

  /**
   * The next replica incarnation number of this node (never handed out before, across
   * restarts, once `host` stored it): 1 on a fresh node.
   */
  nextIncarnation(): number {
    const bytes = this.storage.get(incarnationsKey);
    if (bytes === undefined) return 1;
    try {
      const reader = new ByteReader(bytes);
      const last = reader.uint('incarnation');
      reader.end('trailing');
      return last + 1;
    } catch (error) {
      // A corrupt counter must never hand out a used number again: refuse (a programmer-visible fault).
      if (error instanceof ByteDecodeFailure) throw new Error('incarnation counter record is corrupt');
      throw error;
    }
  }

  /** Forgets the cell durably, leaving a forwarding pointer when `movedTo` is non-empty. */
  async unhost(cellId: CellId, movedTo: readonly NodeId[], expiresAtMs: number): Promise<void> {
    const existed = this.storage.get(keyOf(HOSTED, cellId)) !== undefined;
    const writes: StorageWrite[] = [{ kind: 'delete', key: keyOf(HOSTED, cellId) }];
    if (movedTo.length > 0)
      writes.push({ kind: 'put', key: keyOf(POINTER, cellId), value: encodeMembers(movedTo, expiresAtMs) });
    await this.storage.write(writes);
    if (existed) this.hostedCount -= 1;
  }

  /** The pointer of a cell that left, if one is stored and not expired at `nowMs` (wall). */
  pointer(cellId: CellId, nowMs: number): ForwardingPointer | undefined {
    const bytes = this.storage.get(keyOf(POINTER, cellId));
    if (bytes === undefined) return undefined;
    const decoded = decodeMembers(bytes, true);
    if (decoded === undefined || decoded.expiresAtMs <= nowMs) return undefined;
    return { members: this.interner.intern(decoded.members), expiresAtMs: decoded.expiresAtMs };
  }

  /** Hosted cells in id order after `afterCellId`, at most `limit`. */
  list(
    afterCellId: CellId | undefined,
    limit: number,
  ): Array<{ cellId: CellId; self: NodeId | undefined; members: readonly NodeId[] }> {
    const start =
      afterCellId === undefined ? new Uint8Array([PREFIX, HOSTED]) : keyAfter(keyOf(HOSTED, afterCellId));
    const out: Array<{ cellId: CellId; self: NodeId | undefined; members: readonly NodeId[] }> = [];
    for (const [key, value] of this.storage.range({
      start,
      end: new Uint8Array([PREFIX, HOSTED + 1]),
      limit,
    })) {
      const decoded = decodeHosted(value);
      let cellId: string;
      try {
        cellId = utf8Decoder.decode(key.subarray(2));
      } catch {
        continue;
      }
      if (decoded === undefined || cellId.length === 0 || key.length - 2 > cellIdBytesMax) continue;
      out.push({
        cellId: cellId as CellId,
        self: decoded.self,
        members: this.interner.intern(decoded.members),
      });
    }
    return out;
  }
}

function keyAfter(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}
