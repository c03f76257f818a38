// The SDK against the real API server on a fake node (through fastify inject as the transport):
// helpers, paging, routing to the leader, bounded backoff, no blind retry of unknown outcomes,
// sessions, and the holder-side lease window.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { SeededRandom } from '../env/index.ts';
import { buildApiServer } from '../api/server.ts';
import { AutoClock, FakeNode, gridTopology } from '../api/testing/fake-node.ts';
import { partitionKey } from '../model/index.ts';
import { connect, Lease } from './index.ts';
import type { HttpAnswer, HttpRequest, HttpTransport, PhysaliaClient } from './index.ts';

class InjectTransport implements HttpTransport {
  readonly sent: HttpRequest[] = [];
  /** Endpoints that refuse connections (never sent). */
  readonly down = new Set<string>();
  /** Answers `failed, sent: true` to the next N requests. */
  lostAnswers = 0;
  constructor(private readonly app: FastifyInstance) {}
  async request(request: HttpRequest): Promise<HttpAnswer> {
    this.sent.push(request);
    if (this.down.has(request.endpoint)) return { kind: 'failed', sent: false, reason: 'ECONNREFUSED' };
    if (this.lostAnswers > 0) {
      this.lostAnswers -= 1;
      return { kind: 'failed', sent: true, reason: 'socket hang up' };
    }
    const response = await this.app.inject({
      method: request.method,
      url: request.path,
      ...(request.body === undefined ? {} : { payload: request.body as object }),
    });
    const retryAfter = response.headers['retry-after'];
    return {
      kind: 'response',
      status: response.statusCode,
      body: response.json<unknown>(),
      ...(retryAfter === undefined ? {} : { retryAfterMs: Number(retryAfter) * 1000 }),
    };
  }
  txnEndpoints(): string[] {
    return this.sent.filter((r) => r.path.endsWith('/txn')).map((r) => r.endpoint);
  }
}

let node: FakeNode;
let app: FastifyInstance;
let transport: InjectTransport;
let clock: AutoClock;
let client: PhysaliaClient;

beforeEach(async () => {
  node = new FakeNode();
  clock = new AutoClock();
  app = buildApiServer({ node, topology: gridTopology(), clock });
  transport = new InjectTransport(app);
  client = connect({
    endpoints: ['127.0.0.1:18005', '127.0.0.1:18006'],
    clock,
    random: new SeededRandom(7),
    transport,
  });
  await node.createCell(
    partitionKey('vol'),
    gridTopology()
      .slice(0, 3)
      .map((t) => t.nodeId),
  );
});
afterEach(async () => app.close());

const text = (value: unknown): string => new TextDecoder().decode(value as Uint8Array);

describe('client SDK', () => {
  it('puts, gets, increments, compare-and-sets (failing and passing) and deletes', async () => {
    const cell = client.cell('vol');
    expect((await cell.put('primary', 'n7')).kind).toBe('committed');
    const got = await cell.get('primary');
    expect(got.kind === 'found' && text(got.value)).toBe('n7');
    expect(await cell.increment('epoch')).toMatchObject({ kind: 'incremented', value: 1n });
    expect(await cell.increment('epoch', 41n)).toMatchObject({ kind: 'incremented', value: 42n });
    const failed = await cell.compareAndSet('primary', 'n3', 'n9');
    expect(failed).toMatchObject({
      kind: 'not-committed',
      failure: { kind: 'condition-failed', key: 'primary', reason: 'not-equal' },
    });
    expect(await cell.compareAndSet('primary', 'n7', 'n9')).toMatchObject({ kind: 'committed' });
    expect(await cell.compareAndSet('fresh', undefined, true)).toMatchObject({ kind: 'committed' });
    expect(await cell.compareAndSet('fresh', undefined, true)).toMatchObject({
      kind: 'not-committed',
      failure: { reason: 'present' },
    });
    expect((await cell.delete('primary')).kind).toBe('committed');
    expect((await cell.get('primary')).kind).toBe('missing');
  });

  it('scans every key in pages with the iterator', async () => {
    const cell = client.cell('vol');
    await cell.txn({
      writes: Array.from({ length: 10 }, (_, i) => ({
        kind: 'put' as const,
        key: `k/${String(i).padStart(2, '0')}`,
        value: BigInt(i),
      })),
    });
    const keys: string[] = [];
    let pages = 0;
    for await (const page of cell.scan({ prefix: 'k/' }, { pageSize: 4 })) {
      if (page.kind !== 'page') throw new Error(page.message);
      pages += 1;
      keys.push(...page.entries.map((e) => e.key));
    }
    expect(pages).toBe(3);
    expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => `k/${String(i).padStart(2, '0')}`));
  });

  it('returns typed errors: unknown cell, invalid field', async () => {
    expect(await client.cell('nope').get('a')).toMatchObject({ kind: 'cell-not-found' });
    expect(await client.cell('vol').put('k'.repeat(300), 'x')).toMatchObject({
      kind: 'invalid',
      field: 'writes[0].key',
    });
  });

  it('learns the cell leader and sends there; skips refusing endpoints', async () => {
    const cell = client.cell('vol');
    await cell.put('a', 'b');
    await cell.put('a', 'c');
    // FakeNode says the leader is n1, whose API is 127.0.0.1:18001 in the topology.
    expect(transport.txnEndpoints()).toEqual(['127.0.0.1:18001', '127.0.0.1:18001']);
    transport.down.add('127.0.0.1:18001');
    expect((await cell.put('a', 'd')).kind).toBe('committed');
    expect(transport.txnEndpoints().slice(2)).toEqual(['127.0.0.1:18001', '127.0.0.1:18002']);
  });

  it('retries overloaded with backoff no shorter than Retry-After, then succeeds', async () => {
    const cell = client.cell('vol');
    await cell.get('warm');
    node.scripted.set('vol', [
      { kind: 'overloaded', retryAfterMs: 1000 },
      { kind: 'unavailable', reason: 'no quorum' },
    ]);
    clock.delaysMs.length = 0;
    expect((await cell.put('a', 'b')).kind).toBe('committed');
    expect(clock.delaysMs.length).toBe(2);
    expect(clock.delaysMs[0]).toBeGreaterThanOrEqual(1000);
    expect(clock.delaysMs[1]).toBeLessThan(40); // full jitter under base * 2^1
  });

  it('gives up after attemptsMax with unavailable, delays capped and growing at most exponentially', async () => {
    const limited = connect({
      endpoints: ['127.0.0.1:18005'],
      clock,
      random: new SeededRandom(1),
      transport,
      retry: { attemptsMax: 5, baseDelayMs: 100, maxDelayMs: 300 },
    });
    const cell = limited.cell('vol');
    await cell.get('warm');
    node.scripted.set(
      'vol',
      Array.from({ length: 10 }, () => ({ kind: 'unavailable' as const, reason: 'down' })),
    );
    clock.delaysMs.length = 0;
    const result = await cell.put('a', 'b');
    expect(result).toMatchObject({ kind: 'unavailable', attempts: 5 });
    expect(clock.delaysMs.length).toBe(4);
    clock.delaysMs.forEach((delay, n) => expect(delay).toBeLessThan(Math.min(300, 100 * 2 ** n)));
    expect(node.cells.get('vol')!.state.entryCount).toBe(0);
  });

  it('gives up when the time budget would be exceeded', async () => {
    const limited = connect({
      endpoints: ['127.0.0.1:18005'],
      clock,
      random: new SeededRandom(1),
      transport,
      retry: { totalMs: 2500 },
    });
    const cell = limited.cell('vol');
    await cell.get('warm');
    node.scripted.set(
      'vol',
      Array.from({ length: 10 }, () => ({ kind: 'overloaded' as const, retryAfterMs: 1000 })),
    );
    const started = clock.monotonicMs();
    expect(await cell.put('a', 'b')).toMatchObject({ kind: 'unavailable', attempts: 3 });
    expect(clock.monotonicMs() - started).toBeLessThanOrEqual(2500);
  });

  it('does not retry a write whose outcome is unknown unless asked; retries reads', async () => {
    const cell = client.cell('vol');
    await cell.get('warm');
    node.scripted.set('vol', [{ kind: 'outcome-unknown' }]);
    const before = node.submitted.length;
    expect(await cell.put('a', 'b')).toMatchObject({ kind: 'outcome-unknown' });
    expect(node.submitted.length - before).toBe(1);
    transport.lostAnswers = 1; // an answer lost in the network: also unknown
    expect(await cell.put('a', 'b')).toMatchObject({ kind: 'outcome-unknown' });
    node.scripted.set('vol', [{ kind: 'outcome-unknown' }]);
    expect((await client.cell('vol', { retryOutcomeUnknown: true }).put('a', 'c')).kind).toBe('committed');
    node.scripted.set('vol', [{ kind: 'outcome-unknown' }]);
    transport.lostAnswers = 1;
    expect((await cell.get('a')).kind).toBe('found');
  });

  it('sends the session token with eventual reads (monotonic reads)', async () => {
    const session = client.newSession();
    const strong = client.cell('vol', { session });
    const written = await strong.put('a', 'b');
    const eventual = client.cell('vol', { consistency: 'eventual', session });
    await eventual.get('a');
    const last = node.submitted.at(-1)!.request;
    expect(last).toMatchObject({
      consistency: 'eventual',
      sessionIndex: written.kind === 'committed' ? written.index : -1,
    });
    expect(session.token('vol')).toBeGreaterThan(written.kind === 'committed' ? written.index : 0);
  });

  it('holds a lease from its send time for durationMs / 3 of local time; refusals are typed', async () => {
    const cell = client.cell('vol');
    await cell.get('warm');
    const sentAt = clock.monotonicMs();
    const lease = await cell.acquireLease('primary', 'me', 9000);
    if (!(lease instanceof Lease)) throw new Error(`not granted: ${lease.kind}`);
    expect(lease.validUntilMs).toBe(sentAt + 3000);
    expect(lease.isValid()).toBe(true);
    expect(await cell.acquireLease('primary', 'you', 9000)).toMatchObject({
      kind: 'held-by-other',
      holder: 'me',
    });
    clock.now += 3000;
    expect(lease.isValid()).toBe(false);
    const renewed = await cell.renewLease(lease);
    expect(renewed instanceof Lease && renewed.isValid()).toBe(true);
    expect(await cell.releaseLease('primary', 'me')).toEqual({ kind: 'released' });
    expect(await cell.releaseLease('primary', 'me')).toMatchObject({ kind: 'not-holder' });
  });

  it('creates cells and describes them', async () => {
    expect(await client.createCell('new', { replicas: 3 })).toMatchObject({ kind: 'created' });
    expect(await client.createCell('new', { replicas: 3 })).toMatchObject({ kind: 'exists' });
    expect(await client.describeCell('new')).toMatchObject({ kind: 'described', leaderHint: 'n1' });
    expect(await client.describeCell('none')).toMatchObject({ kind: 'cell-not-found' });
  });
});

describe('client SDK: membership changes and moves (paper §2.4)', () => {
  it('adds, replaces and removes members; the added node runs a fresh incarnation', async () => {
    const added = await client.addMember('vol', 'n4');
    expect(added).toMatchObject({ kind: 'changed', change: { kind: 'add', node: 'n4#1' }, retired: true });
    const replaced = await client.replaceMember('vol', 'n1', 'n5', { timeoutMs: 9_000 });
    expect(replaced).toMatchObject({ change: { kind: 'replace', remove: 'n1', add: 'n5#2' } });
    expect(await client.removeMember('vol', 'n4#1')).toMatchObject({ members: ['n2', 'n3', 'n5#2'] });
    expect(node.changes.map((change) => change.timeoutMs)).toEqual([60_000, 9_000, 60_000]);
    // Routing follows incarnation ids: the router maps n5#2 to node n5's endpoint (the fake
    // node says n1 leads, so n1 comes first, then the members).
    expect(await client.describeCell('vol')).toMatchObject({ members: ['n2', 'n3', 'n5#2'] });
    expect(client.caller.router.candidates('vol').slice(0, 4).sort()).toEqual([
      '127.0.0.1:18001',
      '127.0.0.1:18002',
      '127.0.0.1:18003',
      '127.0.0.1:18005',
    ]);
  });

  it('returns typed refusals and does not resend a change whose answer was lost', async () => {
    expect(await client.addMember('vol', 'n2')).toMatchObject({
      kind: 'invalid-change',
      message: 'n2 already hosts member n2',
    });
    expect(await client.addMember('vol', 'n99')).toMatchObject({ kind: 'invalid', field: 'add' });
    expect(await client.addMember('nope', 'n4')).toMatchObject({ kind: 'cell-not-found' });
    node.scriptedChanges.set('vol', [{ kind: 'config-change-in-progress' }]);
    expect(await client.addMember('vol', 'n4')).toMatchObject({ kind: 'change-in-progress' });
    await client.learnNodes();
    transport.lostAnswers = 1;
    expect(await client.addMember('vol', 'n4')).toMatchObject({ kind: 'outcome-unknown' });
    expect(transport.sent.filter((request) => request.path.endsWith('/members'))).toHaveLength(5);
    expect(transport.sent.at(-1)!.timeoutMs).toBe(65_000); // the server's deadline plus the answer's travel
  });

  it('moves a cell: starts the operation and polls the node running it until it ends', async () => {
    const seen: number[] = [];
    const moved = await client.moveCell('vol', ['n4', 'n5', 'n6'], {
      onProgress: (operation) => seen.push(operation.steps.length),
    });
    expect(moved).toMatchObject({ kind: 'operation', state: 'succeeded', members: ['n4#1', 'n5#2', 'n6#3'] });
    if (moved.kind !== 'operation') return;
    expect(moved.steps.map((step) => step.change.kind)).toEqual(['replace', 'replace', 'replace']);
    expect(seen.at(-1)).toBe(3);
    const polled = await client.operation(moved.id, moved.endpoint);
    expect(polled).toMatchObject({ id: moved.id, state: 'succeeded' });
    expect(await client.operation('n1-none-1', moved.endpoint)).toMatchObject({
      kind: 'operation-not-found',
    });
    expect(await client.noop('vol')).toMatchObject({ kind: 'noop-chosen' });
  });

  it('reports a move that failed at a step, with the steps done', async () => {
    node.scriptedChanges.set('vol', [{ kind: 'invalid-change', reason: 'n9 is full' }]);
    const moved = await client.moveCell('vol', ['n9']);
    expect(moved).toMatchObject({ state: 'failed', steps: [], error: { code: 'invalid-change' } });
  });
});
