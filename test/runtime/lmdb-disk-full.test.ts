// A real full disk for LmdbStorage: a child writes under `ulimit -f` (the data file cannot
// grow past 2 MiB) until a commit fails. The failed batch must reject with a typed
// StorageError, leave nothing visible, keep every acknowledged batch, and never
// crash the process (src/env/storage.ts failure modes). The commit that fails is a
// checkpoint, a log append, or either, by the storage's checkpoint size.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const fileSizeLimitKiB = 2048;

describe('LmdbStorage on a full disk', () => {
  // 0: every commit checkpoints; 16 keys: checkpoints of 4 commits run from the 8th commit
  // on; 1M keys: none does (2 MiB of log).
  it.each([0, 16, 1_000_000])(
    'rejects the failing batch with a typed StorageError, applies none of it, keeps what was acknowledged (checkpoint at %i keys)',
    (checkpointKeys) => {
      const path = mkdtempSync(join(tmpdir(), 'physalia-disk-full-'));
      try {
        const writer = join(import.meta.dirname, 'disk-full-writer.ts');
        const child = spawnSync(
          'bash',
          [
            '-c',
            `ulimit -f ${fileSizeLimitKiB}; exec "$0" --import tsx "$1" "$2" "$3"`,
            process.execPath,
            writer,
            path,
            String(checkpointKeys),
          ],
          { encoding: 'utf8', timeout: 30_000 },
        );
        expect(child.status, child.stderr).toBe(0);
        const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
        // The limit makes the kernel cut LMDB's writes short, which LMDB reports as EIO (as it
        // would on a truly full disk); with free space left that is an 'io-error'. ENOSPC and
        // MDB_MAP_FULL map to 'disk-full' (lmdb-storage.test.ts). Either way: typed, nothing applied.
        expect(['disk-full', 'io-error']).toContain(result.failureKind);
        expect(result).toMatchObject({
          failedBatchVisible: false,
          acknowledgedIntact: true,
          unhandledRejections: 0,
        });
        expect(result.acknowledged).toBeGreaterThan(10);
        expect(['ok', 'disk-full']).toContain(result.later);
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
    },
  );
});
