// Helpers of the transport tests: keyrings, pairs of live TcpNetworks on loopback, and
// waiting for a condition with a deadline.
import { hostId, type HostId } from '../../src/env/index.ts';
import type { AddressBook } from '../../src/runtime/address-book.ts';
import { Keyring } from '../../src/runtime/keyring.ts';
import { TcpNetwork, type TcpNetworkLimits } from '../../src/runtime/tcp-network.ts';

/** A deterministic 32-byte secret for tests. */
export function secret(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

export const keyringA = Keyring.fromSecrets('a', { a: secret(1) });

export interface Received {
  readonly from: HostId;
  readonly payload: Uint8Array;
}

/** Starts a network on loopback and records what it receives. */
export async function startHost(
  name: string,
  addressBook: AddressBook,
  keyring: Keyring = keyringA,
  options: {
    limits?: Partial<TcpNetworkLimits>;
    keyringPath?: string;
    port?: number;
    batchFrames?: boolean;
  } = {},
): Promise<{ network: TcpNetwork; received: Received[] }> {
  const self = hostId(name);
  const network = await TcpNetwork.start({
    self,
    listen: { host: '127.0.0.1', port: options.port ?? 0 },
    addressBook,
    keyring,
    ...(options.keyringPath === undefined ? {} : { keyringPath: options.keyringPath }),
    ...(options.batchFrames === undefined ? {} : { batchFrames: options.batchFrames }),
    limits: { reconnectBaseMs: 10, reconnectMaxMs: 100, ...options.limits },
  });
  addressBook.set(self, network.address);
  const received: Received[] = [];
  network.onReceive((from, payload) => received.push({ from, payload }));
  return { network, received };
}

/** Resolves once `condition` holds; fails after `timeoutMs`. */
export async function eventually(
  condition: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
