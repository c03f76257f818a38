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
          required: ['cellId', 'members', 'loaded'],
          properties: {
            cellId: { type: 'string' },
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
          'cell-exists',
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
