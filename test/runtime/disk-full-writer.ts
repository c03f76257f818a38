// Child process of the disk-full test, run under `ulimit -f` so the data file cannot grow:
// writes batches until one fails, then prints what the failure looked like as JSON.
import { StorageError } from '../../src/env/index.ts';
import { LmdbStorage } from '../../src/runtime/lmdb-storage.ts';

process.on('SIGXFSZ', () => undefined); // a write past the limit then fails with EFBIG
let unhandledRejections = 0;
process.on('unhandledRejection', () => {
  unhandledRejections += 1;
});

const [path, checkpointKeysText] = process.argv.slice(2);
if (path === undefined || checkpointKeysText === undefined)
  throw new Error('usage: disk-full-writer PATH CHECKPOINT_KEYS');
// Chunks of 2 keys: a checkpoint spans several LMDB transactions.
const storage = LmdbStorage.open({
  path,
  checkpointKeys: Number(checkpointKeysText),
  checkpointChunkKeys: 2,
});
const key = (i: number, part: number): Uint8Array => new TextEncoder().encode(`k/${i}/${part}`);
const batchOf = (i: number) =>
  [0, 1].map((part) => ({
    kind: 'put' as const,
    key: key(i, part),
    value: new Uint8Array(4096).fill(i % 256),
  }));

let acknowledged = 0;
let failure: unknown;
for (; acknowledged < 100_000; acknowledged += 1) {
  try {
    await storage.write(batchOf(acknowledged));
  } catch (error) {
    failure = error;
    break;
  }
}
const failedBatchVisible = [0, 1].some((part) => storage.get(key(acknowledged, part)) !== undefined);
let acknowledgedIntact = true;
for (let i = 0; i < acknowledged; i += 1) {
  if (storage.get(key(i, 0))?.[0] !== i % 256 || storage.get(key(i, 1)) === undefined)
    acknowledgedIntact = false;
}
const later = await storage.write([{ kind: 'put', key: Uint8Array.of(1), value: Uint8Array.of(1) }]).then(
  () => 'ok',
  (error: unknown) => (error instanceof StorageError ? error.kind : 'untyped'),
);
await new Promise((resolve) => setTimeout(resolve, 50));
process.stdout.write(
  JSON.stringify({
    acknowledged,
    failureKind: failure instanceof StorageError ? failure.kind : String(failure),
    failureMessage: failure instanceof Error ? failure.message : '',
    failedBatchVisible,
    acknowledgedIntact,
    later,
    unhandledRejections,
  }) + '\n',
);
await storage.close().catch(() => undefined);
