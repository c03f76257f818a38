// The environment a host runs in: the four interfaces everything above runtime/ and
// simworld/ receives, never constructs.
import type { Clock } from './clock.ts';
import type { Network } from './network.ts';
import type { Random } from './random.ts';
import type { Storage } from './storage.ts';

export type { Clock, TimerHandle } from './clock.ts';
export type { HostId, MessageHandler, Network } from './network.ts';
export { hostId } from './network.ts';
export type { Random } from './random.ts';
export { SeededRandom } from './seeded-random.ts';
export type { Storage, StorageRange, StorageWrite, StorageErrorKind } from './storage.ts';
export { isReservedStorageKey, StorageError, storageReservedPrefix } from './storage.ts';

/** What a host's code is given at boot. */
export interface HostEnv {
  readonly clock: Clock;
  readonly network: Network;
  readonly storage: Storage;
  readonly random: Random;
}
