// The data directory lock: one holder per directory (found by its real path), the holder's
// process id in the refusal, free again once released or once the holder process is killed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUse, lockDataDir, type DataDirLock } from '../../src/runtime/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

describe.runIf(process.platform === 'linux')('data directory lock', () => {
  let dir: string;
  const held: DataDirLock[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'physalia-lock-'));
  });
  afterEach(async () => {
    for (const lock of held.splice(0)) await lock.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second holder of the same directory, also through a symlink, naming the holder', async () => {
    const data = join(dir, 'data');
    const first = await lockDataDir(data);
    held.push(first);
    expect(first.held).toBe(true);
    const refusal = await lockDataDir(data).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirInUse);
    expect((refusal as DataDirInUse).holderPid).toBe(process.pid);
    expect((refusal as DataDirInUse).message).toContain(`in use by process ${process.pid}`);
    symlinkSync(data, join(dir, 'alias'));
    await expect(lockDataDir(join(dir, 'alias'))).rejects.toBeInstanceOf(DataDirInUse);
    held.push(await lockDataDir(join(dir, 'other'))); // another directory is another lock
  });

  it('is free again after release', async () => {
    const data = join(dir, 'data');
    const first = await lockDataDir(data);
    await first.release();
    await first.release(); // twice is harmless
    held.push(await lockDataDir(data));
  });

  it('is freed by the kernel when the holding process is SIGKILLed', async () => {
    const data = join(dir, 'data');
    const script =
      `import('${join(repoRoot, 'src/runtime/data-dir-lock.ts')}')` +
      `.then((m) => m.lockDataDir(${JSON.stringify(data)}))` +
      `.then(() => { console.log('locked'); setInterval(() => {}, 1000); })`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((done, fail) => {
        child.once('exit', (code) => fail(new Error(`lock holder exited (${code})`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line === 'locked') done();
        });
      });
      const refusal = await lockDataDir(data).catch((error: unknown) => error);
      expect((refusal as DataDirInUse).holderPid).toBe(child.pid);
    } finally {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;
    }
    held.push(await lockDataDir(data));
  }, 30_000);
});
