// Tests of the Paxos message codec: round trips for every kind, deterministic bytes, and
// typed errors (never exceptions) on hostile input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecVersion, decodeMessage, encodeMessage, entriesPerMessageMax } from './codec.ts';
import type { PaxosMessage } from './messages.ts';
import type { Ballot, EntryValue, LogEntry, LogIndex, NodeId } from './types.ts';
import { ballot, ballotRoundMax, nodeId, zeroBallot } from './types.ts';

const arbNode = fc.string({ minLength: 1, maxLength: 12 }).map((s) => nodeId(s));
const arbIndex = fc.nat({ max: 2 ** 40 }).map((n) => n as LogIndex);
const arbPositiveIndex = fc.integer({ min: 1, max: 2 ** 40 }).map((n) => n as LogIndex);
const arbBallot: fc.Arbitrary<Ballot> = fc.oneof(
  fc.constant(zeroBallot),
  fc.tuple(fc.integer({ min: 1, max: ballotRoundMax }), arbNode).map(([r, n]) => ballot(r, n)),
);
const arbValue: fc.Arbitrary<EntryValue> = fc.oneof(
  fc.constant<EntryValue>({ kind: 'noop' }),
  fc.uint8Array({ maxLength: 64 }).map((payload): EntryValue => ({ kind: 'payload', payload })),
  fc
    .array(arbNode, { minLength: 1, maxLength: 9 })
    .map((members): EntryValue => ({ kind: 'config', members })),
);
const arbEntry: fc.Arbitrary<LogEntry> = fc.record({
  index: arbPositiveIndex,
  ballot: arbBallot,
  value: arbValue,
});
const arbEntries = fc.array(arbEntry, { maxLength: 5 });

const arbMessage: fc.Arbitrary<PaxosMessage> = fc.oneof(
  fc.record({ kind: fc.constant('prepare' as const), ballot: arbBallot, fromIndex: arbIndex }),
  fc.record({
    kind: fc.constant('promise' as const),
    ballot: arbBallot,
    commitIndex: arbIndex,
    entries: arbEntries,
  }),
  fc.record({ kind: fc.constant('nack' as const), ballot: arbBallot, promisedBallot: arbBallot }),
  fc.record({ kind: fc.constant('accept' as const), entry: arbEntry, commitIndex: arbIndex }),
  fc.record({ kind: fc.constant('accepted' as const), ballot: arbBallot, index: arbIndex }),
  fc.record({ kind: fc.constant('commit' as const), ballot: arbBallot, commitIndex: arbIndex }),
  fc.record({ kind: fc.constant('catchupRequest' as const), fromIndex: arbIndex }),
  fc.record({ kind: fc.constant('catchupReply' as const), commitIndex: arbIndex, entries: arbEntries }),
);

describe('paxos codec', () => {
  it('round-trips every message kind', () => {
    fc.assert(
      fc.property(arbMessage, (message) => {
        const decoded = decodeMessage(encodeMessage(message));
        expect(decoded).toEqual({ kind: 'ok', message });
      }),
      { numRuns: 2000 },
    );
  });

  it('shares one decoded ballot among entries at equal ballots, and decodes the next different one', () => {
    const accept = (round: number, node: string, index: number): LogEntry => {
      const message: PaxosMessage = {
        kind: 'accept',
        entry: { index: index as LogIndex, ballot: ballot(round, nodeId(node)), value: { kind: 'noop' } },
        commitIndex: 0 as LogIndex,
      };
      const decoded = decodeMessage(encodeMessage(message));
      if (decoded.kind !== 'ok' || decoded.message.kind !== 'accept') throw new Error('no accept');
      return decoded.message.entry;
    };
    const first = accept(3, 'n1', 1);
    const second = accept(3, 'n1', 2);
    // A log holds one ballot object per leader, not one per entry.
    expect(second.ballot).toBe(first.ballot);
    expect(accept(3, 'n2', 3).ballot).toEqual(ballot(3, nodeId('n2')));
    expect(accept(4, 'n2', 4).ballot).toEqual(ballot(4, nodeId('n2')));
    expect(accept(3, 'n1', 5).ballot).toEqual(ballot(3, nodeId('n1')));
  });

  it('gives identical bytes for equal messages (re-encoding a decoded message)', () => {
    fc.assert(
      fc.property(arbMessage, (message) => {
        const bytes = encodeMessage(message);
        const decoded = decodeMessage(bytes);
        if (decoded.kind !== 'ok') throw new Error('decode failed');
        expect(encodeMessage(decoded.message)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('starts with the version byte', () => {
    const bytes = encodeMessage({ kind: 'catchupRequest', fromIndex: 1 as LogIndex });
    expect(bytes[0]).toBe(codecVersion);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeMessage(bytes);
        expect(['ok', 'decodeError']).toContain(decoded.kind);
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on corrupted valid messages, and anything it accepts re-encodes to itself', () => {
    fc.assert(
      fc.property(arbMessage, fc.nat(), fc.nat({ max: 255 }), (message, at, byte) => {
        const bytes = encodeMessage(message);
        bytes[at % bytes.length] = byte;
        const decoded = decodeMessage(bytes);
        if (decoded.kind === 'ok') expect(encodeMessage(decoded.message)).toEqual(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it.each<[string, number[], string]>([
    ['empty input', [], 'truncated'],
    ['an unknown version', [99, 7, 1], 'unknownVersion'],
    ['an unknown kind', [codecVersion, 42], 'unknownKind'],
    ['trailing bytes', [codecVersion, 7, 1, 0], 'trailingBytes'],
    ['a truncated ballot', [codecVersion, 1, 5], 'truncated'],
    ['a zero round with a node id', [codecVersion, 6, 0, 1, 65, 0], 'badValue'],
    ['invalid UTF-8 in a node id', [codecVersion, 6, 1, 1, 0xff, 0], 'badValue'],
    ['a non-minimal integer', [codecVersion, 7, 0x81, 0x00], 'badValue'],
    ['an integer beyond 2^53', [codecVersion, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 'badValue'],
    ['an accept without an entry', [codecVersion, 4, 0, 0], 'badValue'],
    ['an entry at index 0', [codecVersion, 4, 1, 0, 0, 0, 0, 0], 'badValue'],
    ['an unknown entry value kind', [codecVersion, 8, 0, 1, 1, 0, 0, 9], 'badValue'],
  ])('refuses %s with a typed error', (_name, bytes, reason) => {
    const decoded = decodeMessage(Uint8Array.from(bytes));
    expect(decoded).toMatchObject({ kind: 'decodeError', reason });
  });

  it('keeps a leading byte-order mark in node ids (canonical bytes)', () => {
    const withBom = nodeId('\ufeffn1');
    const message: PaxosMessage = { kind: 'commit', ballot: ballot(1, withBom), commitIndex: 0 as LogIndex };
    expect(decodeMessage(encodeMessage(message))).toEqual({ kind: 'ok', message });
  });

  it('refuses a ballot round above ballotRoundMax, so no peer can exhaust the rounds', () => {
    const message: PaxosMessage = {
      kind: 'commit',
      ballot: ballot(ballotRoundMax + 1, nodeId('a')),
      commitIndex: 0 as LogIndex,
    };
    expect(decodeMessage(encodeMessage(message))).toMatchObject({ kind: 'decodeError', reason: 'badValue' });
  });

  it('refuses more entries than entriesPerMessageMax without reading them', () => {
    const count = entriesPerMessageMax + 1;
    const varint = [(count & 0x7f) | 0x80, count >> 7];
    const decoded = decodeMessage(Uint8Array.from([codecVersion, 8, 0, ...varint]));
    expect(decoded).toMatchObject({ kind: 'decodeError', reason: 'badValue' });
  });

  it('refuses an accept carrying zero or two entries', () => {
    const entry: LogEntry = {
      index: 1 as LogIndex,
      ballot: ballot(1, 'a' as NodeId),
      value: { kind: 'noop' },
    };
    const two = encodeMessage({ kind: 'catchupReply', commitIndex: 0 as LogIndex, entries: [entry, entry] });
    const asAccept = Uint8Array.from([codecVersion, 4, ...two.slice(3), 0]);
    expect(decodeMessage(asAccept)).toMatchObject({ kind: 'decodeError', reason: 'badValue' });
  });
});
