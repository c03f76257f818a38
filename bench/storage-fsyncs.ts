// `npx tsx bench/storage-fsyncs.ts [--writes N] [--sequential]`: counts the flushes (fsync-family
// system calls, and writes to the O_DSYNC write-ahead log) that N concurrent one-key writes to
// LmdbStorage cost, by re-running itself under strace. Group commit should make it one (or a
// few, with the spare segment's zeros written ahead), not N.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LmdbStorage } from '../src/runtime/lmdb-storage.ts';

const { values: flags } = parseArgs({
  options: {
    writes: { type: 'string', default: '1000' },
    sequential: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});
const writes = Number(flags.writes);
// The write-ahead log is opened O_DSYNC: each of its writes (pwrite64) is a flush.
const syncCalls = /\b(fsync|fdatasync|msync|sync_file_range|pwrite64)\(/;

async function child(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'physalia-fsyncs-'));
  const storage = LmdbStorage.open({ path: dir });
  await storage.write([{ kind: 'put', key: Uint8Array.of(0), value: Uint8Array.of(0) }]); // opens the files
  process.stderr.write('MARK begin\n');
  const pending = [];
  for (let i = 0; i < writes; i += 1) {
    const key = new TextEncoder().encode(`key-${i}`);
    const written = storage.write([{ kind: 'put', key, value: new Uint8Array(100) }]);
    if (flags.sequential) await written; // the control: one commit, one fsync each
    pending.push(written);
  }
  await Promise.all(pending);
  process.stderr.write(`MARK end ${JSON.stringify(storage.counters())}\n`);
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
}

function parent(): void {
  const trace = join(mkdtempSync(join(tmpdir(), 'physalia-strace-')), 'trace.txt');
  const script = new URL(import.meta.url).pathname;
  const traced = spawnSync(
    'strace',
    [
      '-f',
      '-e',
      'trace=fsync,fdatasync,msync,sync_file_range,pwrite64,write',
      '-o',
      trace,
      process.execPath,
      '--import',
      'tsx',
      script,
      '--child',
      '--writes',
      String(writes),
      ...(flags.sequential ? ['--sequential'] : []),
    ],
    { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' },
  );
  if (traced.error !== undefined) {
    console.log(`strace is not available: ${traced.error.message}`);
    return;
  }
  const lines = readFileSync(trace, 'utf8').split('\n');
  const begin = lines.findIndex((line) => line.includes('MARK begin'));
  const end = lines.findIndex((line) => line.includes('MARK end'));
  const syncs = lines.slice(begin, end).filter((line) => syncCalls.test(line)).length;
  const counters = /MARK end (.*)/.exec(traced.stderr)?.[1] ?? '?';
  console.log(
    `${writes} ${flags.sequential ? 'sequential' : 'concurrent'} one-key writes: ${syncs} flushes (fsync-family calls and O_DSYNC log writes); storage counters ${counters}`,
  );
}

if (flags.child) await child();
else parent();
