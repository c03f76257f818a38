// A node under hostile and repeated frames in the simulator (paper §2.6: messages may be lost,
// replayed, reordered and modified): garbage is counted and never acted on, a replayed
// forwarded request is served once, and test hooks are refused unless enabled.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../env/index.ts';
import type { HostId, Network } from '../env/index.ts';
import { nodeId } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { sim } from '../simworld/index.ts';
import { realCellBinding } from './cell-binding.ts';
import { Node } from './node.ts';
import { cell, getRequest, putRequest } from './testing/sim-colony.ts';
import { decodeNodeMessage, encodeNodeMessage, nodeWireVersion } from './wire.ts';
import type { NodeMessage } from './wire.ts';

const binding = realCellBinding();
const n1 = nodeId('n1');
const probeId = 'probe' as HostId;

/**
 * One node n1 and a raw probe host that sends frames and records what comes back. The probe
 * is n1's peer, so n1's heartbeat timer keeps the scheduler running (its `run` stops when no
 * event is queued, even if the test started a promise whose I/O is one microtask away).
 */
function setup(
  testHooks = false,
  quiet = false,
): {
  world: ReturnType<typeof sim>;
  node: () => Node;
  probe: () => Network;
  received: NodeMessage[];
} {
  let node: Node | undefined;
  let probe: Network | undefined;
  const received: NodeMessage[] = [];
  const world = sim({
    seed: 11,
    hosts: [
      {
        name: 'n1',
        boot: (env) => {
          // quiet: n1 has no peers and no heartbeat, so only its cells' work arms its timer.
          const peers = quiet ? [] : [n1, nodeId('probe')];
          node = new Node({
            self: n1,
            env,
            cells: binding,
            peers,
            testHooks,
            limits: { idleEvictMs: 1_000 },
          });
          return {};
        },
      },
      {
        name: 'probe',
        boot: (env) => {
          probe = env.network;
          if (quiet) {
            // The probe pings n1 so the scheduler always has an event (see above).
            const ping = (): void => {
              env.network.send(n1 as string as HostId, encodeNodeMessage({ kind: 'heartbeat' }));
              env.clock.setTimer(100, ping);
            };
            ping();
          }
          env.network.onReceive((_from, bytes) => {
            const decoded = decodeNodeMessage(bytes);
            if (decoded.kind === 'decoded') received.push(decoded.message);
          });
          return {};
        },
      },
    ],
  });
  const get = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('not booted');
    return value;
  };
  return { world, node: () => get(node), probe: () => get(probe), received };
}

describe('node under hostile frames', () => {
  it('drops and counts 20,000 garbage frames, acts on none, and keeps serving', async () => {
    const { world, node, probe } = setup();
    await world.settle(node().createCell(cell('live'), [n1]));
    const random = new SeededRandom(5);
    const valid = encodeNodeMessage({
      kind: 'create',
      cellId: cell('evil'),
      rpc: { session: 1, sequence: 1 },
      members: [n1],
    });
    for (let index = 0; index < 20_000; index += 1) {
      const shape = index % 4;
      let frame: Uint8Array;
      if (shape === 0) frame = Uint8Array.from({ length: random.intBelow(64) }, () => random.intBelow(256));
      else if (shape === 1)
        frame = valid.subarray(0, random.intBelow(valid.length)); // truncated
      else if (shape === 2)
        frame = new Uint8Array([
          nodeWireVersion,
          1 + random.intBelow(12),
          ...Array.from({ length: 8 }, () => random.intBelow(256)),
        ]);
      else frame = new Uint8Array([...valid, random.intBelow(256)]); // trailing garbage
      probe().send(n1 as string as HostId, frame);
      if (index % 1000 === 999) await world.runFor(50);
    }
    await world.runFor(1_000);
    const metrics = node().metrics();
    const dropped = Object.values(metrics.framesDropped).reduce((sum, count) => sum + count, 0);
    expect(metrics.framesReceived).toBe(20_000);
    // A few shape-2 frames happen to decode as harmless questions (locate, describe of an
    // unknown cell) and are answered; everything else is dropped and counted by reason.
    expect(dropped).toBeGreaterThanOrEqual(19_900);
    expect(metrics.framesDropped.malformed).toBeGreaterThan(5_000);
    expect(
      node()
        .listCells()
        .map((hosted) => hosted.cellId),
    ).toEqual(['live']);
    expect(metrics.cellsCreated).toBe(1);
    const write = await world.settle(node().submit(cell('live'), putRequest('k', 1n)));
    expect(write.kind).toBe('result');
  });

  it('serves a forwarded request once even when the frame is replayed', async () => {
    const { world, node, probe, received } = setup();
    await world.settle(node().createCell(cell('once'), [n1]));
    const rpc = { session: 77, sequence: 1 };
    const frame = encodeNodeMessage({
      kind: 'request',
      cellId: cell('once'),
      rpc,
      request: binding.encodeRequest(putRequest('k', 9n)),
    });
    for (let copy = 0; copy < 5; copy += 1) probe().send(n1 as string as HostId, frame);
    await world.runFor(2_000);
    const responses = received.filter((message) => message.kind === 'response');
    expect(responses).toHaveLength(1);
    expect(node().metrics().framesDropped.duplicate).toBe(4);
    const read = await world.settle(node().submit(cell('once'), getRequest('k')));
    expect(read).toMatchObject({ kind: 'result', index: 2 }); // one write applied (index 1), then this read
  });

  it('refuses test hooks unless enabled, and drops a blocked peer frames when enabled', async () => {
    const off = setup(false);
    off
      .probe()
      .send(n1 as string as HostId, encodeNodeMessage({ kind: 'test-block', blocked: ['probe' as NodeId] }));
    await off.world.runFor(100);
    expect(off.node().metrics().framesDropped['hooks-disabled']).toBe(1);
    const on = setup(true);
    on.probe().send(
      n1 as string as HostId,
      encodeNodeMessage({ kind: 'test-block', blocked: ['probe' as NodeId] }),
    );
    await on.world.runFor(100);
    on.probe().send(
      n1 as string as HostId,
      encodeNodeMessage({ kind: 'locate', cellId: cell('x'), rpc: { session: 1, sequence: 1 } }),
    );
    await on.world.runFor(100);
    expect(on.node().metrics().framesDropped.blocked).toBe(1);
    expect(on.received).toEqual([]);
  });

  it('ticks, then evicts, a single-member cell that only ever saw client requests (no peer traffic)', async () => {
    const { world, node } = setup(false, true);
    await world.settle(node().createCell(cell('solo'), [n1]));
    expect((await world.settle(node().submit(cell('solo'), putRequest('k', 3n)))).kind).toBe('result');
    await world.runFor(3_000);
    expect(node().metrics()).toMatchObject({ cellsInMemory: 0, cellsEvicted: 1 });
    expect(await world.settle(node().submit(cell('solo'), getRequest('k')))).toMatchObject({
      kind: 'result',
      result: { reads: [{ found: true, value: 3n }] },
    });
    expect(node().metrics().cellsLoaded).toBe(1);
  });

  it('closes cleanly: pending requests are answered, later frames and requests are refused', async () => {
    const { world, node, probe } = setup();
    await world.settle(node().createCell(cell('c'), [n1, nodeId('absent')]));
    const pending = node().submit(cell('c'), putRequest('k', 1n)); // no quorum: waits
    await world.runFor(200);
    await world.settle(node().close());
    expect((await world.settle(pending)).kind).toMatch(/^(unavailable|outcome-unknown)$/);
    expect(await node().submit(cell('c'), getRequest('k'))).toEqual({
      kind: 'unavailable',
      reason: 'node closed',
    });
    probe().send(n1 as string as HostId, encodeNodeMessage({ kind: 'heartbeat' }));
    await world.runFor(100);
    expect(node().metrics().framesDropped.closed).toBe(1);
  });

  it('drops answers to requests it never made', async () => {
    const { world, node, probe } = setup();
    probe().send(
      n1 as string as HostId,
      encodeNodeMessage({
        kind: 'response',
        cellId: cell('x'),
        rpc: { session: 1, sequence: 1 },
        answer: { kind: 'not-found' },
      }),
    );
    await world.runFor(100);
    expect(node().metrics().framesDropped['unknown-request']).toBe(1);
    expect(probeId).toBe('probe');
  });
});
