// The reconfiguration routes of the HTTP API against the fake node (paper §2.4): a membership
// change answered when complete, a move as a polled operation, an explicit no-op, and every
// typed refusal with its status (400 invalid / invalid-change, 404, 409, 503 + Retry-After, 504),
// each response checked against the OpenAPI document.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { partitionKey } from '../model/index.ts';
import { nodeId } from '../paxos/index.ts';
import { buildApiServer } from './server.ts';
import { documented, shapeErrors } from './testing/openapi-shape.ts';
import { AutoClock, FakeNode, gridTopology } from './testing/fake-node.ts';

let app: FastifyInstance;
let node: FakeNode;
let clock: AutoClock;

async function call(method: 'GET' | 'POST', url: string, body?: unknown, template?: string) {
  const response = await app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as object }),
  });
  const parsed = response.json<Record<string, unknown>>();
  if (template !== undefined)
    expect(
      shapeErrors(parsed, documented(template, method === 'GET' ? 'get' : 'post', response.statusCode)),
    ).toEqual([]);
  return { status: response.statusCode, body: parsed, headers: response.headers };
}

const members = '/v1/cells/{cellId}/members';
const move = '/v1/cells/{cellId}/move';
const operation = '/v1/operations/{operationId}';

async function flushMicrotasks(): Promise<void> {
  for (let round = 0; round < 20; round += 1) await Promise.resolve();
}

beforeEach(async () => {
  node = new FakeNode();
  clock = new AutoClock();
  app = buildApiServer({ node, topology: gridTopology(), clock });
  await node.createCell(
    partitionKey('vol/a'),
    ['n1', 'n2', 'n3'].map((id) => nodeId(id)),
  );
});
afterEach(async () => app.close());

describe('HTTP API: membership changes (paper §2.4)', () => {
  it('adds, replaces and removes one member; the new member is a fresh incarnation', async () => {
    const added = await call('POST', '/v1/cells/vol%2Fa/members', { add: 'n4' }, members);
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({
      cellId: 'vol/a',
      change: { kind: 'add', node: 'n4#1' },
      members: ['n1', 'n2', 'n3', 'n4#1'],
      retired: true,
    });
    const replaced = await call(
      'POST',
      '/v1/cells/vol%2Fa/members',
      { replace: { remove: 'n1', add: 'n5' } },
      members,
    );
    expect(replaced.body).toMatchObject({
      change: { kind: 'replace', remove: 'n1', add: 'n5#2' },
      members: ['n2', 'n3', 'n4#1', 'n5#2'],
    });
    const removed = await call(
      'POST',
      '/v1/cells/vol%2Fa/members',
      { remove: 'n4#1', timeoutMs: 5_000 },
      members,
    );
    expect(removed.body).toMatchObject({
      change: { kind: 'remove', node: 'n4#1' },
      members: ['n2', 'n3', 'n5#2'],
    });
    expect(node.changes.map((change) => change.timeoutMs)).toEqual([60_000, 60_000, 5_000]);
    const described = await call('GET', '/v1/cells/vol%2Fa', undefined, '/v1/cells/{cellId}');
    expect(described.body.members).toEqual(['n2', 'n3', 'n5#2']);
  });

  it('answers 400 naming the field for a malformed change, and changes nothing', async () => {
    const cases: [unknown, string][] = [
      [{}, 'body'],
      [{ add: 'n4', remove: 'n1' }, 'body'],
      [{ add: 'n99' }, 'add'],
      [{ add: 'n4#2' }, 'add'],
      [{ add: 7 }, 'add'],
      [{ remove: 'x#1' }, 'remove'],
      [{ replace: { remove: 'n1' } }, 'replace.add'],
      [{ replace: 'n1' }, 'replace'],
      [{ add: 'n4', timeoutMs: 0 }, 'timeoutMs'],
    ];
    for (const [body, field] of cases) {
      const answer = await call('POST', '/v1/cells/vol%2Fa/members', body, members);
      expect([answer.status, answer.body.code, answer.body.field], JSON.stringify(body)).toEqual([
        400,
        'invalid',
        field,
      ]);
    }
    expect(node.changes).toEqual([]);
  });

  it('maps refusals: 400 invalid-change, 404 unknown or moved, 409 in progress, 503 with Retry-After, 504', async () => {
    const existing = await call('POST', '/v1/cells/vol%2Fa/members', { add: 'n2' }, members);
    expect([existing.status, existing.body.code, existing.body.message]).toEqual([
      400,
      'invalid-change',
      'n2 already hosts member n2',
    ]);
    const notMember = await call('POST', '/v1/cells/vol%2Fa/members', { remove: 'n9' }, members);
    expect([notMember.status, notMember.body.code]).toEqual([400, 'invalid-change']);
    const unknown = await call('POST', '/v1/cells/nope/members', { add: 'n4' }, members);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'cell-not-found']);
    node.scriptedChanges.set('vol/a', [
      { kind: 'config-change-in-progress' },
      { kind: 'unavailable', reason: 'no leader' },
      { kind: 'incomplete', reason: 'the change may have been chosen' },
      { kind: 'moved', cellId: partitionKey('vol/a'), members: [nodeId('n7'), nodeId('n8#2')] },
    ]);
    const body = { add: 'n4' };
    const busy = await call('POST', '/v1/cells/vol%2Fa/members', body, members);
    expect([busy.status, busy.body.code]).toEqual([409, 'change-in-progress']);
    const noLeader = await call('POST', '/v1/cells/vol%2Fa/members', body, members);
    expect([noLeader.status, noLeader.body.code, noLeader.headers['retry-after']]).toEqual([
      503,
      'unavailable',
      '1',
    ]);
    const incomplete = await call('POST', '/v1/cells/vol%2Fa/members', body, members);
    expect([incomplete.status, incomplete.body.code]).toEqual([504, 'outcome-unknown']);
    expect(incomplete.body.message).toContain('describe the cell');
    const moved = await call('POST', '/v1/cells/vol%2Fa/members', body, members);
    expect([moved.status, moved.body.code, moved.body.members]).toEqual([404, 'cell-moved', ['n7', 'n8#2']]);
    expect((await call('GET', '/v1/cells/vol%2Fa')).body.members).toEqual(['n1', 'n2', 'n3']);
  });

  it('chooses an explicit no-op; 503 with Retry-After without a leader; 404 for an unknown cell', async () => {
    const chosen = await call('POST', '/v1/cells/vol%2Fa/noop', undefined, '/v1/cells/{cellId}/noop');
    expect([chosen.status, chosen.body.index]).toEqual([200, 1]);
    node.scriptedAdmin.set('vol/a', [{ kind: 'not-leader', leaderHint: undefined }]);
    const noLeader = await call('POST', '/v1/cells/vol%2Fa/noop', undefined, '/v1/cells/{cellId}/noop');
    expect([noLeader.status, noLeader.body.code, noLeader.headers['retry-after']]).toEqual([
      503,
      'unavailable',
      '1',
    ]);
    const unknown = await call('POST', '/v1/cells/nope/noop', undefined, '/v1/cells/{cellId}/noop');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'cell-not-found']);
  });
});

describe('HTTP API: moves as operations', () => {
  it('starts a move (202 + Location), shows it running, refuses a second change meanwhile, then succeeded', async () => {
    let open: () => void = () => {};
    node.moveGate = new Promise<void>((resolve) => (open = resolve));
    const started = await call('POST', '/v1/cells/vol%2Fa/move', { to: ['n4', 'n5', 'n6'] }, move);
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    expect(started.headers.location).toBe(`/v1/operations/${encodeURIComponent(id)}`);
    expect(started.body).toMatchObject({
      kind: 'move',
      cellId: 'vol/a',
      node: 'n1',
      to: ['n4', 'n5', 'n6'],
      state: 'running',
    });
    const polled = await call('GET', `/v1/operations/${id}?waitMs=2000`, undefined, operation);
    expect(polled.body).toMatchObject({ state: 'running', steps: [{ change: { kind: 'replace' } }] });
    expect(clock.delaysMs).toContain(2000); // the long poll waited (the fake clock fires at once)
    const second = await call('POST', '/v1/cells/vol%2Fa/members', { add: 'n7' }, members);
    expect([second.status, second.body.code, second.body.operationId]).toEqual([
      409,
      'change-in-progress',
      id,
    ]);
    const again = await call('POST', '/v1/cells/vol%2Fa/move', { to: ['n7'] }, move);
    expect(again.status).toBe(409);
    open();
    await flushMicrotasks();
    const done = await call('GET', `/v1/operations/${id}`, undefined, operation);
    expect(done.body).toMatchObject({ state: 'succeeded', members: ['n4#1', 'n5#2', 'n6#3'] });
    expect(done.body.steps).toHaveLength(3);
    expect(typeof done.body.finishedAtMs).toBe('number');
  });

  it('reports a failed move with the error of the step that failed and the steps done', async () => {
    node.scriptedChanges.set('vol/a', [{ kind: 'unavailable', reason: 'n9 did not answer' }]);
    const started = await call('POST', '/v1/cells/vol%2Fa/move', { to: ['n1', 'n2', 'n9'] }, move);
    await flushMicrotasks();
    const done = await call('GET', `/v1/operations/${started.body.id as string}`, undefined, operation);
    expect(done.body).toMatchObject({ state: 'failed', error: { code: 'unavailable' }, steps: [] });
    expect((done.body.error as { message: string }).message).toContain('n9 did not answer');
  });

  it('answers 400 for bad targets, 404 for an unknown cell or operation', async () => {
    for (const [body, field] of [
      [{}, 'to'],
      [{ to: [] }, 'to'],
      [{ to: ['n1', 'n1'] }, 'to[1]'],
      [{ to: ['n1', 'zz'] }, 'to[1]'],
      [{ to: ['n1#3'] }, 'to[0]'],
    ] as const) {
      const answer = await call('POST', '/v1/cells/vol%2Fa/move', body, move);
      expect([answer.status, answer.body.field], JSON.stringify(body)).toEqual([400, field]);
    }
    const unknown = await call('POST', '/v1/cells/nope/move', { to: ['n1'] }, move);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'cell-not-found']);
    const missing = await call('GET', '/v1/operations/n1-x-9', undefined, operation);
    expect([missing.status, missing.body.code]).toEqual([404, 'operation-not-found']);
    const badWait = await call('GET', '/v1/operations/n1-x-9?waitMs=-1', undefined, operation);
    expect([badWait.status, badWait.body.field]).toEqual([400, 'waitMs']);
  });
});
