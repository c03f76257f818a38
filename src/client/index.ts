// The Physalia client SDK: connect to any nodes' HTTP API, then transactions, helpers, paged
// scans, sessions and leases per cell, membership changes and moves, with routing, bounded
// retries and typed errors.
export { CellClient, cellPath, connect, PhysaliaClient, Session } from './client.ts';
export type {
  CellCreated,
  CellDescription,
  CellOptions,
  ConnectOptions,
  Consistency,
  GetOutcome,
  LeaseAnswer,
  ScanRangeInput,
} from './client.ts';
export { cellRoutesMax, defaultRetryPolicy, hostOf } from './caller.ts';
export { changeTimeoutMsDefault, moveTimeoutMsDefault } from './reconfig.ts';
export type { RetryPolicy } from './caller.ts';
export { decodeValue, encodeValue, toValue } from './json.ts';
export { Lease } from './lease.ts';
export { endpointUrl, fetchTransport } from './transport.ts';
export type { HttpAnswer, HttpRequest, HttpTransport } from './transport.ts';
export { isClientError } from './types.ts';
export type * from './types.ts';
