// The public surface of the node (one host running many cell replicas): the NodeService
// facade for the API and CLI layers, and the Node that implements it on a HostEnv.
export type {
  CellId,
  CellRequest,
  CellResponse,
  CellSummary,
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
export type { NodeLogger, NodeOptions } from './node.ts';
export { realCellBinding } from './cell-binding.ts';
export type { CellBinding, CellReplicaLike } from './cell-contract.ts';
export { defaultNodeLimits } from './limits.ts';
export type { NodeLimits } from './limits.ts';
