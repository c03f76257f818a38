// The cell's membership (its jury) as a function of the log index, and quorum counting.
// A config entry chosen at index i governs indices from i + alpha on (paper §2.4).
import type { EntryValue, LogIndex, NodeId } from './types.ts';

/** One membership and the first log index it governs. */
export interface ConfigRecord {
  readonly effectiveFrom: LogIndex;
  readonly members: readonly NodeId[];
}

/**
 * The membership history a replica needs: every record that can still govern an index
 * above the snapshot. Records are sorted by `effectiveFrom`; the first has effectiveFrom 1
 * (the cell's initial membership) or at most the snapshot index + 1.
 */
export class MembershipHistory {
  private readonly records: ConfigRecord[];

  constructor(
    initial: readonly ConfigRecord[],
    readonly alpha: number,
  ) {
    if (initial.length === 0) throw new Error('MembershipHistory: no initial membership');
    this.records = [...initial].sort((a, b) => a.effectiveFrom - b.effectiveFrom);
  }

  /**
   * The members that vote on `index`. The ONLY way the protocol reads membership.
   * Correct for every index up to (highest chosen config index seen) + alpha, which covers
   * every index a leader may propose (its pipeline stays within commitIndex + alpha).
   */
  membersAt(index: LogIndex): readonly NodeId[] {
    const records = this.records;
    // Asked on every message; almost always there is one record, or the last one applies.
    const last = records[records.length - 1];
    if (last !== undefined && last.effectiveFrom <= index) return last.members;
    let current = records[0];
    for (let i = 1; i < records.length; i += 1) {
      const record = records[i]!;
      if (record.effectiveFrom <= index) current = record;
      else break;
    }
    if (current === undefined) throw new Error('membersAt: empty history');
    return current.members;
  }

  /** Records a config entry chosen at `index` (call in log order, once per index). */
  noteChosen(index: LogIndex, value: EntryValue): void {
    if (value.kind !== 'config') return;
    const effectiveFrom = (index + this.alpha) as LogIndex;
    const last = this.records[this.records.length - 1];
    if (last !== undefined && last.effectiveFrom >= effectiveFrom) return; // replayed
    this.records.push({ effectiveFrom, members: [...value.members] });
  }

  /** Drops records no index above `snapshotIndex` can use. */
  compact(snapshotIndex: LogIndex): void {
    while (this.records.length > 1 && (this.records[1]?.effectiveFrom ?? Infinity) <= snapshotIndex + 1) {
      this.records.shift();
    }
  }

  /** The first index governed by the newest known membership. */
  latestEffectiveFrom(): LogIndex {
    const last = this.records[this.records.length - 1];
    if (last === undefined) throw new Error('latestEffectiveFrom: empty history');
    return last.effectiveFrom;
  }

  snapshotRecords(): readonly ConfigRecord[] {
    return this.records.map((r) => ({ effectiveFrom: r.effectiveFrom, members: [...r.members] }));
  }

  /**
   * Every node that votes anywhere in `[from, to]`, sorted. Read on every commit a leader
   * announces: with one membership in the range (the usual case) it allocates nothing.
   */
  membersBetween(from: LogIndex, to: LogIndex): readonly NodeId[] {
    let first = 0;
    while (first + 1 < this.records.length && this.records[first + 1]!.effectiveFrom <= from) first += 1;
    let last = first;
    while (last + 1 < this.records.length && this.records[last + 1]!.effectiveFrom <= to) last += 1;
    if (first === last) return this.sortedMembers(this.records[first]!);
    const all = new Set<NodeId>();
    for (let i = first; i <= last; i += 1) for (const m of this.records[i]!.members) all.add(m);
    return [...all].sort();
  }

  /** The sorted members of the record asked for last (plain data: the explorer clones histories). */
  private sortedCache: { readonly record: ConfigRecord; readonly members: readonly NodeId[] } | undefined;

  private sortedMembers(record: ConfigRecord): readonly NodeId[] {
    if (this.sortedCache?.record !== record) {
      this.sortedCache = { record, members: Object.freeze([...new Set(record.members)].sort()) };
    }
    return this.sortedCache.members;
  }
}

/** The number of votes that make a majority of `members`. */
export function quorumSize(members: readonly NodeId[]): number {
  return Math.floor(members.length / 2) + 1;
}

/** True when `voters` contains a majority of `members`. */
export function hasQuorum(members: readonly NodeId[], voters: { has(member: NodeId): boolean }): boolean {
  let votes = 0;
  for (const member of members) if (voters.has(member)) votes += 1;
  return votes >= quorumSize(members);
}
