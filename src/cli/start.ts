// `npm start`: until the local colony exists, a short demo of one cell's state machine:
// transactions and a paged scan go through validate + apply, and each outcome is printed.
import {
  apply,
  createState,
  partitionKey,
  scan,
  stateDigestHex,
  transaction,
  validate,
  logIndex,
} from '../model/index.ts';
import type {
  ModelState,
  Operation,
  OperationResult,
  ReadResult,
  TransactionFailure,
  Value,
} from '../model/index.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function showValue(value: Value): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'boolean') return String(value);
  const decoded = new TextDecoder().decode(value);
  return /^[\x20-\x7e]*$/.test(decoded) ? JSON.stringify(decoded) : `0x${Buffer.from(value).toString('hex')}`;
}

function showRead(read: ReadResult): string {
  return read.found
    ? `${read.key} = ${showValue(read.value)} (version ${read.version})`
    : `${read.key}: missing`;
}

function showFailure(failure: TransactionFailure): string {
  switch (failure.kind) {
    case 'condition-failed':
      return `condition ${failure.index} on ${failure.key} failed: ${failure.reason}`;
    case 'write-failed':
      return `write ${failure.index} to ${failure.key} failed: ${failure.reason}`;
    case 'partition-full':
      return `partition full: would hold ${failure.partitionBytes} of ${failure.partitionBytesMax} bytes`;
  }
}

function showResult(result: OperationResult): string[] {
  switch (result.kind) {
    case 'committed':
      return ['committed', ...result.reads.map((read) => `  read ${showRead(read)}`)];
    case 'not-committed':
      return [
        `NOT committed: ${showFailure(result.failure)}`,
        ...result.reads.map((read) => `  read ${showRead(read)}`),
      ];
    case 'scanned':
      return [
        `scanned ${result.entries.length} entries${result.nextCursor === undefined ? '' : `, next cursor ${JSON.stringify(result.nextCursor)}`}`,
        ...result.entries.map(
          (entry) => `  ${entry.key} = ${showValue(entry.value)} (version ${entry.version})`,
        ),
      ];
    case 'rejected':
      return [`rejected before proposal: ${result.error.message}`];
  }
}

/** Validates like a proposer would, then applies at the next log index, and prints both. */
function step(
  state: ModelState,
  title: string,
  operation: Operation,
): { state: ModelState; result: OperationResult } {
  const index = logIndex(state.appliedIndex + 1);
  console.log(`\n[${index}] ${title}`);
  const validation = validate(operation, state.limits);
  if (validation.kind === 'invalid') {
    console.log(`  refused by validation (never proposed): ${validation.message}`);
    return { state, result: { kind: 'rejected', error: validation } };
  }
  const outcome = apply(state, validation.operation, index);
  for (const line of showResult(outcome.result)) console.log(`  ${line}`);
  console.log(
    `  state: ${outcome.state.entryCount} keys, ${outcome.state.partitionBytes} bytes, digest ${stateDigestHex(outcome.state).slice(0, 16)}...`,
  );
  return outcome;
}

function main(): void {
  const cell = partitionKey('volume/vol-0123');
  console.log(`Physalia demo: one cell (partition key ${JSON.stringify(cell)}), its state machine only.`);
  console.log('The replicated colony is not built yet; this runs transactions through validate + apply.');
  let state = createState();
  state = step(
    state,
    'put the replica set and create the epoch counter',
    transaction({
      writes: [
        { kind: 'put', key: 'replica/primary', value: text('node-7') },
        { kind: 'put', key: 'replica/secondary', value: text('node-3') },
        { kind: 'put', key: 'replica/healthy', value: true },
        { kind: 'increment', key: 'epoch', delta: 1n },
      ],
    }),
  ).state;
  state = step(
    state,
    'read the primary and the epoch',
    transaction({ reads: ['replica/primary', 'epoch', 'replica/witness'] }),
  ).state;
  state = step(
    state,
    'fail over, but only if the epoch is still 0 (it is 1)',
    transaction({
      reads: ['epoch'],
      conditions: [{ kind: 'equals', key: 'epoch', value: 0n }],
      writes: [{ kind: 'put', key: 'replica/primary', value: text('node-3') }],
    }),
  ).state;
  state = step(
    state,
    'fail over if the primary is unchanged since version 1, and bump the epoch',
    transaction({
      reads: ['epoch'],
      conditions: [{ kind: 'version-equals', key: 'replica/primary', version: 1 }],
      writes: [
        { kind: 'put', key: 'replica/primary', value: text('node-3') },
        { kind: 'put', key: 'replica/secondary', value: text('node-7') },
        { kind: 'increment', key: 'epoch', delta: 1n },
      ],
    }),
  ).state;
  state = step(
    state,
    'increment a byte value (defined outcome: not committed)',
    transaction({
      writes: [{ kind: 'increment', key: 'replica/primary', delta: 1n }],
    }),
  ).state;
  state = step(
    state,
    'write one key twice in one transaction',
    transaction({
      writes: [
        { kind: 'delete', key: 'epoch' },
        { kind: 'increment', key: 'epoch', delta: 1n },
      ],
    }),
  ).state;
  let page = step(
    state,
    'scan prefix "replica/", 2 per page',
    scan({ kind: 'prefix', prefix: 'replica/' }, 2),
  );
  const cursor = page.result.kind === 'scanned' ? page.result.nextCursor : undefined;
  if (cursor !== undefined) {
    page = step(
      page.state,
      `next page after ${JSON.stringify(cursor)}`,
      scan({ kind: 'prefix', prefix: 'replica/' }, 2, cursor),
    );
  }
}

main();
