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

/** Remembers every value this replica instance has seen chosen, to prove none changes. */
export class ChosenLedger {
  private readonly chosen = new Map<number, EntryValue>();
  private highest = 0;

  /** Records newly chosen entries and checks older ones are unchanged. */
  verify(view: ReplicaView): void {
    for (const [index, value] of this.chosen) {
      if (index > view.snapshotIndex) {
        const entry = view.log.get(index);
        check(
          entry !== undefined && entryValuesEqual(entry.value, value),
          `chosen entry ${index} changed`,
          view,
        );
      }
    }
    check(view.commitIndex >= this.highest, 'commit index went backwards', view);
    for (let i = Math.max(this.highest, view.snapshotIndex) + 1; i <= view.commitIndex; i += 1) {
      const entry = view.log.get(i);
      if (entry !== undefined) this.chosen.set(i, entry.value);
    }
    this.highest = view.commitIndex;
  }

  /** A snapshot install replaced everything up to `index`. */
  forgetThrough(index: number): void {
    for (const key of [...this.chosen.keys()]) if (key <= index) this.chosen.delete(key);
    this.highest = Math.max(this.highest, index);
  }
}

/** Throws InvariantViolation when the replica's state is inconsistent. */
export function checkReplicaInvariants(view: ReplicaView, ledger: ChosenLedger): void {
  check(view.snapshotIndex <= view.appliedIndex, 'snapshotIndex <= appliedIndex', view);
  check(view.appliedIndex <= view.commitIndex, 'appliedIndex <= commitIndex', view);
  check(view.commitIndex <= view.lastIndex, 'commitIndex <= lastIndex', view);
  for (let i = view.snapshotIndex + 1; i <= view.commitIndex; i += 1) {
    check(view.log.has(i), `chosen entry ${i} present`, view);
  }
  for (const [index, entry] of view.log) {
    check(index > view.snapshotIndex && index <= view.lastIndex, `entry ${index} within log bounds`, view);
    check(entry.index === index, `entry ${index} keyed by its index`, view);
    if (index > view.commitIndex) {
      check(compareBallots(view.promised, entry.ballot) >= 0, `promised >= ballot of entry ${index}`, view);
    }
  }
  check(view.queued <= view.queuedProposalsMax, 'queue bounded', view);
  if (view.ballot !== undefined) {
    check(ballotsEqual(view.ballot, view.promised), 'own ballot is the promised one', view);
    check(view.ballot.nodeId === view.self, 'own ballot carries own node id', view);
  }
  if (view.role === 'follower') check(view.queued === 0, 'followers queue nothing', view);
  check(view.inFlightIndices.length <= view.alpha, 'at most alpha in flight', view);
  for (const index of view.inFlightIndices) {
    check(
      index > view.commitIndex && index <= view.commitIndex + view.alpha,
      `in-flight ${index} in window`,
      view,
    );
  }
  ledger.verify(view);
}
