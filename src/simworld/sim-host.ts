// One simulated host: its persistent clock and disk, and the process it runs. A crash is
// a dirty reboot (memory, timers and handlers gone; non-durable writes lost); a restart
// boots the same boot function again on the same disk.
import type { Clock, HostEnv, HostId, MessageHandler, Random, TimerHandle } from '../env/index.ts';
import type { Buggify } from './buggify.ts';
import type { Scheduler } from './scheduler.ts';
import type { SimClock } from './sim-clock.ts';
import { SimNetworkEndpoint } from './sim-network.ts';
import type { NetworkHost, SimNetwork } from './sim-network.ts';
import { SimStorage } from './sim-storage.ts';
import type { SimDisk } from './sim-storage.ts';

/** What a host runs. `stop` is called on a clean stop, never on a crash. */
export interface Process {
  stop?(): void;
}

/** The environment a simulated host boots with: HostEnv plus simulation-only hooks. */
export interface SimHostEnv extends HostEnv {
  readonly host: HostId;
  /** Counts boots of this host: 1 on the first. */
  readonly incarnation: number;
  readonly buggify: Buggify;
}

export type BootFunction = (env: SimHostEnv) => Process;

/** Messages held for a paused host; more are dropped. */
export const PAUSED_INBOX_MAX = 10_000;

export type HostState = 'up' | 'down';

const TRACE_CRASH = 6;
const TRACE_BOOT = 7;

export class SimHost implements NetworkHost {
  private stateValue: HostState = 'down';
  private incarnationValue = 0;
  private process: Process | undefined;
  private handler: MessageHandler | undefined;
  private pausedInbox: Array<readonly [HostId, Uint8Array]> = [];

  constructor(
    readonly id: HostId,
    readonly traceTag: number,
    readonly labels: Readonly<Record<string, string>>,
    readonly boot: BootFunction | undefined,
    readonly clock: SimClock,
    readonly disk: SimDisk,
    private readonly random: Random,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork,
    private readonly buggify: Buggify,
  ) {}

  get state(): HostState {
    return this.stateValue;
  }

  get incarnation(): number {
    return this.incarnationValue;
  }

  get paused(): boolean {
    return this.clock.paused;
  }

  /** Boots the host's process; `boot` overrides the host's own boot function. */
  start(boot: BootFunction | undefined = this.boot): void {
    if (this.stateValue === 'up') throw new Error(`host ${this.id} is already up`);
    this.stateValue = 'up';
    this.incarnationValue += 1;
    this.scheduler.trace.number(TRACE_BOOT);
    this.scheduler.trace.number(this.traceTag);
    const env = this.makeEnv(this.incarnationValue);
    this.process = boot === undefined ? {} : boot(env);
  }

  /** Dirty reboot's first half: everything in memory is gone. Returns batches lost. */
  crash(): number {
    if (this.stateValue === 'down') return 0;
    this.scheduler.trace.number(TRACE_CRASH);
    this.scheduler.trace.number(this.traceTag);
    this.stateValue = 'down';
    this.process = undefined;
    this.handler = undefined;
    this.pausedInbox = [];
    this.clock.cancelAll();
    this.clock.resume();
    return this.disk.crash();
  }

  /** A clean stop: the process's `stop` runs, then the host goes down like a crash. */
  stop(): number {
    this.process?.stop?.();
    return this.crash();
  }

  /** Freezes the process: its clock and timers stall and messages wait until `resume`. */
  pause(): void {
    if (this.stateValue === 'up') this.clock.pause();
  }

  resume(): void {
    if (!this.clock.paused) return;
    this.clock.resume();
    const waiting = this.pausedInbox;
    this.pausedInbox = [];
    for (const [from, payload] of waiting) this.scheduler.after(0, () => this.receive(from, payload));
  }

  receive(from: HostId, payload: Uint8Array): boolean {
    if (this.stateValue === 'down') return false;
    if (this.clock.paused) {
      if (this.pausedInbox.length >= PAUSED_INBOX_MAX) return false;
      this.pausedInbox.push([from, payload]);
      return true;
    }
    if (this.handler === undefined) return false;
    this.handler(from, payload);
    return true;
  }

  private makeEnv(incarnation: number): SimHostEnv {
    const isOpen = (): boolean => this.stateValue === 'up' && this.incarnationValue === incarnation;
    const hostClock = this.clock;
    const inert: TimerHandle = { cancel: () => undefined };
    const clock: Clock = {
      nowMs: () => hostClock.nowMs(),
      monotonicMs: () => hostClock.monotonicMs(),
      setTimer: (delayMs, callback) => (isOpen() ? hostClock.setTimer(delayMs, callback) : inert),
    };
    const network = new SimNetworkEndpoint(this.network, this, isOpen, (handler) => {
      this.handler = handler;
    });
    return {
      host: this.id,
      incarnation,
      clock,
      network,
      storage: new SimStorage(this.disk, isOpen),
      random: this.random.fork(`incarnation:${incarnation}`),
      buggify: this.buggify,
    };
  }
}
