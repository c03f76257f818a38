// One cell's state: a persistent ordered map of key -> (value, version), the partition's
// byte total and an incrementally maintained digest of every entry. States are immutable:
// applying returns a new state, so any earlier state is a free snapshot.
import { hash } from 'node:crypto';
import { ByteWriter } from './codec-io.ts';
import { logIndex, utf8ByteLength } from './keys.ts';
import type { Key, LogIndex } from './keys.ts';
import { DEFAULT_MODEL_LIMITS } from './limits.ts';
import type { ModelLimits } from './limits.ts';
import { treeGet, treeVisitFrom } from './ordered-map.ts';
import type { Tree } from './ordered-map.ts';
import type { StoredEntry } from './result.ts';
import type { Value } from './value.ts';
import { valuePayloadBytes } from './value.ts';
import { writeValue } from './value-codec.ts';

/** Bytes charged per entry beyond key and value, for its version and bookkeeping. */
export const ENTRY_OVERHEAD_BYTES = 8;

/** The digest is a sum of per-entry SHA-256 values modulo 2^256. */
const DIGEST_MODULUS = 1n << 256n;

export interface EntryRecord {
  readonly value: Value;
  readonly version: LogIndex;
  /** SHA-256 of the canonical (key, value, version) encoding, as an integer. */
  readonly hash: bigint;
  /** Bytes this entry counts against `partitionBytesMax` (see `entryBytes`). */
  readonly bytes: number;
}

export interface ModelState {
  readonly limits: ModelLimits;
  readonly tree: Tree<EntryRecord>;
  readonly entryCount: number;
  // Invariant: partitionBytes = sum of entry.bytes over the tree.
  readonly partitionBytes: number;
  // Invariant: digest = (sum of entry.hash over the tree) mod 2^256.
  readonly digest: bigint;
  /** The last log index applied (0 before any); apply requires a larger one. */
  readonly appliedIndex: LogIndex;
}

export function createState(limits: ModelLimits = DEFAULT_MODEL_LIMITS): ModelState {
  return { limits, tree: undefined, entryCount: 0, partitionBytes: 0, digest: 0n, appliedIndex: logIndex(0) };
}

/** What an entry counts against the partition limit: key bytes + value payload + overhead. */
export function entryBytes(key: Key, value: Value): number {
  return utf8ByteLength(key) + valuePayloadBytes(value) + ENTRY_OVERHEAD_BYTES;
}

/** Reused by `entryHash` (synchronous, so never shared by two calls at once). */
const entryWriter = new ByteWriter();

export function entryHash(key: Key, value: Value, version: LogIndex): bigint {
  entryWriter.reset();
  entryWriter.text(key);
  writeValue(entryWriter, value);
  entryWriter.uint(version);
  return BigInt(`0x${hash('sha256', entryWriter.view(), 'hex')}`);
}

export function makeEntry(key: Key, value: Value, version: LogIndex): EntryRecord {
  return { value, version, hash: entryHash(key, value, version), bytes: entryBytes(key, value) };
}

export function digestAdd(digest: bigint, hash: bigint): bigint {
  return (digest + hash) % DIGEST_MODULUS;
}

export function digestRemove(digest: bigint, hash: bigint): bigint {
  return (digest - hash + DIGEST_MODULUS) % DIGEST_MODULUS;
}

/** The state digest as 64 hex digits; equal states have equal digests on every replica. */
export function stateDigestHex(state: ModelState): string {
  return state.digest.toString(16).padStart(64, '0');
}

export function getEntry(state: ModelState, key: Key): StoredEntry | undefined {
  const record = treeGet(state.tree, key);
  return record === undefined ? undefined : { key, value: record.value, version: record.version };
}

/** Every entry in key order. O(n); for snapshots, tests and tools. */
export function allEntries(state: ModelState): StoredEntry[] {
  const entries: StoredEntry[] = [];
  treeVisitFrom(state.tree, '', false, (node) => {
    entries.push({ key: node.key, value: node.value.value, version: node.value.version });
    return true;
  });
  return entries;
}
