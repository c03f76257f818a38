// Tests of the frame format (src/runtime/frame.ts): stream splitting under any chunking,
// HMAC acceptance and rejection (paper §2.6), redirect protection, the size bound, and batch
// frames (many messages under one MAC).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeBatchFrame,
  encodeFrame,
  FrameDecoder,
  splitBatch,
  verifyFrame,
  type FrameFields,
} from '../../src/runtime/frame.ts';
import { Keyring } from '../../src/runtime/keyring.ts';
import { secret } from './transport-helpers.ts';

const ring = Keyring.fromSecrets('k1', { k1: secret(1), k2: secret(2) });
const fields = (payload: Uint8Array): FrameFields => ({
  kind: 'data',
  sender: 'n1',
  receiver: 'n2',
  payload,
});

describe('FrameDecoder', () => {
  it('recovers the same frames however the stream is split or coalesced', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 50 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(fields(p), ring)));
          const decoder = new FrameDecoder();
          const bodies: Buffer[] = [];
          let at = 0;
          for (let i = 0; at < stream.byteLength; i += 1) {
            const size = cuts[i % cuts.length]! * (i % 7 === 0 ? 13 : 1);
            for (const item of decoder.push(stream.subarray(at, at + size))) {
              expect(item.kind).toBe('body');
              if (item.kind === 'body') bodies.push(item.body);
            }
            at += size;
          }
          expect(decoder.pendingBytes).toBe(0);
          const decoded = bodies.map((body) => {
            const verified = verifyFrame(body, ring, 'n2');
            if (verified.kind !== 'ok') throw new Error(verified.reason);
            return [...verified.frame.payload];
          });
          expect(decoded).toEqual(payloads.map((p) => [...p]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops at a declared length over the bound, without buffering it', () => {
    const decoder = new FrameDecoder(1000);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1001);
    expect(decoder.push(header)).toEqual([{ kind: 'oversized' }]);
    expect(decoder.push(Buffer.alloc(2000))).toEqual([]);
    expect(decoder.pendingBytes).toBe(0);
  });
});

describe('verifyFrame', () => {
  const body = (frame: Buffer): Buffer => frame.subarray(4);

  it('accepts a frame signed with any key of the ring', () => {
    const byK2 = Keyring.fromSecrets('k2', { k2: secret(2) });
    for (const signer of [ring, byK2]) {
      const verified = verifyFrame(body(encodeFrame(fields(Uint8Array.of(1, 2, 3)), signer)), ring, 'n2');
      expect(verified).toEqual({ kind: 'ok', frame: fields(Uint8Array.of(1, 2, 3)) });
    }
  });

  it('rejects a frame whose key is not in the ring, or whose MAC is wrong', () => {
    const stranger = Keyring.fromSecrets('k3', { k3: secret(3) });
    expect(verifyFrame(body(encodeFrame(fields(Uint8Array.of(1)), stranger)), ring, 'n2')).toEqual({
      kind: 'dropped',
      reason: 'unknown-key',
    });
    const forged = Keyring.fromSecrets('k1', { k1: secret(9) });
    expect(verifyFrame(body(encodeFrame(fields(Uint8Array.of(1)), forged)), ring, 'n2')).toEqual({
      kind: 'dropped',
      reason: 'bad-mac',
    });
  });

  it('rejects any single flipped bit of the body', () => {
    const frame = body(encodeFrame(fields(Uint8Array.of(7, 7, 7)), ring));
    for (let bit = 0; bit < frame.byteLength * 8; bit += 1) {
      const flipped = Buffer.from(frame);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(verifyFrame(flipped, ring, 'n2').kind).toBe('dropped');
    }
  });

  it('rejects a valid frame redirected to another receiver', () => {
    const frame = body(encodeFrame(fields(Uint8Array.of(1)), ring));
    expect(verifyFrame(frame, ring, 'n3')).toEqual({ kind: 'dropped', reason: 'wrong-receiver' });
  });

  it('rejects malformed headers: short, unknown version or kind, bad lengths', () => {
    const frame = body(encodeFrame(fields(Uint8Array.of(1)), ring));
    const variants: Buffer[] = [
      Buffer.alloc(0),
      frame.subarray(0, 20),
      Buffer.from(frame),
      Buffer.from(frame),
    ];
    variants[2]![0] = 2; // version
    variants[3]![1] = 9; // kind
    const badLength = Buffer.from(frame);
    badLength[2] = 200; // key id longer than the body
    variants.push(badLength);
    for (const variant of variants)
      expect(verifyFrame(variant, ring, 'n2')).toEqual({ kind: 'dropped', reason: 'malformed' });
  });
});

describe('batch frames', () => {
  const body = (frame: Buffer): Buffer => frame.subarray(4);

  it('carry any number of payloads, empty ones included, in order, under one MAC', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 30 }),
        (payloads) => {
          const verified = verifyFrame(body(encodeBatchFrame('n1', 'n2', payloads, ring)), ring, 'n2');
          if (verified.kind !== 'ok') throw new Error(verified.reason);
          expect(verified.frame.kind).toBe('batch');
          expect(verified.frame.sender).toBe('n1');
          expect(splitBatch(verified.frame.payload)?.map((p) => [...p])).toEqual(payloads.map((p) => [...p]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('are rejected whole by any flipped bit, and when redirected', () => {
    const frame = body(encodeBatchFrame('n1', 'n2', [Uint8Array.of(1), Uint8Array.of(2, 3)], ring));
    for (let bit = 0; bit < frame.byteLength * 8; bit += 1) {
      const flipped = Buffer.from(frame);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(verifyFrame(flipped, ring, 'n2').kind).toBe('dropped');
    }
    expect(verifyFrame(frame, ring, 'n3')).toEqual({ kind: 'dropped', reason: 'wrong-receiver' });
  });

  it('split only when the lengths fill the payload exactly', () => {
    const entry = (length: number, bytes: number[]): number[] => [0, 0, 0, length, ...bytes];
    expect(splitBatch(Uint8Array.from([...entry(1, [9]), ...entry(0, [])]))?.map((p) => [...p])).toEqual([
      [9],
      [],
    ]);
    for (const bad of [
      [], // no payload at all
      [0, 0, 0], // a length cut short
      entry(2, [9]), // a payload cut short
      [...entry(1, [9]), 0, 0], // trailing bytes that are no whole entry
      [255, 255, 255, 255, 1], // a length past the end
    ])
      expect(splitBatch(Uint8Array.from(bad))).toBeUndefined();
    expect(() => encodeBatchFrame('n1', 'n2', [], ring)).toThrow(RangeError);
  });
});
