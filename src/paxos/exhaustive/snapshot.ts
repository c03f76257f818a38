// Copying and fingerprinting live objects for the exhaustive explorer: a deep clone that
// keeps class prototypes (so a copied Replica still works), and a canonical text form.
/**
 * Objects the Paxos core never mutates once built: log entries, ballots, entry values and
 * messages (recognised by shape), and byte payloads. Clones share them and their canonical
 * text is cached. The replica's role objects also carry `kind` but are mutable, so only
 * message and value kinds count.
 */
const immutableKinds = new Set([
  'noop',
  'payload',
  'config',
  'prepare',
  'promise',
  'nack',
  'accept',
  'accepted',
  'commit',
  'catchupRequest',
  'catchupReply',
  'follower',
]);

function isImmutableLeaf(value: object): boolean {
  if (value instanceof Uint8Array) return true;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const record = value as Record<string, unknown>;
  if (typeof record['kind'] === 'string') return immutableKinds.has(record['kind']);
  if ('round' in record && 'nodeId' in record) return true; // Ballot
  return 'index' in record && 'ballot' in record && 'value' in record; // LogEntry
}

const textCache = new WeakMap<object, string>();

/**
 * A deep copy of `value` that keeps prototypes, Maps, Sets and shared references (an
 * object reached twice is copied once). Functions and byte arrays are shared. Pass the
 * same `memo` to several calls to keep references between their results intact.
 */
export function cloneDeep<T>(value: T, memo: Map<object, unknown> = new Map()): T {
  return cloneValue(value, memo) as T;
}

function cloneValue(value: unknown, memo: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null || isImmutableLeaf(value)) return value;
  const seen = memo.get(value);
  if (seen !== undefined) return seen;
  if (value instanceof Map) {
    const copy = new Map<unknown, unknown>();
    memo.set(value, copy);
    for (const [k, v] of value) copy.set(cloneValue(k, memo), cloneValue(v, memo));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set<unknown>();
    memo.set(value, copy);
    for (const v of value) copy.add(cloneValue(v, memo));
    return copy;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    memo.set(value, copy);
    for (const v of value) copy.push(cloneValue(v, memo));
    return copy;
  }
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  memo.set(value, copy);
  for (const [k, v] of Object.entries(value)) copy[k] = cloneValue(v, memo);
  return copy;
}

/**
 * Appends a canonical text form of `value` to `out`. Plain-object keys are sorted (their
 * order never reaches the protocol); Map and Set keep insertion order, because the
 * replica iterates them and their order can decide what it does: two states with the
 * same text therefore behave the same. Keys in `skipKeys` are left out at every level.
 */
export function serializeInto(value: unknown, out: string[], skipKeys: ReadonlySet<string>): void {
  switch (typeof value) {
    case 'undefined':
      out.push('u');
      return;
    case 'number':
    case 'bigint':
      out.push(String(value));
      return;
    case 'boolean':
      out.push(value ? 'T' : 'F');
      return;
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'symbol':
    case 'function':
      throw new Error(`serialize: cannot fingerprint a ${typeof value}`);
    case 'object': {
      if (value === null || !isImmutableLeaf(value)) {
        serializeObject(value, out, skipKeys);
        return;
      }
      let text = textCache.get(value);
      if (text === undefined) {
        const own: string[] = [];
        serializeObject(value, own, skipKeys);
        text = own.join('');
        textCache.set(value, text);
      }
      out.push(text);
    }
  }
}

function serializeObject(value: object | null, out: string[], skipKeys: ReadonlySet<string>): void {
  if (value === null) {
    out.push('n');
  } else if (value instanceof Uint8Array) {
    out.push('b', Array.from(value).join('.'), ';');
  } else if (value instanceof Map) {
    out.push('M{');
    for (const [k, v] of value) {
      serializeInto(k, out, skipKeys);
      out.push(':');
      serializeInto(v, out, skipKeys);
      out.push(',');
    }
    out.push('}');
  } else if (value instanceof Set) {
    out.push('S{');
    for (const v of value) {
      serializeInto(v, out, skipKeys);
      out.push(',');
    }
    out.push('}');
  } else if (Array.isArray(value)) {
    out.push('[');
    for (const v of value) {
      serializeInto(v, out, skipKeys);
      out.push(',');
    }
    out.push(']');
  } else {
    out.push('{');
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record).sort()) {
      if (skipKeys.has(key)) continue;
      out.push(key, '=');
      serializeInto(record[key], out, skipKeys);
      out.push(',');
    }
    out.push('}');
  }
}

/** Canonical text of one value (see `serializeInto`). */
export function serialize(value: unknown, skipKeys: ReadonlySet<string> = new Set()): string {
  const out: string[] = [];
  serializeInto(value, out, skipKeys);
  return out.join('');
}

/**
 * A 53-bit hash of a string (cyrb53). With a million states the chance that two distinct
 * states collide is about 1e12 / 2^54, under one in ten thousand.
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Canonical text of an object the caller promises never to mutate, cached by identity. */
export function serializeFrozen(value: object): string {
  let text = textCache.get(value);
  if (text === undefined) {
    text = serialize(value);
    textCache.set(value, text);
  }
  return text;
}
