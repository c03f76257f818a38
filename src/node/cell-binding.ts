// The binding of the node to the real cell replica (src/cell/): CellReplica with the given
// options, and the cell's request and response codecs.
import {
  CellReplica,
  decodeCellRequest,
  decodeCellResponse,
  defaultCellOptions,
  encodeCellRequest,
  encodeCellResponse,
} from '../cell/index.ts';
import type { CellOptions } from '../cell/index.ts';
import type { CellBinding } from './cell-contract.ts';

/** The real cell replica, every replica of this node with the same options. */
export function realCellBinding(options: Partial<CellOptions> = {}): CellBinding {
  const full: CellOptions = { ...defaultCellOptions, ...options };
  return {
    tickMs: full.tickMs,
    create: (env, members) => CellReplica.create(env, members, full),
    load: (env) => CellReplica.load(env, full),
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
