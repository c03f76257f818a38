// Node-to-node requests: ids (a random per-boot session and a sequence), the table of
// outbound requests waiting for an answer with a timeout through the Clock, and a bounded
// memory of inbound request ids so that replayed or duplicated requests are not served twice.
import type { Clock, Random, TimerHandle } from '../env/index.ts';
import type { NodeId } from '../paxos/index.ts';
import type { RpcId } from './wire.ts';

/** How an outbound request ended. */
export type RpcOutcome<T> =
  | { readonly kind: 'answered'; readonly answer: T }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'overloaded' }
  | { readonly kind: 'closed' };

interface Pending {
  readonly to: NodeId;
  readonly expects: string;
  readonly resolve: (outcome: RpcOutcome<unknown>) => void;
  readonly timer: TimerHandle;
}

export class OutboundRequests {
  private readonly session: number;
  private nextSequence = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    random: Random,
    private readonly pendingMax: number,
  ) {
    this.session = random.nextUint32();
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Sends with `send(rpc)` and waits for the answer `expects` from `to`, at most `timeoutMs`.
   * Never rejects.
   */
  call<T>(
    to: NodeId,
    expects: string,
    timeoutMs: number,
    send: (rpc: RpcId) => void,
  ): Promise<RpcOutcome<T>> {
    if (this.closed) return Promise.resolve({ kind: 'closed' });
    if (this.pending.size >= this.pendingMax) return Promise.resolve({ kind: 'overloaded' });
    const sequence = this.nextSequence;
    this.nextSequence += 1;
    return new Promise<RpcOutcome<T>>((resolve) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        if (this.pending.delete(sequence)) resolve({ kind: 'timeout' });
      });
      this.pending.set(sequence, {
        to,
        expects,
        resolve: resolve as (outcome: RpcOutcome<unknown>) => void,
        timer,
      });
      send({ session: this.session, sequence });
    });
  }

  /** Delivers an answer; false (drop it) unless it matches a pending request of ours. */
  answer(from: NodeId, rpc: RpcId, kind: string, answer: unknown): boolean {
    if (rpc.session !== this.session) return false;
    const pending = this.pending.get(rpc.sequence);
    if (pending === undefined || pending.to !== from || pending.expects !== kind) return false;
    this.pending.delete(rpc.sequence);
    pending.timer.cancel();
    pending.resolve({ kind: 'answered', answer });
    return true;
  }

  close(): void {
    this.closed = true;
    for (const pending of this.pending.values()) {
      pending.timer.cancel();
      pending.resolve({ kind: 'closed' });
    }
    this.pending.clear();
  }
}

/** Remembers the last `capacity` inbound request ids (first seen wins). */
export class RecentRequests {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** True the first time an id is seen (serve it), false for a replay or duplicate. */
  firstTime(from: NodeId, rpc: RpcId): boolean {
    const key = `${from}\u0000${rpc.session}\u0000${rpc.sequence}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next();
      if (oldest.done !== true) this.seen.delete(oldest.value);
    }
    return true;
  }
}
