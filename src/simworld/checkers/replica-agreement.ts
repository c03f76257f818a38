// Replica agreement checker: no two replicas decide different values for one log index,
// and replicas at the same applied index hold the same state (compared by digest). Fed as
// the simulation runs; each disagreement becomes a typed violation.

/** A digest of a decided value or of a replica's state; bytes are compared as hex. */
export type Digest = string | Uint8Array;

/** Default bound on log indices (and applied indices) remembered per group. */
export const AGREEMENT_INDICES_TRACKED_MAX_DEFAULT = 1_000_000;
/** Default bound on violations kept; later ones are only counted. */
export const AGREEMENT_VIOLATIONS_MAX_DEFAULT = 100;

export interface ReplicaAgreementOptions {
  /** Per group and per kind, the oldest-recorded index is forgotten beyond this bound. */
  readonly indicesTrackedMax?: number;
  readonly violationsMax?: number;
}

/** Who said what: a replica and its digest (hex when given as bytes). */
export interface ReplicaClaim {
  readonly replica: string;
  readonly digest: string;
}

export type AgreementViolation =
  | {
      readonly kind: 'conflicting-decision';
      readonly group: string;
      readonly logIndex: number;
      readonly first: ReplicaClaim;
      readonly second: ReplicaClaim;
    }
  | {
      readonly kind: 'divergent-state';
      readonly group: string;
      readonly appliedIndex: number;
      readonly first: ReplicaClaim;
      readonly second: ReplicaClaim;
    };

export interface DecisionRecord {
  /** The replicated log the index belongs to (e.g. a cell id); '' when there is one. */
  readonly group?: string;
  readonly replica: string;
  readonly logIndex: number;
  readonly valueDigest: Digest;
}

export interface AppliedStateRecord {
  readonly group?: string;
  readonly replica: string;
  readonly appliedIndex: number;
  readonly stateDigest: Digest;
}

function digestText(digest: Digest): string {
  if (typeof digest === 'string') return digest;
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** First claim per (group, index), forgetting the oldest recorded beyond a bound. */
class ClaimTable {
  private readonly claims = new Map<string, ReplicaClaim>();

  constructor(private readonly indicesTrackedMax: number) {}

  /** The earlier claim when it disagrees with this one; undefined otherwise. */
  claim(group: string, index: number, claim: ReplicaClaim): ReplicaClaim | undefined {
    const slot = `${group}\u0000${index}`;
    const earlier = this.claims.get(slot);
    if (earlier !== undefined) return earlier.digest === claim.digest ? undefined : earlier;
    if (this.claims.size >= this.indicesTrackedMax) {
      const oldest = this.claims.keys().next();
      if (oldest.done !== true) this.claims.delete(oldest.value);
    }
    this.claims.set(slot, claim);
    return undefined;
  }
}

/** Collects decisions and applied-state digests from every replica; reports disagreements. */
export class ReplicaAgreementChecker {
  private readonly decisions: ClaimTable;
  private readonly states: ClaimTable;
  private readonly kept: AgreementViolation[] = [];
  private readonly violationsMax: number;
  private violationCount = 0;

  constructor(options: ReplicaAgreementOptions = {}) {
    const indicesTrackedMax = options.indicesTrackedMax ?? AGREEMENT_INDICES_TRACKED_MAX_DEFAULT;
    this.decisions = new ClaimTable(indicesTrackedMax);
    this.states = new ClaimTable(indicesTrackedMax);
    this.violationsMax = options.violationsMax ?? AGREEMENT_VIOLATIONS_MAX_DEFAULT;
  }

  /** A replica decided (learned as chosen) a value at a log index. Returns a violation, if any. */
  recordDecision(record: DecisionRecord): AgreementViolation | undefined {
    const group = record.group ?? '';
    const claim = { replica: record.replica, digest: digestText(record.valueDigest) };
    const earlier = this.decisions.claim(group, record.logIndex, claim);
    if (earlier === undefined) return undefined;
    return this.report({
      kind: 'conflicting-decision',
      group,
      logIndex: record.logIndex,
      first: earlier,
      second: claim,
    });
  }

  /** A replica has applied its log up to `appliedIndex` and its state has this digest. */
  recordAppliedState(record: AppliedStateRecord): AgreementViolation | undefined {
    const group = record.group ?? '';
    const claim = { replica: record.replica, digest: digestText(record.stateDigest) };
    const earlier = this.states.claim(group, record.appliedIndex, claim);
    if (earlier === undefined) return undefined;
    return this.report({
      kind: 'divergent-state',
      group,
      appliedIndex: record.appliedIndex,
      first: earlier,
      second: claim,
    });
  }

  /** The violations kept (at most `violationsMax`), in the order they were found. */
  violations(): readonly AgreementViolation[] {
    return this.kept;
  }

  /** All violations found, including those not kept. */
  totalViolations(): number {
    return this.violationCount;
  }

  private report(violation: AgreementViolation): AgreementViolation {
    this.violationCount += 1;
    if (this.kept.length < this.violationsMax) this.kept.push(violation);
    return violation;
  }
}

/** One line for a log or a test failure. */
export function describeAgreementViolation(violation: AgreementViolation): string {
  const where = violation.group === '' ? '' : ` of group "${violation.group}"`;
  const claims = `${violation.first.replica} has ${violation.first.digest}, ${violation.second.replica} has ${violation.second.digest}`;
  switch (violation.kind) {
    case 'conflicting-decision':
      return `two values decided at log index ${violation.logIndex}${where}: ${claims}`;
    case 'divergent-state':
      return `different states at applied index ${violation.appliedIndex}${where}: ${claims}`;
  }
}
