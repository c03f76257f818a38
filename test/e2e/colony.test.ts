// End to end against a real local colony (9 node processes started by `physalia colony up` in a
// temp dir on free ports): the HTTP API, the SDK and the CLI; error statuses; metrics and
// OpenAPI; data kept across a restart of the whole colony.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documented, shapeErrors } from '../../src/api/testing/openapi-shape.ts';
import { connect, Lease } from '../../src/client/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const mainScript = join(repoRoot, 'src/cli/main.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'physalia-e2e-'));
let basePort = 0;
let endpoints: string[] = [];

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** A base port whose peer (base+1..9) and HTTP (base+101..109) ports are all free now. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const ports = Array.from({ length: 9 }, (_, i) => [base + 1 + i, base + 101 + i]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

/** Runs `physalia ARGS` with this colony's data dir; resolves with exit code and output. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', mainScript, '--data', dataDir, ...args],
      { cwd: repoRoot, timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ code: error === null ? 0 : Number(error.code ?? 99), stdout, stderr }),
    );
  });
}

async function http(method: 'GET' | 'POST', path: string, body?: unknown, node = 0) {
  const response = await fetch(`http://${endpoints[node]}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json')
    ? (JSON.parse(text) as Record<string, unknown>)
    : {};
  return { status: response.status, body: json, text, headers: response.headers };
}

function expectShape(value: unknown, path: string, method: 'get' | 'post', status: number): void {
  expect(shapeErrors(value, documented(path, method, status))).toEqual([]);
}

beforeAll(async () => {
  basePort = await freeBasePort();
  const up = await cli('colony', 'up', '--base-port', String(basePort));
  expect(up.code, up.stderr).toBe(0);
  endpoints = Array.from({ length: 9 }, (_, i) => `127.0.0.1:${basePort + 101 + i}`);
}, 120_000);

afterAll(async () => {
  await cli('colony', 'down');
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('local colony end to end', () => {
  it('HTTP: create by placement, put on one node, read on another, failed condition, paged scan', async () => {
    const created = await http('POST', '/v1/cells', { cellId: 'volume/vol-1' });
    expect(created.status).toBe(201);
    expectShape(created.body, '/v1/cells', 'post', 201);
    const members = created.body.members as string[];
    expect(members).toHaveLength(7);
    const racks = new Set(members.map((m) => Math.floor((Number(m.slice(1)) - 1) / 3)));
    const powers = new Set(members.map((m) => (Number(m.slice(1)) - 1) % 3));
    expect([racks.size, powers.size]).toEqual([3, 3]);
    const others = Array.from({ length: 9 }, (_, i) => `n${i + 1}`).filter((id) => !members.includes(id));
    const conflicting = await http('POST', '/v1/cells', { cellId: 'volume/vol-1', members: others }, 3);
    expect([conflicting.status, conflicting.body.code, conflicting.body.members]).toEqual([
      409,
      'cell-exists',
      members,
    ]);
    const cell = '/v1/cells/volume%2Fvol-1';
    const put = await http('POST', `${cell}/txn`, {
      writes: [
        { kind: 'put', key: 'primary', value: { string: 'node-7' } },
        { kind: 'increment', key: 'epoch', delta: '1' },
        ...Array.from({ length: 7 }, (_, i) => ({
          kind: 'put',
          key: `replica/${i}`,
          value: { int: String(i) },
        })),
      ],
    });
    expect(put.status).toBe(200);
    expect(put.body.committed).toBe(true);
    const outsider = Array.from({ length: 9 }, (_, i) => `n${i + 1}`).findIndex(
      (id) => !members.includes(id),
    );
    const read = await http('POST', `${cell}/txn`, { reads: ['primary', 'epoch'] }, outsider);
    expectShape(read.body, '/v1/cells/{cellId}/txn', 'post', 200);
    expect(read.body.reads).toEqual([
      {
        key: 'primary',
        found: true,
        value: { bytes: Buffer.from('node-7').toString('base64'), string: 'node-7' },
        version: put.body.index,
      },
      { key: 'epoch', found: true, value: { int: '1' }, version: put.body.index },
    ]);
    const failed = await http('POST', `${cell}/txn`, {
      conditions: [{ kind: 'equals', key: 'epoch', value: { int: '0' } }],
      writes: [{ kind: 'put', key: 'primary', value: { string: 'node-3' } }],
    });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({
      committed: false,
      failure: { kind: 'condition-failed', index: 0, key: 'epoch', reason: 'not-equal' },
    });
    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await http(
        'POST',
        `${cell}/scan`,
        { prefix: 'replica/', limit: 3, ...(cursor === undefined ? {} : { cursor }) },
        pages % 9,
      );
      expectShape(page.body, '/v1/cells/{cellId}/scan', 'post', 200);
      keys.push(...(page.body.entries as { key: string }[]).map((e) => e.key));
      cursor = page.body.nextCursor as string | undefined;
      pages += 1;
    } while (cursor !== undefined);
    expect(keys).toEqual(Array.from({ length: 7 }, (_, i) => `replica/${i}`));
    expect(pages).toBe(3);
    const described = await http('GET', cell, undefined, 4);
    expectShape(described.body, '/v1/cells/{cellId}', 'get', 200);
    expect(described.body.members).toEqual(members);
  }, 60_000);

  it('HTTP: leases, and error statuses 400 (naming the field), 404, 413', async () => {
    await http('POST', '/v1/cells', { cellId: 'leases' });
    const lease = '/v1/cells/leases/leases/primary';
    const granted = await http('POST', `${lease}/acquire`, { holder: 'node-3', durationMs: 30_000 });
    expectShape(granted.body, '/v1/cells/{cellId}/leases/{name}/acquire', 'post', 200);
    expect(granted.body.outcome).toMatchObject({ kind: 'granted', holder: 'node-3', holderValidMs: 10_000 });
    const other = await http('POST', `${lease}/acquire`, { holder: 'node-7', durationMs: 30_000 }, 5);
    expect(other.body.outcome).toMatchObject({ kind: 'held-by-other', holder: 'node-3' });
    expect((await http('POST', `${lease}/release`, { holder: 'node-3' })).body.outcome).toEqual({
      kind: 'released',
    });
    const bad = await http('POST', '/v1/cells/leases/txn', {
      writes: [{ kind: 'put', key: 'a', value: { int: 'seven' } }],
    });
    expect([bad.status, bad.body.code, bad.body.field]).toEqual([400, 'invalid', 'writes[0].value.int']);
    expectShape(bad.body, '/v1/cells/{cellId}/txn', 'post', 400);
    const tooLong = await http('POST', '/v1/cells/leases/txn', {
      writes: [{ kind: 'put', key: 'k'.repeat(300), value: { bool: true } }],
    });
    expect([tooLong.status, tooLong.body.field]).toEqual([400, 'writes[0].key']);
    const missing = await http('POST', '/v1/cells/no-such-cell/txn', { reads: ['a'] }, 2);
    expect([missing.status, missing.body.code]).toEqual([404, 'cell-not-found']);
    const huge = await http('POST', '/v1/cells/leases/txn', {
      writes: [{ kind: 'put', key: 'a', value: { string: 'x'.repeat(600_000) } }],
    });
    expect([huge.status, huge.body.code]).toEqual([413, 'too-large']);
  }, 60_000);

  it('SDK: routes to the leader, helpers, a failing compare-and-set, a lease', async () => {
    const client = connect({ endpoints: [endpoints[8]!] });
    expect(await client.createCell('sdk', { replicas: 3 })).toMatchObject({ kind: 'created' });
    const cell = client.cell('sdk');
    expect((await cell.put('a', 'b')).kind).toBe('committed');
    expect(await cell.increment('n', 5n)).toMatchObject({ kind: 'incremented', value: 5n });
    expect(await cell.compareAndSet('a', 'zzz', 'c')).toMatchObject({ kind: 'not-committed' });
    const got = await cell.get('a');
    expect(got.kind === 'found' && new TextDecoder().decode(got.value as Uint8Array)).toBe('b');
    const lease = await cell.acquireLease('l', 'me', 9_000);
    expect(lease instanceof Lease && lease.isValid()).toBe(true);
    expect(await client.cell('nope').get('a')).toMatchObject({ kind: 'cell-not-found' });
    // Monotonic reads: eventual reads carry the session token, so none sees older than the session wrote.
    const session = client.newSession();
    const strong = client.cell('sdk', { session });
    const eventual = client.cell('sdk', { session, consistency: 'eventual' });
    for (let i = 0; i < 10; i++) {
      expect((await strong.put('s', BigInt(i))).kind).toBe('committed');
      const seen = await eventual.get('s');
      expect(seen).toMatchObject({ kind: 'found', value: BigInt(i) });
    }
  }, 60_000);

  it('CLI: cell create, put, get, failing cas (exit 1), scan, lease, --json, unknown cell (exit 2)', async () => {
    const created = await cli('cell', 'create', 'cli/vol');
    expect(created.stdout).toMatch(/^created cell "cli\/vol" on (n\d, ){6}n\d\n$/);
    expect((await cli('put', 'cli/vol', 'primary', 'node-7')).code).toBe(0);
    const got = await cli('get', 'cli/vol', 'primary');
    expect(got.stdout).toMatch(/^"node-7" {2}\(version \d+\)\n$/);
    const cas = await cli('cas', 'cli/vol', 'primary', 'node-3', 'node-9');
    expect(cas.code).toBe(1);
    expect(cas.stdout).toContain('NOT committed');
    expect(cas.stdout).toContain('condition 0 on "primary" failed: not-equal');
    const scan = await cli('scan', 'cli/vol', '--prefix', 'pri', '--page-size', '1');
    expect(scan.stdout).toContain('primary = "node-7"');
    const lease = await cli(
      'lease',
      'acquire',
      'cli/vol',
      'leader',
      '--holder',
      'me',
      '--duration-ms',
      '30000',
    );
    expect(lease.stdout).toMatch(/^granted to me/);
    const json = await cli('--json', 'get', 'cli/vol', 'primary');
    expect(JSON.parse(json.stdout)).toMatchObject({
      key: 'primary',
      found: true,
      value: { string: 'node-7' },
    });
    const unknown = await cli('get', 'no-such-cell', 'k');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no such cell "no-such-cell"');
    const status = await cli('colony', 'status');
    expect(
      status.stdout
        .trim()
        .split('\n')
        .filter((line) => line.endsWith(' ready')),
    ).toHaveLength(9);
  }, 90_000);

  it('CLI and HTTP: add a member, refuse a bad change, move the cell, follow it through a stale endpoint (§2.4)', async () => {
    const created = await http('POST', '/v1/cells', { cellId: 'moving', members: ['n1', 'n2', 'n3'] });
    expect(created.status).toBe(201);
    const put = await http('POST', '/v1/cells/moving/txn', {
      writes: [{ kind: 'put', key: 'a', value: { string: 'v1' } }],
    });
    expect(put.body.committed).toBe(true);
    const added = await cli('cell', 'add-member', 'moving', 'n4');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(
      /^added n4#\d+ to cell "moving" \(chosen at index \d+, \d+\.\d s\)\n {2}members: n1, n2, n3, n4#\d+\n$/,
    );
    const again = await cli('cell', 'add-member', 'moving', 'n2');
    expect([again.code, again.stderr.trim()]).toEqual([
      2,
      'error: the change does not fit the cell: n2 already hosts member n2',
    ]);
    const moved = await cli('cell', 'move', 'moving', 'n7,n8,n9');
    expect(moved.code, moved.stderr).toBe(0);
    const lines = moved.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^moving cell "moving" to n7, n8, n9 \(operation \S+ on n\d\)$/);
    expect(lines.filter((line) => /^ {2}step \d: (replaced|removed) /.test(line))).toHaveLength(4);
    expect(lines.at(-1)).toMatch(/^moved cell "moving" in 4 step\(s\): members n7#\d+, n8#\d+, n9#\d+$/);
    // The HTTP refusals, in the documented shapes.
    const gone = await http('POST', '/v1/cells/moving/members', { remove: 'n1' });
    expect([gone.status, gone.body.code]).toEqual([400, 'invalid-change']);
    expectShape(gone.body, '/v1/cells/{cellId}/members', 'post', 400);
    const unknown = await http('POST', '/v1/cells/no-such-cell/members', { add: 'n4' });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'cell-not-found']);
    const badTarget = await http('POST', '/v1/cells/moving/move', { to: ['n99'] });
    expect([badTarget.status, badTarget.body.field]).toEqual([400, 'to[0]']);
    // An operation started over HTTP, polled on the node that runs it.
    const back = await http('POST', '/v1/cells/moving/move', { to: ['n1', 'n8', 'n9'] }, 4);
    expect(back.status).toBe(202);
    expectShape(back.body, '/v1/cells/{cellId}/move', 'post', 202);
    const location = back.headers.get('location') ?? '';
    let operation = await http('GET', `${location}?waitMs=20000`, undefined, 4);
    for (let poll = 0; operation.body.state === 'running' && poll < 5; poll += 1)
      operation = await http('GET', `${location}?waitMs=20000`, undefined, 4);
    expectShape(operation.body, '/v1/operations/{operationId}', 'get', 200);
    expect(operation.body.state).toBe('succeeded');
    const members = operation.body.members as string[];
    expect(members.map((member) => member.split('#')[0])).toEqual(['n1', 'n8', 'n9']);
    expect(members[0]).toMatch(/^n1#\d+$/); // back on n1 as a new incarnation (ABA)
    // A client that only knows n2 and n3 (the cell left them) is redirected, never wrong.
    const stale = connect({ endpoints: [endpoints[1]!, endpoints[2]!] });
    const read = await stale.cell('moving').get('a');
    expect(read.kind === 'found' && new TextDecoder().decode(read.value as Uint8Array)).toBe('v1');
    const described = await http('GET', '/v1/cells/moving', undefined, 1);
    expect(described.body.members).toEqual(members);
  }, 120_000);

  it('serves metrics, OpenAPI, health and readiness on every node', async () => {
    const metrics = await http('GET', '/metrics');
    expect(metrics.text).toMatch(/physalia_http_requests_total\{[^}]*route="\/v1\/cells\/:cellId\/txn"/);
    expect(metrics.text).toMatch(/physalia_commits_total\{node="n1"\} [1-9]/);
    expect(metrics.text).toContain('physalia_frames_dropped_total');
    expect(metrics.text).toContain('physalia_cells_loaded_total');
    expect(metrics.text).toMatch(/physalia_transport_frames_dropped_total\{reason="[a-z-]+",node="n1"\} \d+/);
    // The real store's commits: the colony has written, so some commits were timed and counted.
    expect(metrics.text).toMatch(/physalia_storage_commit_duration_seconds_count\{node="n1"\} [1-9]/);
    expect(metrics.text).toMatch(/physalia_storage_batches_per_commit_sum\{node="n1"\} [1-9]/);
    expect(metrics.text).toMatch(/physalia_storage_batches_failed_total\{node="n1"\} 0/);
    expect(metrics.text).toMatch(/physalia_storage_log_bytes\{node="n1"\} \d+/);
    expect(metrics.text).toMatch(/physalia_storage_checkpoints_total\{node="n1"\} \d+/);
    const openapi = await http('GET', '/v1/openapi.json', undefined, 3);
    expect(openapi.body.openapi).toBe('3.0.3');
    for (let node = 0; node < 9; node++) {
      expect((await http('GET', '/healthz', undefined, node)).status).toBe(200);
      expect((await http('GET', '/readyz', undefined, node)).status).toBe(200);
    }
  }, 30_000);

  it('keeps data across a restart of the whole colony', async () => {
    expect((await cli('colony', 'down')).stdout).toContain('stopped 9 node processes');
    const up = await cli('colony', 'up');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('keyring.json (kept)');
    const read = await http('POST', '/v1/cells/volume%2Fvol-1/txn', { reads: ['primary'] }, 6);
    expect(read.body.reads).toMatchObject([{ key: 'primary', found: true, value: { string: 'node-7' } }]);
  }, 120_000);
});
