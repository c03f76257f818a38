// The public surface of the node (one host running many cell replicas): the NodeService
// facade for the API and CLI layers, and the Node that implements it on a HostEnv.
export type {
  AdminCellResponse,
  CellAdminRequest,
  CellAdminResponse,
  CellId,
  CellRequest,
  CellResponse,
  CellSummary,
  MembershipChange,
  MembershipStep,
  MoveResult,
  ReconfigureFailure,
  ReconfigureOptions,
  ReconfigureResult,
  CreateCellResult,
  DeleteCellResult,
  DescribeCellResult,
  FrameDropReason,
  HostedCell,
  NodeMetrics,
  NodeService,
  SubmitResponse,
} from './service.ts';
export { frameDropReasons } from './service.ts';
export { Node, cellIdProblem, membersProblem } from './node.ts';
export { nextMoveChange, planChange } from './reconfigure.ts';
export type { NodeLogger, NodeOptions } from './node.ts';
export { realCellBinding } from './cell-binding.ts';
export type { CellBinding, CellReplicaLike, ReplicaHooks } from './cell-contract.ts';
export { defaultNodeLimits } from './limits.ts';
export type { NodeLimits } from './limits.ts';
