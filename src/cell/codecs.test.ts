// The cell's encodings: requests and responses (node-to-node forwarding), log payloads,
// peer envelopes and snapshots round-trip to identical bytes, and hostile bytes give typed
// errors, never exceptions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_LIMITS, transaction } from '../model/index.ts';
import type { LogIndex } from '../model/index.ts';
import { ballot, nodeId } from '../paxos/index.ts';
import type { LogEntry } from '../paxos/index.ts';
import { decodePayload, encodeCommand, encodePayload } from './commands.ts';
import type { CellCommand } from './commands.ts';
import {
  decodeCellRequest,
  decodeCellResponse,
  encodeCellRequest,
  encodeCellResponse,
} from './request-codec.ts';
import {
  applyEntry,
  cellDigestHex,
  decodeCellSnapshot,
  encodeCellSnapshot,
  initialCellState,
} from './state-machine.ts';
import type { CellRequest, CellResponse } from './types.ts';
import { decodeCellMessage, encodePaxosEnvelope, snapshotChunks } from './wire.ts';

const requests: CellRequest[] = [
  {
    kind: 'operation',
    consistency: 'consistent',
    operation: transaction({ reads: ['a'], writes: [{ kind: 'increment', key: 'n', delta: -5n }] }),
  },
  { kind: 'operation', consistency: 'eventual', operation: transaction({ reads: ['a'] }), sessionIndex: 42 },
  { kind: 'lease-acquire', name: 'L', holder: 'h', durationMs: 300 },
  { kind: 'lease-renew', name: 'L', holder: 'h', durationMs: 30 },
  { kind: 'lease-release', name: 'L', holder: 'h' },
];

const responses: CellResponse[] = [
  {
    kind: 'result',
    result: { kind: 'committed', reads: [{ key: 'a', found: true, value: true, version: 3 as LogIndex }] },
    index: 9,
  },
  {
    kind: 'lease',
    outcome: { kind: 'granted', holder: 'h', durationMs: 300, holderValidMs: 100, grantIndex: 4 },
    index: 4,
  },
  { kind: 'lease', outcome: { kind: 'held-by-other', holder: 'x', grantIndex: 2 }, index: 5 },
  { kind: 'lease', outcome: { kind: 'not-holder', holder: undefined }, index: 6 },
  { kind: 'lease', outcome: { kind: 'released' }, index: 7 },
  { kind: 'not-leader', leaderHint: nodeId('n2') },
  { kind: 'not-leader', leaderHint: undefined },
  { kind: 'overloaded', retryAfterMs: 120 },
  { kind: 'behind', appliedIndex: 3 },
  { kind: 'outcome-unknown' },
  { kind: 'unavailable', reason: 'down' },
  { kind: 'invalid', error: { kind: 'invalid', field: 'writes[0].key', reason: 'too-long', message: 'm' } },
];

describe('request and response codec', () => {
  it('round-trips every request and response kind to identical bytes', () => {
    for (const request of requests) {
      const bytes = encodeCellRequest(request);
      const decoded = decodeCellRequest(bytes);
      expect(decoded).toEqual({ kind: 'decoded', value: request });
      if (decoded.kind === 'decoded') expect(encodeCellRequest(decoded.value)).toEqual(bytes);
    }
    for (const response of responses) {
      const bytes = encodeCellResponse(response);
      expect(decodeCellResponse(bytes)).toEqual({ kind: 'decoded', value: response });
    }
  });

  it('gives typed errors for truncated, unknown and trailing bytes', () => {
    const bytes = encodeCellRequest(requests[2]!);
    expect(decodeCellRequest(bytes.subarray(0, 4))).toMatchObject({
      kind: 'decode-error',
      reason: 'truncated',
    });
    expect(decodeCellRequest(new Uint8Array([2, 0]))).toMatchObject({
      kind: 'decode-error',
      reason: 'unknown-version',
    });
    expect(decodeCellRequest(new Uint8Array([1, 77]))).toMatchObject({
      kind: 'decode-error',
      reason: 'unknown-tag',
    });
    expect(decodeCellResponse(new Uint8Array([...encodeCellResponse(responses[9]!), 0]))).toMatchObject({
      kind: 'decode-error',
      reason: 'trailing-bytes',
    });
  });

  it('never throws on arbitrary bytes, in any decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const decode of [
          decodeCellRequest,
          decodeCellResponse,
          decodeCellMessage,
          decodePayload,
          decodeCellSnapshot,
        ]) {
          expect(['decoded', 'decode-error']).toContain(decode(bytes).kind);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('payloads, envelopes and snapshots', () => {
  const commands: CellCommand[] = [
    {
      kind: 'operation',
      operation: transaction({ writes: [{ kind: 'put', key: 'a', value: new Uint8Array([1, 2]) }] }),
    },
    { kind: 'lease-acquire', name: 'L', holder: 'h', durationMs: 300, supersedesGrantIndex: 0 },
    { kind: 'lease-release', name: 'L', holder: 'h' },
  ];

  it('a payload round-trips; applying it gives one result per command', () => {
    const payload = encodePayload(commands.map(encodeCommand));
    expect(decodePayload(payload)).toEqual({ kind: 'decoded', value: commands });
    const state = initialCellState(DEFAULT_MODEL_LIMITS);
    const entry: LogEntry = {
      index: 1 as never,
      ballot: ballot(1, nodeId('n1')),
      value: { kind: 'payload', payload },
    };
    const applied = applyEntry(state, entry);
    expect(applied.results.map((r) => (r.kind === 'operation' ? r.result.kind : r.outcome.kind))).toEqual([
      'committed',
      'granted',
      'released',
    ]);
  });

  it('an undecodable payload is a no-op on every replica (same digest, index advances)', () => {
    const state = initialCellState(DEFAULT_MODEL_LIMITS);
    const digest = cellDigestHex(state);
    const entry: LogEntry = {
      index: 1 as never,
      ballot: ballot(1, nodeId('n1')),
      value: { kind: 'payload', payload: new Uint8Array([7]) },
    };
    expect(applyEntry(state, entry).results).toEqual([]);
    expect([state.appliedIndex, cellDigestHex(state)]).toEqual([1, digest]);
  });

  it('a snapshot with data and leases round-trips to the same digest, and its envelope decodes', () => {
    const state = initialCellState(DEFAULT_MODEL_LIMITS);
    applyEntry(state, {
      index: 1 as never,
      ballot: ballot(1, nodeId('n1')),
      value: { kind: 'payload', payload: encodePayload(commands.slice(0, 2).map(encodeCommand)) },
    });
    const bytes = encodeCellSnapshot(state);
    const decoded = decodeCellSnapshot(bytes);
    expect(decoded.kind).toBe('decoded');
    if (decoded.kind === 'decoded') expect(cellDigestHex(decoded.value)).toBe(cellDigestHex(state));
    expect(cellDigestHex(state)).not.toBe(cellDigestHex(initialCellState(DEFAULT_MODEL_LIMITS)));
    const meta = { index: 1 as never, configs: [{ effectiveFrom: 1 as never, members: [nodeId('n1')] }] };
    const chunks = snapshotChunks(meta, bytes, 1024);
    expect(chunks).toHaveLength(Math.ceil(bytes.length / 1024));
    const decodedChunks = chunks.map((chunk) => decodeCellMessage(chunk));
    const joined = decodedChunks.flatMap((d) =>
      d.kind === 'decoded' && d.value.kind === 'snapshot-chunk' ? [...d.value.bytes] : [],
    );
    expect(joined).toEqual([...bytes]);
    expect(decodedChunks[0]).toMatchObject({
      kind: 'decoded',
      value: { kind: 'snapshot-chunk', meta, number: 0 },
    });
    const paxos = { kind: 'commit', ballot: ballot(2, nodeId('n1')), commitIndex: 5 as never } as const;
    expect(decodeCellMessage(encodePaxosEnvelope(paxos))).toEqual({
      kind: 'decoded',
      value: { kind: 'paxos', message: paxos },
    });
  });
});
