// The keyring of message authentication (paper §2.6): named HMAC-SHA256 secrets read from a
// JSON file, one of them designated for signing; every key in the ring is accepted.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Keys one ring may hold; more is a configuration error. */
export const keyringKeysMax = 16;
/** Shortest secret accepted: 256 bits, the HMAC-SHA256 output size. */
export const keySecretBytesMin = 32;
/** Key ids are short printable names carried in every frame. */
export const keyIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The keyring file, JSON:
 *   { "signingKeyId": "k2", "keys": { "k1": "<base64 secret>", "k2": "<base64 secret>" } }
 * Rotation without downtime: (1) add the new key to every node's file and reload; (2) make
 * it the signing key everywhere and reload; (3) remove the old key and reload.
 */
export interface KeyringFile {
  readonly signingKeyId: string;
  readonly keys: Readonly<Record<string, string>>;
}

/** A validated keyring. Immutable; a reload makes a new one. */
export class Keyring {
  private constructor(
    readonly signingKeyId: string,
    private readonly keys: ReadonlyMap<string, KeyObject>,
  ) {}

  /** The key frames are signed with. */
  get signingKey(): KeyObject {
    return this.keys.get(this.signingKeyId)!; // Invariant: the signing key is in the ring.
  }

  /** The key with this id, if the ring accepts it. */
  key(keyId: string): KeyObject | undefined {
    return this.keys.get(keyId);
  }

  /** Accepted key ids, sorted. */
  keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  /** Builds a ring from secrets (bytes). Throws on invalid input: for tests and tools. */
  static fromSecrets(signingKeyId: string, secrets: Readonly<Record<string, Uint8Array>>): Keyring {
    const file: KeyringFile = {
      signingKeyId,
      keys: Object.fromEntries(
        Object.entries(secrets).map(([id, s]) => [id, Buffer.from(s).toString('base64')]),
      ),
    };
    const result = parseKeyring(JSON.stringify(file));
    if (result.kind !== 'ok') throw new Error(`invalid keyring: ${result.reason}`);
    return result.keyring;
  }

  /** @internal */
  static create(signingKeyId: string, keys: ReadonlyMap<string, KeyObject>): Keyring {
    return new Keyring(signingKeyId, keys);
  }
}

export type KeyringResult =
  | { readonly kind: 'ok'; readonly keyring: Keyring }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'unreadable'; readonly reason: string };

function decodeSecret(keyId: string, encoded: unknown): KeyObject | string {
  if (!keyIdPattern.test(keyId)) return `key id ${JSON.stringify(keyId)} must match ${keyIdPattern.source}`;
  if (typeof encoded !== 'string') return `key ${keyId}: the secret must be a base64 string`;
  const secret = Buffer.from(encoded, 'base64');
  if (secret.toString('base64') !== encoded.replace(/\s/g, ''))
    return `key ${keyId}: the secret is not valid base64`;
  if (secret.byteLength < keySecretBytesMin)
    return `key ${keyId}: the secret must be at least ${keySecretBytesMin} bytes`;
  return createSecretKey(secret);
}

/** Parses and validates the text of a keyring file. */
export function parseKeyring(text: string): KeyringResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { kind: 'invalid', reason: `not JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'invalid', reason: 'not a JSON object' };
  const { signingKeyId, keys } = parsed as { signingKeyId?: unknown; keys?: unknown };
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    return { kind: 'invalid', reason: '"keys" must be an object of key id to base64 secret' };
  }
  const entries = Object.entries(keys as Record<string, unknown>);
  if (entries.length === 0 || entries.length > keyringKeysMax) {
    return { kind: 'invalid', reason: `"keys" must hold 1..${keyringKeysMax} keys` };
  }
  const decoded = new Map<string, KeyObject>();
  for (const [keyId, encoded] of entries) {
    const key = decodeSecret(keyId, encoded);
    if (typeof key === 'string') return { kind: 'invalid', reason: key };
    decoded.set(keyId, key);
  }
  if (typeof signingKeyId !== 'string' || !decoded.has(signingKeyId)) {
    return { kind: 'invalid', reason: '"signingKeyId" must name a key in "keys"' };
  }
  return { kind: 'ok', keyring: Keyring.create(signingKeyId, decoded) };
}

/** Reads and validates a keyring file. */
export async function loadKeyringFile(path: string): Promise<KeyringResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { kind: 'unreadable', reason: (error as Error).message };
  }
  return parseKeyring(text);
}
