// The replica's invariants, checked after every step when `checkInvariants` is on (tests
// always; production may switch it off). A violation is a programmer error: it throws.
import type { ReplicaView } from './replica.ts';
import type { EntryValue } from './types.ts';
import { ballotsEqual, compareBallots, entryValuesEqual } from './types.ts';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function check(condition: boolean, what: string, view: ReplicaView): void {
  if (!condition) throw new InvariantViolation(`replica ${view.self}: ${what}`);
}

/**
 * Remembers every value this replica instance has seen chosen, to prove none changes.
 * Incremental: each check looks only at indices written since the last one and at newly
 * chosen ones, so checking stays cheap on long logs.
 */
export class ChosenLedger {
  private readonly chosen = new Map<number, EntryValue>();
  private highest = 0;

  /** Checks rewritten chosen entries are unchanged, then records newly chosen ones. */
  verify(view: ReplicaView, touched: ReadonlySet<number>): void {
    check(view.commitIndex >= this.highest, 'commit index went backwards', view);
    for (const index of touched) {
      const value = this.chosen.get(index);
      if (value === undefined || index <= view.snapshotIndex) continue;
      const entry = view.log.get(index);
      const same = entry !== undefined && entryValuesEqual(entry.value, value);
      check(same, `chosen entry ${index} changed`, view);
    }
    for (let i = Math.max(this.highest, view.snapshotIndex) + 1; i <= view.commitIndex; i += 1) {
      const entry = view.log.get(i);
      check(entry !== undefined, `chosen entry ${i} present`, view);
      if (entry !== undefined) this.chosen.set(i, entry.value);
    }
    this.highest = view.commitIndex;
  }

  /** Entries up to `index` were folded into a snapshot (compaction or install). */
  forgetThrough(index: number): void {
    for (const key of [...this.chosen.keys()]) if (key <= index) this.chosen.delete(key);
    this.highest = Math.max(this.highest, index);
  }
}

/**
 * Throws InvariantViolation when the replica's state is inconsistent. `touched` holds the
 * indices written since the previous check; the cost is O(touched + acceptWindowEntries).
 */
export function checkReplicaInvariants(
  view: ReplicaView,
  ledger: ChosenLedger,
  touched: ReadonlySet<number>,
): void {
  check(view.snapshotIndex <= view.appliedIndex, 'snapshotIndex <= appliedIndex', view);
  check(view.appliedIndex <= view.commitIndex, 'appliedIndex <= commitIndex', view);
  check(view.commitIndex <= view.lastIndex, 'commitIndex <= lastIndex', view);
  const tail = view.lastIndex - view.commitIndex;
  check(tail <= view.acceptWindowEntries, 'unchosen tail within the accept window', view);
  for (let i = view.commitIndex + 1; i <= view.lastIndex; i += 1) {
    const entry = view.log.get(i);
    if (entry === undefined) continue;
    check(compareBallots(view.promised, entry.ballot) >= 0, `promised >= ballot of entry ${i}`, view);
  }
  for (const index of touched) {
    const entry = view.log.get(index);
    if (entry === undefined) continue;
    check(index > view.snapshotIndex && index <= view.lastIndex, `entry ${index} within log bounds`, view);
    check(entry.index === index, `entry ${index} keyed by its index`, view);
  }
  check(view.queued <= view.queuedProposalsMax, 'queue bounded', view);
  if (view.ballot !== undefined) {
    check(ballotsEqual(view.ballot, view.promised), 'own ballot is the promised one', view);
    check(view.ballot.nodeId === view.self, 'own ballot carries own node id', view);
  }
  if (view.role === 'follower') check(view.queued === 0, 'followers queue nothing', view);
  check(view.inFlightIndices.length <= view.alpha, 'at most alpha in flight', view);
  for (const index of view.inFlightIndices) {
    const inWindow = index > view.commitIndex && index <= view.commitIndex + view.alpha;
    check(inWindow, `in-flight ${index} in window`, view);
  }
  ledger.verify(view, touched);
}
