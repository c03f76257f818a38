// The Storage conformance suite (src/env/storage.ts): read-your-writes, atomic batches,
// bytewise key order and range bounds, acknowledgement in write order, caller-owned
// buffers, durability of acknowledged batches across a reopen, and a typed disk-full.
import { describe, expect, it } from 'vitest';
import { StorageError, storageReservedPrefix } from '../../src/env/index.ts';
import type { Storage } from '../../src/env/index.ts';
import type { HarnessFactory, StorageHarness } from './harness.ts';

const b = (...values: number[]): Uint8Array => new Uint8Array(values);
const put = (key: Uint8Array, value: Uint8Array) => ({ kind: 'put', key, value }) as const;
const del = (key: Uint8Array) => ({ kind: 'delete', key }) as const;

function keysOf(storage: Storage, range: Parameters<Storage['range']>[0]): number[][] {
  return [...storage.range(range)].map(([key]) => [...key]);
}

export function storageConformance(
  name: string,
  make: HarnessFactory<StorageHarness>,
  capabilities: { readonly canFill: boolean },
): void {
  describe(`Storage conformance: ${name}`, () => {
    const withStorage = (test: (h: StorageHarness) => Promise<void>) => async () => {
      const harness = await make();
      try {
        await test(harness);
      } finally {
        await harness.close();
      }
    };

    it(
      'reads see a batch as soon as it is written, before it is durable',
      withStorage(async ({ storage, settle }) => {
        expect(storage.get(b(1))).toBeUndefined();
        const written = storage.write([put(b(1), b(10)), put(b(2), b(20))]);
        expect(storage.get(b(1))).toEqual(b(10));
        await settle(written);
        const overwritten = storage.write([put(b(1), b(11)), del(b(2)), del(b(3))]);
        expect(storage.get(b(1))).toEqual(b(11));
        expect(storage.get(b(2))).toBeUndefined();
        await settle(overwritten);
      }),
    );

    it(
      'ranges are in bytewise key order, start inclusive, end exclusive, with limit and reverse',
      withStorage(async ({ storage, settle }) => {
        const keys = [b(2), b(1, 0), b(0xff), b(1), b(0x10), b(1, 0xff)];
        await settle(storage.write(keys.map((key) => put(key, b(0)))));
        expect(keysOf(storage, {})).toEqual([[1], [1, 0], [1, 0xff], [2], [0x10], [0xff]]);
        expect(keysOf(storage, { start: b(1, 0), end: b(0x10) })).toEqual([[1, 0], [1, 0xff], [2]]);
        expect(keysOf(storage, { start: b(1), limit: 2 })).toEqual([[1], [1, 0]]);
        expect(keysOf(storage, { end: b(0x10), reverse: true, limit: 2 })).toEqual([[2], [1, 0xff]]);
        expect(keysOf(storage, { start: b(3), end: b(4) })).toEqual([]);
      }),
    );

    it(
      'refuses a batch that touches a reserved key, applying none of it, and never lists one',
      withStorage(async ({ storage, settle }) => {
        const reserved = Uint8Array.of(...storageReservedPrefix, 0, 0, 0, 0, 0, 0, 0, 0);
        const below = storageReservedPrefix.slice(0, -1);
        const above = Uint8Array.of(...below, storageReservedPrefix.at(-1)! + 1);
        await expect(storage.write([put(b(1), b(1)), put(reserved, b(2))])).rejects.toBeInstanceOf(
          RangeError,
        );
        await expect(storage.write([del(storageReservedPrefix)])).rejects.toBeInstanceOf(RangeError);
        expect(storage.get(b(1))).toBeUndefined();
        await settle(storage.write([put(below, b(3)), put(above, b(4))]));
        expect(keysOf(storage, {})).toEqual([[...below], [...above]]);
        expect(keysOf(storage, { reverse: true })).toEqual([[...above], [...below]]);
        expect(keysOf(storage, { start: below, end: above })).toEqual([[...below]]);
        expect(storage.get(reserved)).toBeUndefined();
      }),
    );

    it(
      'acknowledges batches in the order they were written',
      withStorage(async ({ storage, settle }) => {
        const order: number[] = [];
        const writes = [0, 1, 2, 3, 4].map((i) =>
          storage.write([put(b(i + 1), b(i))]).then(() => order.push(i)),
        );
        await settle(Promise.all(writes));
        expect(order).toEqual([0, 1, 2, 3, 4]);
      }),
    );

    it(
      'returned buffers belong to the caller: mutating them changes nothing stored',
      withStorage(async ({ storage, settle }) => {
        await settle(storage.write([put(b(1), b(1, 2, 3))]));
        const read = storage.get(b(1))!;
        read[0] = 99;
        for (const [key, value] of storage.range({})) {
          key[0] = 99;
          value[0] = 99;
        }
        expect(storage.get(b(1))).toEqual(b(1, 2, 3));
      }),
    );

    it(
      'acknowledged batches survive a reopen',
      withStorage(async ({ storage, settle, reopen }) => {
        await settle(storage.write([put(b(1), b(1)), put(b(2), b(2))]));
        await settle(storage.write([del(b(2)), put(b(3), b(3))]));
        const reopened = await reopen();
        expect(reopened.get(b(1))).toEqual(b(1));
        expect(reopened.get(b(2))).toBeUndefined();
        expect(reopened.get(b(3))).toEqual(b(3));
      }),
    );

    // Registered only for implementations that can fill their disk on demand (the
    // simulator); the real LMDB store proves it under `ulimit -f` in test/runtime/.
    if (capabilities.canFill) {
      it(
        'a full disk rejects with a typed disk-full error and applies nothing',
        withStorage(async ({ storage, settle, fill }) => {
          if (fill === undefined)
            throw new Error('capabilities.canFill is set but the harness gave no fill()');
          fill();
          const failed = settle(storage.write([put(b(7), b(7))]));
          await expect(failed).rejects.toBeInstanceOf(StorageError);
          await expect(failed).rejects.toMatchObject({ kind: 'disk-full' });
          expect(storage.get(b(7))).toBeUndefined();
        }),
      );
    }
  });
}
