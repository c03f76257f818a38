// Replica agreement: conflicting decisions and divergent states are reported, agreement is not.
import { describe, expect, it } from 'vitest';
import { describeAgreementViolation, ReplicaAgreementChecker } from './replica-agreement.ts';

describe('ReplicaAgreementChecker', () => {
  it('accepts replicas that decide the same values and reach the same states', () => {
    const checker = new ReplicaAgreementChecker();
    for (const replica of ['a', 'b', 'c']) {
      for (let logIndex = 1; logIndex <= 3; logIndex += 1) {
        expect(checker.recordDecision({ replica, logIndex, valueDigest: `v${logIndex}` })).toBeUndefined();
        expect(
          checker.recordAppliedState({ replica, appliedIndex: logIndex, stateDigest: `s${logIndex}` }),
        ).toBeUndefined();
      }
    }
    expect(checker.violations()).toEqual([]);
  });

  it('reports two different values decided at one log index, with both replicas', () => {
    const checker = new ReplicaAgreementChecker();
    checker.recordDecision({ replica: 'a', logIndex: 7, valueDigest: 'x' });
    checker.recordDecision({ replica: 'b', logIndex: 7, valueDigest: 'x' });
    const violation = checker.recordDecision({ replica: 'c', logIndex: 7, valueDigest: 'y' });
    expect(violation).toEqual({
      kind: 'conflicting-decision',
      group: '',
      logIndex: 7,
      first: { replica: 'a', digest: 'x' },
      second: { replica: 'c', digest: 'y' },
    });
    expect(checker.violations()).toEqual([violation]);
    expect(describeAgreementViolation(checker.violations()[0]!)).toBe(
      'two values decided at log index 7: a has x, c has y',
    );
  });

  it('reports one replica changing its own decision (e.g. after a crash lost its log)', () => {
    const checker = new ReplicaAgreementChecker();
    checker.recordDecision({ replica: 'a', logIndex: 1, valueDigest: 'x' });
    expect(checker.recordDecision({ replica: 'a', logIndex: 1, valueDigest: 'z' })?.kind).toBe(
      'conflicting-decision',
    );
  });

  it('reports replicas at the same applied index with different state digests, bytes compared as hex', () => {
    const checker = new ReplicaAgreementChecker();
    checker.recordAppliedState({ replica: 'a', appliedIndex: 4, stateDigest: new Uint8Array([1, 255]) });
    expect(
      checker.recordAppliedState({ replica: 'b', appliedIndex: 4, stateDigest: '01ff' }),
    ).toBeUndefined();
    expect(
      checker.recordAppliedState({ replica: 'c', appliedIndex: 4, stateDigest: new Uint8Array([1, 254]) }),
    ).toEqual({
      kind: 'divergent-state',
      group: '',
      appliedIndex: 4,
      first: { replica: 'a', digest: '01ff' },
      second: { replica: 'c', digest: '01fe' },
    });
  });

  it('keeps groups (cells) apart: the same index in two logs may hold different values', () => {
    const checker = new ReplicaAgreementChecker();
    checker.recordDecision({ group: 'cell-1', replica: 'a', logIndex: 1, valueDigest: 'x' });
    expect(
      checker.recordDecision({ group: 'cell-2', replica: 'a', logIndex: 1, valueDigest: 'y' }),
    ).toBeUndefined();
    expect(
      checker.recordDecision({ group: 'cell-2', replica: 'b', logIndex: 1, valueDigest: 'z' }),
    ).toMatchObject({
      group: 'cell-2',
    });
  });

  it('bounds what it keeps: violations beyond the bound are counted, old indices are forgotten', () => {
    const checker = new ReplicaAgreementChecker({ violationsMax: 1, indicesTrackedMax: 2 });
    checker.recordDecision({ replica: 'a', logIndex: 1, valueDigest: 'x' });
    checker.recordDecision({ replica: 'b', logIndex: 1, valueDigest: 'y' });
    checker.recordDecision({ replica: 'c', logIndex: 1, valueDigest: 'z' });
    expect(checker.violations()).toHaveLength(1);
    expect(checker.totalViolations()).toBe(2);
    checker.recordDecision({ replica: 'a', logIndex: 2, valueDigest: 'x' });
    checker.recordDecision({ replica: 'a', logIndex: 3, valueDigest: 'x' });
    // Index 1 was forgotten, so a new claim there is a first claim again.
    expect(checker.recordDecision({ replica: 'd', logIndex: 1, valueDigest: 'w' })).toBeUndefined();
  });
});
