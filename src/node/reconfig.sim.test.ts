// Reconfiguration on the node in the simulator (paper §2.4, §2.5): admin requests routed to
// the cell's leader from any node, cell messages delivered by incarnation (a cell moved away
// and back runs as `n3#k`, so frames for `n3` are dropped), a removed replica retiring by itself
// with a forwarding pointer, single changes and whole moves with their typed refusals, and a
// move under a workload with a linearizable history.
import { describe, expect, it } from 'vitest';
import { hostOfMember } from '../cell/index.ts';
import type { HostId } from '../env/index.ts';
import { nodeId } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { checkHistoryLinearizable, HistoryRecorder } from '../simworld/checkers/index.ts';
import type { CellAdminRequest } from './cell-contract.ts';
import type { AdminCellResponse } from './service.ts';
import type { SimColony } from './testing/sim-colony.ts';
import {
  cell,
  committed,
  getRequest,
  putRequest,
  readValue,
  simColony,
  submitUntilCommitted,
} from './testing/sim-colony.ts';
import { encodeNodeMessage } from './wire.ts';

const members = (...names: string[]): NodeId[] => names.map((name) => nodeId(name));
const hosts = (list: readonly NodeId[]): string[] => list.map((member) => hostOfMember(member)).sort();

async function created(colony: SimColony, name: string, on: readonly NodeId[]): Promise<void> {
  const result = await colony.world.settle(colony.node(on[0]!).createCell(cell(name), on));
  expect(result.kind).toBe('created');
}

/** Sends an admin request through `via` until the cell answers something other than not-leader. */
async function adminUntilAnswered(
  colony: SimColony,
  via: string,
  name: string,
  request: CellAdminRequest,
): Promise<AdminCellResponse> {
  let response: AdminCellResponse = { kind: 'unavailable', reason: 'not tried' };
  for (let attempt = 0; attempt < 20; attempt += 1) {
    response = await colony.world.settle(colony.node(via).adminCell(cell(name), request));
    if (response.kind !== 'not-leader' && response.kind !== 'unavailable') return response;
    await colony.world.runFor(100);
  }
  return response;
}

describe('node reconfiguration in the simulator (paper §2.4)', () => {
  it('routes admin requests to the leader from any node, members or not', async () => {
    const colony = simColony({ seed: 21 });
    await created(colony, 'a', members('n1', 'n2', 'n3'));
    expect(committed(await submitUntilCommitted(colony, 'n1', cell('a'), putRequest('k', 1n)))).toBe(true);
    for (const via of ['n1', 'n2', 'n3', 'n6']) {
      const answer = await adminUntilAnswered(colony, via, 'a', { kind: 'noop' });
      expect(answer).toMatchObject({ kind: 'noop-chosen' });
    }
    const invalid = await adminUntilAnswered(colony, 'n7', 'a', {
      kind: 'reconfigure',
      change: { kind: 'remove', node: nodeId('n5') },
    });
    expect(invalid).toEqual({ kind: 'invalid-change', reason: 'n5 is not a member' });
    expect(await colony.world.settle(colony.node('n4').adminCell(cell('nowhere'), { kind: 'noop' }))).toEqual(
      {
        kind: 'not-found',
        cellId: 'nowhere',
      },
    );
  });

  it('a removed replica retires by itself after retireAfterMs and leaves a forwarding pointer (§2.5)', async () => {
    const colony = simColony({ seed: 22, limits: { retireAfterMs: 500 } });
    await created(colony, 'r', members('n1', 'n2', 'n3', 'n4'));
    expect(committed(await submitUntilCommitted(colony, 'n1', cell('r'), putRequest('k', 9n)))).toBe(true);
    // The raw admin request, not the orchestrator: nobody tells n4 to retire but the cell itself.
    const removed = await adminUntilAnswered(colony, 'n1', 'r', {
      kind: 'reconfigure',
      change: { kind: 'remove', node: nodeId('n4') },
    });
    expect(removed).toMatchObject({ kind: 'reconfigured', members: ['n1', 'n2', 'n3'] });
    for (let index = 0; index < 3; index += 1) await adminUntilAnswered(colony, 'n1', 'r', { kind: 'noop' });
    await colony.world.runFor(2_000);
    const n4 = colony.node('n4');
    expect(n4.listCells()).toEqual([]);
    expect(n4.metrics().cellsRetired).toBe(1);
    const served = await colony.world.settle(n4.submit(cell('r'), getRequest('k')));
    expect(readValue(served)).toBe(9n); // routed by the pointer to the new members
    expect(n4.metrics().forwardingPointersAnswered).toBeGreaterThan(0);
    const described = await colony.world.settle(n4.describeCell(cell('r')));
    expect(described).toMatchObject({ kind: 'described', summary: { members: ['n1', 'n2', 'n3'] } });
  });

  it('a removed replica not yet retired sends a describe on to the members, never answering with its stale view', async () => {
    const colony = simColony({ seed: 23, limits: { retireAfterMs: 60_000 } });
    await created(colony, 'r', members('n1', 'n2', 'n3', 'n4'));
    expect(committed(await submitUntilCommitted(colony, 'n1', cell('r'), putRequest('k', 9n)))).toBe(true);
    const removed = await adminUntilAnswered(colony, 'n1', 'r', {
      kind: 'reconfigure',
      change: { kind: 'remove', node: nodeId('n4') },
    });
    expect(removed).toMatchObject({ kind: 'reconfigured', members: ['n1', 'n2', 'n3'] });
    // The change takes effect alpha entries later; n4 no longer hears of commits after it.
    for (let index = 0; index < 3; index += 1) await adminUntilAnswered(colony, 'n1', 'r', { kind: 'noop' });
    await colony.world.runFor(2_000);
    const n4 = colony.node('n4');
    expect(n4.listCells().map((hosted) => hosted.cellId)).toEqual([cell('r')]); // not retired yet
    const described = await colony.world.settle(n4.describeCell(cell('r')));
    expect(described).toMatchObject({ kind: 'described', summary: { members: ['n1', 'n2', 'n3'] } });
    expect(['n1', 'n2', 'n3']).toContain(described.kind === 'described' ? described.answeredBy : undefined);
  });

  it('a replica that was down while it was removed learns it on its first request after restart, and retires (§2.4)', async () => {
    const colony = simColony({ seed: 24, limits: { retireAfterMs: 500 } });
    await created(colony, 'd', members('n1', 'n2', 'n3', 'n4'));
    expect(committed(await submitUntilCommitted(colony, 'n1', cell('d'), putRequest('k', 5n)))).toBe(true);
    colony.world.crash('n4');
    const removed = await adminUntilAnswered(colony, 'n1', 'd', {
      kind: 'reconfigure',
      change: { kind: 'remove', node: nodeId('n4') },
    });
    expect(removed).toMatchObject({ kind: 'reconfigured', members: ['n1', 'n2', 'n3'] });
    for (let value = 6n; value <= 10n; value += 1n)
      expect(committed(await submitUntilCommitted(colony, 'n2', cell('d'), putRequest('k', value)))).toBe(
        true,
      );
    await colony.world.runFor(10_000);
    colony.world.restart('n4');
    await colony.world.runFor(2_000);
    // Nobody sends n4 anything for the cell, so its stale replica is still there...
    expect(colony.node('n4').listCells()).toMatchObject([{ cellId: 'd' }]);
    // ...until a client with stale membership asks it: it learns its removal from the
    // members (catch-up), retires, and the client is served through the pointer.
    const served = await submitUntilCommitted(colony, 'n4', cell('d'), getRequest('k'));
    expect(readValue(served)).toBe(10n);
    await colony.world.runFor(2_000);
    expect(colony.node('n4').listCells()).toEqual([]);
    expect(colony.node('n4').metrics().cellsRetired).toBe(1);
    // The members were not disturbed: they still commit.
    expect(committed(await submitUntilCommitted(colony, 'n3', cell('d'), putRequest('k', 7n)))).toBe(true);
  });

  it('replaces a member: the new replica is a fresh incarnation, caught up; the old one retired', async () => {
    const colony = simColony({ seed: 23 });
    await created(colony, 'c', members('n1', 'n2', 'n3'));
    for (let index = 0; index < 10; index += 1)
      expect(
        committed(
          await submitUntilCommitted(colony, 'n2', cell('c'), putRequest(`k${index}`, BigInt(index))),
        ),
      ).toBe(true);
    const result = await colony.world.settle(
      colony
        .node('n5')
        .changeMembers(cell('c'), { kind: 'replace', remove: nodeId('n3'), add: nodeId('n6') }),
    );
    expect(result).toMatchObject({
      kind: 'reconfigured',
      step: {
        change: { kind: 'replace', remove: 'n3', add: 'n6#1' },
        members: ['n1', 'n2', 'n6#1'],
        retired: true,
      },
    });
    expect(colony.node('n6').listCells()).toMatchObject([{ cellId: 'c', member: 'n6#1' }]);
    expect(colony.node('n3').listCells()).toEqual([]);
    const learner = await colony.world.settle(colony.node('n6').describeCell(cell('c')));
    expect(learner).toMatchObject({
      kind: 'described',
      answeredBy: 'n6',
      summary: { members: ['n1', 'n2', 'n6#1'] },
    });
    if (learner.kind === 'described') expect(learner.summary.appliedIndex).toBeGreaterThanOrEqual(10);
    // A client still routing through n3 (stale membership) is redirected, never wrong.
    for (let index = 0; index < 10; index += 1)
      expect(readValue(await submitUntilCommitted(colony, 'n3', cell('c'), getRequest(`k${index}`)))).toBe(
        BigInt(index),
      );
    // The cell keeps committing with two of its three members only if n6#1 votes: stop n1.
    colony.world.crash('n1');
    expect(committed(await submitUntilCommitted(colony, 'n6', cell('c'), putRequest('after', 1n)))).toBe(
      true,
    );
  });

  it('delivers by incarnation: after a move away and back, frames for the earlier incarnations are dropped (ABA)', async () => {
    const colony = simColony({ seed: 24 });
    await created(colony, 'aba', members('n1', 'n2', 'n3'));
    expect(committed(await submitUntilCommitted(colony, 'n1', cell('aba'), putRequest('k', 1n)))).toBe(true);
    const away = await colony.world.settle(
      colony
        .node('n1')
        .changeMembers(cell('aba'), { kind: 'replace', remove: nodeId('n3'), add: nodeId('n4') }),
    );
    expect(away).toMatchObject({ kind: 'reconfigured', step: { members: ['n1', 'n2', 'n4#1'] } });
    const back = await colony.world.settle(
      colony
        .node('n1')
        .changeMembers(cell('aba'), { kind: 'replace', remove: nodeId('n4'), add: nodeId('n3') }),
    );
    expect(back).toMatchObject({ kind: 'reconfigured', step: { members: ['n1', 'n2', 'n3#1'] } });
    expect(colony.node('n3').listCells()).toMatchObject([{ cellId: 'aba', member: 'n3#1' }]);
    const n3 = colony.node('n3');
    const before = n3.metrics().framesDropped;
    const payload = new Uint8Array([1, 2, 3]);
    const to = (host: string, bytes: Uint8Array): void => colony.network('n1').send(host as HostId, bytes);
    // A plain frame is for `n3`, the first incarnation: not for `n3#1`.
    to('n3', encodeNodeMessage({ kind: 'cell', cellId: cell('aba'), payload }));
    to(
      'n3',
      encodeNodeMessage({
        kind: 'cell-to',
        cellId: cell('aba'),
        to: nodeId('n3#7'),
        from: nodeId('n1'),
        payload,
      }),
    );
    // A sender that is not on the sending node.
    to(
      'n3',
      encodeNodeMessage({
        kind: 'cell-to',
        cellId: cell('aba'),
        to: nodeId('n3#1'),
        from: nodeId('n2'),
        payload,
      }),
    );
    await colony.world.runFor(200);
    const after = n3.metrics().framesDropped;
    expect(after['stale-incarnation'] - before['stale-incarnation']).toBe(2);
    expect(after['wrong-member'] - before['wrong-member']).toBe(1);
    // The cell runs on, n3#1 voting.
    colony.world.crash('n2');
    expect(committed(await submitUntilCommitted(colony, 'n3', cell('aba'), putRequest('k', 2n)))).toBe(true);
    expect(readValue(await submitUntilCommitted(colony, 'n1', cell('aba'), getRequest('k')))).toBe(2n);
  });

  it('refuses changes that do not fit, unknown cells and a second change of the same cell, changing nothing', async () => {
    const colony = simColony({ seed: 25 });
    await created(colony, 'x', members('n1', 'n2', 'n3'));
    const node = colony.node('n4');
    const change = (c: Parameters<typeof node.changeMembers>[1]) =>
      colony.world.settle(node.changeMembers(cell('x'), c));
    expect(await change({ kind: 'add', node: nodeId('n2') })).toEqual({
      kind: 'invalid-change',
      reason: 'n2 already hosts member n2',
    });
    expect(await change({ kind: 'remove', node: nodeId('n7') })).toEqual({
      kind: 'invalid-change',
      reason: 'n7 is not a member',
    });
    expect(await change({ kind: 'add', node: nodeId('n99') })).toEqual({
      kind: 'invalid-change',
      reason: 'n99 is not a node of this colony',
    });
    expect(
      await colony.world.settle(node.changeMembers(cell('nope'), { kind: 'add', node: nodeId('n5') })),
    ).toEqual({
      kind: 'not-found',
      cellId: 'nope',
    });
    const first = node.changeMembers(cell('x'), { kind: 'add', node: nodeId('n5') });
    const second = await colony.world.settle(
      node.changeMembers(cell('x'), { kind: 'add', node: nodeId('n6') }),
    );
    expect(second).toEqual({ kind: 'config-change-in-progress' });
    expect(await colony.world.settle(first)).toMatchObject({
      kind: 'reconfigured',
      step: { members: ['n1', 'n2', 'n3', 'n5#1'] },
    });
    for (const name of ['n6', 'n7']) expect(colony.node(name).listCells()).toEqual([]);
  });

  it('moves a cell onto other nodes one replacement at a time under a workload: linearizable, nothing lost', async () => {
    const colony = simColony({ seed: 26 });
    await created(colony, 'm', members('n1', 'n2', 'n3'));
    const recorder = new HistoryRecorder();
    let moving = true;
    let process = 0;
    const workload = (async () => {
      for (let round = 0; moving || round < 5; round += 1) {
        const via = `n${(round % 7) + 1}`;
        const write = round % 2 === 0;
        recorder.invoke(process, write ? 'write' : 'read', 'm/r', write ? round : null, colony.world.nowMs);
        const response = await colony
          .node(via)
          .submit(cell('m'), write ? putRequest('r', BigInt(round)) : getRequest('r'));
        if (committed(response)) {
          const value = readValue(response);
          recorder.ok(
            process,
            colony.world.nowMs,
            write ? undefined : value === 'absent' ? null : Number(value),
          );
        } else if (response.kind === 'outcome-unknown') {
          recorder.info(process, colony.world.nowMs);
          process += 1;
        } else recorder.fail(process, colony.world.nowMs);
        await new Promise<void>((resolve) => colony.world.after(20, resolve));
      }
    })();
    const steps: string[] = [];
    const moved = colony.node('n7').moveCell(cell('m'), members('n4', 'n5', 'n6'), {
      onStep: (step) => steps.push(step.members.join(',')),
    });
    const result = await colony.world.settle(moved);
    moving = false;
    await colony.world.settle(workload);
    expect(result.kind).toBe('moved-cell');
    if (result.kind !== 'moved-cell') return;
    expect(hosts(result.members)).toEqual(['n4', 'n5', 'n6']);
    expect(result.steps).toHaveLength(3);
    expect(steps).toHaveLength(3);
    expect(result.steps.every((step) => step.retired)).toBe(true);
    for (const name of ['n1', 'n2', 'n3']) expect(colony.node(name).listCells()).toEqual([]);
    // The old leader was replaced last, and the move had a new leader elected.
    const now = await colony.world.settle(colony.node('n4').describeCell(cell('m')));
    expect(now.kind === 'described' && result.members.includes(now.summary.leaderHint!)).toBe(true);
    // Each old node points where the cell went after it left; describing follows the chain.
    for (const name of ['n1', 'n2', 'n3'])
      expect(await colony.world.settle(colony.node(name).describeCell(cell('m')))).toMatchObject({
        kind: 'described',
        summary: { members: result.members },
      });
    const okCount = recorder.events().filter((event) => event.type === 'ok').length;
    expect(okCount).toBeGreaterThan(10);
    expect(checkHistoryLinearizable(recorder.events())).toMatchObject({ kind: 'linearizable' });
    expect(colony.node('n7').metrics().reconfigurations).toBe(3);
    // Moving to where it is takes no step.
    const again = await colony.world.settle(colony.node('n1').moveCell(cell('m'), members('n4', 'n5', 'n6')));
    expect(again).toMatchObject({ kind: 'moved-cell', steps: [] });
  });
});
