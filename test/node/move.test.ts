// A cell moved between real node processes while a workload runs (paper §2.4, Figure 7): one
// replacement at a time over TCP and LMDB, each new member a fresh incarnation created on its
// node first; no acknowledged write lost, the history linearizable; the nodes the cell left
// retired their replicas and answer a client on stale membership with a forwarding pointer
// (§2.5), and a request routed through them reaches the cell: redirected, never wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostOfMember } from '../../src/cell/index.ts';
import { transaction } from '../../src/model/index.ts';
import type { NodeId } from '../../src/paxos/index.ts';
import { ProcessColony, sleep } from './harness.ts';
import { cellsOf, runWorkload } from './workload.ts';

const node = (id: string): NodeId => id as NodeId;
const from = [node('n1'), node('n2'), node('n3')];
const to = [node('n4'), node('n5'), node('n6')];

describe('moving a cell between real node processes', () => {
  let colony: ProcessColony;
  beforeAll(async () => {
    colony = await ProcessColony.start({ nodes: 6 });
  }, 60_000);
  afterAll(async () => {
    await colony.close();
  }, 30_000);

  it('moves n1,n2,n3 -> n4,n5,n6 under a workload: linearizable, nothing lost, stale clients redirected', async () => {
    const [cellId] = cellsOf(1);
    if (cellId === undefined) throw new Error('no cell');
    const created = await colony.client.createCell(cellId, from);
    expect(
      [...created.values()].filter((outcome) => outcome.kind === 'created').length,
    ).toBeGreaterThanOrEqual(2);
    const workload = runWorkload(colony, { cells: 1, keysPerCell: 2, clients: 4, durationMs: 9_000 });
    await sleep(1_500);
    const startedMs = Date.now();
    const moved = await colony.client.move(node('n4'), cellId, to, 30_000);
    const moveMs = Date.now() - startedMs;
    const report = await workload;
    console.info(
      `move under workload: ${JSON.stringify(moved)} in ${moveMs} ms; ops ok ${report.ok}, fail ${report.fail}, info ${report.info}`,
    );
    expect(moved).toMatchObject({ kind: 'moved-cell', steps: 3 });
    if (moved?.kind !== 'moved-cell') return;
    expect(moved.members.map((member) => hostOfMember(member)).sort()).toEqual(['n4', 'n5', 'n6']);
    expect(moved.members.every((member) => member.includes('#'))).toBe(true); // fresh incarnations
    expect(report.ok).toBeGreaterThan(50);
    expect(report.linearizable).toMatchObject({ kind: 'linearizable' });
    expect(report.durability).toMatchObject({ kind: 'checked', violations: [] });
    if (report.durability.kind === 'checked')
      expect(report.durability.acknowledgedWritesChecked).toBeGreaterThan(0);

    // A client on stale membership: each old node answers with a pointer to the members after
    // it left (its own step); the node removed last points at the final members.
    const read = {
      kind: 'operation',
      operation: transaction({ reads: ['k0'] }),
      consistency: 'consistent',
    } as const;
    const pointers: string[][] = [];
    for (const old of from) {
      const served = await colony.client.serveAt(old, cellId, read);
      expect(served).toMatchObject({ kind: 'moved' });
      if (served.kind !== 'moved') continue;
      const hosts = served.members.map((member) => hostOfMember(member));
      expect(hosts).not.toContain(old);
      for (const member of served.members)
        expect(moved.members.includes(member) || from.includes(member)).toBe(true);
      pointers.push([...served.members].sort());
    }
    expect(pointers).toContainEqual([...moved.members].sort());
    // ... and routes a request sent through it to the cell, which answers what a member answers.
    const final = report.finalReads.find((entry) => entry.key === `${cellId}/k0`);
    const viaOld = await colony.client.submit(node('n1'), cellId, read);
    const viaNew = await colony.client.submit(node('n5'), cellId, read);
    expect(viaOld).toMatchObject({ kind: 'result', result: { kind: 'committed' } });
    expect(
      viaOld.kind === 'result' && viaOld.result.kind === 'committed' ? viaOld.result.reads : undefined,
    ).toEqual(
      viaNew.kind === 'result' && viaNew.result.kind === 'committed' ? viaNew.result.reads : 'no read',
    );
    if (final !== undefined && viaOld.kind === 'result' && viaOld.result.kind === 'committed') {
      const value = viaOld.result.reads[0];
      expect(value?.found === true ? Number(value.value) : null).toBe(final.value);
    }
    for (const old of from) {
      const { metrics } = await colony.node(old).metrics();
      expect(metrics.cellsHosted).toBe(0);
      expect(metrics.cellsRetired).toBe(1);
      expect(metrics.forwardingPointersAnswered).toBeGreaterThan(0);
    }
  }, 60_000);
});
