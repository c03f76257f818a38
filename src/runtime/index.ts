// The real environment of a host: the implementations of the src/env interfaces that touch
// the OS (system clock, LMDB, TCP with authenticated frames, OS-seeded randomness).
export { AddressBook, parsePeerAddress, type PeerAddress } from './address-book.ts';
export { DataDirInUse, lockDataDir, type DataDirLock } from './data-dir-lock.ts';
export {
  defaultFrameBytesMax,
  encodeFrame,
  FrameDecoder,
  frameDropReasons,
  helloFrameBytesMax,
  verifyFrame,
  type FrameDropReason,
  type FrameFields,
} from './frame.ts';
export {
  Keyring,
  keyringKeysMax,
  keySecretBytesMin,
  loadKeyringFile,
  parseKeyring,
  type KeyringFile,
  type KeyringResult,
} from './keyring.ts';
export {
  defaultGroupBatchesMax,
  defaultMapSizeBytes,
  lowFreeSpaceBytes,
  LmdbStorage,
  storageKeyBytesMax,
  type LmdbStorageCounters,
  type LmdbStorageOptions,
} from './lmdb-storage.ts';
export { SystemClock, type SystemClockOptions } from './system-clock.ts';
export { osSeed, systemRandom } from './system-random.ts';
export {
  defaultTcpNetworkLimits,
  keepAliveInitialDelayMs,
  sendDropReasons,
  TcpNetwork,
  type SendDropReason,
  type TcpNetworkCounters,
  type TcpNetworkLimits,
  type TcpNetworkOptions,
} from './tcp-network.ts';
