// The data commands of `physalia`: cells (create, describe, list, membership changes and moves),
// get/put/delete/incr/cas/txn/scan and leases, through the SDK against the endpoints of
// --endpoint, $PHYSALIA_ENDPOINTS, or the colony in --data.
import { Command } from 'commander';
import { connect, isClientError, Lease } from '../client/index.ts';
import type {
  CellClient,
  ClientError,
  ConditionInput,
  MemberChangeInput,
  MoveOperation,
  PhysaliaClient,
  TxnInput,
  ValueInput,
  WriteInput,
} from '../client/index.ts';
import { readColony } from './colony.ts';
import {
  errorExitCode,
  exitCodes,
  jsonEntry,
  jsonRead,
  jsonTxn,
  showError,
  showMoveEnd,
  showMoveStep,
  showStep,
  showTxn,
  showValue,
} from './output.ts';

/** A bad argument found by an action (commander reports its own parse errors itself). */
export class UsageError extends Error {}

export interface GlobalFlags {
  endpoint?: string[];
  data: string;
  json?: boolean;
  eventual?: boolean;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(error: ClientError, flags: GlobalFlags): void {
  if (flags.json === true) out(JSON.stringify({ error }));
  else process.stderr.write(`${showError(error)}\n`);
  process.exitCode = errorExitCode(error);
}

export function endpointsOf(flags: GlobalFlags): string[] {
  if (flags.endpoint !== undefined && flags.endpoint.length > 0) return flags.endpoint;
  const fromEnv = process.env.PHYSALIA_ENDPOINTS;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.split(',').map((e) => e.trim());
  const colony = readColony(flags.data);
  if (colony === undefined) {
    throw new UsageError(
      `no endpoints: pass --endpoint host:port, set PHYSALIA_ENDPOINTS, or start a colony in ${flags.data} (npm start)`,
    );
  }
  return colony.nodes.map((node) => node.http);
}

type Globals = () => GlobalFlags;

function client(globals: Globals): PhysaliaClient {
  return connect({ endpoints: endpointsOf(globals()) });
}

function cell(globals: Globals, cellId: string): CellClient {
  return client(globals).cell(cellId, globals().eventual === true ? { consistency: 'eventual' } : {});
}

interface ValueFlags {
  int?: boolean;
  bool?: boolean;
  base64?: boolean;
}

/** A value argument: text by default (stored as UTF-8), or --int / --bool / --base64. */
function parseValue(text: string, flags: ValueFlags): ValueInput {
  if (flags.int === true) {
    if (!/^-?\d+$/.test(text))
      throw new UsageError(`--int: expected a decimal integer, got ${JSON.stringify(text)}`);
    return BigInt(text);
  }
  if (flags.bool === true) {
    if (text !== 'true' && text !== 'false') throw new UsageError('--bool: expected true or false');
    return text === 'true';
  }
  if (flags.base64 === true) return new Uint8Array(Buffer.from(text, 'base64'));
  return text;
}

function valueOptions(command: Command): Command {
  return command
    .option('--int', 'the value is an integer (decimal)')
    .option('--bool', 'the value is true or false')
    .option('--base64', 'the value is bytes in base64');
}

async function runTxn(globals: Globals, cellId: string, input: TxnInput): Promise<void> {
  const outcome = await cell(globals, cellId).txn(input);
  if (isClientError(outcome)) return fail(outcome, globals());
  if (globals().json === true) out(JSON.stringify(jsonTxn(outcome)));
  else for (const line of showTxn(outcome)) out(line);
  if (outcome.kind === 'not-committed') process.exitCode = exitCodes.no;
}

/** Parses the `txn` JSON argument: the HTTP API's transaction body. */
function parseTxnJson(text: string): TxnInput {
  let body: { reads?: string[]; conditions?: unknown[]; writes?: unknown[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new UsageError(
      'expected a JSON object like {"reads":["k"],"writes":[{"kind":"put","key":"k","value":{"string":"v"}}]}',
    );
  }
  const value = (candidate: unknown): ValueInput => {
    const v = candidate as { string?: string; int?: string; bool?: boolean; bytes?: string };
    if (typeof v.string === 'string') return v.string;
    if (typeof v.int === 'string' || typeof v.int === 'number') return BigInt(v.int);
    if (typeof v.bool === 'boolean') return v.bool;
    return new Uint8Array(Buffer.from(String(v.bytes ?? ''), 'base64'));
  };
  const conditions = (body.conditions ?? []).map((c) => {
    const raw = c as Record<string, unknown>;
    if (raw.kind === 'equals') return { ...raw, value: value(raw.value) } as ConditionInput;
    if (raw.kind === 'compare') return { ...raw, operand: BigInt(String(raw.operand)) } as ConditionInput;
    return raw as unknown as ConditionInput;
  });
  const writes = (body.writes ?? []).map((w) => {
    const raw = w as Record<string, unknown>;
    if (raw.kind === 'put') return { ...raw, value: value(raw.value) } as WriteInput;
    if (raw.kind === 'increment')
      return {
        ...raw,
        delta: BigInt(typeof raw.delta === 'string' || typeof raw.delta === 'number' ? raw.delta : 1),
      } as WriteInput;
    return raw as unknown as WriteInput;
  });
  return { reads: body.reads ?? [], conditions, writes };
}

export function cellCommand(globals: Globals): Command {
  const command = new Command('cell').description('create, describe and list cells');
  command
    .command('create <cellId>')
    .description('create a cell: placed over racks and power domains, or on --members')
    .option('--members <ids>', 'comma-separated node ids')
    .option('--replicas <n>', 'replicas when placed (default 7)', (v) => Number(v))
    .action(async (cellId: string, flags: { members?: string; replicas?: number }) => {
      const created = await client(globals).createCell(cellId, {
        ...(flags.members === undefined ? {} : { members: flags.members.split(',') }),
        ...(flags.replicas === undefined ? {} : { replicas: flags.replicas }),
      });
      if (isClientError(created)) return fail(created, globals());
      if (globals().json === true) return out(JSON.stringify(created));
      out(
        `${created.kind === 'created' ? 'created' : 'exists:'} cell ${JSON.stringify(cellId)} on ${created.members.join(', ')}`,
      );
    });
  command.command('describe <cellId>').action(async (cellId: string) => {
    const described = await client(globals).describeCell(cellId);
    if (isClientError(described)) return fail(described, globals());
    if (globals().json === true) return out(JSON.stringify(described));
    out(`cell ${JSON.stringify(cellId)}`);
    out(`  members:  ${described.members.join(', ')}`);
    const leader = described.leaderHint;
    out(
      `  leader:   ${leader === undefined ? '(none known)' : described.members.includes(leader) ? leader : `(none known; ${leader} led before it left)`}`,
    );
    out(`  applied:  index ${described.appliedIndex} (committed ${described.commitIndex})`);
    out(`  digest:   ${described.digest}`);
  });
  command
    .command('list')
    .description('cells hosted by one node (default: the first endpoint)')
    .option('--node-endpoint <host:port>', 'the node to ask')
    .option('--limit <n>', 'most cells', (v) => Number(v), 100)
    .action(async (flags: { nodeEndpoint?: string; limit: number }) => {
      const listed = await client(globals).listCells({
        limit: flags.limit,
        ...(flags.nodeEndpoint === undefined ? {} : { endpoint: flags.nodeEndpoint }),
      });
      if (isClientError(listed)) return fail(listed, globals());
      if (globals().json === true) return out(JSON.stringify(listed));
      out(`${listed.cells.length} cell(s) on ${listed.node}`);
      for (const c of listed.cells)
        out(`  ${c.cellId}  members ${c.members.join(',')}${c.loaded ? '' : '  (evicted)'}`);
    });
  membershipCommands(command, globals);
  return command;
}

function timeoutOption(command: Command, defaultMs: number): Command {
  return command.option('--timeout-ms <ms>', `give up after this long (default ${defaultMs})`, (v) =>
    Number(v),
  );
}

async function runChange(
  globals: Globals,
  cellId: string,
  change: MemberChangeInput,
  flags: { timeoutMs?: number },
): Promise<void> {
  const changed = await client(globals).changeMembers(
    cellId,
    change,
    flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs },
  );
  if (isClientError(changed)) return fail(changed, globals());
  if (globals().json === true) return out(JSON.stringify(changed));
  for (const line of showStep(cellId, changed)) out(line);
}

/** Prints a move as it goes: one line per step, then how it ended. Exit 2 failed, 3 still running. */
function moveProgress(globals: Globals): (operation: MoveOperation) => void {
  let printed = 0;
  let started = false;
  return (operation) => {
    if (!started && globals().json !== true)
      out(
        `moving cell ${JSON.stringify(operation.cellId)} to ${operation.to.join(', ')} (operation ${operation.id} on ${operation.node})`,
      );
    started = true;
    for (; printed < operation.steps.length; printed += 1)
      if (globals().json !== true) out(showMoveStep(operation.steps[printed]!, printed + 1));
  };
}

function endMove(operation: MoveOperation, globals: Globals): void {
  if (globals().json === true) out(JSON.stringify(operation));
  else
    for (const line of showMoveEnd(operation))
      (operation.state === 'failed' ? process.stderr : process.stdout).write(`${line}\n`);
  if (operation.state === 'failed') process.exitCode = exitCodes.error;
  if (operation.state === 'running') process.exitCode = exitCodes.unknown;
}

/** `cell add-member | remove-member | replace-member | move | operation | noop` (paper §2.4). */
function membershipCommands(command: Command, globals: Globals): void {
  timeoutOption(
    command
      .command('add-member <cellId> <node>')
      .description('add a node to the cell: its replica is created, caught up, then votes'),
    60_000,
  ).action((cellId: string, node: string, flags: { timeoutMs?: number }) =>
    runChange(globals, cellId, { add: node }, flags),
  );
  timeoutOption(
    command
      .command('remove-member <cellId> <member>')
      .description('remove a node (or member id node#k) from the cell; its replica is retired'),
    60_000,
  ).action((cellId: string, member: string, flags: { timeoutMs?: number }) =>
    runChange(globals, cellId, { remove: member }, flags),
  );
  timeoutOption(
    command
      .command('replace-member <cellId> <old> <new>')
      .description('replace one member by a new node, in one change'),
    60_000,
  ).action((cellId: string, old: string, next: string, flags: { timeoutMs?: number }) =>
    runChange(globals, cellId, { replace: { remove: old, add: next } }, flags),
  );
  timeoutOption(
    command
      .command('move <cellId> <nodes>')
      .description('move the cell onto these comma-separated nodes, one replacement at a time'),
    600_000,
  ).action(async (cellId: string, nodes: string, flags: { timeoutMs?: number }) => {
    const moved = await client(globals).moveCell(
      cellId,
      nodes.split(',').map((node) => node.trim()),
      {
        ...(flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs }),
        onProgress: moveProgress(globals),
      },
    );
    if (isClientError(moved)) return fail(moved, globals());
    endMove(moved, globals);
  });
  command
    .command('operation <operationId>')
    .description('show a move (operations live on the node that runs them)')
    .requiredOption('--node-endpoint <host:port>', 'the node running it')
    .option('--wait-ms <ms>', 'wait up to this long for it to end', (v) => Number(v), 0)
    .action(async (id: string, flags: { nodeEndpoint: string; waitMs: number }) => {
      const operation = await client(globals).operation(id, flags.nodeEndpoint, { waitMs: flags.waitMs });
      if (isClientError(operation)) return fail(operation, globals());
      moveProgress(globals)(operation);
      endMove(operation, globals);
    });
  command
    .command('noop <cellId>')
    .description('have the leader choose a no-op (a chosen change takes effect alpha entries later)')
    .action(async (cellId: string) => {
      const chosen = await client(globals).noop(cellId);
      if (isClientError(chosen)) return fail(chosen, globals());
      out(globals().json === true ? JSON.stringify(chosen) : `no-op chosen at index ${chosen.index}`);
    });
}

export function dataCommands(globals: Globals): Command[] {
  const get = new Command('get')
    .argument('<cellId>')
    .argument('<key>')
    .description('read one key')
    .action(async (cellId: string, key: string) => {
      const got = await cell(globals, cellId).txn({ reads: [key] });
      if (isClientError(got)) return fail(got, globals());
      const read = got.reads[0]!;
      if (globals().json === true) out(JSON.stringify(jsonRead(read)));
      else out(read.found ? `${showValue(read.value)}  (version ${read.version})` : `${key}: not found`);
      if (!read.found) process.exitCode = exitCodes.no;
    });
  const put = valueOptions(
    new Command('put')
      .argument('<cellId>')
      .argument('<key>')
      .argument('<value>')
      .description('write one key'),
  );
  put.action((cellId: string, key: string, value: string, flags: ValueFlags) =>
    runTxn(globals, cellId, { writes: [{ kind: 'put', key, value: parseValue(value, flags) }] }),
  );
  const del = new Command('delete').argument('<cellId>').argument('<key>').description('delete one key');
  del.action((cellId: string, key: string) => runTxn(globals, cellId, { writes: [{ kind: 'delete', key }] }));
  const incr = new Command('incr')
    .argument('<cellId>')
    .argument('<key>')
    .argument('[delta]', 'integer to add', '1')
    .description('add to an integer key (missing counts as 0)');
  incr.action(async (cellId: string, key: string, delta: string) => {
    if (!/^-?\d+$/.test(delta)) throw new UsageError('delta: expected a decimal integer');
    const result = await cell(globals, cellId).increment(key, BigInt(delta));
    if (isClientError(result)) return fail(result, globals());
    if (result.kind === 'incremented')
      return out(
        globals().json === true
          ? JSON.stringify({ value: result.value.toString(), index: result.index })
          : result.value.toString(),
      );
    for (const line of showTxn(result)) out(line);
    process.exitCode = exitCodes.no;
  });
  const cas = valueOptions(
    new Command('cas')
      .argument('<cellId>')
      .argument('<key>')
      .argument('<expected>', 'the value the key must hold (ignored with --absent)')
      .argument('<value>', 'the new value')
      .option('--absent', 'write only if the key does not exist')
      .description('compare-and-set: write only if the key holds <expected>'),
  );
  cas.action(
    (
      cellId: string,
      key: string,
      expected: string,
      value: string,
      flags: ValueFlags & { absent?: boolean },
    ) => {
      const condition: ConditionInput =
        flags.absent === true
          ? { kind: 'absent', key }
          : { kind: 'equals', key, value: parseValue(expected, flags) };
      return runTxn(globals, cellId, {
        reads: [key],
        conditions: [condition],
        writes: [{ kind: 'put', key, value: parseValue(value, flags) }],
      });
    },
  );
  const txn = new Command('txn')
    .argument('<cellId>')
    .argument('<json>', 'the transaction, as the HTTP API body')
    .description('run a transaction (reads, conditions, writes)');
  txn.action((cellId: string, json: string) => runTxn(globals, cellId, parseTxnJson(json)));
  return [get, put, del, incr, cas, txn, scanCommand(globals), leaseCommand(globals)];
}

function scanCommand(globals: Globals): Command {
  return new Command('scan')
    .argument('<cellId>')
    .description('list keys in order, by --prefix or [--start, --end), page by page')
    .option('--prefix <prefix>', 'keys starting with this')
    .option('--start <key>', 'first key (inclusive)')
    .option('--end <key>', 'end key (exclusive)')
    .option('--page-size <n>', 'keys per request', (v) => Number(v), 100)
    .option('--cursor <key>', 'resume after this key (one page only)')
    .action(
      async (
        cellId: string,
        flags: { prefix?: string; start?: string; end?: string; pageSize: number; cursor?: string },
      ) => {
        const range =
          flags.prefix !== undefined
            ? { prefix: flags.prefix }
            : { start: flags.start ?? '', ...(flags.end === undefined ? {} : { end: flags.end }) };
        const target = cell(globals, cellId);
        const pages =
          flags.cursor === undefined
            ? target.scan(range, { pageSize: flags.pageSize })
            : (async function* () {
                yield await target.scanPage(range, { limit: flags.pageSize, cursor: flags.cursor! });
              })();
        let count = 0;
        for await (const page of pages) {
          if (isClientError(page)) return fail(page, globals());
          for (const entry of page.entries)
            out(
              globals().json === true
                ? JSON.stringify(jsonEntry(entry))
                : `${entry.key} = ${showValue(entry.value)}  (version ${entry.version})`,
            );
          count += page.entries.length;
          if (globals().json !== true)
            out(
              `-- page of ${page.entries.length}${page.nextCursor === undefined ? ', end' : `, next cursor ${JSON.stringify(page.nextCursor)}`}`,
            );
        }
        if (globals().json !== true) out(`${count} key(s)`);
      },
    );
}

function showLease(answer: Awaited<ReturnType<CellClient['acquireLease']>>, globals: Globals): void {
  if (answer instanceof Lease) {
    const body = {
      granted: true,
      holder: answer.holder,
      durationMs: answer.durationMs,
      grantIndex: answer.grantIndex,
      holderValidMs: Math.floor(answer.remainingMs()),
    };
    out(
      globals().json === true
        ? JSON.stringify(body)
        : `granted to ${answer.holder} (grant index ${answer.grantIndex}); act as holder for at most ${Math.floor(answer.remainingMs())} ms from now, renew before`,
    );
    return;
  }
  if (isClientError(answer)) return fail(answer, globals());
  out(
    globals().json === true
      ? JSON.stringify({ granted: false, ...answer })
      : answer.kind === 'held-by-other'
        ? `refused: held by ${answer.holder}`
        : `refused: ${answer.holder ?? 'nobody'} holds it, not you`,
  );
  process.exitCode = exitCodes.no;
}

function leaseCommand(globals: Globals): Command {
  const command = new Command('lease').description('advisory leases (paper §2.3): acquire, renew, release');
  for (const action of ['acquire', 'renew'] as const) {
    command
      .command(`${action} <cellId> <name>`)
      .requiredOption('--holder <holder>', 'who holds it')
      .option(
        '--duration-ms <ms>',
        'lease duration; the holder may act for a third of it',
        (v) => Number(v),
        30_000,
      )
      .action(async (cellId: string, name: string, flags: { holder: string; durationMs: number }) => {
        const target = cell(globals, cellId);
        const answer =
          action === 'acquire'
            ? await target.acquireLease(name, flags.holder, flags.durationMs)
            : await target.renewLease({ name, holder: flags.holder, durationMs: flags.durationMs });
        showLease(answer, globals);
      });
  }
  command
    .command('release <cellId> <name>')
    .requiredOption('--holder <holder>', 'who holds it')
    .action(async (cellId: string, name: string, flags: { holder: string }) => {
      const answer = await cell(globals, cellId).releaseLease(name, flags.holder);
      if (isClientError(answer)) return fail(answer, globals());
      if (answer.kind === 'released')
        return out(globals().json === true ? JSON.stringify(answer) : 'released');
      out(
        globals().json === true
          ? JSON.stringify(answer)
          : `refused: ${answer.kind === 'not-holder' ? `${answer.holder ?? 'nobody'} holds it, not you` : `held by ${answer.holder}`}`,
      );
      process.exitCode = exitCodes.no;
    });
  return command;
}
