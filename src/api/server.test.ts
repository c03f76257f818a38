// The HTTP API against a fake NodeService (real model apply): status codes, error codes naming
// the field, JSON value round trips, paging, leases, placement, metrics, and OpenAPI shapes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { partitionKey } from '../model/index.ts';
import { documented, shapeErrors } from './testing/openapi-shape.ts';
import { placeCell } from './placement.ts';
import { buildApiServer } from './server.ts';
import { AutoClock, FakeNode, gridTopology } from './testing/fake-node.ts';

let app: FastifyInstance;
let node: FakeNode;

async function call(method: 'GET' | 'POST', url: string, body?: unknown, template?: string) {
  const response = await app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as object }),
  });
  const parsed = response.headers['content-type']?.toString().startsWith('application/json')
    ? response.json<Record<string, unknown>>()
    : undefined;
  if (template !== undefined && parsed !== undefined) {
    expect(
      shapeErrors(parsed, documented(template, method === 'GET' ? 'get' : 'post', response.statusCode)),
    ).toEqual([]);
  }
  return { status: response.statusCode, body: parsed ?? {}, headers: response.headers, text: response.body };
}

const txn = '/v1/cells/{cellId}/txn';

beforeEach(() => {
  node = new FakeNode();
  app = buildApiServer({ node, topology: gridTopology(), clock: new AutoClock(), bodyBytesMax: 64 * 1024 });
});
afterEach(async () => app.close());

describe('HTTP API', () => {
  it('creates a cell by placement, one member per rack and power domain where it can', async () => {
    const created = await call('POST', '/v1/cells', { cellId: 'volume/vol-1', replicas: 3 }, '/v1/cells');
    expect(created.status).toBe(201);
    const members = created.body.members as string[];
    const topology = gridTopology();
    const racks = new Set(members.map((m) => topology.find((t) => t.nodeId === m)!.rack));
    const powers = new Set(members.map((m) => topology.find((t) => t.nodeId === m)!.powerDomain));
    expect(racks.size).toBe(3);
    expect(powers.size).toBe(3);
    expect(members).toEqual(placeCell('volume/vol-1', topology, 3)); // deterministic
    const again = await call('POST', '/v1/cells', { cellId: 'volume/vol-1', replicas: 3 }, '/v1/cells');
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    const conflicting = await call(
      'POST',
      '/v1/cells',
      { cellId: 'volume/vol-1', members: ['n1'] },
      '/v1/cells',
    );
    expect(conflicting.status).toBe(409);
  });

  it('places 5 replicas over all 3 racks and all 3 power domains, for many cells', () => {
    const topology = gridTopology();
    for (let i = 0; i < 200; i++) {
      const members = placeCell(`cell-${i}`, topology, 5);
      expect(new Set(members).size).toBe(5);
      const entries = members.map((m) => topology.find((t) => t.nodeId === m)!);
      expect(new Set(entries.map((e) => e.rack)).size).toBe(3);
      expect(new Set(entries.map((e) => e.powerDomain)).size).toBe(3);
    }
  });

  it('puts, gets every value kind, and describes the cell; URL-encoded cell ids', async () => {
    await call('POST', '/v1/cells', { cellId: 'vol/a', members: ['n1', 'n2', 'n3'] }, '/v1/cells');
    const put = await call(
      'POST',
      '/v1/cells/vol%2Fa/txn',
      {
        writes: [
          { kind: 'put', key: 's', value: { string: 'héllo' } },
          { kind: 'put', key: 'b', value: { bytes: Buffer.from([0xff, 0]).toString('base64') } },
          { kind: 'put', key: 'i', value: { int: '-123456789012345678901234567890' } },
          { kind: 'put', key: 't', value: { bool: true } },
        ],
      },
      txn,
    );
    expect(put.status).toBe(200);
    expect(put.body.committed).toBe(true);
    const got = await call('POST', '/v1/cells/vol%2Fa/txn', { reads: ['s', 'b', 'i', 't', 'missing'] }, txn);
    expect(got.body.reads).toEqual([
      {
        key: 's',
        found: true,
        value: { bytes: Buffer.from('héllo').toString('base64'), string: 'héllo' },
        version: 1,
      },
      { key: 'b', found: true, value: { bytes: '/wA=' }, version: 1 },
      { key: 'i', found: true, value: { int: '-123456789012345678901234567890' }, version: 1 },
      { key: 't', found: true, value: { bool: true }, version: 1 },
      { key: 'missing', found: false },
    ]);
    const described = await call('GET', '/v1/cells/vol%2Fa', undefined, '/v1/cells/{cellId}');
    expect(described.status).toBe(200);
    expect(described.body.members).toEqual(['n1', 'n2', 'n3']);
    expect(described.body.appliedIndex).toBe(2);
  });

  it('answers a failed condition with 200, committed false, and which condition failed why', async () => {
    await call('POST', '/v1/cells', { cellId: 'c' }, '/v1/cells');
    await call('POST', '/v1/cells/c/txn', { writes: [{ kind: 'increment', key: 'epoch', delta: '1' }] }, txn);
    const failed = await call(
      'POST',
      '/v1/cells/c/txn',
      {
        conditions: [
          { kind: 'exists', key: 'epoch' },
          { kind: 'equals', key: 'epoch', value: { int: '0' } },
        ],
        writes: [{ kind: 'put', key: 'primary', value: { string: 'n3' } }],
      },
      txn,
    );
    expect(failed.status).toBe(200);
    expect(failed.body.committed).toBe(false);
    expect(failed.body.failure).toEqual({
      kind: 'condition-failed',
      index: 1,
      key: 'epoch',
      reason: 'not-equal',
    });
    const read = await call('POST', '/v1/cells/c/txn', { reads: ['primary'] }, txn);
    expect(read.body.reads).toEqual([{ key: 'primary', found: false }]);
  });

  it('scans a prefix in pages with a cursor', async () => {
    await call('POST', '/v1/cells', { cellId: 'c' }, '/v1/cells');
    const writes = Array.from({ length: 7 }, (_, i) => ({
      kind: 'put',
      key: `k/${i}`,
      value: { int: String(i) },
    }));
    await call(
      'POST',
      '/v1/cells/c/txn',
      { writes: [...writes, { kind: 'put', key: 'other', value: { bool: false } }] },
      txn,
    );
    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call(
        'POST',
        '/v1/cells/c/scan',
        { prefix: 'k/', limit: 3, ...(cursor === undefined ? {} : { cursor }) },
        '/v1/cells/{cellId}/scan',
      );
      expect(page.status).toBe(200);
      pages += 1;
      keys.push(...(page.body.entries as { key: string }[]).map((entry) => entry.key));
      cursor = page.body.nextCursor as string | undefined;
    } while (cursor !== undefined);
    expect(keys).toEqual(writes.map((w) => w.key));
    expect(pages).toBe(3);
    const range = await call(
      'POST',
      '/v1/cells/c/scan',
      { start: 'k/2', end: 'k/4' },
      '/v1/cells/{cellId}/scan',
    );
    expect((range.body.entries as { key: string }[]).map((e) => e.key)).toEqual(['k/2', 'k/3']);
  });

  it('answers malformed input with 400 naming the field, and changes nothing', async () => {
    await call('POST', '/v1/cells', { cellId: 'c' }, '/v1/cells');
    const cases: [unknown, string][] = [
      [{ writes: [{ kind: 'put', key: 'a', value: { int: 'x' } }] }, 'writes[0].value.int'],
      [{ writes: [{ kind: 'put', key: 'a', value: { bytes: '***' } }] }, 'writes[0].value.bytes'],
      [{ writes: [{ kind: 'put', key: 'a', value: { int: '1', bool: true } }] }, 'writes[0].value'],
      [{ writes: [{ kind: 'frobnicate', key: 'a' }] }, 'writes[0].kind'],
      [
        { conditions: [{ kind: 'compare', key: 'a', comparison: 'eq', operand: '1' }] },
        'conditions[0].comparison',
      ],
      [{ reads: [7] }, 'reads[0]'],
      [{ reads: 'a' }, 'reads'],
      [{ consistency: 'strong' }, 'consistency'],
      [{ writes: [{ kind: 'put', key: 'k'.repeat(300), value: { bool: true } }] }, 'writes[0].key'],
    ];
    for (const [body, field] of cases) {
      const answer = await call('POST', '/v1/cells/c/txn', body, txn);
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(answer.body.code).toBe('invalid');
      expect(answer.body.field).toBe(field);
      expect(answer.body.message).toContain(field.split('[')[0]);
    }
    const scanLimit = await call(
      'POST',
      '/v1/cells/c/scan',
      { prefix: 'a', limit: 0 },
      '/v1/cells/{cellId}/scan',
    );
    expect(scanLimit.body.field).toBe('limit');
    const noCellId = await call('POST', '/v1/cells', { members: ['n1'] }, '/v1/cells');
    expect([noCellId.status, noCellId.body.field]).toEqual([400, 'cellId']);
    const badMember = await call('POST', '/v1/cells', { cellId: 'd', members: ['n1', 'n99'] }, '/v1/cells');
    expect([badMember.status, badMember.body.field]).toEqual([400, 'members[1]']);
    const json = await app.inject({
      method: 'POST',
      url: '/v1/cells/c/txn',
      payload: '{"reads":',
      headers: { 'content-type': 'application/json' },
    });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ code: 'malformed-json', field: 'body' });
    expect(node.cells.get('c')!.state.entryCount).toBe(0);
    expect(node.cells.has('d')).toBe(false);
  });

  it('answers 404 for an unknown cell, 413 for a body over the limit', async () => {
    const missing = await call('POST', '/v1/cells/nope/txn', { reads: ['a'] }, txn);
    expect([missing.status, missing.body.code]).toEqual([404, 'cell-not-found']);
    const described = await call('GET', '/v1/cells/nope', undefined, '/v1/cells/{cellId}');
    expect(described.status).toBe(404);
    const big = await call(
      'POST',
      '/v1/cells/nope/txn',
      { writes: [{ kind: 'put', key: 'a', value: { string: 'x'.repeat(70_000) } }] },
      txn,
    );
    expect([big.status, big.body.code]).toEqual([413, 'too-large']);
    const route = await call('GET', '/v1/nothing');
    expect([route.status, route.body.code]).toEqual([404, 'route-not-found']);
  });

  it('maps overloaded to 503 with Retry-After, unavailable to 503, outcome-unknown to 504', async () => {
    await call('POST', '/v1/cells', { cellId: 'c' }, '/v1/cells');
    node.scripted.set('c', [
      { kind: 'overloaded', retryAfterMs: 1500 },
      { kind: 'unavailable', reason: 'no quorum' },
      { kind: 'outcome-unknown' },
      { kind: 'moved', cellId: partitionKey('c'), members: [] },
    ]);
    const body = { writes: [{ kind: 'delete', key: 'a' }] };
    const overloaded = await call('POST', '/v1/cells/c/txn', body, txn);
    expect([overloaded.status, overloaded.body.code, overloaded.headers['retry-after']]).toEqual([
      503,
      'overloaded',
      '2',
    ]);
    const unavailable = await call('POST', '/v1/cells/c/txn', body, txn);
    expect([unavailable.status, unavailable.body.code]).toEqual([503, 'unavailable']);
    const unknown = await call('POST', '/v1/cells/c/txn', body, txn);
    expect([unknown.status, unknown.body.code]).toEqual([504, 'outcome-unknown']);
    const moved = await call('POST', '/v1/cells/c/txn', body, txn);
    expect([moved.status, moved.body.code]).toEqual([404, 'cell-moved']);
  });

  it('passes consistency and the session token to the node', async () => {
    await call('POST', '/v1/cells', { cellId: 'c' }, '/v1/cells');
    await call('POST', '/v1/cells/c/txn', { reads: ['a'], consistency: 'eventual', sessionIndex: 5 }, txn);
    expect(node.submitted.at(-1)!.request).toMatchObject({
      kind: 'operation',
      consistency: 'eventual',
      sessionIndex: 5,
    });
  });

  it('acquires, refuses to another holder, renews and releases a lease', async () => {
    await call('POST', '/v1/cells', { cellId: 'c' }, '/v1/cells');
    const lease = '/v1/cells/{cellId}/leases/{name}/acquire';
    const granted = await call(
      'POST',
      '/v1/cells/c/leases/primary/acquire',
      { holder: 'a', durationMs: 9000 },
      lease,
    );
    expect(granted.body.outcome).toMatchObject({ kind: 'granted', holder: 'a', holderValidMs: 3000 });
    const other = await call(
      'POST',
      '/v1/cells/c/leases/primary/acquire',
      { holder: 'b', durationMs: 9000 },
      lease,
    );
    expect(other.body.outcome).toMatchObject({ kind: 'held-by-other', holder: 'a' });
    const renewed = await call(
      'POST',
      '/v1/cells/c/leases/primary/renew',
      { holder: 'a', durationMs: 9000 },
      '/v1/cells/{cellId}/leases/{name}/renew',
    );
    expect(renewed.body.outcome).toMatchObject({ kind: 'granted' });
    const released = await call(
      'POST',
      '/v1/cells/c/leases/primary/release',
      { holder: 'a' },
      '/v1/cells/{cellId}/leases/{name}/release',
    );
    expect(released.body.outcome).toEqual({ kind: 'released' });
    const noHolder = await call('POST', '/v1/cells/c/leases/primary/acquire', { durationMs: 9000 }, lease);
    expect([noHolder.status, noHolder.body.field]).toEqual([400, 'holder']);
  });

  it('lists cells, serves health, readiness, colony, OpenAPI and Prometheus metrics', async () => {
    await call('POST', '/v1/cells', { cellId: 'a' }, '/v1/cells');
    await call('POST', '/v1/cells', { cellId: 'b' }, '/v1/cells');
    const list = await call('GET', '/v1/cells?limit=1', undefined, '/v1/cells');
    expect((list.body.cells as { cellId: string }[]).map((c) => c.cellId)).toEqual(['a']);
    expect(list.body.nextAfter).toBe('a');
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).body.ready).toBe(true);
    expect((await call('GET', '/v1/colony', undefined, '/v1/colony')).body.self).toBe('n1');
    const openapi = await call('GET', '/v1/openapi.json');
    expect(openapi.body.openapi).toBe('3.0.3');
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(
      /physalia_http_requests_total\{[^}]*route="\/v1\/cells"[^}]*status="201"[^}]*\} 2/,
    );
    expect(metrics.text).toContain('physalia_http_request_duration_seconds_bucket');
    expect(metrics.text).toMatch(/physalia_cells_hosted\{node="n1"\} 2/);
    expect(metrics.text).toContain('physalia_frames_dropped_total{reason="malformed",node="n1"} 0');
    expect(metrics.text).not.toContain('physalia_storage_');
  });

  it("exports the durable store's commits: duration with fsync, batches per commit, failed batches, its log", async () => {
    let observer: ((durationMs: number, batches: number) => void) | undefined;
    const storage = {
      counters: () => ({ batchesFailed: 1, checkpoints: 3, checkpointsFailed: 2, logBytes: 4096 }),
      onCommit: (observe: (durationMs: number, batches: number) => void) => {
        observer = observe;
      },
    };
    await app.close();
    app = buildApiServer({ node, topology: gridTopology(), clock: new AutoClock(), storage });
    observer?.(0.3, 1);
    observer?.(7, 39);
    const { text } = await call('GET', '/metrics');
    const line = (name: string): string | undefined => text.split('\n').find((row) => row.startsWith(name));
    expect(line('physalia_storage_commit_duration_seconds_bucket{le="0.0005",node="n1"}')).toMatch(/ 1$/);
    expect(line('physalia_storage_commit_duration_seconds_bucket{le="0.01",node="n1"}')).toMatch(/ 2$/);
    expect(line('physalia_storage_commit_duration_seconds_count{node="n1"}')).toMatch(/ 2$/);
    expect(line('physalia_storage_batches_per_commit_bucket{le="32",node="n1"}')).toMatch(/ 1$/);
    expect(line('physalia_storage_batches_per_commit_bucket{le="64",node="n1"}')).toMatch(/ 2$/);
    expect(line('physalia_storage_batches_per_commit_sum{node="n1"}')).toMatch(/ 40$/);
    expect(line('physalia_storage_batches_failed_total{node="n1"}')).toMatch(/ 1$/);
    expect(line('physalia_storage_checkpoints_total{node="n1"}')).toMatch(/ 3$/);
    expect(line('physalia_storage_checkpoints_failed_total{node="n1"}')).toMatch(/ 2$/);
    expect(line('physalia_storage_log_bytes{node="n1"}')).toMatch(/ 4096$/);
  });

  it("exports the process's own metrics (memory, heap, event loop, GC) only when asked, as a real node process does", async () => {
    expect((await call('GET', '/metrics')).text).not.toContain('process_resident_memory_bytes');
    await app.close();
    app = buildApiServer({ node, topology: gridTopology(), clock: new AutoClock(), processMetrics: true });
    const { text } = await call('GET', '/metrics');
    const value = (name: string): number => {
      const row = text.split('\n').find((line) => line.startsWith(`${name}{`));
      return Number(row?.split(' ').pop());
    };
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(1024 * 1024);
    expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds\{node="n1"\}/);
    expect(text).toContain('nodejs_gc_duration_seconds');
  });
});
