// The Network conformance suite (src/env/network.ts), for a fault-free network: messages
// arrive asynchronously with the sender's id and the same bytes, self-sends work, the
// handler can be replaced, and sending never throws.
import { describe, expect, it } from 'vitest';
import { hostId } from '../../src/env/index.ts';
import type { HarnessFactory, NetworkHarness } from './harness.ts';

type Received = Array<{ from: string; bytes: number[] }>;

function listen(harness: NetworkHarness): Received[] {
  return harness.endpoints.map((endpoint) => {
    const received: Received = [];
    endpoint.onReceive((from, payload) => received.push({ from, bytes: [...payload] }));
    return received;
  });
}

export function networkConformance(name: string, make: HarnessFactory<NetworkHarness>): void {
  describe(`Network conformance: ${name}`, () => {
    const withNetwork = (test: (h: NetworkHarness) => Promise<void>) => async () => {
      const harness = await make();
      try {
        expect(harness.endpoints.length).toBeGreaterThanOrEqual(3);
        await test(harness);
      } finally {
        await harness.close();
      }
    };

    it(
      'endpoints have distinct identities',
      withNetwork(async ({ endpoints }) => {
        expect(new Set(endpoints.map((endpoint) => endpoint.self)).size).toBe(endpoints.length);
        await Promise.resolve();
      }),
    );

    it(
      'delivers a message later, never inside send, with the sender id and the same bytes',
      withNetwork(async (harness) => {
        const [a, c] = [harness.endpoints[0]!, harness.endpoints[2]!];
        const inboxes = listen(harness);
        a.send(c.self, new Uint8Array([1, 2, 3]));
        expect(inboxes[2]).toEqual([]);
        await harness.advance(harness.deliveryMs);
        expect(inboxes[2]).toEqual([{ from: a.self, bytes: [1, 2, 3] }]);
        expect(inboxes[1]).toEqual([]);
      }),
    );

    it(
      'delivers messages to self, asynchronously',
      withNetwork(async (harness) => {
        const a = harness.endpoints[0]!;
        const inboxes = listen(harness);
        a.send(a.self, new Uint8Array([9]));
        expect(inboxes[0]).toEqual([]);
        await harness.advance(harness.deliveryMs);
        expect(inboxes[0]).toEqual([{ from: a.self, bytes: [9] }]);
      }),
    );

    it(
      'without faults, every one of many messages arrives, and a 64 KiB payload too',
      withNetwork(async (harness) => {
        const [a, c] = [harness.endpoints[0]!, harness.endpoints[1]!];
        const inboxes = listen(harness);
        for (let i = 0; i < 200; i += 1) a.send(c.self, new Uint8Array([i & 0xff, i >> 8]));
        a.send(c.self, new Uint8Array(64 * 1024).fill(7));
        await harness.advance(harness.deliveryMs);
        const small = inboxes[1]!
          .filter((m) => m.bytes.length === 2)
          .map((m) => m.bytes[0]! + 256 * m.bytes[1]!);
        expect(small.sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
        expect(inboxes[1]!.filter((m) => m.bytes.length === 64 * 1024)).toHaveLength(1);
      }),
    );

    it(
      'onReceive replaces the earlier handler',
      withNetwork(async (harness) => {
        const [a, c] = [harness.endpoints[0]!, harness.endpoints[1]!];
        const first: number[] = [];
        const second: number[] = [];
        c.onReceive(() => first.push(1));
        c.onReceive(() => second.push(1));
        a.send(c.self, new Uint8Array([1]));
        await harness.advance(harness.deliveryMs);
        expect([first.length, second.length]).toEqual([0, 1]);
      }),
    );

    it(
      'sending to an unknown host never throws',
      withNetwork(async (harness) => {
        expect(() => harness.endpoints[0]!.send(hostId('no-such-host'), new Uint8Array([1]))).not.toThrow();
        await harness.advance(harness.deliveryMs);
      }),
    );
  });
}
