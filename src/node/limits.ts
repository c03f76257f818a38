// The named bounds and periods of one node: memory (cells in memory, queues), time
// (eviction, request timeouts, heartbeats, forwarding pointers), routing (attempts) and
// reconfiguration (retiring removed replicas, polling a change until it is in effect).

export interface NodeLimits {
  /** Replicas kept in memory; beyond it the least recently used quiescent ones are evicted. */
  readonly cellsInMemoryMax: number;
  /** A quiescent replica untouched this long is evicted (its state stays in storage). */
  readonly idleEvictMs: number;
  /** Slots looked at per eviction pass (bounds the work of one pass). */
  readonly evictScanMax: number;
  /** Messages and requests waiting for one cell to load; more are dropped. */
  readonly loadQueueMax: number;
  /** A node-to-node request unanswered this long is given up (outcome unknown for submits). */
  readonly requestTimeoutMs: number;
  /** Targets one submit tries (following not-leader hints and moves) before giving up. */
  readonly forwardAttemptsMax: number;
  /** Wait before asking a cell again when it knows no live leader (an election is running). */
  readonly leaderWaitMs: number;
  /** Node-to-node requests this node waits on at once; more are answered `overloaded`. */
  readonly outboundRequestsMax: number;
  /** Forwarded-in requests being served at once; more are answered `overloaded`. */
  readonly inboundRequestsMax: number;
  /**
   * Leaders on this node send accepts thrifty (to a quorum first) while it serves at most
   * this many client requests at once; busier, to every member (see CellOptions.hostQuiet).
   * Measured on 2 cores with 7 nodes: thrifty cut the p50 of a lone client's commit from
   * about 1.1 to 0.85 ms, but at 16 clients it cost 10-25% of the throughput, and still
   * about 20% when only the flushes with at most 4 requests in flight went thrifty.
   */
  readonly thriftyRequestsMax: number;
  /** Admin changes (create, delete) running at once; more are refused (failed: overloaded). */
  readonly adminChangesMax: number;
  /** Recently served request ids remembered to drop replays and duplicates. */
  readonly recentRequestsMax: number;
  /** How long a forwarding pointer answers after the cell left (paper §2.5). */
  readonly forwardingPointerMs: number;
  /** Period of the node's heartbeat to every peer (liveness per node pair). 0: none. */
  readonly heartbeatMs: number;
  /** A peer heard from within this long counts as live. */
  readonly peerLiveMs: number;
  /** createCell waits this long for a quorum of members. */
  readonly createTimeoutMs: number;
  /** createCell re-sends its admin message to silent members this often. */
  readonly adminRetryMs: number;
  /** Cell locations (members, leader) remembered for routing. */
  readonly locationsMax: number;
  /** Most cells one listCells call returns. */
  readonly listCellsMax: number;
  /**
   * A replica that applied its own removal keeps voting this long (indices below the one its
   * removal takes effect at may still need it), then is deleted, leaving a forwarding pointer.
   */
  readonly retireAfterMs: number;
  /** Removed replicas waiting to be retired at once; more are left to the control plane's word. */
  readonly retiresPendingMax: number;
  /** Membership changes and moves this node runs at once; more are refused (unavailable). */
  readonly reconfigurationsMax: number;
  /** Pause between polls while a change takes effect and the new member catches up. */
  readonly reconfigurePollMs: number;
  /** Default deadline of one membership change (create, choose, take effect, catch up, retire). */
  readonly reconfigureTimeoutMs: number;
  /** Default deadline of a whole move. */
  readonly moveTimeoutMs: number;
  /** A new member has caught up when its applied index is within this of the leader's. */
  readonly caughtUpEntries: number;
  /** A change refused as another change in progress is retried (with no-ops) this long, then 409. */
  readonly changeInProgressWaitMs: number;
}

export const defaultNodeLimits: NodeLimits = {
  cellsInMemoryMax: 10_000,
  idleEvictMs: 30_000,
  evictScanMax: 1024,
  loadQueueMax: 256,
  requestTimeoutMs: 2_000,
  forwardAttemptsMax: 6,
  leaderWaitMs: 100,
  outboundRequestsMax: 10_000,
  inboundRequestsMax: 10_000,
  thriftyRequestsMax: 1,
  adminChangesMax: 10_000,
  recentRequestsMax: 65_536,
  forwardingPointerMs: 60 * 60 * 1000,
  heartbeatMs: 500,
  peerLiveMs: 1_500,
  createTimeoutMs: 5_000,
  adminRetryMs: 250,
  locationsMax: 100_000,
  listCellsMax: 10_000,
  retireAfterMs: 1_000,
  retiresPendingMax: 10_000,
  reconfigurationsMax: 64,
  reconfigurePollMs: 50,
  reconfigureTimeoutMs: 60_000,
  moveTimeoutMs: 10 * 60_000,
  caughtUpEntries: 6,
  changeInProgressWaitMs: 2_000,
};
