// Tests of TcpNetwork on loopback: delivery, authentication and key rotation without
// downtime (paper §2.6), reconnect after a peer restarts, and bounded send queues.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostId } from '../../src/env/index.ts';
import { AddressBook } from '../../src/runtime/address-book.ts';
import { encodeFrame } from '../../src/runtime/frame.ts';
import { Keyring, loadKeyringFile, parseKeyring } from '../../src/runtime/keyring.ts';
import type { TcpNetwork } from '../../src/runtime/tcp-network.ts';
import { decode, eventually, keyringA, secret, startHost, text } from './transport-helpers.ts';

const started: TcpNetwork[] = [];
async function host(...args: Parameters<typeof startHost>): ReturnType<typeof startHost> {
  const result = await startHost(...args);
  started.push(result.network);
  return result;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((network) => network.close()));
});

const n1 = hostId('n1');
const n2 = hostId('n2');

describe('TcpNetwork', () => {
  it('delivers messages both ways, with the authenticated sender, and to itself', async () => {
    const book = new AddressBook();
    const a = await host('n1', book);
    const b = await host('n2', book);
    for (let i = 0; i < 100; i += 1) a.network.send(n2, text(`to-b-${i}`));
    b.network.send(n1, text('to-a'));
    a.network.send(n1, text('to-self'));
    await eventually(() => b.received.length === 100 && a.received.length === 2);
    expect(b.received.map((m) => decode(m.payload))).toEqual([...Array(100).keys()].map((i) => `to-b-${i}`));
    expect(b.received.every((m) => m.from === n1)).toBe(true);
    expect(a.received.map((m) => [m.from, decode(m.payload)]).sort()).toEqual([
      ['n1', 'to-self'],
      ['n2', 'to-a'],
    ]);
  });

  it('sends the messages of one event-loop turn to one peer in few frames, in order', async () => {
    const book = new AddressBook();
    const a = await host('n1', book);
    const b = await host('n2', book);
    a.network.send(n2, text('connect'));
    b.network.send(n1, text('hello from b')); // b's hello tells a that b reads batches
    await eventually(() => b.received.length === 1 && a.received.length === 1);
    const before = a.network.counters();
    for (let i = 0; i < 500; i += 1) a.network.send(n2, text(`m${i}`));
    await eventually(() => b.received.length === 501);
    const after = a.network.counters();
    expect(b.received.slice(1).map((m) => decode(m.payload))).toEqual(
      [...Array(500).keys()].map((i) => `m${i}`),
    );
    expect(after.messagesSent - before.messagesSent).toBe(500);
    expect(after.framesSent - before.framesSent).toBe(1); // one batch frame, one MAC
    expect(b.network.counters().messagesDelivered).toBe(501);
  });

  it('splits the messages of one turn into frames within the frame bound', async () => {
    const book = new AddressBook();
    const a = await host('n1', book, undefined, { limits: { frameBytesMax: 1000 } });
    const b = await host('n2', book, undefined, { limits: { frameBytesMax: 1000 } });
    a.network.send(n2, text('connect'));
    b.network.send(n1, text('hello from b'));
    await eventually(() => b.received.length === 1 && a.received.length === 1);
    for (let i = 0; i < 40; i += 1) a.network.send(n2, new Uint8Array(300).fill(i));
    await eventually(() => b.received.length === 41);
    expect(b.received.slice(1).map((m) => m.payload[0])).toEqual([...Array(40).keys()]);
    // Three 300-byte messages with their headers fit under 1,000 bytes, four do not.
    expect(a.network.counters().framesSent).toBe(1 + Math.ceil(40 / 3));
    expect(b.network.counters().framesDropped.oversized).toBe(0);
  });

  it('sends one message per frame to a peer that has not said it reads batches (an older version)', async () => {
    const book = new AddressBook();
    const a = await host('n1', book);
    const older = await host('n2', book, undefined, { batchFrames: false });
    a.network.send(n2, text('before any hello from n2')); // n2's features are not known yet
    older.network.send(n1, text('hello from n2'));
    await eventually(() => older.received.length === 1 && a.received.length === 1);
    const aBefore = a.network.counters();
    const olderBefore = older.network.counters();
    for (let i = 0; i < 50; i += 1) {
      a.network.send(n2, text(`a${i}`));
      older.network.send(n1, text(`o${i}`));
    }
    await eventually(() => older.received.length === 51 && a.received.length === 51);
    expect(older.received.slice(1).map((m) => decode(m.payload))).toEqual(
      [...Array(50).keys()].map((i) => `a${i}`),
    );
    expect(a.received.slice(1).map((m) => decode(m.payload))).toEqual(
      [...Array(50).keys()].map((i) => `o${i}`),
    );
    // Neither side sent a batch: n2 does not read them, and n2 itself sends as an older host.
    expect(a.network.counters().framesSent - aBefore.framesSent).toBe(50);
    expect(older.network.counters().framesSent - olderBefore.framesSent).toBe(50);
    expect(older.network.counters().framesDropped.malformed).toBe(0);
  });

  it('drops (and counts) sends to unknown hosts, over-large payloads, and after close', async () => {
    const book = new AddressBook();
    const a = await host('n1', book, undefined, { limits: { frameBytesMax: 1000 } });
    a.network.send(hostId('nowhere'), text('x'));
    a.network.send(n1, new Uint8Array(5000));
    const b = await host('n2', book);
    a.network.send(n2, new Uint8Array(2000));
    await a.network.close();
    a.network.send(n2, text('late'));
    expect(a.network.counters().sendsDropped).toEqual({
      'unknown-peer': 1,
      'payload-too-large': 1,
      'queue-full': 0,
      closed: 1,
    });
    expect(b.received).toEqual([]);
  });

  it('drops frames signed with a key the receiver does not hold, and counts them', async () => {
    const book = new AddressBook();
    const a = await host('n1', book, Keyring.fromSecrets('x', { x: secret(5) }));
    const b = await host('n2', book);
    a.network.send(n2, text('forged'));
    await eventually(() => b.network.counters().framesDropped['unknown-key'] === 1);
    expect(b.received).toEqual([]);
    expect(b.network.counters().connectionsClosedForGarbage).toBe(1); // the hello failed
  });

  it('rotates keys without downtime: add, switch signing, then remove the old key (§2.6)', async () => {
    const book = new AddressBook();
    const old = Keyring.fromSecrets('old', { old: secret(1) });
    const both = Keyring.fromSecrets('old', { old: secret(1), new: secret(2) });
    const switched = Keyring.fromSecrets('new', { old: secret(1), new: secret(2) });
    const onlyNew = Keyring.fromSecrets('new', { new: secret(2) });
    const a = await host('n1', book, old);
    const b = await host('n2', book, old);
    let sent = 0;
    const exchange = async (): Promise<void> => {
      sent += 1;
      a.network.send(n2, text(`m${sent}`));
      await eventually(() => b.received.length === sent, 5000, `message ${sent}`);
    };
    await exchange();
    b.network.setKeyring(both); // step 1: the receiver accepts the new key before anyone uses it
    await exchange();
    a.network.setKeyring(both);
    a.network.setKeyring(switched); // step 2: the sender signs with the new key
    await exchange();
    b.network.setKeyring(switched);
    await exchange();
    b.network.setKeyring(onlyNew); // step 3: the old key is dropped
    await exchange();
    expect(b.network.counters().framesDropped['unknown-key']).toBe(0);
    a.network.setKeyring(old); // a sender still on the dropped key is now refused
    a.network.send(n2, text('stale'));
    await eventually(() => b.network.counters().framesDropped['unknown-key'] === 1);
    expect(b.received.map((m) => decode(m.payload))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('reloads the keyring file on demand, keeping the old ring when the file is bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'physalia-keyring-'));
    try {
      const path = join(dir, 'keyring.json');
      const encode = (fill: number): string => Buffer.from(secret(fill)).toString('base64');
      writeFileSync(path, JSON.stringify({ signingKeyId: 'k1', keys: { k1: encode(1) } }));
      const loaded = await loadKeyringFile(path);
      if (loaded.kind !== 'ok') throw new Error(loaded.reason);
      const a = await host('n1', new AddressBook(), loaded.keyring, { keyringPath: path });
      writeFileSync(path, JSON.stringify({ signingKeyId: 'k2', keys: { k1: encode(1), k2: encode(2) } }));
      expect((await a.network.reloadKeyring()).kind).toBe('ok');
      expect(a.network.keyring.signingKeyId).toBe('k2');
      expect(a.network.keyring.keyIds()).toEqual(['k1', 'k2']);
      writeFileSync(path, '{ not json');
      expect((await a.network.reloadKeyring()).kind).toBe('invalid');
      expect(a.network.keyring.signingKeyId).toBe('k2');
      rmSync(path);
      expect((await a.network.reloadKeyring()).kind).toBe('unreadable');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates keyring files: key ids, secret length, signing key present', () => {
    const good = Buffer.from(secret(1)).toString('base64');
    const short = Buffer.alloc(16).toString('base64');
    expect(parseKeyring(JSON.stringify({ signingKeyId: 'k', keys: { k: good } })).kind).toBe('ok');
    for (const bad of [
      [],
      { signingKeyId: 'k', keys: {} },
      { signingKeyId: 'k', keys: { k: short } },
      { signingKeyId: 'k', keys: { k: 'not base64!' } },
      { signingKeyId: 'j', keys: { k: good } },
      { signingKeyId: 'bad id', keys: { 'bad id': good } },
    ]) {
      expect(parseKeyring(JSON.stringify(bad)).kind).toBe('invalid');
    }
  });

  it('reconnects after the peer restarts on the same address', async () => {
    const book = new AddressBook();
    const a = await host('n1', book);
    const b = await host('n2', book);
    a.network.send(n2, text('before'));
    await eventually(() => b.received.length === 1);
    const port = b.network.address.port;
    await b.network.close();
    a.network.send(n2, text('while-down')); // queued or lost: best effort
    const restarted = await host('n2', book, undefined, { port });
    await eventually(
      () => {
        a.network.send(n2, text('after'));
        return restarted.received.some((m) => decode(m.payload) === 'after');
      },
      5000,
      'delivery after restart',
    );
    expect(a.network.counters().reconnectsScheduled).toBeGreaterThan(0);
    expect(a.network.counters().connectionsDialed).toBeGreaterThan(1);
  });

  it('sheds sends beyond the per-peer queue bound while the peer is unreachable', async () => {
    const book = new AddressBook();
    const a = await host('n1', book, undefined, { limits: { sendQueueMessagesMax: 10 } });
    book.set(n2, { host: '127.0.0.1', port: 1 }); // nothing listens there
    for (let i = 0; i < 25; i += 1) a.network.send(n2, text(`m${i}`));
    expect(a.network.counters().sendsDropped['queue-full']).toBe(15);
    expect(a.network.counters().messagesSent).toBe(0);
  });
});

describe('TcpNetwork handshake and queueing', () => {
  it('holds frames for a peer that is not up yet and delivers them once it listens', async () => {
    const book = new AddressBook();
    const placeholder = await host('n2', book);
    const port = placeholder.network.address.port;
    await placeholder.network.close();
    const a = await host('n1', book);
    for (let i = 0; i < 20; i += 1) a.network.send(n2, text(`early-${i}`));
    await new Promise((resolve) => setTimeout(resolve, 50)); // a few refused dials
    const b = await host('n2', book, undefined, { port });
    await eventually(() => b.received.length === 20, 5000, 'queued frames');
    expect(b.received.map((m) => decode(m.payload))).toEqual([...Array(20).keys()].map((i) => `early-${i}`));
    expect(a.network.counters().reconnectsScheduled).toBeGreaterThan(0);
  });

  it('closes a connection whose frames claim another sender than its hello, or a second hello', async () => {
    const b = await host('n2', new AddressBook());
    const hello = (sender: string): Buffer =>
      encodeFrame({ kind: 'hello', sender, receiver: 'n2', payload: new Uint8Array(0) }, keyringA);
    const dataFrom = (sender: string): Buffer =>
      encodeFrame({ kind: 'data', sender, receiver: 'n2', payload: text('x') }, keyringA);
    for (const stream of [
      Buffer.concat([hello('n1'), dataFrom('n3')]),
      Buffer.concat([hello('n1'), hello('n1')]),
    ]) {
      await new Promise<void>((resolve) => {
        const socket = connect(b.network.address.port, '127.0.0.1', () => socket.end(stream));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    }
    await eventually(() => b.network.counters().connectionsClosedForGarbage === 2);
    expect(b.network.counters().framesDropped['wrong-sender']).toBe(1);
    expect(b.network.counters().framesDropped['unexpected-hello']).toBe(1);
    expect(b.received).toEqual([]);
  });

  it('parses address books of host:port entries', () => {
    const parsed = AddressBook.fromRecord({
      n1: '127.0.0.1:7001',
      n2: '[::1]:7002',
      n3: 'node-3.local:7003',
    });
    if (parsed.kind !== 'ok') throw new Error(parsed.reason);
    expect(parsed.book.get(hostId('n2'))).toEqual({ host: '::1', port: 7002 });
    expect(parsed.book.hosts()).toEqual(['n1', 'n2', 'n3']);
    for (const bad of ['127.0.0.1', '127.0.0.1:0', 'host:99999', ':7001', 'a b:1']) {
      expect(AddressBook.fromRecord({ n1: bad }).kind).toBe('invalid');
    }
  });
});

describe('TcpNetwork before authentication', () => {
  it('buffers no more than a hello-sized frame from a connection that has not authenticated', async () => {
    const b = await host('n2', new AddressBook());
    const bigFrame = encodeFrame(
      { kind: 'data', sender: 'n1', receiver: 'n2', payload: new Uint8Array(4096) },
      keyringA,
    );
    await new Promise<void>((resolve) => {
      const socket = connect(b.network.address.port, '127.0.0.1', () => socket.end(bigFrame));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    await eventually(() => b.network.counters().framesDropped.oversized === 1);
    expect(b.network.counters().connectionsClosedForGarbage).toBe(1);
    expect(b.received).toEqual([]);
  });
});
