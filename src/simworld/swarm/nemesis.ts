// The nemesis of the safety phase: at random times it partitions, crashes, pauses and
// skews hosts and breaks their disks, as the run's fault mix allows, undoing each fault
// after a while; `heal` ends it all for the liveness phase.
import type { HostId, Random } from '../../env/index.ts';
import { constant, exponential, uniform } from '../distribution.ts';
import type { World } from '../world.ts';
import type { FaultMix } from './fault-mix.ts';
import type { SystemInstance } from './system-under-test.ts';

type Action = (target: HostId) => void;

export class Nemesis {
  private active = true;
  private partitionCount = 0;
  private readonly actions: Action[] = [];
  private readonly corruptible: readonly HostId[];

  constructor(
    private readonly world: World,
    private readonly system: SystemInstance,
    private readonly mix: FaultMix,
    private readonly random: Random,
  ) {
    this.corruptible = [...system.servers].slice(0, mix.corruptedDisks);
    this.installStaticFaults();
    this.collectActions();
  }

  /** Starts acting, until `heal` is called. */
  start(): void {
    if (this.actions.length > 0) this.scheduleNext();
  }

  /** Stops every fault: network healed, hosts restarted and resumed, disks fixed. */
  heal(): void {
    this.active = false;
    this.world.healAll();
    for (const server of this.system.servers) this.world.disk(server).syncLatency(constant(1));
  }

  private installStaticFaults(): void {
    const { net } = this.world;
    const mix = this.mix;
    net.latency(mix.latency === 'lan' ? uniform(0.5, 2) : exponential(1, 10, 50));
    if (mix.loss > 0) net.loss(mix.loss);
    if (mix.duplicate > 0) net.duplicate(mix.duplicate);
    if (mix.reorderWindowMs > 0) net.reorder(mix.reorderWindowMs);
    for (const server of this.system.servers)
      this.world.disk(server).faults.crashKeepsPrefix = mix.crashKeepsPrefix;
  }

  private collectActions(): void {
    const mix = this.mix;
    const add = (enabled: boolean, action: Action): void => {
      if (enabled) this.actions.push(action);
    };
    add(mix.partitions, () => this.partition());
    add(mix.oneWayPartitions, () => this.oneWayPartition());
    add(mix.crashes, (target) => this.world.reboot(target, this.durationMs()));
    add(mix.groupCrashes, (target) => this.crashDomain(target));
    add(mix.clockFaults, (target) => this.skewClock(target));
    add(mix.pauses, (target) => this.world.clock(target).pause(this.durationMs()));
    add(mix.slowDisks, (target) => this.world.disk(target).syncLatency(exponential(1, 30, 2_000)));
    add(mix.fullDisks, (target) => this.fillDisk(target));
    add(this.corruptible.length > 0, () => this.corruptDisk());
  }

  private scheduleNext(): void {
    const delayMs = -Math.log(1 - this.random.nextFloat()) * this.mix.nemesisIntervalMs;
    this.world.after(delayMs, () => {
      if (!this.active) return;
      const servers = this.system.servers;
      const action = this.actions[this.random.intBelow(this.actions.length)]!;
      action(servers[this.random.intBelow(servers.length)]!);
      this.scheduleNext();
    });
  }

  private durationMs(): number {
    return 10 + this.random.intBelow(2_000);
  }

  /** Runs `undo` after a random duration, unless the nemesis was healed meanwhile. */
  private later(undo: () => void): void {
    this.world.after(this.durationMs(), () => {
      if (this.active) undo();
    });
  }

  private randomSubset(hosts: readonly HostId[]): HostId[] {
    const subset = hosts.filter(() => this.random.nextFloat() < 0.5);
    return subset.length === 0 ? [hosts[0]!] : subset;
  }

  private partition(): void {
    const name = `nemesis-${this.partitionCount++}`;
    this.world.net.partitionOff(name, this.randomSubset([...this.system.servers, ...this.system.clients]));
    this.later(() => this.world.net.healPartition(name));
  }

  private oneWayPartition(): void {
    const name = `nemesis-${this.partitionCount++}`;
    const hosts = [...this.system.servers, ...this.system.clients];
    this.world.net.partitionOneWay(name, this.randomSubset(hosts), this.randomSubset(hosts));
    this.later(() => this.world.net.healPartition(name));
  }

  private crashDomain(target: HostId): void {
    const label = this.random.nextFloat() < 0.5 ? 'rack' : 'power';
    const value = this.world.host(target).labels[label];
    if (value === undefined) return;
    const crashed = this.world.crashGroup({ [label]: value });
    this.world.after(this.durationMs(), () => this.world.restartGroup({ [label]: value }));
    this.world.mark(`crash-group ${crashed.join(',')}`);
  }

  private skewClock(target: HostId): void {
    const clock = this.world.clock(target);
    // Rates within [0.6, 1.7]: no clock runs 3x faster than another (the lease assumption).
    if (this.random.nextFloat() < 0.5) clock.rate(0.6 + this.random.nextFloat() * 1.1);
    else clock.jump((this.random.nextFloat() - 0.5) * 120_000);
  }

  private fillDisk(target: HostId): void {
    const disk = this.world.disk(target);
    disk.full(true);
    this.later(() => disk.full(false));
  }

  private corruptDisk(): void {
    const target = this.corruptible[this.random.intBelow(this.corruptible.length)]!;
    this.world.disk(target).corrupt();
  }
}
