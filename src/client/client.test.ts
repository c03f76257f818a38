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
