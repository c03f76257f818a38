// Runs every env conformance suite against the real implementations of src/runtime/: the
// system clock, LMDB storage, the TCP transport on loopback, and the OS-seeded Random.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostId } from '../src/env/index.ts';
import { AddressBook } from '../src/runtime/address-book.ts';
import { Keyring } from '../src/runtime/keyring.ts';
import { LmdbStorage } from '../src/runtime/lmdb-storage.ts';
import { SystemClock } from '../src/runtime/system-clock.ts';
import { systemRandom } from '../src/runtime/system-random.ts';
import { TcpNetwork } from '../src/runtime/tcp-network.ts';
import { clockConformance } from './conformance/clock.conformance.ts';
import { networkConformance } from './conformance/network.conformance.ts';
import { randomConformance } from './conformance/random.conformance.ts';
import { storageConformance } from './conformance/storage.conformance.ts';

/** Real time passes by sleeping; a few ms more than asked, so timers due at the end run. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms + 5));

randomConformance('systemRandom', (seed) => systemRandom(seed));

clockConformance('SystemClock', () => ({
  clock: new SystemClock(),
  advance: sleep,
  close: () => Promise.resolve(),
}));

storageConformance(
  'LmdbStorage',
  () => {
    const path = mkdtempSync(join(tmpdir(), 'physalia-conformance-'));
    let storage = LmdbStorage.open({ path });
    return {
      storage,
      settle: (promise) => promise,
      reopen: async () => {
        await storage.close();
        storage = LmdbStorage.open({ path });
        return storage;
      },
      // No `fill`: a real full disk cannot be made on demand here; the mapping of ENOSPC and
      // MDB_MAP_FULL to 'disk-full' is tested in test/runtime/lmdb-storage.test.ts.
      close: async () => {
        await storage.close();
        rmSync(path, { recursive: true, force: true });
      },
    };
  },
  { canFill: false },
);

networkConformance('TcpNetwork on loopback', async () => {
  const addressBook = new AddressBook();
  const keyring = Keyring.fromSecrets('conformance', { conformance: new Uint8Array(32).fill(3) });
  const endpoints: TcpNetwork[] = [];
  for (const name of ['n1', 'n2', 'n3']) {
    const network = await TcpNetwork.start({
      self: hostId(name),
      listen: { host: '127.0.0.1', port: 0 },
      addressBook,
      keyring,
    });
    addressBook.set(network.self, network.address);
    endpoints.push(network);
  }
  return {
    endpoints,
    deliveryMs: 250,
    advance: sleep,
    close: async () => {
      await Promise.all(endpoints.map((network) => network.close()));
    },
  };
});
