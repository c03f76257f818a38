// The HTTP API of one node (fastify 5): cells, transactions, scans and leases on top of the
// NodeService (any node accepts any request and the node forwards it), membership changes and
// moves (reconfig.ts), health, metrics, OpenAPI.
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../env/index.ts';
import { partitionKey, utf8ByteLength } from '../model/index.ts';
import type { Operation } from '../model/index.ts';
import type { CellId, CellRequest, NodeService, SubmitResponse } from '../node/index.ts';
import { nodeId } from '../paxos/index.ts';
import type { NodeId } from '../paxos/index.ts';
import { errorReply, submitErrorReply } from './errors.ts';
import type { ErrorReply } from './errors.ts';
import { decodeScanBody, decodeTransactionBody, encodeResultBody } from './json.ts';
import type { Decoded, ReadOptions } from './json.ts';
import { createApiMetrics } from './metrics.ts';
import type { StorageMetricsSource, TransportCounters } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { OperationTable } from './operations.ts';
import { changeMembers, getOperation, noop, startMove } from './reconfig.ts';
import { defaultReplicas, placeCell, replicasMax } from './placement.ts';
import type { TopologyEntry } from './placement.ts';

/** Largest request body accepted (413 beyond): a maximal transaction plus JSON/base64 overhead. */
export const defaultBodyBytesMax = 512 * 1024;
/** Longest cell id (partition key) in UTF-8 bytes, as the model bounds keys. */
export const cellIdBytesMax = 256;
/** Most cells one list page returns. */
export const listCellsLimitMax = 1000;

export interface ApiServerOptions {
  readonly node: NodeService;
  /** The colony's static topology (placement, and node id -> HTTP endpoint for clients). */
  readonly topology: readonly TopologyEntry[];
  readonly clock: Clock;
  readonly bodyBytesMax?: number;
  /** The transport's counters, exported as metrics (a real node's TcpNetwork.counters). */
  readonly transportCounters?: () => TransportCounters;
  /** The node's durable store, whose commits are exported as metrics (a real node's LmdbStorage). */
  readonly storage?: StorageMetricsSource;
  /** Exports the process's own metrics (memory, heap, event loop, GC): set by a real node process. */
  readonly processMetrics?: boolean;
}

type Reply = {
  readonly status: number;
  readonly body: unknown;
  readonly retryAfterSeconds?: number;
  readonly location?: string;
};

function send(reply: FastifyReply, answer: Reply | ErrorReply): FastifyReply {
  if (answer.retryAfterSeconds !== undefined)
    void reply.header('retry-after', String(answer.retryAfterSeconds));
  if ('location' in answer && answer.location !== undefined) void reply.header('location', answer.location);
  return reply.code(answer.status).send(answer.body);
}

function decodeCellId(candidate: unknown): Decoded<CellId> {
  if (typeof candidate !== 'string' || candidate.length === 0 || utf8ByteLength(candidate) > cellIdBytesMax) {
    return {
      kind: 'field-error',
      field: 'cellId',
      message: `cellId: expected 1..${cellIdBytesMax} UTF-8 bytes`,
    };
  }
  return { kind: 'ok', value: partitionKey(candidate) };
}

function invalid(error: { field: string; message: string }): ErrorReply {
  return errorReply('invalid', error.message, { field: error.field });
}

function isRecord(candidate: unknown): candidate is Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate);
}

/** Submits an operation and maps the answer to 200 (result) or an error reply. */
async function submitOperation(
  node: NodeService,
  cellId: CellId,
  decoded: Decoded<{ operation: Operation; options: ReadOptions }>,
): Promise<Reply | ErrorReply> {
  if (decoded.kind !== 'ok') return invalid(decoded);
  const response = await node.submit(cellId, {
    kind: 'operation',
    operation: decoded.value.operation,
    ...decoded.value.options,
  });
  if (response.kind === 'lease') return errorReply('internal', 'a lease answer to an operation');
  if (response.kind !== 'result') return submitErrorReply(cellId, response);
  const result = response.result;
  if (result.kind === 'rejected') return invalid(result.error);
  return { status: 200, body: encodeResultBody(result, response.index) };
}

function leaseRequest(action: string, name: string, body: unknown): Decoded<CellRequest> {
  if (!isRecord(body)) return { kind: 'field-error', field: 'body', message: 'body: expected a JSON object' };
  const holder = body.holder;
  if (typeof holder !== 'string')
    return { kind: 'field-error', field: 'holder', message: 'holder: expected a string' };
  if (action === 'release') return { kind: 'ok', value: { kind: 'lease-release', name, holder } };
  const durationMs = body.durationMs;
  if (typeof durationMs !== 'number' || !Number.isSafeInteger(durationMs)) {
    return { kind: 'field-error', field: 'durationMs', message: 'durationMs: expected an integer' };
  }
  const kind = action === 'acquire' ? 'lease-acquire' : 'lease-renew';
  return { kind: 'ok', value: { kind, name, holder, durationMs } };
}

async function submitLease(
  node: NodeService,
  cellId: CellId,
  request: CellRequest,
): Promise<Reply | ErrorReply> {
  const response: SubmitResponse = await node.submit(cellId, request);
  if (response.kind === 'result') return errorReply('internal', 'an operation answer to a lease request');
  if (response.kind !== 'lease') return submitErrorReply(cellId, response);
  const outcome = response.outcome;
  if (outcome.kind === 'invalid')
    return errorReply('invalid', outcome.reason, { field: outcome.reason.split(' ')[0] ?? 'body' });
  return { status: 200, body: { outcome, index: response.index } };
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join() === [...b].sort().join();
}

async function createCell(options: ApiServerOptions, body: unknown): Promise<Reply | ErrorReply> {
  if (!isRecord(body)) return invalid({ field: 'body', message: 'body: expected a JSON object' });
  const cellId = decodeCellId(body.cellId);
  if (cellId.kind !== 'ok') return invalid(cellId);
  let members: NodeId[];
  if (body.members !== undefined) {
    if (!Array.isArray(body.members) || body.members.length === 0 || body.members.length > replicasMax) {
      return invalid({ field: 'members', message: `members: expected 1..${replicasMax} node ids` });
    }
    const known = new Set(options.topology.map((entry) => entry.nodeId as string));
    for (const [index, member] of (body.members as unknown[]).entries()) {
      if (typeof member !== 'string' || !known.has(member)) {
        return invalid({
          field: `members[${index}]`,
          message: `members[${index}]: not a node of this colony`,
        });
      }
    }
    members = (body.members as string[]).map((member) => nodeId(member));
  } else {
    const replicas = body.replicas ?? Math.min(defaultReplicas, options.topology.length);
    if (
      typeof replicas !== 'number' ||
      !Number.isSafeInteger(replicas) ||
      replicas < 1 ||
      replicas > replicasMax
    ) {
      return invalid({ field: 'replicas', message: `replicas: expected an integer in 1..${replicasMax}` });
    }
    members = placeCell(cellId.value, options.topology, replicas);
  }
  // A cell id names one cell colony-wide: never create a second one on other members.
  const existing = await options.node.describeCell(cellId.value);
  switch (existing.kind) {
    case 'described':
    case 'moved': {
      const current = existing.kind === 'described' ? existing.summary.members : existing.members;
      if (existing.kind === 'described' && sameMembers(current, members)) {
        return { status: 200, body: { cellId: cellId.value, members: current, created: false } };
      }
      return errorReply('cell-exists', `cell exists with members ${current.join(',')}`, { members: current });
    }
    case 'unavailable':
      return errorReply('unavailable', `cannot tell whether the cell exists: ${existing.reason}`);
    case 'not-found':
      break;
  }
  const result = await options.node.createCell(cellId.value, members);
  switch (result.kind) {
    case 'created':
      return { status: 201, body: { cellId: result.cellId, members: result.members, created: true } };
    case 'exists':
      if (!sameMembers(members, result.members)) {
        return errorReply('cell-exists', `cell exists with members ${result.members.join(',')}`, {
          members: result.members,
        });
      }
      return { status: 200, body: { cellId: result.cellId, members: result.members, created: false } };
    case 'invalid':
      return invalid({ field: 'members', message: result.reason });
    case 'unavailable':
      return errorReply('unavailable', `cell creation not acknowledged by a quorum: ${result.reason}`);
  }
}

async function describeCell(node: NodeService, cellId: CellId): Promise<Reply | ErrorReply> {
  const result = await node.describeCell(cellId);
  switch (result.kind) {
    case 'described':
      return { status: 200, body: { cellId, ...result.summary, answeredBy: result.answeredBy } };
    case 'not-found':
      return submitErrorReply(cellId, result);
    case 'moved':
      return submitErrorReply(cellId, result);
    case 'unavailable':
      return errorReply('unavailable', result.reason);
  }
}

function listCells(node: NodeService, query: unknown): Reply | ErrorReply {
  const params = isRecord(query) ? query : {};
  const limit = params.limit === undefined ? 100 : Number(params.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > listCellsLimitMax) {
    return invalid({ field: 'limit', message: `limit: expected an integer in 1..${listCellsLimitMax}` });
  }
  const after = typeof params.after === 'string' ? { afterCellId: partitionKey(params.after) } : {};
  const cells = node.listCells({ ...after, limit });
  const last = cells.length === limit ? cells[cells.length - 1] : undefined;
  return {
    status: 200,
    body: { node: node.self, cells, ...(last === undefined ? {} : { nextAfter: last.cellId }) },
  };
}

function readiness(options: ApiServerOptions): Reply {
  const live = options.node.peers().filter((peer) => peer.live).length + 1;
  const quorum = Math.floor(options.topology.length / 2) + 1;
  const ready = live >= quorum;
  return { status: ready ? 200 : 503, body: { ready, livePeers: live - 1, quorum } };
}

/** Maps fastify's own errors (body parsing, size) to the API's error bodies. */
function frameworkError(error: { code?: string; statusCode?: number; message: string }): ErrorReply {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
    return errorReply('too-large', 'request body too large', { field: 'body' });
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415) {
    return errorReply('unsupported-media-type', 'send application/json', { field: 'content-type' });
  }
  if (error.statusCode === 400)
    return errorReply('malformed-json', `body: ${error.message}`, { field: 'body' });
  return errorReply('internal', 'internal error');
}

type Handler = (request: FastifyRequest) => Promise<Reply | ErrorReply> | Reply | ErrorReply;

/** Builds (does not start) the API server of one node. */
export function buildApiServer(options: ApiServerOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyBytesMax ?? defaultBodyBytesMax, logger: false });
  const metrics = createApiMetrics(
    options.node,
    options.transportCounters,
    options.storage,
    options.processMetrics === true,
  );
  const { node, clock } = options;
  const route = (method: 'GET' | 'POST', url: string, handler: Handler): void => {
    app.route({
      method,
      url,
      handler: async (request, reply) => {
        const startedMs = clock.monotonicMs();
        const answer = await handler(request);
        metrics.observe(url, method, answer.status, (clock.monotonicMs() - startedMs) / 1000);
        return send(reply, answer);
      },
    });
  };
  const withCell =
    (handle: (cellId: CellId, request: FastifyRequest) => Promise<Reply | ErrorReply>): Handler =>
    (request) => {
      const cellId = decodeCellId((request.params as { cellId?: unknown }).cellId);
      return cellId.kind === 'ok' ? handle(cellId.value, request) : invalid(cellId);
    };
  route('GET', '/healthz', () => ({ status: 200, body: { ok: true, node: node.self } }));
  route('GET', '/readyz', () => readiness(options));
  route('GET', '/v1/openapi.json', () => ({ status: 200, body: openApiDocument }));
  route('GET', '/v1/colony', () => ({ status: 200, body: { self: node.self, nodes: options.topology } }));
  route('GET', '/v1/cells', (request) => listCells(node, request.query));
  route('POST', '/v1/cells', (request) => createCell(options, request.body));
  route(
    'GET',
    '/v1/cells/:cellId',
    withCell((cellId) => describeCell(node, cellId)),
  );
  route(
    'POST',
    '/v1/cells/:cellId/txn',
    withCell((cellId, request) => submitOperation(node, cellId, decodeTransactionBody(request.body))),
  );
  route(
    'POST',
    '/v1/cells/:cellId/scan',
    withCell((cellId, request) => submitOperation(node, cellId, decodeScanBody(request.body))),
  );
  const operations = new OperationTable(node, clock);
  const nodes = new Set(options.topology.map((entry) => entry.nodeId as string));
  route(
    'POST',
    '/v1/cells/:cellId/members',
    withCell((cellId, request) => changeMembers(node, operations, nodes, cellId, request.body)),
  );
  route(
    'POST',
    '/v1/cells/:cellId/move',
    withCell((cellId, request) => startMove(node, operations, nodes, cellId, request.body)),
  );
  route(
    'POST',
    '/v1/cells/:cellId/noop',
    withCell((cellId) => noop(node, cellId)),
  );
  route('GET', '/v1/operations/:operationId', (request) =>
    getOperation(operations, (request.params as { operationId: string }).operationId, request.query),
  );
  for (const action of ['acquire', 'renew', 'release'] as const) {
    route(
      'POST',
      `/v1/cells/:cellId/leases/:name/${action}`,
      withCell(async (cellId, request) => {
        const lease = leaseRequest(action, (request.params as { name: string }).name, request.body);
        return lease.kind === 'ok' ? submitLease(node, cellId, lease.value) : invalid(lease);
      }),
    );
  }
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      errorReply('route-not-found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );
  app.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, request, reply) => {
    const answer = frameworkError(error);
    metrics.observe(request.routeOptions.url ?? 'unknown', request.method, answer.status, 0);
    return send(reply, answer);
  });
  return app;
}
