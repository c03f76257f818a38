// Fuzz test of a live TcpNetwork endpoint (issue 6, paper §2.6): over 100,000 random,
// truncated, oversized, misaddressed, wrongly signed and malformed batch frames arrive over raw sockets while
// a real peer sends valid traffic. None is delivered, each is counted, and valid traffic
// keeps flowing.
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { hostId, SeededRandom } from '../../src/env/index.ts';
import { AddressBook } from '../../src/runtime/address-book.ts';
import { encodeFrame, type FrameFields } from '../../src/runtime/frame.ts';
import { Keyring } from '../../src/runtime/keyring.ts';
import { decode, eventually, keyringA, secret, startHost, text } from './transport-helpers.ts';

const authenticatedBadFrames = 100_000;
const authenticatedConnections = 10;
const garbageConnections = 1_000;
const garbageConcurrency = 50;
const frameBytesMax = 64 * 1024;

const random = new SeededRandom(0x5eed);
const randomBytes = (length: number): Buffer =>
  Buffer.from(Array.from({ length }, () => random.nextUint32() & 0xff));
const data = (receiver: string, payload: Uint8Array): FrameFields => ({
  kind: 'data',
  sender: 'fz',
  receiver,
  payload,
});
const stranger = Keyring.fromSecrets('a', { a: secret(66) }); // right key id, wrong secret
const unknownKey = Keyring.fromSecrets('zz', { zz: secret(1) });

/** Frames that fail authentication but keep a well-formed stream: dropped, connection kept. */
function unauthenticFrame(): Buffer {
  const payload = randomBytes(random.intBelow(200));
  switch (random.intBelow(3)) {
    case 0:
      return encodeFrame(data('n2', payload), stranger);
    case 1:
      return encodeFrame(data('n2', payload), unknownKey);
    default: {
      const frame = encodeFrame(data('n2', payload), keyringA); // valid, then a bit flips
      const at = frame.byteLength - 1 - random.intBelow(32 + payload.byteLength);
      frame[at]! ^= 1 << random.intBelow(8);
      return frame;
    }
  }
}

/** One stream of garbage for a fresh connection; the server must drop and close. */
function garbageStream(): Buffer {
  const hello = encodeFrame(
    { kind: 'hello', sender: 'fz', receiver: 'n2', payload: new Uint8Array(0) },
    keyringA,
  );
  switch (random.intBelow(7)) {
    case 0:
      return randomBytes(1 + random.intBelow(300));
    case 1: {
      const oversized = randomBytes(64);
      oversized.writeUInt32BE(frameBytesMax + 1 + random.intBelow(1 << 20));
      return oversized;
    }
    case 2: {
      const frame = encodeFrame(data('n2', randomBytes(100)), keyringA);
      return Buffer.concat([hello, frame.subarray(0, 1 + random.intBelow(frame.byteLength - 1))]);
    }
    case 3:
      return encodeFrame(data('n2', randomBytes(50)), keyringA); // no hello first
    case 4:
      return Buffer.concat([hello, encodeFrame(data('n3', randomBytes(50)), keyringA)]); // redirected
    case 5: {
      // A well-signed batch whose second entry runs past the end: none of it is delivered,
      // not even the whole first entry.
      const first = Buffer.from('BAD whole entry');
      const entries = Buffer.alloc(4 + first.byteLength + 4 + 3);
      entries.writeUInt32BE(first.byteLength, 0);
      first.copy(entries, 4);
      entries.writeUInt32BE(1 + random.intBelow(1000) + 3, 4 + first.byteLength);
      const batch = encodeFrame({ ...data('n2', entries), kind: 'batch' }, keyringA);
      return Buffer.concat([hello, batch]);
    }
    default: {
      const body = randomBytes(40 + random.intBelow(200));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.byteLength);
      return Buffer.concat([length, body]);
    }
  }
}

/** Writes `stream` in random-sized chunks on a fresh connection, ends it, awaits the close. */
function blast(port: number, stream: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.on('error', () => undefined); // the server may reset us mid-write
    socket.on('close', () => resolve());
    socket.connect(port, '127.0.0.1', () => {
      for (let at = 0; at < stream.byteLength;) {
        const size = 1 + random.intBelow(random.intBelow(4) === 0 ? 64 : 65_536);
        socket.write(stream.subarray(at, at + size));
        at += size;
      }
      socket.end();
    });
  });
}

describe('TcpNetwork under fuzzing', () => {
  it(`drops and counts ${authenticatedBadFrames + garbageConnections} bad frames, delivers none, keeps serving`, async () => {
    const book = new AddressBook();
    const receiver = await startHost('n2', book, keyringA, { limits: { frameBytesMax } });
    const sender = await startHost('n1', book, keyringA);
    try {
      let goodSent = 0;
      const sendGood = (count: number): void => {
        for (let i = 0; i < count; i += 1) sender.network.send(hostId('n2'), text(`GOOD ${goodSent++}`));
      };
      sendGood(100);
      const hello = encodeFrame(
        { kind: 'hello', sender: 'fz', receiver: 'n2', payload: new Uint8Array(0) },
        keyringA,
      );
      const perConnection = authenticatedBadFrames / authenticatedConnections;
      for (let c = 0; c < authenticatedConnections; c += 1) {
        const frames = [hello, ...Array.from({ length: perConnection }, unauthenticFrame)];
        await blast(receiver.network.address.port, Buffer.concat(frames));
        sendGood(100);
      }
      for (let c = 0; c < garbageConnections; c += garbageConcurrency) {
        await Promise.all(
          Array.from({ length: garbageConcurrency }, () =>
            blast(receiver.network.address.port, garbageStream()),
          ),
        );
        sendGood(5);
      }
      const expectedDrops = authenticatedBadFrames + garbageConnections;
      const totalDropped = (): number =>
        Object.values(receiver.network.counters().framesDropped).reduce((sum, count) => sum + count, 0);
      await eventually(() => totalDropped() >= expectedDrops, 20_000, 'every bad frame counted');
      sendGood(100);
      await eventually(() => receiver.received.length === goodSent, 5000, 'valid traffic after the fuzzing');

      const counters = receiver.network.counters();
      expect(totalDropped()).toBe(expectedDrops);
      // Each garbage connection ends in one drop: closed by the receiver, or cut short by the fuzzer.
      expect(counters.connectionsClosedForGarbage + counters.framesDropped.truncated).toBe(
        garbageConnections,
      );
      expect(
        counters.framesDropped['bad-mac'] + counters.framesDropped['unknown-key'],
      ).toBeGreaterThanOrEqual(authenticatedBadFrames);
      for (const reason of [
        'oversized',
        'truncated',
        'malformed',
        'no-handshake',
        'wrong-receiver',
      ] as const) {
        expect(counters.framesDropped[reason], reason).toBeGreaterThan(0);
      }
      expect(receiver.received.every((m) => m.from === 'n1' && decode(m.payload).startsWith('GOOD '))).toBe(
        true,
      );
      expect(new Set(receiver.received.map((m) => decode(m.payload))).size).toBe(goodSent);
      expect(counters.messagesDelivered).toBe(goodSent);
    } finally {
      await Promise.all([receiver.network.close(), sender.network.close()]);
    }
  });
});
