// The node wire format: every kind round-trips to identical bytes, and no input, however
// hostile (random, truncated, extended, bit-flipped), makes the decoder throw (paper §2.6).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../paxos/index.ts';
import type { CellId } from './cell-contract.ts';
import { decodeNodeMessage, encodeNodeMessage, membersMax, nodeWireVersion } from './wire.ts';
import type { NodeMessage } from './wire.ts';

const text = (max: number): fc.Arbitrary<string> =>
  fc.string({ minLength: 1, maxLength: max, unit: 'grapheme' });
const cellId = text(40).map((value) => value as CellId);
const members = fc
  .uniqueArray(text(12), { minLength: 0, maxLength: membersMax })
  .map((list) => list as NodeId[]);
const rpc = fc.record({ session: fc.nat({ max: 0xffff_ffff }), sequence: fc.nat() });
const bytes = fc.uint8Array({ maxLength: 64 });
const summary = fc.record({
  members,
  isLeader: fc.boolean(),
  leaderHint: fc.option(
    text(12).map((value) => value as NodeId),
    { nil: undefined },
  ),
  appliedIndex: fc.nat(),
  commitIndex: fc.nat(),
  digest: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 64 }),
  pendingRequests: fc.nat(),
});

const member = text(12).map((value) => value as NodeId);
const reason = fc.string({ maxLength: 50 });
const change = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), node: member }),
  fc.record({ kind: fc.constant('remove' as const), node: member }),
  fc.record({ kind: fc.constant('replace' as const), remove: member, add: member }),
);
const adminResponse = fc.oneof(
  fc.record({
    kind: fc.constant('reconfigured' as const),
    members,
    chosenIndex: fc.nat(),
    effectiveFrom: fc.nat(),
  }),
  fc.record({ kind: fc.constant('noop-chosen' as const), index: fc.nat() }),
  fc.constant({ kind: 'config-change-in-progress' as const }),
  fc.record({ kind: fc.constant('invalid-change' as const), reason }),
  fc.record({ kind: fc.constant('not-leader' as const), leaderHint: fc.option(member, { nil: undefined }) }),
  fc.record({ kind: fc.constant('overloaded' as const), retryAfterMs: fc.nat() }),
  fc.constant({ kind: 'outcome-unknown' as const }),
  fc.record({ kind: fc.constant('unavailable' as const), reason }),
);

/** The kinds reconfiguration added (paper §2.4): addressed cell frames, learners, retiring, admin, moves. */
const reconfigurationMessage: fc.Arbitrary<NodeMessage> = fc.oneof(
  fc.record({ kind: fc.constant('cell-to' as const), cellId, to: member, from: member, payload: bytes }),
  fc.record({ kind: fc.constant('learn' as const), cellId, rpc, members }),
  fc.record({ kind: fc.constant('retire' as const), cellId, rpc, member, movedTo: members }),
  fc.record({
    kind: fc.constant('cell-admin' as const),
    cellId,
    rpc,
    request: fc.oneof(
      fc.constant({ kind: 'noop' as const }),
      fc.record({ kind: fc.constant('reconfigure' as const), change }),
    ),
  }),
  fc.record({
    kind: fc.constant('cell-admin-reply' as const),
    cellId,
    rpc,
    answer: fc.oneof(
      fc.record({ kind: fc.constant('cell' as const), response: adminResponse }),
      fc.record({ kind: fc.constant('moved' as const), members }),
      fc.constant({ kind: 'not-found' as const }),
    ),
  }),
  fc.record({
    kind: fc.constant('move' as const),
    cellId,
    rpc,
    targets: members,
    timeoutMs: fc.nat({ max: 3_600_000 }),
  }),
  fc.record({
    kind: fc.constant('move-reply' as const),
    cellId,
    rpc,
    outcome: fc.oneof(
      fc.record({ kind: fc.constant('moved-cell' as const), members, steps: fc.nat() }),
      fc.record({
        kind: fc.constant('move-failed' as const),
        failure: fc.string({ maxLength: 30 }),
        reason,
        steps: fc.nat(),
      }),
    ),
  }),
  fc.record({
    kind: fc.constant('admin-reply' as const),
    cellId,
    rpc,
    outcome: fc.record({ kind: fc.constant('learning' as const), member }),
  }),
);

const message: fc.Arbitrary<NodeMessage> = fc.oneof(
  reconfigurationMessage,
  fc.record({ kind: fc.constant('cell' as const), cellId, payload: bytes }),
  fc.record({ kind: fc.constant('request' as const), cellId, rpc, request: bytes }),
  fc.record({ kind: fc.constant('submit' as const), cellId, rpc, request: bytes }),
  fc.record({
    kind: fc.constant('response' as const),
    cellId,
    rpc,
    answer: fc.oneof(
      fc.record({ kind: fc.constant('cell' as const), response: bytes }),
      fc.record({ kind: fc.constant('moved' as const), members }),
      fc.record({ kind: fc.constant('not-found' as const) }),
    ),
  }),
  fc.record({ kind: fc.constant('create' as const), cellId, rpc, members }),
  fc.record({ kind: fc.constant('delete' as const), cellId, rpc, movedTo: members }),
  fc.record({
    kind: fc.constant('admin-reply' as const),
    cellId,
    rpc,
    outcome: fc.oneof(
      fc.record({ kind: fc.constant('created' as const) }),
      fc.record({ kind: fc.constant('exists' as const), members }),
      fc.record({ kind: fc.constant('deleted' as const) }),
      fc.record({ kind: fc.constant('not-found' as const) }),
      fc.record({ kind: fc.constant('failed' as const), reason: fc.string({ maxLength: 50 }) }),
    ),
  }),
  fc.record({ kind: fc.constant('locate' as const), cellId, rpc }),
  fc.record({
    kind: fc.constant('located' as const),
    cellId,
    rpc,
    location: fc.oneof(
      fc.record({ kind: fc.constant('hosted' as const), members }),
      fc.record({ kind: fc.constant('moved' as const), members }),
      fc.record({ kind: fc.constant('not-found' as const) }),
    ),
  }),
  fc.record({ kind: fc.constant('describe' as const), cellId, rpc }),
  fc.record({
    kind: fc.constant('described' as const),
    cellId,
    rpc,
    answer: fc.oneof(
      fc.record({ kind: fc.constant('described' as const), summary }),
      fc.record({ kind: fc.constant('moved' as const), members }),
      fc.record({ kind: fc.constant('not-found' as const) }),
    ),
  }),
  fc.constant({ kind: 'heartbeat' as const }),
  fc.record({ kind: fc.constant('test-block' as const), blocked: members }),
);

describe('node wire format', () => {
  it('round-trips every message kind to equal values and identical bytes', () => {
    fc.assert(
      fc.property(message, (original) => {
        const encoded = encodeNodeMessage(original);
        const decoded = decodeNodeMessage(encoded);
        expect(decoded.kind).toBe('decoded');
        if (decoded.kind !== 'decoded') return;
        expect(decoded.message).toEqual(original);
        expect(encodeNodeMessage(decoded.message)).toEqual(encoded);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on random, truncated, extended or bit-flipped input', () => {
    fc.assert(
      fc.property(
        message,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        (original, cut, extra) => {
          const encoded = encodeNodeMessage(original);
          const truncated = encoded.subarray(0, cut % encoded.length);
          const extended = new Uint8Array([...encoded, ...extra]);
          const flipped = encoded.slice();
          flipped[cut % flipped.length] = (flipped[cut % flipped.length] ?? 0) ^ (1 << (cut % 8));
          for (const input of [truncated, extended, flipped]) {
            const decoded = decodeNodeMessage(input);
            if (decoded.kind === 'decoded')
              expect(decodeNodeMessage(encodeNodeMessage(decoded.message)).kind).toBe('decoded');
          }
          // Payload-carrying kinds accept any tail; others must reject trailing bytes.
          if (!['cell', 'cell-to', 'request', 'submit', 'response'].includes(original.kind))
            expect(decodeNodeMessage(extended).kind).toBe('decode-error');
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (random) => {
        expect(() => decodeNodeMessage(random)).not.toThrow();
      }),
      { numRuns: 5000 },
    );
  });

  it('names why a frame is refused', () => {
    expect(decodeNodeMessage(new Uint8Array())).toMatchObject({ reason: 'empty' });
    expect(decodeNodeMessage(new Uint8Array([nodeWireVersion + 1, 1]))).toMatchObject({
      reason: 'unknown-version',
    });
    expect(decodeNodeMessage(new Uint8Array([nodeWireVersion, 99]))).toMatchObject({
      reason: 'unknown-kind',
    });
    expect(decodeNodeMessage(new Uint8Array([nodeWireVersion, 1, 0]))).toMatchObject({ reason: 'malformed' }); // cell with empty id
    expect(decodeNodeMessage(new Uint8Array([nodeWireVersion, 11, 1, 0x41]))).toMatchObject({
      reason: 'malformed',
    }); // heartbeat with an id
  });
});
