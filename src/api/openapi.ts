// The OpenAPI 3 document of the HTTP API, served at /v1/openapi.json. Hand-written; the API
// tests check real responses against these schemas (types, required fields, enums).

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown): unknown => ({ 'application/json': { schema } });
const errorResponses = {
  '400': { description: 'Malformed input; `field` names it', content: json(ref('Error')) },
  '404': {
    description: 'Unknown cell (`cell-not-found`) or moved (`cell-moved`, with `members`)',
    content: json(ref('Error')),
  },
  '413': { description: 'Body larger than the server limit', content: json(ref('Error')) },
  '503': {
    description: '`overloaded` (with Retry-After), `unavailable` or `behind`: nothing applied, safe to retry',
    content: json(ref('Error')),
  },
  '504': { description: '`outcome-unknown`: may or may not have been applied', content: json(ref('Error')) },
};
const reconfigureErrors = {
  '400': {
    description:
      'Malformed body (`invalid`, with `field`) or a change that does not fit the cell (`invalid-change`)',
    content: json(ref('Error')),
  },
  '404': errorResponses['404'],
  '409': {
    description: '`change-in-progress`: another change or move of the cell runs; retry once it is done',
    content: json(ref('Error')),
  },
  '503': {
    description:
      '`unavailable` (no leader, new node unreachable; with Retry-After): nothing changed, safe to retry',
    content: json(ref('Error')),
  },
  '504': {
    description:
      '`outcome-unknown`: the deadline passed after the change may have been chosen; describe the cell',
    content: json(ref('Error')),
  },
};
const cellParam = {
  name: 'cellId',
  in: 'path',
  required: true,
  description: 'The partition key (URL-encoded; may contain "/")',
  schema: { type: 'string' },
};
const readOptions = {
  consistency: { type: 'string', enum: ['consistent', 'eventual'] },
  sessionIndex: { type: 'integer', minimum: 0, description: 'Session token: the largest index seen' },
};

const schemas = {
  Value: {
    type: 'object',
    description: 'Exactly one of bytes (base64), int (decimal string), bool, string (UTF-8 bytes)',
    properties: {
      bytes: { type: 'string', format: 'byte' },
      int: { type: 'string', pattern: '^-?[0-9]+$' },
      bool: { type: 'boolean' },
      string: { type: 'string' },
    },
  },
  Condition: {
    type: 'object',
    required: ['kind', 'key'],
    properties: {
      kind: { type: 'string', enum: ['exists', 'absent', 'equals', 'version-equals', 'compare'] },
      key: { type: 'string' },
      value: ref('Value'),
      version: { type: 'integer' },
      comparison: { type: 'string', enum: ['lt', 'le', 'gt', 'ge'] },
      operand: { type: 'string' },
    },
  },
  Write: {
    type: 'object',
    required: ['kind', 'key'],
    properties: {
      kind: { type: 'string', enum: ['put', 'delete', 'increment'] },
      key: { type: 'string' },
      value: ref('Value'),
      delta: { type: 'string' },
    },
  },
  Read: {
    type: 'object',
    required: ['key', 'found'],
    properties: {
      key: { type: 'string' },
      found: { type: 'boolean' },
      value: ref('Value'),
      version: { type: 'integer' },
    },
  },
  Failure: {
    type: 'object',
    required: ['kind'],
    properties: {
      kind: { type: 'string', enum: ['condition-failed', 'write-failed', 'partition-full'] },
      index: { type: 'integer' },
      key: { type: 'string' },
      reason: { type: 'string' },
    },
  },
  TransactionResult: {
    type: 'object',
    required: ['committed', 'index', 'reads'],
    properties: {
      committed: { type: 'boolean' },
      index: { type: 'integer', description: 'Log position (session token)' },
      reads: { type: 'array', items: ref('Read') },
      failure: ref('Failure'),
    },
  },
  ScanResult: {
    type: 'object',
    required: ['index', 'entries'],
    properties: {
      index: { type: 'integer' },
      entries: {
        type: 'array',
        items: {
          type: 'object',
          required: ['key', 'value', 'version'],
          properties: { key: { type: 'string' }, value: ref('Value'), version: { type: 'integer' } },
        },
      },
      nextCursor: { type: 'string' },
    },
  },
  CellCreated: {
    type: 'object',
    required: ['cellId', 'members', 'created'],
    properties: {
      cellId: { type: 'string' },
      members: { type: 'array', items: { type: 'string' } },
      created: { type: 'boolean' },
    },
  },
  CellDescription: {
    type: 'object',
    required: ['cellId', 'members', 'isLeader', 'appliedIndex', 'commitIndex', 'digest', 'answeredBy'],
    properties: {
      cellId: { type: 'string' },
      members: { type: 'array', items: { type: 'string' } },
      isLeader: { type: 'boolean' },
      leaderHint: { type: 'string' },
      appliedIndex: { type: 'integer' },
      commitIndex: { type: 'integer' },
      digest: { type: 'string' },
      pendingRequests: { type: 'integer' },
      answeredBy: { type: 'string' },
    },
  },
  CellList: {
    type: 'object',
    required: ['node', 'cells'],
    properties: {
      node: { type: 'string' },
      cells: {
        type: 'array',
        items: {
          type: 'object',
          required: ['cellId', 'member', 'members', 'loaded'],
          properties: {
            cellId: { type: 'string' },
            member: { type: 'string', description: 'The member id this node runs the cell as' },
            members: { type: 'array', items: { type: 'string' } },
            loaded: { type: 'boolean' },
          },
        },
      },
      nextAfter: { type: 'string' },
    },
  },
  LeaseResult: {
    type: 'object',
    required: ['outcome', 'index'],
    properties: {
      index: { type: 'integer' },
      outcome: {
        type: 'object',
        required: ['kind'],
        properties: {
          kind: { type: 'string', enum: ['granted', 'held-by-other', 'not-holder', 'released'] },
          holder: { type: 'string' },
          durationMs: { type: 'integer' },
          holderValidMs: { type: 'integer', description: 'Valid from when the holder SENT the request' },
          grantIndex: { type: 'integer' },
        },
      },
    },
  },
  MembershipChange: {
    type: 'object',
    description: 'A single-node change in member ids (`node#k` is the k-th incarnation on that node)',
    required: ['kind'],
    properties: {
      kind: { type: 'string', enum: ['add', 'remove', 'replace'] },
      node: { type: 'string', description: 'add and remove' },
      remove: { type: 'string', description: 'replace' },
      add: { type: 'string', description: 'replace' },
    },
  },
  MembershipStep: {
    type: 'object',
    required: ['change', 'members', 'retired', 'elapsedMs'],
    properties: {
      cellId: { type: 'string' },
      change: ref('MembershipChange'),
      members: {
        type: 'array',
        items: { type: 'string' },
        description: 'Members once the change is in effect',
      },
      chosenIndex: {
        type: 'integer',
        description: 'Log index the change was chosen at (absent if only seen in effect)',
      },
      retired: {
        type: 'boolean',
        description: 'The removed member deleted its replica and leaves a forwarding pointer',
      },
      elapsedMs: { type: 'integer' },
    },
  },
  Operation: {
    type: 'object',
    description:
      'A long-running operation (a move), polled at GET /v1/operations/{id} on the node that runs it',
    required: ['id', 'kind', 'cellId', 'node', 'to', 'state', 'startedAtMs', 'steps'],
    properties: {
      id: { type: 'string' },
      kind: { type: 'string', enum: ['move'] },
      cellId: { type: 'string' },
      node: { type: 'string', description: 'The node whose API runs it' },
      to: { type: 'array', items: { type: 'string' } },
      state: { type: 'string', enum: ['running', 'succeeded', 'failed'] },
      startedAtMs: { type: 'integer' },
      finishedAtMs: { type: 'integer' },
      steps: { type: 'array', items: ref('MembershipStep') },
      members: { type: 'array', items: { type: 'string' }, description: 'Once succeeded' },
      error: ref('Error'),
    },
  },
  NoopResult: {
    type: 'object',
    required: ['cellId', 'index'],
    properties: { cellId: { type: 'string' }, index: { type: 'integer' } },
  },
  Colony: {
    type: 'object',
    required: ['self', 'nodes'],
    properties: {
      self: { type: 'string' },
      nodes: {
        type: 'array',
        items: {
          type: 'object',
          required: ['nodeId', 'rack', 'powerDomain', 'http'],
          properties: {
            nodeId: { type: 'string' },
            row: { type: 'string' },
            rack: { type: 'string' },
            powerDomain: { type: 'string' },
            http: { type: 'string' },
          },
        },
      },
    },
  },
  Error: {
    type: 'object',
    required: ['code', 'message'],
    properties: {
      code: {
        type: 'string',
        enum: [
          'invalid',
          'malformed-json',
          'cell-not-found',
          'cell-moved',
          'route-not-found',
          'operation-not-found',
          'invalid-change',
          'cell-exists',
          'change-in-progress',
          'too-large',
          'unsupported-media-type',
          'overloaded',
          'unavailable',
          'behind',
          'outcome-unknown',
          'internal',
        ],
      },
      message: { type: 'string' },
      field: { type: 'string' },
      members: { type: 'array', items: { type: 'string' } },
      retryAfterMs: { type: 'integer' },
      appliedIndex: { type: 'integer' },
      operationId: { type: 'string' },
    },
  },
};

const leaseBody = {
  type: 'object',
  required: ['holder'],
  properties: {
    holder: { type: 'string' },
    durationMs: { type: 'integer', description: 'acquire and renew only' },
  },
};

function leasePath(action: string): unknown {
  return {
    post: {
      summary: `Lease ${action}`,
      parameters: [cellParam, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: { required: true, content: json(leaseBody) },
      responses: {
        '200': { description: 'The lease outcome', content: json(ref('LeaseResult')) },
        ...errorResponses,
      },
    },
  };
}

export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'Physalia',
    version: '1',
    description: 'A transactional key-value store of many tiny Paxos cells. Any node accepts any request.',
  },
  paths: {
    '/v1/cells': {
      get: {
        summary: 'Cells hosted on this node',
        parameters: [
          { name: 'after', in: 'query', schema: { type: 'string' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
        ],
        responses: {
          '200': { description: 'A page of cells', content: json(ref('CellList')) },
          ...errorResponses,
        },
      },
      post: {
        summary:
          'Create a cell with explicit members, or by placement (one per rack and power domain where possible)',
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['cellId'],
            properties: {
              cellId: { type: 'string' },
              members: { type: 'array', items: { type: 'string' } },
              replicas: { type: 'integer', minimum: 1, maximum: 9 },
            },
          }),
        },
        responses: {
          '201': { description: 'Created', content: json(ref('CellCreated')) },
          '200': { description: 'Already existed with these members', content: json(ref('CellCreated')) },
          '409': { description: 'Exists with other members', content: json(ref('Error')) },
          ...errorResponses,
        },
      },
    },
    '/v1/cells/{cellId}': {
      get: {
        summary: 'Describe a cell',
        parameters: [cellParam],
        responses: {
          '200': { description: 'The cell', content: json(ref('CellDescription')) },
          ...errorResponses,
        },
      },
    },
    '/v1/cells/{cellId}/txn': {
      post: {
        summary: 'Run a transaction; failed conditions are a 200 with committed=false',
        parameters: [cellParam],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            properties: {
              reads: { type: 'array', items: { type: 'string' } },
              conditions: { type: 'array', items: ref('Condition') },
              writes: { type: 'array', items: ref('Write') },
              ...readOptions,
            },
          }),
        },
        responses: {
          '200': { description: 'Committed or not', content: json(ref('TransactionResult')) },
          ...errorResponses,
        },
      },
    },
    '/v1/cells/{cellId}/scan': {
      post: {
        summary: 'One page of keys by prefix or [start, end); pass nextCursor back as cursor',
        parameters: [cellParam],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            properties: {
              prefix: { type: 'string' },
              start: { type: 'string' },
              end: { type: 'string' },
              limit: { type: 'integer', minimum: 1 },
              cursor: { type: 'string' },
              ...readOptions,
            },
          }),
        },
        responses: { '200': { description: 'A page', content: json(ref('ScanResult')) }, ...errorResponses },
      },
    },
    '/v1/cells/{cellId}/members': {
      post: {
        summary:
          'Add, remove or replace one member (paper §2.4); answered once the change is in effect, the new member caught up and the removed one retired',
        description:
          'Exactly one of add, remove, replace. Name nodes by node id; the added node runs a fresh incarnation `node#k` (its replica is created on it before the change is proposed). `remove` also accepts a member id. Synchronous, bounded by timeoutMs.',
        parameters: [cellParam],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            properties: {
              add: { type: 'string' },
              remove: { type: 'string' },
              replace: {
                type: 'object',
                required: ['remove', 'add'],
                properties: { remove: { type: 'string' }, add: { type: 'string' } },
              },
              timeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000, description: 'default 60000' },
            },
          }),
        },
        responses: {
          '200': { description: 'The change is in effect', content: json(ref('MembershipStep')) },
          ...reconfigureErrors,
        },
      },
    },
    '/v1/cells/{cellId}/move': {
      post: {
        summary: 'Move the cell onto other nodes, one replacement at a time, each caught up before the next',
        description:
          'Long: answered 202 with an operation (Location header) to poll at GET /v1/operations/{id} on this node. Safe to start again after a failure: it resumes from where the cell is.',
        parameters: [cellParam],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['to'],
            properties: {
              to: { type: 'array', items: { type: 'string' }, description: 'Node ids' },
              timeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000, description: 'default 600000' },
            },
          }),
        },
        responses: {
          '202': { description: 'Started', content: json(ref('Operation')) },
          ...reconfigureErrors,
        },
      },
    },
    '/v1/cells/{cellId}/noop': {
      post: {
        summary: 'Have the leader choose one no-op (a change takes effect alpha entries after it is chosen)',
        parameters: [cellParam],
        responses: { '200': { description: 'Chosen', content: json(ref('NoopResult')) }, ...errorResponses },
      },
    },
    '/v1/operations/{operationId}': {
      get: {
        summary: 'A long-running operation of this node',
        parameters: [
          { name: 'operationId', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'waitMs',
            in: 'query',
            description: 'Wait up to this long for it to finish (long poll)',
            schema: { type: 'integer', minimum: 0, maximum: 30_000 },
          },
        ],
        responses: {
          '200': { description: 'The operation', content: json(ref('Operation')) },
          '404': { description: '`operation-not-found` on this node', content: json(ref('Error')) },
          '400': errorResponses['400'],
        },
      },
    },
    '/v1/cells/{cellId}/leases/{name}/acquire': leasePath('acquire'),
    '/v1/cells/{cellId}/leases/{name}/renew': leasePath('renew'),
    '/v1/cells/{cellId}/leases/{name}/release': leasePath('release'),
    '/v1/colony': {
      get: {
        summary: 'The static topology and HTTP endpoints',
        responses: { '200': { description: 'Nodes', content: json(ref('Colony')) } },
      },
    },
    '/healthz': { get: { summary: 'Process is up', responses: { '200': { description: 'OK' } } } },
    '/readyz': {
      get: {
        summary: 'A quorum of the colony is reachable',
        responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
      },
    },
    '/metrics': {
      get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Text exposition format' } } },
    },
  },
  components: { schemas },
} as const;
