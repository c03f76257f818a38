// The simulator's public surface: the world and its DSL, the simulated env
// implementations, buggify, and latency distributions.
export { sim, World, HOSTS_MAX } from './world.ts';
export type { ClockControl, DiskControl, HostSpec, WorldOptions, WorldStats } from './world.ts';
export { SimHost, PAUSED_INBOX_MAX } from './sim-host.ts';
export type { BootFunction, HostState, Process, SimHostEnv } from './sim-host.ts';
export { SimNetwork, SimNetworkEndpoint, IN_FLIGHT_PER_HOST_MAX, NETWORK_RULES_MAX } from './sim-network.ts';
export type {
  MessageInfo,
  MessageMatcher,
  NetworkRule,
  NetworkStats,
  RuleAction,
  RuleId,
} from './sim-network.ts';
export { SimDisk, SimStorage, DEFAULT_DISK_FAULTS, PENDING_BATCHES_MAX } from './sim-storage.ts';
export type { DiskFaults, DiskStats } from './sim-storage.ts';
export { SimClock, HOST_TIMERS_MAX } from './sim-clock.ts';
export { Scheduler, TraceHash, PENDING_EVENTS_MAX } from './scheduler.ts';
export type { MicrotaskPolicy, SchedulerStats } from './scheduler.ts';
export { Buggify, BUGGIFY_DEFAULTS, BUGGIFY_SITES_MAX } from './buggify.ts';
export type { BuggifyOptions } from './buggify.ts';
export { constant, exponential, sample, uniform } from './distribution.ts';
export type { Distribution } from './distribution.ts';
