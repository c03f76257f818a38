// The simulated network fabric shared by all hosts, and the Network endpoint each host
// incarnation sees: latency from a distribution, named (also one-way) partitions, and
// rules that match messages and drop, delay, duplicate, reorder or corrupt them.
import type { HostId, MessageHandler, Network, Random } from '../env/index.ts';
import type { Buggify } from './buggify.ts';
import { sample, uniform } from './distribution.ts';
import type { Distribution } from './distribution.ts';
import type { Scheduler } from './scheduler.ts';

/** The most messages in flight towards one host: more are dropped (a full send queue). */
export const IN_FLIGHT_PER_HOST_MAX = 50_000;
/** The most rules and partitions at once. */
export const NETWORK_RULES_MAX = 1_000;

const TRACE_SEND = 4;
const TRACE_DELIVER = 5;

/** A message as rules see it. `kind` comes from the classifier, if one is set. */
export interface MessageInfo {
  readonly from: HostId;
  readonly to: HostId;
  readonly kind: string;
  readonly payload: Uint8Array;
}

/** Which messages a rule applies to; every given field must match. */
export interface MessageMatcher {
  readonly from?: string | readonly string[];
  readonly to?: string | readonly string[];
  readonly kind?: string | readonly string[];
  readonly predicate?: (message: MessageInfo) => boolean;
}

/** What a matching rule does to a message. */
export type RuleAction =
  | { readonly kind: 'drop' }
  | { readonly kind: 'delay'; readonly delay: Distribution }
  | { readonly kind: 'duplicate'; readonly copies: number }
  /** Adds a uniform extra delay in [0, windowMs), so messages overtake each other. */
  | { readonly kind: 'reorder'; readonly windowMs: number }
  /** Flips bytes. The transport authenticates frames, so by default the corrupted frame is
   * detected and dropped (counted); `deliver` hands the bytes over, to test decoders. */
  | { readonly kind: 'corrupt'; readonly deliver: boolean };

export interface NetworkRule {
  readonly match: MessageMatcher;
  readonly action: RuleAction;
  /** Probability the rule applies to a matching message; 1 when absent. */
  readonly probability?: number;
}

export type RuleId = number & { readonly __brand: 'RuleId' };

/** How a host receives messages; implemented by the world's hosts. */
export interface NetworkHost {
  readonly id: HostId;
  readonly traceTag: number;
  /** Delivers now; false when the host is down or has no handler (the message is lost). */
  receive(from: HostId, payload: Uint8Array): boolean;
}

/** Network counters. Every sent message ends in exactly one outcome (duplicates add sends). */
export interface NetworkStats {
  sent: number;
  delivered: number;
  duplicated: number;
  droppedByRule: number;
  droppedByPartition: number;
  droppedCorrupt: number;
  deliveredCorrupt: number;
  droppedHostDown: number;
  droppedQueueFull: number;
}

interface Partition {
  readonly from: ReadonlySet<string>;
  /** Undefined: everything outside `from` (a symmetric partition off). */
  readonly to: ReadonlySet<string> | undefined;
  readonly symmetric: boolean;
}

function matchesOne(wanted: string | readonly string[] | undefined, actual: string): boolean {
  if (wanted === undefined) return true;
  return typeof wanted === 'string' ? wanted === actual : wanted.includes(actual);
}

function matches(match: MessageMatcher, message: MessageInfo): boolean {
  return (
    matchesOne(match.from, message.from) &&
    matchesOne(match.to, message.to) &&
    matchesOne(match.kind, message.kind) &&
    (match.predicate === undefined || match.predicate(message))
  );
}

interface Transit {
  copies: number;
  extraDelayMs: number;
  corrupt: boolean;
  deliverCorrupt: boolean;
}

/** The fabric connecting every host of a world. */
export class SimNetwork {
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    duplicated: 0,
    droppedByRule: 0,
    droppedByPartition: 0,
    droppedCorrupt: 0,
    deliveredCorrupt: 0,
    droppedHostDown: 0,
    droppedQueueFull: 0,
  };
  private readonly hosts = new Map<HostId, NetworkHost>();
  private readonly rules = new Map<RuleId, NetworkRule>();
  private readonly partitions = new Map<string, Partition>();
  private readonly inFlight = new Map<HostId, number>();
  private nextRuleId = 1;
  private latencyDistribution: Distribution = uniform(1, 3);
  private classifier: ((payload: Uint8Array) => string) | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    private readonly buggify: Buggify,
  ) {}

  attach(host: NetworkHost): void {
    this.hosts.set(host.id, host);
  }

  /** Sets the base one-way latency of every message. */
  latency(distribution: Distribution): void {
    this.latencyDistribution = distribution;
  }

  /** Sets how rules learn a message's kind from its bytes (e.g. decode the type tag). */
  classify(classifier: (payload: Uint8Array) => string): void {
    this.classifier = classifier;
  }

  addRule(rule: NetworkRule): RuleId {
    if (this.rules.size >= NETWORK_RULES_MAX) throw new Error(`over ${NETWORK_RULES_MAX} network rules`);
    const id = this.nextRuleId as RuleId;
    this.nextRuleId += 1;
    this.rules.set(id, rule);
    return id;
  }

  removeRule(id: RuleId): void {
    this.rules.delete(id);
  }

  clearRules(): void {
    this.rules.clear();
  }

  /** Drops a fraction `probability` of matching messages (all messages by default). */
  loss(probability: number, match: MessageMatcher = {}): RuleId {
    return this.addRule({ match, action: { kind: 'drop' }, probability });
  }

  delay(delay: Distribution, match: MessageMatcher = {}, probability = 1): RuleId {
    return this.addRule({ match, action: { kind: 'delay', delay }, probability });
  }

  duplicate(probability: number, match: MessageMatcher = {}, copies = 1): RuleId {
    return this.addRule({ match, action: { kind: 'duplicate', copies }, probability });
  }

  reorder(windowMs: number, match: MessageMatcher = {}, probability = 1): RuleId {
    return this.addRule({ match, action: { kind: 'reorder', windowMs }, probability });
  }

  corrupt(probability: number, match: MessageMatcher = {}, deliver = false): RuleId {
    return this.addRule({ match, action: { kind: 'corrupt', deliver }, probability });
  }

  /** Cuts `hosts` off from every other host, both ways, until `healPartition(name)`. */
  partitionOff(name: string, hosts: readonly string[]): void {
    this.addPartition(name, { from: new Set(hosts), to: undefined, symmetric: true });
  }

  /** Drops every message from any of `from` to any of `to` (one way only). */
  partitionOneWay(name: string, from: readonly string[], to: readonly string[]): void {
    this.addPartition(name, { from: new Set(from), to: new Set(to), symmetric: false });
  }

  healPartition(name: string): void {
    this.partitions.delete(name);
  }

  /** Heals every partition and removes every rule. Base latency stays. */
  healAll(): void {
    this.partitions.clear();
    this.rules.clear();
  }

  partitionNames(): string[] {
    return [...this.partitions.keys()].sort();
  }

  private addPartition(name: string, partition: Partition): void {
    if (this.partitions.size >= NETWORK_RULES_MAX) throw new Error(`over ${NETWORK_RULES_MAX} partitions`);
    this.partitions.set(name, partition);
  }

  /** True when a partition blocks messages from `from` to `to`. */
  blocked(from: string, to: string): boolean {
    for (const partition of this.partitions.values()) {
      if (partition.symmetric) {
        if (partition.from.has(from) !== partition.from.has(to)) return true;
      } else if (partition.from.has(from) && partition.to?.has(to) === true) {
        return true;
      }
    }
    return false;
  }

  /** Sends from a live host. */
  send(from: NetworkHost, to: HostId, payload: Uint8Array): void {
    this.stats.sent += 1;
    const trace = this.scheduler.trace;
    trace.number(TRACE_SEND);
    trace.number(from.traceTag);
    trace.text(to);
    trace.bytes(payload);
    const target = this.hosts.get(to);
    if (target === undefined) {
      this.stats.droppedHostDown += 1;
      return;
    }
    if (this.blocked(from.id, to)) {
      this.stats.droppedByPartition += 1;
      return;
    }
    const transit = this.applyRules(from.id, to, payload);
    if (transit === undefined) {
      this.stats.droppedByRule += 1;
      return;
    }
    this.stats.duplicated += transit.copies - 1;
    this.stats.sent += transit.copies - 1;
    for (let copy = 0; copy < transit.copies; copy += 1) {
      const bytes = copy === 0 ? payload : payload.slice();
      this.dispatch(from.id, target, bytes, transit);
    }
  }

  private applyRules(from: HostId, to: HostId, payload: Uint8Array): Transit | undefined {
    const transit: Transit = { copies: 1, extraDelayMs: 0, corrupt: false, deliverCorrupt: false };
    if (this.rules.size > 0) {
      // Classifying may decode the payload: only do it when some rule can look at the kind.
      let needsKind = false;
      for (const rule of this.rules.values())
        needsKind ||= rule.match.kind !== undefined || rule.match.predicate !== undefined;
      const kind = this.classifier === undefined || !needsKind ? '' : this.kindOf(payload);
      const message: MessageInfo = { from, to, kind, payload };
      for (const rule of this.rules.values()) {
        if (!matches(rule.match, message)) continue;
        if (rule.probability !== undefined && !(this.random.nextFloat() < rule.probability)) continue;
        if (!this.applyAction(rule.action, transit)) return undefined;
      }
    }
    if (this.buggify.fires('net.delay')) transit.extraDelayMs += this.random.intBelow(200);
    if (this.buggify.fires('net.duplicate')) transit.copies += 1;
    return transit;
  }

  /** Applies one action; false means drop. */
  private applyAction(action: RuleAction, transit: Transit): boolean {
    switch (action.kind) {
      case 'drop':
        return false;
      case 'delay':
        transit.extraDelayMs += sample(action.delay, this.random);
        return true;
      case 'duplicate':
        transit.copies += Math.max(0, Math.floor(action.copies));
        return true;
      case 'reorder':
        transit.extraDelayMs += this.random.nextFloat() * action.windowMs;
        return true;
      case 'corrupt':
        transit.corrupt = true;
        transit.deliverCorrupt ||= action.deliver;
        return true;
    }
  }

  private kindOf(payload: Uint8Array): string {
    try {
      return this.classifier?.(payload) ?? '';
    } catch {
      return 'unclassified';
    }
  }

  private dispatch(from: HostId, target: NetworkHost, payload: Uint8Array, transit: Transit): void {
    const queued = this.inFlight.get(target.id) ?? 0;
    if (queued >= IN_FLIGHT_PER_HOST_MAX) {
      this.stats.droppedQueueFull += 1;
      return;
    }
    this.inFlight.set(target.id, queued + 1);
    if (transit.corrupt && transit.deliverCorrupt && payload.byteLength > 0) {
      // A copy: the sender may have handed the same bytes to other peers, and a network
      // never writes into the sender's memory.
      payload = payload.slice();
      const index = this.random.intBelow(payload.byteLength);
      payload[index] = payload[index]! ^ (1 + this.random.intBelow(255));
    }
    const delayMs = sample(this.latencyDistribution, this.random) + transit.extraDelayMs;
    this.scheduler.after(delayMs, () => {
      this.inFlight.set(target.id, (this.inFlight.get(target.id) ?? 1) - 1);
      this.deliver(from, target, payload, transit);
    });
  }

  private deliver(from: HostId, target: NetworkHost, payload: Uint8Array, transit: Transit): void {
    if (this.blocked(from, target.id)) {
      this.stats.droppedByPartition += 1;
      return;
    }
    if (transit.corrupt && !transit.deliverCorrupt) {
      this.stats.droppedCorrupt += 1;
      return;
    }
    const trace = this.scheduler.trace;
    trace.number(TRACE_DELIVER);
    trace.number(target.traceTag);
    if (!target.receive(from, payload)) {
      this.stats.droppedHostDown += 1;
      return;
    }
    this.stats.delivered += 1;
    if (transit.corrupt) this.stats.deliveredCorrupt += 1;
  }
}

/** The Network one incarnation of a host sees; inert once that incarnation crashes. */
export class SimNetworkEndpoint implements Network {
  constructor(
    private readonly fabric: SimNetwork,
    private readonly host: NetworkHost,
    private readonly isOpen: () => boolean,
    private readonly setHandler: (handler: MessageHandler) => void,
  ) {}

  get self(): HostId {
    return this.host.id;
  }

  send(to: HostId, payload: Uint8Array): void {
    if (this.isOpen()) this.fabric.send(this.host, to, payload);
  }

  onReceive(handler: MessageHandler): void {
    if (this.isOpen()) this.setHandler(handler);
  }
}
