// Prometheus metrics of one node's API (prom-client, one registry per server): HTTP requests
// and latencies by route, the node's own counters (commits, rejections, dropped frames,
// cells), its durable store's commits (duration with fsync, batches per commit), and on a
// real node process the process itself (resident memory, heap, event-loop delay, GC pauses).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeService } from '../node/index.ts';
import { frameDropReasons } from '../node/service.ts';

/** Latency buckets in seconds: sub-millisecond commits up to multi-second timeouts. */
const latencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Storage commit durations in seconds, fsync included: from a fast disk to a stalling one. */
const storageCommitBucketsSeconds = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
];
/** Batches (one per replica write) that shared one storage commit. */
const batchesPerCommitBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096];

export interface ApiMetrics {
  readonly registry: Registry;
  observe(route: string, method: string, status: number, seconds: number): void;
}

function nodeGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** Counters of the node's transport (TcpNetwork), when the server runs on a real node. */
export interface TransportCounters {
  readonly framesDropped: Readonly<Record<string, number>>;
  readonly sendsDropped: Readonly<Record<string, number>>;
}

/** A node's durable store as metrics see it (a real node's LmdbStorage). */
export interface StorageMetricsSource {
  counters(): {
    readonly batchesFailed: number;
    readonly checkpoints: number;
    readonly checkpointsFailed: number;
    readonly logBytes: number;
  };
  /** Calls `observer` after every successful commit with its duration and batch count. */
  onCommit(observer: (durationMs: number, batches: number) => void): void;
}

/**
 * Exports the store's commits: etcd users watch the same thing as backend commit duration.
 * The histograms' counts and sums are the commits and the batches made durable.
 */
function storageMetrics(registry: Registry, storage: StorageMetricsSource): void {
  const duration = new Histogram({
    name: 'physalia_storage_commit_duration_seconds',
    help: 'Storage commits (one LMDB transaction each), from start to fsync done; the node waits for them',
    buckets: storageCommitBucketsSeconds,
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'physalia_storage_batches_per_commit',
    help: 'Write batches that shared one storage commit (group commit)',
    buckets: batchesPerCommitBuckets,
    registers: [registry],
  });
  storage.onCommit((durationMs, count) => {
    duration.observe(durationMs / 1000);
    batches.observe(count);
  });
  nodeGauge(
    registry,
    'physalia_storage_batches_failed_total',
    'Write batches that failed (full disk, I/O error); each fails its replica',
    () => storage.counters().batchesFailed,
  );
  nodeGauge(
    registry,
    'physalia_storage_checkpoints_total',
    'Checkpoints durable in LMDB: each wrote the latest values of the write-ahead log to their keys',
    () => storage.counters().checkpoints,
  );
  nodeGauge(
    registry,
    'physalia_storage_checkpoints_failed_total',
    'Checkpoints that failed (full disk, I/O error); the log keeps every write and a later one retries',
    () => storage.counters().checkpointsFailed,
  );
  nodeGauge(
    registry,
    'physalia_storage_log_bytes',
    'Bytes of write-ahead log no durable checkpoint covers yet (replayed at start)',
    () => storage.counters().logBytes,
  );
}

function reasonGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => Readonly<Record<string, number>>,
): void {
  new Gauge({
    name,
    help,
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, count] of Object.entries(read())) this.set({ reason }, count);
    },
  });
}

export function createApiMetrics(
  node: NodeService,
  transport?: () => TransportCounters,
  storage?: StorageMetricsSource,
  processMetrics = false,
): ApiMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: node.self });
  // prom-client's process and Node.js metrics (process_resident_memory_bytes,
  // nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds, nodejs_gc_duration_seconds...):
  // only for a real process, since they read the OS and observe the process-wide GC.
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'physalia_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'physalia_http_request_duration_seconds',
    help: 'HTTP request latency, by route',
    labelNames: ['route', 'method'],
    buckets: latencyBucketsSeconds,
    registers: [registry],
  });
  // Node counters are monotonic; exposed as gauges read at scrape time.
  nodeGauge(
    registry,
    'physalia_commits_total',
    'Requests answered with a result or lease outcome',
    () => node.metrics().commits,
  );
  nodeGauge(
    registry,
    'physalia_rejections_total',
    'Requests answered not-leader/overloaded/behind/unavailable/invalid/outcome-unknown',
    () => node.metrics().rejections,
  );
  nodeGauge(
    registry,
    'physalia_requests_submitted_total',
    'Client requests submitted on this node',
    () => node.metrics().requestsSubmitted,
  );
  nodeGauge(
    registry,
    'physalia_requests_forwarded_total',
    'Client requests forwarded to another node',
    () => node.metrics().requestsForwarded,
  );
  nodeGauge(registry, 'physalia_cells_hosted', 'Cells hosted on this node', () => node.metrics().cellsHosted);
  nodeGauge(
    registry,
    'physalia_cells_in_memory',
    'Cell replicas in memory now',
    () => node.metrics().cellsInMemory,
  );
  nodeGauge(
    registry,
    'physalia_cells_loaded_total',
    'Cell replicas loaded from storage',
    () => node.metrics().cellsLoaded,
  );
  nodeGauge(
    registry,
    'physalia_reconfigurations_total',
    'Membership changes this node ran to completion (each step of a move counts)',
    () => node.metrics().reconfigurations,
  );
  nodeGauge(
    registry,
    'physalia_cells_retired_total',
    'Replicas deleted after a reconfiguration removed them',
    () => node.metrics().cellsRetired,
  );
  nodeGauge(
    registry,
    'physalia_frames_received_total',
    'Node frames received',
    () => node.metrics().framesReceived,
  );
  new Gauge({
    name: 'physalia_frames_dropped_total',
    help: 'Node frames dropped without being acted on, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      const dropped = node.metrics().framesDropped;
      for (const reason of frameDropReasons) this.set({ reason }, dropped[reason]);
    },
  });
  if (transport !== undefined) {
    reasonGauge(
      registry,
      'physalia_transport_frames_dropped_total',
      'Frames dropped by the transport (authentication, decoding, size), by reason',
      () => transport().framesDropped,
    );
    reasonGauge(
      registry,
      'physalia_transport_sends_dropped_total',
      'Outgoing frames shed by the transport (queue full, no route), by reason',
      () => transport().sendsDropped,
    );
  }
  if (storage !== undefined) storageMetrics(registry, storage);
  return {
    registry,
    observe(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route, method }, seconds);
    },
  };
}
