// Deterministic bytes for client requests and responses, so a node can forward a request
// to the cell's leader on another node and carry the answer back. Decoding never throws.
import { decodeOperation, decodeResult, encodeOperation, encodeResult } from '../model/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { decodeAll, Writer } from './codec-io.ts';
import type { CellDecoded, Reader } from './codec-io.ts';
import type { CellRequest, CellResponse, LeaseOutcome } from './types.ts';

export const requestFormatVersion = 1;
/** Longest text field (holder, reason, message) a decoder accepts. */
const textBytesMax = 64 * 1024;

const requestTags = { operation: 0, 'lease-acquire': 1, 'lease-renew': 2, 'lease-release': 3 } as const;
const responseTags = {
  result: 0,
  lease: 1,
  'not-leader': 2,
  overloaded: 3,
  behind: 4,
  'outcome-unknown': 5,
  unavailable: 6,
  invalid: 7,
} as const;
const outcomeTags = { granted: 0, 'held-by-other': 1, 'not-holder': 2, released: 3, invalid: 4 } as const;

function writeOptionalText(writer: Writer, text: string | undefined): void {
  writer.bool(text !== undefined);
  if (text !== undefined) writer.text(text);
}

function readOptionalText(reader: Reader, field: string): string | undefined {
  return reader.bool(`${field}.present`) ? reader.text(field, textBytesMax) : undefined;
}

export function encodeCellRequest(request: CellRequest): Uint8Array {
  const writer = new Writer();
  writer.byte(requestFormatVersion);
  writer.byte(requestTags[request.kind]);
  switch (request.kind) {
    case 'operation':
      writer.bytes(encodeOperation(request.operation));
      writer.byte(request.consistency === 'consistent' ? 0 : 1);
      writer.bool(request.sessionIndex !== undefined);
      if (request.sessionIndex !== undefined) writer.uint(request.sessionIndex);
      break;
    case 'lease-acquire':
    case 'lease-renew':
      writer.text(request.name);
      writer.text(request.holder);
      writer.uint(request.durationMs);
      break;
    case 'lease-release':
      writer.text(request.name);
      writer.text(request.holder);
      break;
  }
  return writer.finish();
}

function readOperationRequest(reader: Reader): CellRequest {
  const operation = decodeOperation(reader.bytes('operation'));
  if (operation.kind === 'decode-error') return reader.fail('bad-value', `operation.${operation.field}`);
  const consistencyTag = reader.byte('consistency');
  if (consistencyTag > 1) reader.fail('unknown-tag', 'consistency');
  const consistency = consistencyTag === 0 ? 'consistent' : 'eventual';
  const base = { kind: 'operation', operation: operation.value, consistency } as const;
  return reader.bool('sessionIndex.present') ? { ...base, sessionIndex: reader.uint('sessionIndex') } : base;
}

export function decodeCellRequest(bytes: Uint8Array): CellDecoded<CellRequest> {
  return decodeAll(bytes, (reader): CellRequest => {
    if (reader.byte('version') !== requestFormatVersion) reader.fail('unknown-version', 'version');
    const tag = reader.byte('kind');
    switch (tag) {
      case requestTags.operation:
        return readOperationRequest(reader);
      case requestTags['lease-acquire']:
      case requestTags['lease-renew']: {
        const kind = tag === requestTags['lease-acquire'] ? 'lease-acquire' : 'lease-renew';
        const name = reader.text('name', textBytesMax);
        const holder = reader.text('holder', textBytesMax);
        return { kind, name, holder, durationMs: reader.uint('durationMs') };
      }
      case requestTags['lease-release']:
        return {
          kind: 'lease-release',
          name: reader.text('name', textBytesMax),
          holder: reader.text('holder', textBytesMax),
        };
      default:
        return reader.fail('unknown-tag', 'kind');
    }
  });
}

function writeLeaseOutcome(writer: Writer, outcome: LeaseOutcome): void {
  writer.byte(outcomeTags[outcome.kind]);
  switch (outcome.kind) {
    case 'granted':
      writer.text(outcome.holder);
      writer.uint(outcome.durationMs);
      writer.uint(outcome.holderValidMs);
      writer.uint(outcome.grantIndex);
      return;
    case 'held-by-other':
      writer.text(outcome.holder);
      writer.uint(outcome.grantIndex);
      return;
    case 'not-holder':
      writeOptionalText(writer, outcome.holder);
      return;
    case 'released':
      return;
    case 'invalid':
      writer.text(outcome.reason);
      return;
  }
}

function readLeaseOutcome(reader: Reader): LeaseOutcome {
  switch (reader.byte('outcome.kind')) {
    case outcomeTags.granted:
      return {
        kind: 'granted',
        holder: reader.text('holder', textBytesMax),
        durationMs: reader.uint('durationMs'),
        holderValidMs: reader.uint('holderValidMs'),
        grantIndex: reader.uint('grantIndex'),
      };
    case outcomeTags['held-by-other']:
      return {
        kind: 'held-by-other',
        holder: reader.text('holder', textBytesMax),
        grantIndex: reader.uint('grantIndex'),
      };
    case outcomeTags['not-holder']:
      return { kind: 'not-holder', holder: readOptionalText(reader, 'holder') };
    case outcomeTags.released:
      return { kind: 'released' };
    case outcomeTags.invalid:
      return { kind: 'invalid', reason: reader.text('reason', textBytesMax) };
    default:
      return reader.fail('unknown-tag', 'outcome.kind');
  }
}

export function encodeCellResponse(response: CellResponse): Uint8Array {
  const writer = new Writer();
  writer.byte(requestFormatVersion);
  writer.byte(responseTags[response.kind]);
  switch (response.kind) {
    case 'result':
      writer.bytes(encodeResult(response.result));
      writer.uint(response.index);
      break;
    case 'lease':
      writeLeaseOutcome(writer, response.outcome);
      writer.uint(response.index);
      break;
    case 'not-leader':
      writeOptionalText(writer, response.leaderHint);
      break;
    case 'overloaded':
      writer.uint(response.retryAfterMs);
      break;
    case 'behind':
      writer.uint(response.appliedIndex);
      break;
    case 'outcome-unknown':
      break;
    case 'unavailable':
      writer.text(response.reason);
      break;
    case 'invalid':
      writer.text(response.error.field);
      writer.text(response.error.reason);
      writer.text(response.error.message);
      break;
  }
  return writer.finish();
}

function readResponseBody(reader: Reader, tag: number): CellResponse {
  switch (tag) {
    case responseTags.result: {
      const result = decodeResult(reader.bytes('result'));
      if (result.kind === 'decode-error') return reader.fail('bad-value', `result.${result.field}`);
      return { kind: 'result', result: result.value, index: reader.uint('index') };
    }
    case responseTags.lease:
      return { kind: 'lease', outcome: readLeaseOutcome(reader), index: reader.uint('index') };
    case responseTags['not-leader']:
      return { kind: 'not-leader', leaderHint: readOptionalText(reader, 'leaderHint') as NodeId | undefined };
    case responseTags.overloaded:
      return { kind: 'overloaded', retryAfterMs: reader.uint('retryAfterMs') };
    case responseTags.behind:
      return { kind: 'behind', appliedIndex: reader.uint('appliedIndex') };
    case responseTags['outcome-unknown']:
      return { kind: 'outcome-unknown' };
    case responseTags.unavailable:
      return { kind: 'unavailable', reason: reader.text('reason', textBytesMax) };
    case responseTags.invalid: {
      const field = reader.text('field', textBytesMax);
      const reason = reader.text('reason', textBytesMax);
      return {
        kind: 'invalid',
        error: { kind: 'invalid', field, reason, message: reader.text('message', textBytesMax) },
      };
    }
    default:
      return reader.fail('unknown-tag', 'kind');
  }
}

export function decodeCellResponse(bytes: Uint8Array): CellDecoded<CellResponse> {
  return decodeAll(bytes, (reader) => {
    if (reader.byte('version') !== requestFormatVersion) reader.fail('unknown-version', 'version');
    return readResponseBody(reader, reader.byte('kind'));
  });
}
