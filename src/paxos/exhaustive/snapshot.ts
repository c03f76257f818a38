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
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) copy[k] = cloneValue(record[k], memo);
  return copy;
}

/**
 * The canonical text form of `value`. Object keys keep their insertion order, and so do
 * Map and Set entries: the replica iterates its Maps and Sets and their order can decide
 * what it does, so two states with the same text behave the same (two equal states built
 * in different orders merely count as two). Keys in `skipKeys` are left out at every level.
 */
export function serialize(value: unknown, skipKeys: ReadonlySet<string> = noKeys): string {
  switch (typeof value) {
    case 'undefined':
      return 'u';
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'T' : 'F';
    case 'string':
      return JSON.stringify(value);
    case 'symbol':
    case 'function':
      throw new Error(`serialize: cannot fingerprint a ${typeof value}`);
    case 'object': {
      if (value === null) return 'n';
      if (!isImmutableLeaf(value)) return serializeObject(value, skipKeys);
      let text = textCache.get(value);
      if (text === undefined) {
        text = serializeObject(value, skipKeys);
        textCache.set(value, text);
      }
      return text;
    }
  }
}

const noKeys: ReadonlySet<string> = new Set();

function serializeObject(value: object, skipKeys: ReadonlySet<string>): string {
  if (value instanceof Uint8Array) return `b${value.join('.')};`;
  let text: string;
  if (value instanceof Map) {
    text = 'M{';
    for (const [k, v] of value) text += `${serialize(k, skipKeys)}:${serialize(v, skipKeys)},`;
  } else if (value instanceof Set) {
    text = 'S{';
    for (const v of value) text += `${serialize(v, skipKeys)},`;
  } else if (Array.isArray(value)) {
    text = '[';
    for (const v of value as unknown[]) text += `${serialize(v, skipKeys)},`;
    return `${text}]`;
  } else {
    text = '{';
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!skipKeys.has(key)) text += `${key}=${serialize(record[key], skipKeys)},`;
    }
  }
  return `${text}}`;
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
