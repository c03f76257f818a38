// The public surface of one cell replica (paper §2.2-2.4): what src/node/ hosts, and the
// codecs it needs to forward client requests between nodes.
export type {
  CellCounters,
  CellDescription,
  CellEnv,
  CellId,
  CellOptions,
  CellRequest,
  CellResponse,
  Consistency,
  LeaseOutcome,
} from './types.ts';
export { leaseNameBytesMax } from './types.ts';
export { CellReplica, CellStorageCorrupt, defaultCellOptions } from './replica.ts';
export type { CellMembershipStatus } from './replica.ts';
export type { CellAdminRequest, CellAdminResponse, MembershipChange, NextMembers } from './reconfig.ts';
export { hostOfMember, nextMembers } from './reconfig.ts';
export { cellKeyPrefix } from './storage-layout.ts';
export { cellMessageKind } from './wire.ts';
export type { CellDecodeError, CellDecoded } from './codec-io.ts';
export {
  LEASE_CLOCK_RATE_RATIO_MAX,
  LEASE_DURATION_MS_MAX,
  LEASE_DURATION_MS_MIN,
  LEASES_MAX,
} from './leases.ts';
export {
  decodeCellRequest,
  decodeCellResponse,
  encodeCellRequest,
  encodeCellResponse,
} from './request-codec.ts';
