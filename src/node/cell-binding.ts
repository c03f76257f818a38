// The binding of the node to the real cell replica (src/cell/): CellReplica with the given
// options (plus each replica's own hooks), and the cell's request and response codecs.
import {
  CellReplica,
  decodeCellRequest,
  decodeCellResponse,
  defaultCellOptions,
  encodeCellRequest,
  encodeCellResponse,
} from '../cell/index.ts';
import type { CellOptions } from '../cell/index.ts';
import type { CellBinding, ReplicaHooks } from './cell-contract.ts';

/** The options of one replica: the shared ones, with this replica's hooks. */
function withHooks(full: CellOptions, hooks: ReplicaHooks | undefined): CellOptions {
  const onRemoved = hooks?.onRemoved;
  const hostQuiet = hooks?.hostQuiet ?? full.hostQuiet;
  const options = hostQuiet === undefined ? full : { ...full, hostQuiet };
  if (onRemoved === undefined) return options;
  const shared = full.onRemoved;
  return {
    ...options,
    onRemoved: (index) => {
      shared?.(index);
      onRemoved(index);
    },
  };
}

/** The real cell replica, every replica of this node with the same options. */
export function realCellBinding(options: Partial<CellOptions> = {}): CellBinding {
  const full: CellOptions = { ...defaultCellOptions, ...options };
  return {
    tickMs: full.tickMs,
    create: (env, members, hooks) => CellReplica.create(env, members, withHooks(full, hooks)),
    load: (env, hooks) => CellReplica.load(env, withHooks(full, hooks)),
    destroy: (storage, cellId) => CellReplica.destroy(storage, cellId),
    encodeRequest: encodeCellRequest,
    decodeRequest: (bytes) => {
      const decoded = decodeCellRequest(bytes);
      return decoded.kind === 'decoded' ? decoded.value : undefined;
    },
    encodeResponse: encodeCellResponse,
    decodeResponse: (bytes) => {
      const decoded = decodeCellResponse(bytes);
      return decoded.kind === 'decoded' ? decoded.value : undefined;
    },
  };
}
