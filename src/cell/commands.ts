// What one log entry's payload carries: a batch of cell commands (model operations and lease
// commands), each applied in order at the entry's index, each with its own result. The
// encoding is deterministic, and decoding never throws: bad bytes give a typed error.
import { decodeOperation, encodeOperation } from '../model/index.ts';
import type { Operation } from '../model/index.ts';
import { decodeAll, Writer } from './codec-io.ts';
import type { CellDecoded, Reader } from './codec-io.ts';

/** Version byte of a batch payload. */
export const payloadFormatVersion = 1;
/** Most commands one payload may hold (a decoder bound; batches are smaller, see CellOptions). */
export const payloadCommandsMax = 4096;

/**
 * A lease command as it sits in the log. `supersedesGrantIndex` (acquire only) is 0, or the
 * grant index of another holder's lease that the proposing leader saw expired on its own
 * clock; apply lets the acquire take over only if that grant is still the current one.
 */
export type LeaseCommand =
  | {
      readonly kind: 'lease-acquire';
      readonly name: string;
      readonly holder: string;
      readonly durationMs: number;
      readonly supersedesGrantIndex: number;
    }
  | {
      readonly kind: 'lease-renew';
      readonly name: string;
      readonly holder: string;
      readonly durationMs: number;
    }
  | { readonly kind: 'lease-release'; readonly name: string; readonly holder: string };

export type CellCommand = { readonly kind: 'operation'; readonly operation: Operation } | LeaseCommand;

const commandTags = { operation: 0, 'lease-acquire': 1, 'lease-renew': 2, 'lease-release': 3 } as const;

function writeCommand(writer: Writer, command: CellCommand): void {
  writer.byte(commandTags[command.kind]);
  switch (command.kind) {
    case 'operation':
      writer.bytes(encodeOperation(command.operation));
      return;
    case 'lease-acquire':
      writer.text(command.name);
      writer.text(command.holder);
      writer.uint(command.durationMs);
      writer.uint(command.supersedesGrantIndex);
      return;
    case 'lease-renew':
      writer.text(command.name);
      writer.text(command.holder);
      writer.uint(command.durationMs);
      return;
    case 'lease-release':
      writer.text(command.name);
      writer.text(command.holder);
      return;
  }
}

/** Encodes one command alone (used to size batches). */
export function encodeCommand(command: CellCommand): Uint8Array {
  const writer = new Writer();
  writeCommand(writer, command);
  return writer.finish();
}

export function readCommand(reader: Reader, field: string): CellCommand {
  const tag = reader.byte(`${field}.kind`);
  switch (tag) {
    case commandTags.operation: {
      const decoded = decodeOperation(reader.bytes(`${field}.operation`));
      if (decoded.kind === 'decode-error') return reader.fail('bad-value', `${field}.operation`);
      return { kind: 'operation', operation: decoded.value };
    }
    case commandTags['lease-acquire']:
      return {
        kind: 'lease-acquire',
        name: reader.text(`${field}.name`),
        holder: reader.text(`${field}.holder`),
        durationMs: reader.uint(`${field}.durationMs`),
        supersedesGrantIndex: reader.uint(`${field}.supersedes`),
      };
    case commandTags['lease-renew']:
      return {
        kind: 'lease-renew',
        name: reader.text(`${field}.name`),
        holder: reader.text(`${field}.holder`),
        durationMs: reader.uint(`${field}.durationMs`),
      };
    case commandTags['lease-release']:
      return {
        kind: 'lease-release',
        name: reader.text(`${field}.name`),
        holder: reader.text(`${field}.holder`),
      };
    default:
      return reader.fail('unknown-tag', `${field}.kind`);
  }
}

/** A payload from commands already encoded with `encodeCommand` (what the batcher holds). */
export function encodePayload(encodedCommands: readonly Uint8Array[]): Uint8Array {
  const writer = new Writer();
  writer.byte(payloadFormatVersion);
  writer.uint(encodedCommands.length);
  for (const command of encodedCommands) writer.raw(command);
  return writer.finish();
}

export function decodePayload(payload: Uint8Array): CellDecoded<CellCommand[]> {
  return decodeAll(payload, (reader) => {
    if (reader.byte('version') !== payloadFormatVersion) reader.fail('unknown-version', 'version');
    const count = reader.uint('count');
    if (count > payloadCommandsMax) reader.fail('bad-value', 'count');
    const commands: CellCommand[] = [];
    for (let i = 0; i < count; i += 1) commands.push(readCommand(reader, `commands[${i}]`));
    return commands;
  });
}
