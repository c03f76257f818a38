// Dirty-reboot test of LmdbStorage across processes: a child writes batches and reports each
// acknowledged one; the parent SIGKILLs it mid-stream many times and checks, after reopening,
// that every acknowledged batch is present and every batch is whole or absent (paper §2.2:
// an acceptor's promises survive crashes; src/env/storage.ts durability contract). Writers
// checkpoint their write log every few commits, over small log segments, or never, so kills
// land in appends, in new segments, in checkpoints and in the replay of a log a killed
// writer left.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LmdbStorage } from '../../src/runtime/lmdb-storage.ts';

const kills = 20;
const keysPerBatch = 4;
const writerPath = join(import.meta.dirname, 'durability-writer.ts');

interface RunResult {
  readonly acknowledged: number[];
}

/** Starts a writer, kills it with SIGKILL after `acksBeforeKill` acks, returns the acks seen. */
function runAndKill(
  path: string,
  firstBatch: number,
  acksBeforeKill: number,
  checkpointKeys: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Chunks of 8 keys: a checkpoint spans many LMDB transactions, and kills land in the middle
    // of one. Segments of 16 KiB: the log starts a new one every few commits.
    const args = [
      '--import',
      'tsx',
      writerPath,
      path,
      String(firstBatch),
      String(checkpointKeys),
      '8',
      '16384',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: number[] = [];
    let pending = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ack ')) acknowledged.push(Number(line.slice(4)));
      }
      if (acknowledged.length >= acksBeforeKill) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve({ acknowledged });
      else reject(new Error(`writer exited without being killed: ${stderr}`));
    });
  });
}

function batchKey(batch: number, index: number): Uint8Array {
  return new TextEncoder().encode(`batch/${String(batch).padStart(10, '0')}/${index}`);
}

describe('LmdbStorage under SIGKILL', () => {
  it(`keeps every acknowledged batch, whole, across ${kills} kills mid-stream`, async () => {
    const path = mkdtempSync(join(tmpdir(), 'physalia-durability-'));
    try {
      const acknowledged: number[] = [];
      let firstBatch = 0;
      for (let run = 0; run < kills; run += 1) {
        // Even runs checkpoint at 600 keys; odd runs never do (1M keys), and start by replaying
        // the log the even run before them left.
        const checkpointKeys = run % 2 === 0 ? 600 : 1_000_000;
        const result = await runAndKill(path, firstBatch, 20 + ((run * 37) % 200), checkpointKeys);
        acknowledged.push(...result.acknowledged);
        firstBatch += 1_000_000;
        // Checked after odd runs: an even run leaves its log to the next writer.
        if (run % 2 === 0) continue;
        const storage = LmdbStorage.open({ path });
        for (const batch of acknowledged) {
          for (let index = 0; index < keysPerBatch; index += 1) {
            expect(storage.get(batchKey(batch, index)), `batch ${batch} key ${index}`).toBeDefined();
          }
        }
        await storage.close();
      }
      const storage = LmdbStorage.open({ path });
      const keysByBatch = new Map<string, number>();
      for (const [key] of storage.range({})) {
        const batch = new TextDecoder().decode(key).split('/')[1]!;
        keysByBatch.set(batch, (keysByBatch.get(batch) ?? 0) + 1);
      }
      for (const [batch, count] of keysByBatch) expect(count, `batch ${batch} is whole`).toBe(keysPerBatch);
      for (const batch of acknowledged) expect(keysByBatch.has(String(batch).padStart(10, '0'))).toBe(true);
      expect(acknowledged.length).toBeGreaterThan(kills * 20 - 1);
      await storage.close();
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});
