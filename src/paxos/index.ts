// The public surface of the pure Multi-Paxos core. The cell (src/cell/) imports from here
// only; everything else in src/paxos/ is internal.
export type { Ballot, EntryValue, LogEntry, LogIndex, NodeId, ProposalId } from './types.ts';
export {
  ballot,
  compareBallots,
  ballotsEqual,
  entryValuesEqual,
  logIndex,
  nodeId,
  noopValue,
  zeroBallot,
  ballotRoundMax,
  nodeIdBytesMax,
} from './types.ts';
export type {
  AcceptMessage,
  AcceptedMessage,
  CatchupReplyMessage,
  CatchupRequestMessage,
  CommitMessage,
  NackMessage,
  PaxosMessage,
  PaxosMessageKind,
  PrepareMessage,
  PromiseMessage,
} from './messages.ts';
export type { DecodeError, DecodeErrorKind, DecodeResult } from './codec.ts';
export {
  codecVersion,
  decodeMessage,
  encodeMessage,
  encodeMessageAfter,
  entriesPerMessageMax,
  membersPerConfigMax,
  messageBytesMax,
} from './codec.ts';
export type { ConfigRecord } from './membership.ts';
export { quorumSize } from './membership.ts';
export type {
  Outgoing,
  OwnAccept,
  PersistDelta,
  PersistedState,
  ProposalResult,
  ProposeConfigResult,
  ProposeResult,
  Ready,
  ReplicaOptions,
  SnapshotMeta,
} from './ready.ts';
export { applyPersistDelta, commitIndexOnly, defaultReplicaOptions, initialPersistedState } from './ready.ts';
export type { ReplicaView } from './replica.ts';
export { Replica } from './replica.ts';
export { InvariantViolation } from './invariants.ts';
