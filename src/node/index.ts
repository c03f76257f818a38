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
