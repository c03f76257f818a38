// The node's durable registry of the cells it hosts (cell id -> membership) and of its
// forwarding pointers (cell id -> where the cell went, until when; paper §2.5), kept in the
// host's Storage under the prefix 'N' (cells use 'C'), so a restarted node knows both.
import type { Storage, StorageWrite } from '../env/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { ByteDecodeFailure, ByteReader, ByteWriter, utf8 } from './bytes.ts';
import type { CellId } from './cell-contract.ts';
import { cellIdBytesMax, membersMax, nodeIdBytesMax } from './wire.ts';

const PREFIX = 0x4e; // 'N'
const HOSTED = 0x72; // 'r'
const POINTER = 0x70; // 'p'
const RECORD_VERSION = 1;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

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

  /** The membership this node hosts the cell with, or undefined when it does not host it. */
  hosted(cellId: CellId): readonly NodeId[] | undefined {
    const bytes = this.storage.get(keyOf(HOSTED, cellId));
    if (bytes === undefined) return undefined;
    const decoded = decodeMembers(bytes, false);
    return decoded === undefined ? undefined : this.interner.intern(decoded.members);
  }

  /** Records durably that this node hosts the cell (and drops any pointer of it). */
  async host(cellId: CellId, members: readonly NodeId[]): Promise<void> {
    const existed = this.storage.get(keyOf(HOSTED, cellId)) !== undefined;
    await this.storage.write([
      { kind: 'put', key: keyOf(HOSTED, cellId), value: encodeMembers(members) },
      { kind: 'delete', key: keyOf(POINTER, cellId) },
    ]);
    if (!existed) this.hostedCount += 1;
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
  ): Array<{ cellId: CellId; members: readonly NodeId[] }> {
    const start =
      afterCellId === undefined ? new Uint8Array([PREFIX, HOSTED]) : keyAfter(keyOf(HOSTED, afterCellId));
    const out: Array<{ cellId: CellId; members: readonly NodeId[] }> = [];
    for (const [key, value] of this.storage.range({
      start,
      end: new Uint8Array([PREFIX, HOSTED + 1]),
      limit,
    })) {
      const decoded = decodeMembers(value, false);
      let cellId: string;
      try {
        cellId = utf8Decoder.decode(key.subarray(2));
      } catch {
        continue;
      }
      if (decoded === undefined || cellId.length === 0 || key.length - 2 > cellIdBytesMax) continue;
      out.push({ cellId: cellId as CellId, members: this.interner.intern(decoded.members) });
    }
    return out;
  }
}

function keyAfter(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}
