// A node started in this process (runNode, what `physalia node` runs): a start that fails
// after taking its data directory leaves nothing behind, and a clean stop frees the directory
// for the next node on it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNode, type NodeConfig } from '../../src/cli/node-main.ts';
import { lockDataDir } from '../../src/runtime/index.ts';

const silent = pino({ level: 'silent' });

function openFileDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe.runIf(process.platform === 'linux')('runNode and its data directory', () => {
  let dir: string;
  let config: NodeConfig;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'physalia-run-node-'));
    const keyringPath = join(dir, 'keyring.json');
    writeFileSync(
      keyringPath,
      JSON.stringify({ signingKeyId: 'k1', keys: { k1: randomBytes(32).toString('base64') } }),
    );
    config = {
      id: 'n1',
      listen: '127.0.0.1:0',
      peers: { n1: '127.0.0.1:1' },
      dataDir: join(dir, 'data'),
      keyringPath,
      topology: { row: 'r', rack: 'k', powerDomain: 'p' },
      color: 'blue',
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('frees the directory and closes the store when the start fails at the listen', async () => {
    const taken = await listening();
    const address = taken.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const fdsBefore = openFileDescriptors();
    try {
      await expect(runNode({ ...config, listen: `127.0.0.1:${address.port}` }, silent)).rejects.toThrow(
        /EADDRINUSE/,
      );
      expect(openFileDescriptors()).toBe(fdsBefore); // the store's files are closed again
    } finally {
      taken.close();
    }
    const lock = await lockDataDir(config.dataDir); // and the directory is not left locked
    await lock.release();
  });

  it('refuses a second node on the directory while the first runs, and takes it after a clean stop', async () => {
    const first = await runNode(config, silent);
    await expect(runNode(config, silent)).rejects.toThrow(`in use by process ${process.pid}`);
    await first.close();
    const second = await runNode(config, silent);
    await second.close();
  });
});
