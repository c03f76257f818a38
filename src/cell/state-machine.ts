// The cell's replicated state machine: the model's key-value state plus the lease table,
// advanced one chosen log entry at a time. Each command of a batch gets its own result; a
// failing transaction never spoils the others. Also the snapshot codec and the digest.
import { createHash } from 'node:crypto';
import { apply, createState, decodeSnapshot, encodeSnapshot, stateDigestHex } from '../model/index.ts';
import type { LogIndex, ModelLimits, ModelState, OperationResult } from '../model/index.ts';
import type { LogEntry } from '../paxos/index.ts';
import { decodeAll, Writer } from './codec-io.ts';
import type { CellDecoded } from './codec-io.ts';
import type { CellCommand } from './commands.ts';
import { decodePayload } from './commands.ts';
import { applyLeaseCommand, encodeLeaseTable, readLeaseTable, writeLeaseTable } from './leases.ts';
import type { LeaseTable } from './leases.ts';
import type { LeaseOutcome } from './types.ts';

/** Version byte of a state-machine snapshot. */
export const snapshotFormatVersion = 1;

/** The result of one command at its position in a batch. */
export type CommandResult =
  | { readonly kind: 'operation'; readonly result: OperationResult }
  | { readonly kind: 'lease'; readonly outcome: LeaseOutcome };

/** Results of one applied entry, by position in its batch (empty for no-ops and configs). */
export interface AppliedEntry {
  readonly index: number;
  readonly results: readonly CommandResult[];
  /** Lease names granted at this entry (the shell stamps their local apply time). */
  readonly granted: readonly string[];
  /** Lease names released at this entry (the shell forgets their local apply time). */
  readonly released: readonly string[];
}

export interface CellState {
  model: ModelState;
  readonly leases: LeaseTable;
  /** Invariant: every entry up to here is applied, none above. */
  appliedIndex: number;
}

export function initialCellState(limits: ModelLimits): CellState {
  return { model: createState(limits), leases: new Map(), appliedIndex: 0 };
}

/**
 * Applies the batch `commands` at `index`. The model requires increasing indices per
 * operation, so each operation is applied as if the state were just before `index`: every
 * key written in this entry gets version `index` (the batcher keeps written keys disjoint).
 */
function applyCommands(state: CellState, commands: readonly CellCommand[], index: number): AppliedEntry {
  const results: CommandResult[] = [];
  const granted: string[] = [];
  const released: string[] = [];
  for (const command of commands) {
    if (command.kind === 'operation') {
      const before: ModelState = { ...state.model, appliedIndex: (index - 1) as LogIndex };
      const outcome = apply(before, command.operation, index as LogIndex);
      state.model = outcome.state;
      results.push({ kind: 'operation', result: outcome.result });
    } else {
      const outcome = applyLeaseCommand(state.leases, command, index);
      if (outcome.kind === 'granted') granted.push(command.name);
      if (outcome.kind === 'released') released.push(command.name);
      results.push({ kind: 'lease', outcome });
    }
  }
  return { index, results, granted, released };
}

/** Applies one chosen entry; `entry.index` must be appliedIndex + 1 (a programmer error otherwise). */
export function applyEntry(state: CellState, entry: LogEntry): AppliedEntry {
  if (entry.index !== state.appliedIndex + 1)
    throw new Error(`applyEntry: index ${entry.index} after ${state.appliedIndex}`);
  let applied: AppliedEntry | undefined;
  if (entry.value.kind === 'payload') {
    // Every replica decodes the same bytes the same way: an undecodable payload (which the
    // leader's codec never makes) is a no-op everywhere.
    const decoded = decodePayload(entry.value.payload);
    if (decoded.kind === 'decoded') applied = applyCommands(state, decoded.value, entry.index);
  }
  applied ??= { index: entry.index, results: [], granted: [], released: [] };
  state.appliedIndex = entry.index;
  if (state.model.appliedIndex < entry.index) state.model = { ...state.model, appliedIndex: entry.index };
  return applied;
}

/** Hex digest of the replicated state: model digest and lease table. Equal states, equal digests. */
export function cellDigestHex(state: CellState): string {
  return createHash('sha256')
    .update(stateDigestHex(state.model))
    .update(encodeLeaseTable(state.leases))
    .digest('hex');
}

/** The whole state as bytes (for storage and for teaching a lagging peer). */
export function encodeCellSnapshot(state: CellState): Uint8Array {
  const writer = new Writer();
  writer.byte(snapshotFormatVersion);
  writer.uint(state.appliedIndex);
  writer.bytes(encodeSnapshot(state.model));
  writeLeaseTable(writer, state.leases);
  return writer.finish();
}

export function decodeCellSnapshot(bytes: Uint8Array): CellDecoded<CellState> {
  return decodeAll(bytes, (reader) => {
    if (reader.byte('version') !== snapshotFormatVersion) reader.fail('unknown-version', 'version');
    const appliedIndex = reader.uint('appliedIndex');
    const model = decodeSnapshot(reader.bytes('model'));
    if (model.kind === 'decode-error') return reader.fail('bad-value', `model.${model.field}`);
    if (model.value.appliedIndex > appliedIndex) reader.fail('bad-value', 'model.appliedIndex');
    const leases = readLeaseTable(reader);
    for (const lease of leases.values())
      if (lease.grantIndex > appliedIndex) reader.fail('bad-value', 'leases');
    return { model: model.value, leases, appliedIndex };
  });
}
