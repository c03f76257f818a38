// The leader's batching of client requests into log entries: bounded count and bytes, in
// arrival order, and never two writes of one key in one entry (keys written in an entry all
// get that entry's index as their version, so two writes of one key would share a version).
import type { CellCommand } from './commands.ts';
import type { CellResponse } from './types.ts';

/** One client request waiting for its answer. */
export interface PendingRequest {
  readonly command: CellCommand;
  /** `encodeCommand(command)`, computed once at submit. */
  readonly encoded: Uint8Array;
  /** Keys (or lease names) this request writes. */
  readonly writeKeys: readonly string[];
  readonly resolve: (response: CellResponse) => void;
}

export interface BatchLimits {
  readonly batchRequestsMax: number;
  readonly batchBytesMax: number;
}

/** The keys a command writes; lease commands "write" their lease name. */
export function writeKeysOf(command: CellCommand): string[] {
  switch (command.kind) {
    case 'operation':
      return command.operation.kind === 'transaction'
        ? command.operation.writes.map((w) => `k:${w.key}`)
        : [];
    case 'lease-acquire':
    case 'lease-renew':
    case 'lease-release':
      return [];
  }
}

/**
 * Takes the longest prefix of `waiting` that fits the limits and has disjoint write keys
 * (always at least one request, even one over batchBytesMax on its own). Mutates `waiting`.
 */
export function takeBatch(waiting: PendingRequest[], limits: BatchLimits): PendingRequest[] {
  const batch: PendingRequest[] = [];
  const written = new Set<string>();
  let bytes = 0;
  while (batch.length < limits.batchRequestsMax) {
    const next = waiting[0];
    if (next === undefined) break;
    if (batch.length > 0 && bytes + next.encoded.length > limits.batchBytesMax) break;
    if (next.writeKeys.some((key) => written.has(key))) break;
    for (const key of next.writeKeys) written.add(key);
    bytes += next.encoded.length;
    batch.push(next);
    waiting.shift();
  }
  return batch;
}
