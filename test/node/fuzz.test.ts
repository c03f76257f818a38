// A live node process under hostile input (paper §2.6): 100,000+ frames that are random,
// truncated, oversized, wrongly signed (dropped by the transport), or well signed with a
// garbage node envelope (dropped by the node). It keeps serving, acts on none, counts each.
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/env/index.ts';
import { partitionKey, transaction } from '../../src/model/index.ts';
import type { CellId } from '../../src/node/index.ts';
import {
  decodeNodeMessage,
  encodeNodeMessage,
  nodeFrameBytesMax,
  nodeWireVersion,
} from '../../src/node/wire.ts';
import type { NodeMessage } from '../../src/node/wire.ts';
import type { NodeId } from '../../src/paxos/index.ts';
import { encodeFrame, Keyring, parseKeyring } from '../../src/runtime/index.ts';
import type { HostId } from '../../src/env/index.ts';
import { ProcessColony, sleep } from './harness.ts';

const n1 = 'n1' as NodeId;
const live: CellId = partitionKey('live');
const signedGarbageFrames = 90_000;
const unsignedFrames = 20_000;
const random = new SeededRandom(0xf22);
const bytes = (length: number): number[] => Array.from({ length }, () => random.intBelow(256));
const rpc = (): { session: number; sequence: number } => ({
  session: random.nextUint32(),
  sequence: random.intBelow(1 << 30),
});
const cellId = (): CellId => partitionKey(`nope${random.intBelow(1000)}`);
/** Kind tags the wire format does not define (asked of the decoder, so new kinds stay out). */
const unknownKindTags = Array.from({ length: 256 }, (_, tag) => tag).filter((tag) => {
  const decoded = decodeNodeMessage(Uint8Array.of(nodeWireVersion, tag));
  return decoded.kind === 'decode-error' && decoded.reason === 'unknown-kind';
});

const validMessages = (): NodeMessage[] => [
  { kind: 'create', cellId: cellId(), rpc: rpc(), members: [n1] },
  { kind: 'delete', cellId: live, rpc: rpc(), movedTo: ['n2' as NodeId] },
  { kind: 'locate', cellId: cellId(), rpc: rpc() },
  { kind: 'describe', cellId: live, rpc: rpc() },
];

/** One well-signed envelope the node must drop (each case names its drop reason). */
function garbageEnvelope(): Uint8Array {
  switch (random.intBelow(9)) {
    case 0: {
      const frame = bytes(random.intBelow(100));
      if (frame.length > 0 && frame[0] === nodeWireVersion) frame[0] = 0; // empty or unknown-version
      return Uint8Array.from(frame);
    }
    case 1:
      return Uint8Array.from([
        nodeWireVersion,
        unknownKindTags[random.intBelow(unknownKindTags.length)] ?? 255,
        ...bytes(random.intBelow(40)),
      ]); // unknown-kind
    case 2: {
      const valid = encodeNodeMessage(validMessages()[random.intBelow(4)] as NodeMessage);
      return valid.subarray(0, 2 + random.intBelow(valid.length - 2)); // truncated: malformed
    }
    case 3:
    case 4: {
      const kind = random.intBelow(2) === 0 ? 'submit' : 'request';
      return encodeNodeMessage({
        kind,
        cellId: live,
        rpc: rpc(),
        request: Uint8Array.from([0xff, ...bytes(20)]),
      }); // malformed request
    }
    case 5:
      return encodeNodeMessage({ kind: 'response', cellId: live, rpc: rpc(), answer: { kind: 'not-found' } }); // unknown-request
    case 6:
      return encodeNodeMessage({ kind: 'cell', cellId: cellId(), payload: Uint8Array.from(bytes(30)) }); // cell-not-hosted
    case 7:
      return encodeNodeMessage({ kind: 'test-block', blocked: [n1] }); // hooks-disabled
    default: {
      const valid = encodeNodeMessage(validMessages()[random.intBelow(4)] as NodeMessage);
      return Uint8Array.from([...valid, random.intBelow(256)]); // trailing byte: malformed
    }
  }
}

/** Frames with a valid hello, then wrongly signed data frames: the transport drops them. */
function unsignedStream(keyring: Keyring): Buffer {
  const stranger = Keyring.fromSecrets(keyring.signingKeyId, {
    [keyring.signingKeyId]: new Uint8Array(32).fill(7),
  });
  const hello = encodeFrame(
    { kind: 'hello', sender: 'fuzzer', receiver: n1, payload: new Uint8Array(0) },
    keyring,
  );
  const frames = Array.from({ length: unsignedFrames }, () =>
    encodeFrame(
      { kind: 'data', sender: 'fuzzer', receiver: n1, payload: Uint8Array.from(bytes(random.intBelow(100))) },
      stranger,
    ),
  );
  return Buffer.concat([hello, ...frames]);
}

function blast(port: number, stream: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.connect(port, '127.0.0.1', () => {
      socket.end(stream);
    });
  });
}

const sumOf = (record: Readonly<Record<string, number>>): number =>
  Object.values(record).reduce((sum, count) => sum + count, 0);

describe('a live node under 110,000 hostile frames', () => {
  let colony: ProcessColony;
  beforeAll(async () => {
    colony = await ProcessColony.start({ nodes: 1 });
  }, 60_000);
  afterAll(async () => {
    await colony.close();
  }, 30_000);

  it('drops and counts every bad frame, acts on none, and keeps serving', async () => {
    expect((await colony.client.createCell(live, [n1])).get(n1)?.kind).toBe('created');
    const put = {
      kind: 'operation',
      operation: transaction({ writes: [{ kind: 'put', key: 'k', value: 1n }] }),
      consistency: 'consistent',
    } as const;
    expect(await colony.client.submit(n1, live, put)).toMatchObject({
      kind: 'result',
      result: { kind: 'committed' },
    });
    const before = await colony.node(n1).metrics();
    const sentBefore = colony.client.network.counters().messagesSent;
    const written = (): number => colony.client.network.counters().messagesSent - sentBefore;
    const drained = async (count: number): Promise<void> => {
      for (let wait = 0; written() < count && wait < 1_000; wait += 1) await sleep(10);
    };
    for (let index = 0; index < signedGarbageFrames; index += 1) {
      colony.client.network.send(n1 as string as HostId, garbageEnvelope());
      if (index % 2_000 === 1_999) await drained(index + 1); // the send queue never sheds
    }
    const oversized = new Uint8Array(nodeFrameBytesMax + 1).fill(nodeWireVersion);
    for (let index = 0; index < 2; index += 1) colony.client.network.send(n1 as string as HostId, oversized);
    await drained(signedGarbageFrames + 2);
    const keyring = parseKeyring(colony.keyringText);
    if (keyring.kind !== 'ok') throw new Error('keyring');
    await blast(colony.node(n1).port, unsignedStream(keyring.keyring));
    const sent = written();
    expect(sent).toBe(signedGarbageFrames + 2); // nothing shed by the client's queue
    let after = await colony.node(n1).metrics();
    for (
      let wait = 0;
      after.metrics.framesReceived - before.metrics.framesReceived < sent && wait < 100;
      wait += 1
    ) {
      await sleep(100);
      after = await colony.node(n1).metrics();
    }
    const received = after.metrics.framesReceived - before.metrics.framesReceived;
    const dropped = sumOf(after.metrics.framesDropped) - sumOf(before.metrics.framesDropped);
    expect(received).toBe(sent);
    expect(dropped).toBe(sent); // every well-signed garbage frame dropped by the node and counted
    for (const reason of [
      'unknown-version',
      'unknown-kind',
      'malformed',
      'unknown-request',
      'cell-not-hosted',
      'hooks-disabled',
      'oversized',
    ] as const)
      expect(
        after.metrics.framesDropped[reason] - before.metrics.framesDropped[reason],
        reason,
      ).toBeGreaterThan(0);
    const badMac = after.transport.framesDropped['bad-mac'] - before.transport.framesDropped['bad-mac'];
    expect(badMac).toBe(unsignedFrames); // wrongly signed: dropped by the transport, never delivered
    expect(after.metrics.cellsHosted).toBe(1);
    expect(after.metrics.cellsCreated).toBe(1);
    expect(after.metrics.cellsDeleted).toBe(0);
    const read = {
      kind: 'operation',
      operation: transaction({ reads: ['k'] }),
      consistency: 'consistent',
    } as const;
    expect(await colony.client.submit(n1, live, read)).toMatchObject({
      kind: 'result',
      result: { reads: [{ found: true, value: 1n }] },
    });
  }, 90_000);
});
