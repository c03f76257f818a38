// Child process of the SIGKILL durability test: writes multi-key batches to an LmdbStorage
// as fast as it can and prints "ack <batch>" only after each batch's promise resolves. Its
// third to fifth arguments are the storage's checkpoint size, the keys a checkpoint hands to
// LMDB per turn, and the log's segment size in bytes.
import { LmdbStorage } from '../../src/runtime/lmdb-storage.ts';

const [path, firstBatchText, checkpointKeysText, chunkKeysText, segmentBytesText] = process.argv.slice(2);
if (
  path === undefined ||
  firstBatchText === undefined ||
  checkpointKeysText === undefined ||
  chunkKeysText === undefined ||
  segmentBytesText === undefined
)
  throw new Error('usage: durability-writer PATH FIRST_BATCH CHECKPOINT_KEYS CHUNK_KEYS SEGMENT_BYTES');

/** Keys written by each batch; the test checks that a batch is all there or not at all. */
const keysPerBatch = 4;
const concurrentBatches = 16;
const valueBytes = 512;

const storage = LmdbStorage.open({
  path,
  checkpointKeys: Number(checkpointKeysText),
  checkpointChunkKeys: Number(chunkKeysText),
  logSegmentBytes: Number(segmentBytesText),
});
let nextBatch = Number(firstBatchText);

function keyOf(batch: number, index: number): Uint8Array {
  return new TextEncoder().encode(`batch/${String(batch).padStart(10, '0')}/${index}`);
}

function writeOne(): void {
  const batch = nextBatch++;
  const writes = Array.from({ length: keysPerBatch }, (_, index) => ({
    kind: 'put' as const,
    key: keyOf(batch, index),
    value: new Uint8Array(valueBytes).fill(batch % 251),
  }));
  storage.write(writes).then(
    () => {
      process.stdout.write(`ack ${batch}\n`);
      writeOne();
    },
    (error: unknown) => {
      process.stderr.write(`write failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

process.stdout.write('ready\n');
for (let i = 0; i < concurrentBatches; i += 1) writeOne();
