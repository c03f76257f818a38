// Generates the keyring of a new local colony (paper §2.6): one random HMAC-SHA256 secret from
// the OS's cryptographic source, written once with owner-only permissions and kept thereafter.
import { randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { keySecretBytesMin, parseKeyring } from './keyring.ts';
import type { KeyringFile } from './keyring.ts';

/** A keyring file text with one fresh signing key `keyId`. */
export function generateKeyringText(keyId = 'k1'): string {
  const file: KeyringFile = {
    signingKeyId: keyId,
    keys: { [keyId]: randomBytes(keySecretBytesMin).toString('base64') },
  };
  const text = `${JSON.stringify(file, null, 2)}\n`;
  const check = parseKeyring(text);
  if (check.kind !== 'ok') throw new Error(`generated keyring does not parse: ${check.reason}`);
  return text;
}

/**
 * Writes a new keyring at `path` unless one exists (never overwrites: a restart keeps its key).
 * Returns whether it created one. Throws on I/O errors other than "exists" (outer edge).
 */
export async function ensureKeyringFile(path: string): Promise<'created' | 'existing'> {
  await mkdir(dirname(path), { recursive: true });
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(generateKeyringText(), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return 'created';
  } catch (error: unknown) {
    if ((error as { code?: unknown }).code === 'EEXIST') return 'existing';
    throw error;
  }
}
