// The CLI's pure parts: the colony layout (3 racks x 3 power domains, distinct ports), the
// value and outcome formatting, and the exit codes of errors.
import { describe, expect, it } from 'vitest';
import { placeCell } from '../api/placement.ts';
import { colonyLayout, topologyOf } from './colony.ts';
import {
  errorExitCode,
  showError,
  showMoveEnd,
  showMoveStep,
  showStep,
  showTxn,
  showValue,
} from './output.ts';
import { program } from './main.ts';

describe('local colony layout', () => {
  it('has 9 nodes, one per (rack, power domain), with distinct peer and HTTP ports', () => {
    const colony = colonyLayout('/tmp/x', 7400);
    expect(colony.nodes).toHaveLength(9);
    expect(new Set(colony.nodes.map((n) => `${n.rack}/${n.powerDomain}`)).size).toBe(9);
    const ports = colony.nodes.flatMap((n) => [n.peer, n.http]);
    expect(new Set(ports).size).toBe(18);
    expect(colony.nodes[0]).toEqual({
      id: 'n1',
      peer: '127.0.0.1:7401',
      http: '127.0.0.1:7501',
      rack: 'rack-1',
      powerDomain: 'power-1',
    });
  });

  it('places a default cell of seven over every rack and power domain, at least 2 in each rack', () => {
    const topology = topologyOf(colonyLayout('/tmp/x', 7400));
    for (let i = 0; i < 100; i++) {
      const members = placeCell(`volume/vol-${i}`, topology, 7);
      const entries = members.map((m) => topology.find((t) => t.nodeId === m)!);
      const perRack = new Map<string, number>();
      for (const e of entries) perRack.set(e.rack, (perRack.get(e.rack) ?? 0) + 1);
      expect(perRack.size).toBe(3);
      expect(Math.min(...perRack.values())).toBeGreaterThanOrEqual(2); // 7 over 3 racks: 3+2+2
      expect(new Set(entries.map((e) => e.powerDomain)).size).toBe(3);
    }
  });
});

describe('CLI output', () => {
  it('shows text, integers, booleans and binary bytes', () => {
    expect(showValue(new TextEncoder().encode('node-7'))).toBe('"node-7"');
    expect(showValue(-12n)).toBe('-12');
    expect(showValue(false)).toBe('false');
    expect(showValue(new Uint8Array([0xff, 0x00]))).toBe('0xff00');
    expect(showValue(new Uint8Array([0x41, 0x00]))).toBe('0x4100'); // control characters: hex
  });

  it('says which condition failed and why', () => {
    const lines = showTxn({
      kind: 'not-committed',
      index: 4,
      reads: [{ key: 'primary', found: false }],
      failure: { kind: 'condition-failed', index: 0, key: 'primary', reason: 'missing' },
    });
    expect(lines).toEqual([
      'NOT committed (index 4): condition 0 on "primary" failed: missing',
      '  primary: not found',
    ]);
  });

  it('exits 3 on an unknown outcome, 2 on other errors', () => {
    expect(errorExitCode({ kind: 'outcome-unknown', message: 'x' })).toBe(3);
    expect(errorExitCode({ kind: 'unavailable', attempts: 8, message: 'x' })).toBe(2);
    expect(showError({ kind: 'invalid', field: 'writes[0].key', message: 'too long' })).toContain(
      'writes[0].key',
    );
  });

  it('shows a membership change, a move step and how a move ended', () => {
    const step = {
      change: { kind: 'replace' as const, remove: 'n3', add: 'n8#2' },
      members: ['n1', 'n2', 'n8#2'],
      chosenIndex: 14,
      retired: true,
      elapsedMs: 420,
    };
    expect(showStep('vol/a', step)).toEqual([
      'replaced n3 by n8#2 in cell "vol/a" (chosen at index 14, 0.4 s; n3 retired, pointing to the new members)',
      '  members: n1, n2, n8#2',
    ]);
    expect(
      showStep('vol/a', { ...step, change: { kind: 'remove', node: 'n3' }, retired: false })[0],
    ).toContain('n3 did not answer: its node keeps a deposed replica');
    expect(showMoveStep(step, 2)).toBe('  step 2: replaced n3 by n8#2 (index 14, 0.4 s)');
    const operation = {
      kind: 'operation' as const,
      id: 'n1-x-1',
      cellId: 'vol/a',
      node: 'n1',
      endpoint: '127.0.0.1:7501',
      to: ['n1', 'n2', 'n8'],
      steps: [step],
    };
    expect(showMoveEnd({ ...operation, state: 'succeeded', members: step.members })).toEqual([
      'moved cell "vol/a" in 1 step(s): members n1, n2, n8#2',
    ]);
    expect(
      showMoveEnd({
        ...operation,
        state: 'failed',
        error: { code: 'invalid-change', message: 'n8 is full' },
      }),
    ).toEqual(['error: the move stopped after 1 step(s): invalid-change: n8 is full']);
    expect(showMoveEnd({ ...operation, state: 'running' })[0]).toContain(
      'physalia cell operation n1-x-1 --node-endpoint 127.0.0.1:7501',
    );
    expect(
      showError({
        kind: 'change-in-progress',
        message: 'operation n1-x-1 is moving the cell',
        operationId: 'n1-x-1',
      }),
    ).toBe('error: operation n1-x-1 is moving the cell (see: physalia cell operation n1-x-1)');
  });

  it('has every command of the spec', () => {
    const root = program();
    const names = root.commands.map((c) => c.name());
    for (const name of [
      'colony',
      'node',
      'cell',
      'get',
      'put',
      'delete',
      'incr',
      'cas',
      'txn',
      'scan',
      'lease',
    ]) {
      expect(names).toContain(name);
    }
    const sub = (name: string): string[] =>
      root.commands.find((c) => c.name() === name)!.commands.map((c) => c.name());
    expect(sub('colony')).toEqual(['up', 'down', 'status']);
    expect(sub('cell')).toEqual([
      'create',
      'describe',
      'list',
      'add-member',
      'remove-member',
      'replace-member',
      'move',
      'operation',
      'noop',
    ]);
    expect(sub('lease')).toEqual(['acquire', 'renew', 'release']);
  });
});
