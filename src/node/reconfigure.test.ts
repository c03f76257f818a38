// The pure half of the node's reconfiguration (paper §2.4): a change named by nodes resolved
// against the members (member ids `host#k`), and the next single change of a move (the leader
// replaced last; adds and removes when the sizes differ).
import { describe, expect, it } from 'vitest';
import { nodeId } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { nextMoveChange, planChange } from './reconfigure.ts';
import { membersMax } from './wire.ts';

const ids = (...names: string[]): NodeId[] => names.map((name) => nodeId(name));

describe('planning a membership change', () => {
  it('resolves a node to the member it runs, or takes an exact member id', () => {
    const members = ids('n1', 'n2#3', 'n4');
    expect(planChange(members, { kind: 'remove', node: nodeId('n2') })).toEqual({
      addHost: undefined,
      removeMember: 'n2#3',
    });
    expect(planChange(members, { kind: 'remove', node: nodeId('n2#3') })).toMatchObject({
      removeMember: 'n2#3',
    });
    expect(planChange(members, { kind: 'remove', node: nodeId('n2#1') })).toEqual({
      kind: 'invalid-change',
      reason: 'n2#1 is not a member',
    });
    expect(planChange(members, { kind: 'replace', remove: nodeId('n4'), add: nodeId('n5') })).toEqual({
      addHost: 'n5',
      removeMember: 'n4',
    });
  });

  it('refuses a node that already runs a member, a member id to add, the last member, a full cell', () => {
    expect(planChange(ids('n1', 'n2#3'), { kind: 'add', node: nodeId('n2') })).toEqual({
      kind: 'invalid-change',
      reason: 'n2 already hosts member n2#3',
    });
    expect(planChange(ids('n1'), { kind: 'add', node: nodeId('n2#4') })).toMatchObject({
      kind: 'invalid-change',
    });
    expect(planChange(ids('n1'), { kind: 'remove', node: nodeId('n1') })).toEqual({
      kind: 'invalid-change',
      reason: 'cannot remove the last member',
    });
    expect(planChange(ids('n1'), { kind: 'replace', remove: nodeId('n1'), add: nodeId('n2') })).toMatchObject(
      {
        addHost: 'n2',
      },
    );
    const full = Array.from({ length: membersMax }, (_, index) => nodeId(`n${index + 1}`));
    expect(planChange(full, { kind: 'add', node: nodeId('n99') })).toMatchObject({ kind: 'invalid-change' });
  });
});

describe('the next step of a move', () => {
  it('replaces non-leaders first and the leader last, then adds or removes to the target size', () => {
    const targets = ids('n4', 'n5', 'n6');
    expect(nextMoveChange(ids('n1', 'n2', 'n3'), nodeId('n1'), targets)).toEqual({
      kind: 'replace',
      remove: 'n2',
      add: 'n4',
    });
    expect(nextMoveChange(ids('n1', 'n4#1', 'n5#1'), nodeId('n1'), targets)).toEqual({
      kind: 'replace',
      remove: 'n1',
      add: 'n6',
    });
    expect(nextMoveChange(ids('n4#1', 'n5#1', 'n6#1'), undefined, targets)).toBeUndefined();
    expect(nextMoveChange(ids('n4#1', 'n5#1'), undefined, targets)).toEqual({ kind: 'add', node: 'n6' });
    expect(nextMoveChange(ids('n1', 'n4#1', 'n5#1', 'n6#1'), undefined, targets)).toEqual({
      kind: 'remove',
      node: 'n1',
    });
  });
});
