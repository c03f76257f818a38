// A simulated world and its test DSL: hosts with clocks, disks and a shared network under
// one seeded scheduler, plus the fault controls a scenario needs, e.g.
// `const w = sim({ seed, hosts: 7, boot }); w.net.loss(0.1); w.crash('n3'); await w.runFor(5_000);`
import { hostId, SeededRandom } from '../env/index.ts';
import type { HostId, Random } from '../env/index.ts';
import { Buggify, BUGGIFY_DEFAULTS } from './buggify.ts';
import type { BuggifyOptions } from './buggify.ts';
import type { Distribution } from './distribution.ts';
import { Scheduler } from './scheduler.ts';
import type { MicrotaskPolicy, SchedulerStats } from './scheduler.ts';
import { SimClock } from './sim-clock.ts';
import { SimHost } from './sim-host.ts';
import type { BootFunction } from './sim-host.ts';
import { SimNetwork } from './sim-network.ts';
import type { NetworkStats } from './sim-network.ts';
import { SimDisk } from './sim-storage.ts';
import type { DiskFaults, DiskStats } from './sim-storage.ts';

/** The most hosts in one world. */
export const HOSTS_MAX = 10_000;

/** One host to create: a name, topology labels (rack, power, ...) and its boot function. */
export interface HostSpec {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly boot?: BootFunction;
}

export interface WorldOptions {
  readonly seed: number;
  /** A count (hosts n1..nN, in racks r1..r3 and power domains p1..p2 round-robin) or specs. */
  readonly hosts: number | readonly HostSpec[];
  /** Boot function of hosts whose spec has none. Hosts boot at time 0 when one is given. */
  readonly boot?: BootFunction;
  /** Base one-way network latency; uniform 1-3 ms when absent. */
  readonly latency?: Distribution;
  /** Turns buggify on (with default or given probabilities). Off when absent. */
  readonly buggify?: boolean | BuggifyOptions;
  /** Wall clock of every host at time 0 (before per-host offsets). */
  readonly wallStartMs?: number;
  /** When the async run loop drains promise continuations; 'host-events' when absent. */
  readonly microtasks?: MicrotaskPolicy;
}

/** Faults of one host's clock. */
export interface ClockControl {
  /** Steps the wall clock by `deltaMs` (negative: back). */
  jump(deltaMs: number): void;
  /** Runs the clock at `rate` times true speed (drift). */
  rate(rate: number): void;
  /** Stalls the host (clock, timers, message handling) for `durationMs`, or until resumed. */
  pause(durationMs?: number): void;
  resume(): void;
}

/** Faults of one host's disk. */
export interface DiskControl {
  readonly faults: DiskFaults;
  readonly stats: Readonly<DiskStats>;
  full(isFull?: boolean): void;
  syncLatency(distribution: Distribution): void;
  corrupt(key?: Uint8Array): boolean;
  readonly pendingBatches: number;
  durableRange: SimDisk['durableRange'];
}

export interface WorldStats extends SchedulerStats {
  readonly nowMs: number;
  readonly network: Readonly<NetworkStats>;
}

function defaultSpecs(count: number): HostSpec[] {
  return Array.from({ length: count }, (_, index) => ({
    name: `n${index + 1}`,
    labels: { rack: `r${(index % 3) + 1}`, power: `p${(index % 2) + 1}` },
  }));
}

/** A whole simulated system. Nothing happens except inside the `run*` methods. */
export class World {
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly buggify: Buggify;
  readonly net: SimNetwork;
  private readonly hostMap = new Map<string, SimHost>();

  constructor(readonly options: WorldOptions) {
    this.scheduler = new Scheduler(options.microtasks ?? 'host-events');
    const root = new SeededRandom(options.seed);
    this.random = root.fork('world');
    const buggifyOption = options.buggify ?? false;
    this.buggify =
      buggifyOption === false
        ? Buggify.off()
        : Buggify.seeded(root.fork('buggify'), buggifyOption === true ? BUGGIFY_DEFAULTS : buggifyOption);
    this.net = new SimNetwork(this.scheduler, root.fork('network'), this.buggify);
    if (options.latency !== undefined) this.net.latency(options.latency);
    const specs = typeof options.hosts === 'number' ? defaultSpecs(options.hosts) : options.hosts;
    for (const spec of specs) this.addHost(spec, root);
    if (options.boot !== undefined || specs.some((spec) => spec.boot !== undefined)) {
      for (const host of this.hostMap.values()) if (host.boot !== undefined) host.start();
    }
  }

  /** Adds a host (down until started). */
  addHost(spec: HostSpec, root: Random = this.random): SimHost {
    if (this.hostMap.has(spec.name)) throw new Error(`duplicate host ${spec.name}`);
    if (this.hostMap.size >= HOSTS_MAX) throw new Error(`over ${HOSTS_MAX} hosts`);
    const random = root.fork(`host:${spec.name}`);
    const traceTag = this.hostMap.size;
    const clock = new SimClock(this.scheduler, traceTag, this.options.wallStartMs ?? 1_700_000_000_000, 0);
    const disk = new SimDisk(this.scheduler, random.fork('disk'), this.buggify, traceTag);
    const host = new SimHost(
      hostId(spec.name),
      traceTag,
      spec.labels ?? {},
      spec.boot ?? this.options.boot,
      clock,
      disk,
      random,
      this.scheduler,
      this.net,
      this.buggify,
    );
    this.hostMap.set(spec.name, host);
    this.net.attach(host);
    return host;
  }

  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  get hostIds(): HostId[] {
    return [...this.hostMap.values()].map((host) => host.id);
  }

  host(name: string): SimHost {
    const host = this.hostMap.get(name);
    if (host === undefined) throw new Error(`unknown host ${name}`);
    return host;
  }

  /** Hosts whose labels include every given label, e.g. `{ rack: 'r2' }`. */
  hostsWhere(labels: Readonly<Record<string, string>>): HostId[] {
    return [...this.hostMap.values()]
      .filter((host) => Object.entries(labels).every(([name, value]) => host.labels[name] === value))
      .map((host) => host.id);
  }

  start(name: string, boot?: BootFunction): void {
    this.host(name).start(boot);
  }

  /** Dirty crash: memory gone, non-durable writes lost. The host stays down until restarted. */
  crash(name: string): number {
    return this.host(name).crash();
  }

  /** Boots a down host again on its disk. */
  restart(name: string): void {
    const host = this.host(name);
    if (host.state === 'up') host.crash();
    host.start();
  }

  /** Crash, then restart after `downMs`. */
  reboot(name: string, downMs: number): void {
    this.crash(name);
    this.after(downMs, () => {
      if (this.host(name).state === 'down') this.host(name).start();
    });
  }

  /** Crashes every host in a failure domain (a rack, a power domain). Returns them. */
  crashGroup(labels: Readonly<Record<string, string>>): HostId[] {
    const hosts = this.hostsWhere(labels);
    for (const id of hosts) this.crash(id);
    return hosts;
  }

  restartGroup(labels: Readonly<Record<string, string>>): void {
    for (const id of this.hostsWhere(labels)) if (this.host(id).state === 'down') this.host(id).start();
  }

  clock(name: string): ClockControl {
    const host = this.host(name);
    return {
      jump: (deltaMs) => host.clock.jumpWall(deltaMs),
      rate: (rate) => host.clock.setRate(rate),
      pause: (durationMs) => {
        host.pause();
        if (durationMs !== undefined) this.after(durationMs, () => host.resume());
      },
      resume: () => host.resume(),
    };
  }

  disk(name: string): DiskControl {
    const disk = this.host(name).disk;
    return {
      faults: disk.faults,
      stats: disk.stats,
      full: (isFull = true) => {
        disk.faults.full = isFull;
      },
      syncLatency: (distribution) => {
        disk.faults.syncLatency = distribution;
      },
      corrupt: (key) => disk.corrupt(key),
      get pendingBatches() {
        return disk.pendingBatches;
      },
      durableRange: (range) => disk.durableRange(range),
    };
  }

  /** Runs `action` at virtual time `timeMs`. */
  at(timeMs: number, action: () => void): void {
    this.scheduler.at(timeMs, action);
  }

  after(delayMs: number, action: () => void): void {
    this.scheduler.after(delayMs, action);
  }

  /** Mixes a label into the trace hash (e.g. a client's completed operation). */
  mark(label: string): void {
    this.scheduler.trace.text(label);
  }

  /** Runs `durationMs` of virtual time. */
  async runFor(durationMs: number): Promise<void> {
    await this.scheduler.run(this.nowMs + durationMs);
  }

  /** Runs until `condition()` holds or `timeoutMs` passes; true when it held. */
  async runUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.scheduler.run(this.nowMs + timeoutMs, condition);
  }

  /** Waits for `promise` while running the world (at most `timeoutMs`). */
  async settle<T>(promise: Promise<T>, timeoutMs = 60_000): Promise<T> {
    let done = false;
    const tracked = promise.finally(() => {
      done = true;
    });
    tracked.catch(() => undefined);
    await this.runUntil(() => done, timeoutMs);
    if (!done) throw new Error(`settle: promise still pending after ${timeoutMs} ms of virtual time`);
    return tracked;
  }

  /** The synchronous fast path, for systems that never wait on a disk promise. */
  runForSync(durationMs: number): void {
    this.scheduler.runSync(this.nowMs + durationMs);
  }

  runUntilSync(condition: () => boolean, timeoutMs: number): boolean {
    return this.scheduler.runSync(this.nowMs + timeoutMs, condition);
  }

  /** Heals the network, restarts every down host, resumes paused ones, clears disk faults. */
  healAll(): void {
    this.net.healAll();
    for (const host of this.hostMap.values()) {
      host.resume();
      host.disk.faults.full = false;
      host.disk.faults.ioErrorProbability = 0;
      if (host.state === 'down' && host.boot !== undefined) host.start();
    }
  }

  traceHash(): string {
    return this.scheduler.trace.hex();
  }

  stats(): WorldStats {
    return { ...this.scheduler.stats(), nowMs: this.nowMs, network: { ...this.net.stats } };
  }
}

/** The DSL's entry point: a new world. */
export function sim(options: WorldOptions): World {
  return new World(options);
}
