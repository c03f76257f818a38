// One process per data directory: a node holds its directory's lock for as long as it runs,
// so a second node started on the same directory (a stale service manager, a typo in a
// flag) stops with a clear error instead of writing the same log and LMDB environment.
// On Linux the lock is a Unix socket in the abstract namespace, named after the directory's
// real path: binding it is atomic, and the kernel frees it when the process ends, even by
// SIGKILL, so there is no stale lock to clean up. Elsewhere no lock is taken. Abstract
// names belong to a network namespace: two containers that share the directory through a
// volume but not their network namespace are not kept apart.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { platform } from 'node:os';

/** How long a refused node waits for the holder to name its process id. */
export const holderQueryTimeoutMs = 1_000;

/** The data directory is in use by another live process. */
export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    /** The holder's process id, when it answered. */
    readonly holderPid: number | undefined,
  ) {
    const holder = holderPid === undefined ? 'another process' : `process ${holderPid}`;
    super(
      `data directory ${dataDir} is in use by ${holder}: stop that node first, or give this one another --data directory`,
    );
    this.name = 'DataDirInUse';
  }
}

/** A held lock; `release` frees it (ending the process frees it too). */
export interface DataDirLock {
  /** False where the platform has no abstract sockets (nothing is held). */
  readonly held: boolean;
  release(): Promise<void>;
}

/** The abstract socket name of a directory (created if missing, so its real path exists). */
export function lockNameOf(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const digest = createHash('sha256').update(realpathSync(dataDir)).digest('hex');
  return `\0physalia-data-dir-${digest.slice(0, 40)}`;
}

/** Takes the lock of `dataDir`, or rejects with DataDirInUse while another process holds it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  if (platform() !== 'linux') return { held: false, release: () => Promise.resolve() };
  const name = lockNameOf(dataDir);
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${process.pid}\n`);
  });
  for (let attempt = 1; ; attempt += 1) {
    try {
      await listen(server, name);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      const pid = await holderPid(name);
      // A holder that did not answer may have just exited: the name is free again, try once more.
      if (pid !== undefined || attempt === 2) throw new DataDirInUse(dataDir, pid);
    }
  }
  server.unref(); // the lock never keeps the process alive on its own
  let released: Promise<void> | undefined;
  return {
    held: true,
    release: () => (released ??= new Promise((resolve) => server.close(() => resolve()))),
  };
}

function listen(server: Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: name }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Asks the holder of the lock for its process id (undefined if it does not answer in time). */
function holderPid(name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ path: name });
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const pid = Number.parseInt(text, 10);
      resolve(Number.isSafeInteger(pid) && pid > 0 ? pid : undefined);
    };
    const timer = setTimeout(finish, holderQueryTimeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 32) finish();
    });
    socket.on('end', finish);
    socket.on('error', finish);
  });
}
