// Leases (paper §2.3): first-class, time-bounded locks kept in the replicated state machine.
// Apply never reads a clock; time enters only through the proposing leader's expiry check.
//
// SAFETY CONTRACT (what makes two holders never believe they hold one lease at once, as
// long as no monotonic clock runs more than LEASE_CLOCK_RATE_RATIO_MAX times faster than
// another, and pauses are short):
// 1. A holder reads its monotonic clock (sentAtMs) BEFORE it sends acquire/renew. If the
//    answer is `granted`, it may act as holder only while its monotonic clock is below
//    sentAtMs + holderValidMs, where holderValidMs = durationMs / LEASE_CLOCK_RATE_RATIO_MAX.
//    An `outcome-unknown` answer grants nothing. A holder stops acting as holder BEFORE it
//    sends release.
// 2. Every replica records, in memory, the monotonic time at which it applied each grant
//    (acquire or renew). After a restart or a snapshot install it takes every existing grant
//    as applied at that moment (later than the truth, so conservative).
// 3. A leader stamps an acquire for a lease held by someone else with that grant's index
//    only if, on its own clock, appliedAtMs + durationMs <= now. Apply gives the lease to
//    the new holder only if the current grant still has that index; otherwise the answer is
//    `held-by-other`. Every replica applies the same log, so every replica agrees.
// Why it holds: the grant was applied after the holder sent its request, so the leader's
// `durationMs` of local time ends no earlier than durationMs / rateMax of real time after
// the send, while the holder's validity ends no later than (durationMs / 3) / rateMin of real
// time after it; rateMax <= 3 * rateMin makes the first no earlier than the second.
// Leases are never used where data safety depends on them (paper §2.3).
import { Writer } from './codec-io.ts';
import type { Reader } from './codec-io.ts';
import type { LeaseCommand } from './commands.ts';
import type { LeaseOutcome } from './types.ts';
import { leaseNameBytesMax } from './types.ts';

/** The fastest clock may run this many times faster than the slowest (paper §2.3). */
export const LEASE_CLOCK_RATE_RATIO_MAX = 3;
/** Longest lease, in milliseconds. Part of the replicated semantics: a constant, not an option. */
export const LEASE_DURATION_MS_MAX = 60 * 60 * 1000;
/** Shortest lease, in milliseconds (holderValidMs must be positive). */
export const LEASE_DURATION_MS_MIN = LEASE_CLOCK_RATE_RATIO_MAX;
/** Most leases one cell holds at once. Part of the replicated semantics. */
export const LEASES_MAX = 1024;

/** One current grant. Invariant: grantIndex is the log index of the acquire/renew that made it. */
export interface LeaseGrant {
  readonly holder: string;
  readonly durationMs: number;
  readonly grantIndex: number;
}

/** The replicated lease table: name -> current grant. Mutated only by applyLeaseCommand. */
export type LeaseTable = Map<string, LeaseGrant>;

const utf8 = new TextEncoder();

/** Why a lease request is malformed, or undefined when it is fine (checked at submit and at apply). */
export function leaseRequestProblem(
  name: string,
  holder: string,
  durationMs: number | undefined,
): string | undefined {
  for (const [field, text] of [
    ['name', name],
    ['holder', holder],
  ] as const) {
    const bytes = utf8.encode(text).length;
    if (bytes === 0 || bytes > leaseNameBytesMax)
      return `${field} must be 1..${leaseNameBytesMax} UTF-8 bytes`;
  }
  if (durationMs === undefined) return undefined;
  if (
    !Number.isSafeInteger(durationMs) ||
    durationMs < LEASE_DURATION_MS_MIN ||
    durationMs > LEASE_DURATION_MS_MAX
  )
    return `durationMs must be an integer in ${LEASE_DURATION_MS_MIN}..${LEASE_DURATION_MS_MAX}`;
  return undefined;
}

function grant(
  table: LeaseTable,
  command: { name: string; holder: string; durationMs: number },
  index: number,
): LeaseOutcome {
  table.set(command.name, { holder: command.holder, durationMs: command.durationMs, grantIndex: index });
  return {
    kind: 'granted',
    holder: command.holder,
    durationMs: command.durationMs,
    holderValidMs: Math.floor(command.durationMs / LEASE_CLOCK_RATE_RATIO_MAX),
    grantIndex: index,
  };
}

/** Applies one lease command at log `index`. Deterministic: reads no clock. */
export function applyLeaseCommand(table: LeaseTable, command: LeaseCommand, index: number): LeaseOutcome {
  const durationMs = command.kind === 'lease-release' ? undefined : command.durationMs;
  const problem = leaseRequestProblem(command.name, command.holder, durationMs);
  if (problem !== undefined) return { kind: 'invalid', reason: problem };
  const current = table.get(command.name);
  switch (command.kind) {
    case 'lease-acquire':
      if (current === undefined) {
        if (table.size >= LEASES_MAX) return { kind: 'invalid', reason: `cell holds ${LEASES_MAX} leases` };
        return grant(table, command, index);
      }
      if (current.holder === command.holder || current.grantIndex === command.supersedesGrantIndex)
        return grant(table, command, index);
      return { kind: 'held-by-other', holder: current.holder, grantIndex: current.grantIndex };
    case 'lease-renew':
      if (current?.holder !== command.holder) return { kind: 'not-holder', holder: current?.holder };
      return grant(table, command, index);
    case 'lease-release':
      if (current?.holder !== command.holder) return { kind: 'not-holder', holder: current?.holder };
      table.delete(command.name);
      return { kind: 'released' };
  }
}

/** Canonical encoding of the table, in name order (for snapshots and the digest). */
export function writeLeaseTable(writer: Writer, table: LeaseTable): void {
  const names = [...table.keys()].sort();
  writer.uint(names.length);
  for (const name of names) {
    const lease = table.get(name)!;
    writer.text(name);
    writer.text(lease.holder);
    writer.uint(lease.durationMs);
    writer.uint(lease.grantIndex);
  }
}

export function encodeLeaseTable(table: LeaseTable): Uint8Array {
  const writer = new Writer();
  writeLeaseTable(writer, table);
  return writer.finish();
}

export function readLeaseTable(reader: Reader): LeaseTable {
  const count = reader.uint('leases.count');
  if (count > LEASES_MAX) reader.fail('bad-value', 'leases.count');
  const table: LeaseTable = new Map();
  let previous: string | undefined;
  for (let i = 0; i < count; i += 1) {
    const name = reader.text(`leases[${i}].name`);
    if (previous !== undefined && !(previous < name)) reader.fail('bad-value', `leases[${i}].name`);
    previous = name;
    const holder = reader.text(`leases[${i}].holder`);
    const durationMs = reader.uint(`leases[${i}].durationMs`);
    const grantIndex = reader.uint(`leases[${i}].grantIndex`);
    table.set(name, { holder, durationMs, grantIndex });
  }
  return table;
}
