// The canonical encoding of a whole cell state: limits, applied index, entries in key
// order and the digest, which decoding recomputes and checks.
import { readList, writeList } from './codec-io.ts';
import type { ByteReader, ByteWriter } from './codec-io.ts';
import { compareKeys, logIndex, utf8ByteLength } from './keys.ts';
import type { ModelLimits } from './limits.ts';
import { treeSet, treeVisitFrom } from './ordered-map.ts';
import type { StoredEntry } from './result.ts';
import { readEntry, writeEntry } from './result-codec.ts';
import { digestAdd, makeEntry } from './state.ts';
import type { ModelState } from './state.ts';
import { integerFits, valuePayloadBytes } from './value.ts';

const LIMIT_NAMES = [
  'keyBytesMax',
  'valueBytesMax',
  'keysPerTransactionMax',
  'transactionBytesMax',
  'integerBitsMax',
  'partitionBytesMax',
  'scanLimitMax',
] as const satisfies readonly (keyof ModelLimits)[];

const DIGEST_BYTES = 32;

export function writeSnapshot(writer: ByteWriter, state: ModelState): void {
  for (const name of LIMIT_NAMES) writer.uint(state.limits[name]);
  writer.uint(state.appliedIndex);
  const entries: StoredEntry[] = [];
  treeVisitFrom(state.tree, '', false, (node) => {
    entries.push({ key: node.key, value: node.value.value, version: node.value.version });
    return true;
  });
  writeList(writer, entries, (entry) => writeEntry(writer, entry));
  const digest = new Uint8Array(DIGEST_BYTES);
  let rest = state.digest;
  for (let i = DIGEST_BYTES - 1; i >= 0; i--) {
    digest[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  writer.raw(digest);
}

function readLimits(reader: ByteReader): ModelLimits {
  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) limits[name] = reader.uint(`limits.${name}`);
  return limits as unknown as ModelLimits;
}

/** Fails unless the entry could have been written under `limits` before `appliedIndex`. */
function checkEntry(
  reader: ByteReader,
  entry: StoredEntry,
  field: string,
  state: ModelState,
  start: number,
): void {
  const { limits } = state;
  if (entry.version < 1 || entry.version > state.appliedIndex) {
    reader.fail(
      `${field}.version`,
      'out-of-range',
      `version ${entry.version} not in 1..${state.appliedIndex}`,
      start,
    );
  }
  const valueFits =
    valuePayloadBytes(entry.value) <= limits.valueBytesMax &&
    (typeof entry.value !== 'bigint' || integerFits(entry.value, limits.integerBitsMax));
  if (utf8ByteLength(entry.key) > limits.keyBytesMax || !valueFits) {
    reader.fail(field, 'out-of-range', 'entry over the snapshot limits', start);
  }
}

export function readSnapshot(reader: ByteReader): ModelState {
  const limits = readLimits(reader);
  let state: ModelState = {
    limits,
    tree: undefined,
    entryCount: 0,
    partitionBytes: 0,
    digest: 0n,
    appliedIndex: logIndex(reader.uint('appliedIndex')),
  };
  let previousKey: string | undefined;
  readList(reader, 'entries', (field) => {
    const start = reader.position;
    const entry = readEntry(reader, field);
    if (previousKey !== undefined && compareKeys(previousKey, entry.key) >= 0) {
      reader.fail(`${field}.key`, 'non-canonical', 'keys not in strictly increasing order', start);
    }
    checkEntry(reader, entry, field, state, start);
    previousKey = entry.key;
    const record = makeEntry(entry.key, entry.value, entry.version);
    state = {
      ...state,
      tree: treeSet(state.tree, entry.key, record),
      entryCount: state.entryCount + 1,
      partitionBytes: state.partitionBytes + record.bytes,
      digest: digestAdd(state.digest, record.hash),
    };
  });
  const digestStart = reader.position;
  let digest = 0n;
  for (const byte of reader.raw('digest', DIGEST_BYTES)) digest = (digest << 8n) | BigInt(byte);
  if (digest !== state.digest)
    reader.fail('digest', 'digest-mismatch', 'digest does not match the entries', digestStart);
  return state;
}
