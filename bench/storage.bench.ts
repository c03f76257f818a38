// `npm run bench:storage [-- --seconds N --value-bytes B]`: LmdbStorage group-commit
// throughput and write latency (write() to durable acknowledgement, fsync on), with 1 to
// 1,024 concurrent writers each issuing one-key batches back to back over 100,000 keys in
// scattered order, on this machine's disk: with checkpoints by default, and with
// checkpointKeys 0, which starts a checkpoint into LMDB after every commit (when none runs).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LmdbStorage, type LmdbStorageOptions } from '../src/runtime/lmdb-storage.ts';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    'value-bytes': { type: 'string', default: '100' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const seconds = Number(flags.seconds);
const valueBytes = Number(flags['value-bytes']);
const concurrencies = [1, 16, 64, 256, 1024];
const keySpace = 100_000;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function run(storage: LmdbStorage, writers: number): Promise<string> {
  const latencies: number[] = [];
  const value = new Uint8Array(valueBytes).fill(7);
  const before = storage.counters();
  const startedAt = performance.now();
  const deadline = startedAt + seconds * 1000;
  let next = 0;
  const writer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      // A multiplicative hash scatters consecutive writes over the key space, as cells are.
      const index = (Math.imul(next++, 0x9e3779b1) >>> 0) % keySpace;
      const key = new TextEncoder().encode(`bench/${String(index).padStart(6, '0')}`);
      const issuedAt = performance.now();
      await storage.write([{ kind: 'put', key, value }]);
      latencies.push(performance.now() - issuedAt);
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  const elapsedS = (performance.now() - startedAt) / 1000;
  const after = storage.counters();
  const commits = after.commits - before.commits;
  const sorted = Float64Array.from(latencies).sort();
  return [
    `writers ${String(writers).padStart(4)}`,
    `${Math.round(latencies.length / elapsedS)
      .toString()
      .padStart(7)} batches/s`,
    `${Math.round(commits / elapsedS)
      .toString()
      .padStart(5)} commits/s`,
    `${(latencies.length / Math.max(1, commits)).toFixed(1).padStart(6)} batches/commit`,
    `p50 ${percentile(sorted, 50).toFixed(2)} ms`,
    `p99 ${percentile(sorted, 99).toFixed(2)} ms`,
    `max ${(sorted[sorted.length - 1] ?? Number.NaN).toFixed(2)} ms`,
    `${after.checkpoints - before.checkpoints} checkpoints`,
  ].join('  ');
}

console.log(
  `LmdbStorage group commit: one-key batches of ${valueBytes}-byte values, each commit one flushed append to the write-ahead log, ` +
    `${seconds} s per level, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), dir ${flags.dir}`,
);
const modes: Array<{ label: string; options: Omit<LmdbStorageOptions, 'path'> }> = [
  { label: 'write-ahead log, checkpoints by default', options: {} },
  {
    label: 'write-ahead log, checkpointKeys 0 (a checkpoint after every commit)',
    options: { checkpointKeys: 0 },
  },
];
for (const { label, options } of modes) {
  const dir = mkdtempSync(join(flags.dir, 'physalia-bench-storage-'));
  const storage = LmdbStorage.open({ path: dir, ...options });
  console.log(label);
  try {
    await run(storage, 16); // warm-up
    for (const writers of concurrencies) console.log(await run(storage, writers));
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
