// The CLI's pure parts: the colony layout (3 racks x 3 power domains, distinct ports), the
// value and outcome formatting, and the exit codes of errors.
import { describe, expect, it } from 'vitest';
import { placeCell } from '../api/placement.ts';
import { colonyLayout, topologyOf } from './colony.ts';
import { errorExitCode, showError, showTxn, showValue } from './output.ts';
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
    expect(sub('cell')).toEqual(['create', 'describe', 'list']);
    expect(sub('lease')).toEqual(['acquire', 'renew', 'release']);
  });
});
