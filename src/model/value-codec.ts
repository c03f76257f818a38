// The canonical encoding of one value (a tag byte, then the payload), shared by the
// codec and by the per-entry state digest.
import type { ByteReader, ByteWriter } from './codec-io.ts';
import type { Value } from './value.ts';

const VALUE_TAG_BYTES = 0;
const VALUE_TAG_INTEGER = 1;
const VALUE_TAG_BOOLEAN = 2;

export function writeValue(writer: ByteWriter, value: Value): void {
  if (typeof value === 'bigint') {
    writer.byte(VALUE_TAG_INTEGER);
    writer.bigint(value);
  } else if (typeof value === 'boolean') {
    writer.byte(VALUE_TAG_BOOLEAN);
    writer.bool(value);
  } else {
    writer.byte(VALUE_TAG_BYTES);
    writer.bytes(value);
  }
}

export function readValue(reader: ByteReader, field: string): Value {
  const start = reader.position;
  const tag = reader.byte(`${field}.tag`);
  switch (tag) {
    case VALUE_TAG_BYTES:
      return reader.bytes(field);
    case VALUE_TAG_INTEGER:
      return reader.bigint(field);
    case VALUE_TAG_BOOLEAN:
      return reader.bool(field);
    default:
      return reader.fail(`${field}.tag`, 'unknown-tag', `value tag ${tag}`, start);
  }
}
