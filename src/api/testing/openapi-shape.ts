// Test helper: checks a JSON value against the OpenAPI document's schemas structurally (types,
// required fields, enums, $ref), so tests can prove responses match what the document says.
import { openApiDocument } from '../openapi.ts';

export type Schema = {
  $ref?: string;
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: readonly unknown[];
};

/** Structural check of a JSON value against an OpenAPI schema: types, required, enums. */
export function shapeErrors(value: unknown, schema: Schema, path = '$'): string[] {
  if (schema.$ref !== undefined) {
    const name = schema.$ref.split('/').pop()!;
    return shapeErrors(value, (openApiDocument.components.schemas as Record<string, Schema>)[name]!, path);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value))
    return [`${path}: ${String(value)} not in enum`];
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return [`${path}: not an object`];
      const record = value as Record<string, unknown>;
      const missing = (schema.required ?? [])
        .filter((key) => !(key in record))
        .map((key) => `${path}.${key}: missing`);
      const nested = Object.entries(schema.properties ?? {}).flatMap(([key, sub]) =>
        key in record && record[key] !== undefined ? shapeErrors(record[key], sub, `${path}.${key}`) : [],
      );
      return [...missing, ...nested];
    }
    case 'array':
      return Array.isArray(value)
        ? value.flatMap((item, i) =>
            schema.items === undefined ? [] : shapeErrors(item, schema.items, `${path}[${i}]`),
          )
        : [`${path}: not an array`];
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: not a string`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${path}: not an integer`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
    default:
      return [];
  }
}

/** The documented response schema of (path template, method, status). */
export function documented(path: string, method: 'get' | 'post', status: number): Schema {
  const operation = (
    openApiDocument.paths as Record<
      string,
      Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>
    >
  )[path]?.[method];
  const schema = operation?.responses[String(status)]?.content?.['application/json']?.schema;
  if (schema === undefined) throw new Error(`undocumented: ${method} ${path} ${status}`);
  return schema;
}
