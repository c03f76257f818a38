// Routing and retries of the SDK: picks the node to ask (the cell's leader first, from a cache
// of what describe answers taught), retries refused requests with capped exponential backoff and
// full jitter, bounded in attempts and time, and never blindly retries an unknown outcome.
import type { Clock, Random } from '../env/index.ts';
import type { HttpTransport } from './transport.ts';
import type { ClientError } from './types.ts';

export interface RetryPolicy {
  /** Most requests sent for one call (the first included). */
  readonly attemptsMax: number;
  /** Backoff before retry n is uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** No retry starts later than this after the call began. */
  readonly totalMs: number;
  /** Each HTTP request's own timeout. */
  readonly requestTimeoutMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attemptsMax: 8,
  baseDelayMs: 20,
  maxDelayMs: 2_000,
  totalMs: 15_000,
  requestTimeoutMs: 5_000,
};

/** Cells whose members and leader the router remembers; the oldest is forgotten beyond this. */
export const cellRoutesMax = 10_000;

interface CellRoute {
  members: readonly string[];
  leader: string | undefined;
}

/** What the router knows: node id -> endpoint (from /v1/colony) and per-cell routes. */
export class Router {
  private readonly nodes = new Map<string, string>();
  private readonly routes = new Map<string, CellRoute>();

  constructor(
    readonly endpoints: readonly string[],
    private readonly random: Random,
  ) {
    if (endpoints.length === 0) throw new RangeError('connect: at least one endpoint');
  }

  get knowsNodes(): boolean {
    return this.nodes.size > 0;
  }

  learnNodes(nodes: readonly { nodeId: string; http: string }[]): void {
    for (const node of nodes) this.nodes.set(node.nodeId, node.http);
  }

  hasRoute(cellId: string): boolean {
    return this.routes.has(cellId);
  }

  learnCell(cellId: string, members: readonly string[], leader: string | undefined): void {
    this.routes.delete(cellId);
    this.routes.set(cellId, { members, leader });
    if (this.routes.size > cellRoutesMax) this.routes.delete(this.routes.keys().next().value!);
  }

  /** The leader was not reached (or stepped down): ask members next time. */
  forgetLeader(cellId: string): void {
    const route = this.routes.get(cellId);
    if (route !== undefined) route.leader = undefined;
  }

  /** Endpoint of a node, when /v1/colony taught it. */
  endpointOf(node: string): string | undefined {
    return this.nodes.get(hostOf(node));
  }

  /** Endpoints to try, best first: the leader, the other members, then every known endpoint. */
  candidates(cellId: string | undefined): string[] {
    const all = [...new Set([...this.endpoints, ...this.nodes.values()])];
    const start = this.random.intBelow(all.length);
    const rotated = [...all.slice(start), ...all.slice(0, start)];
    const route = cellId === undefined ? undefined : this.routes.get(cellId);
    if (route === undefined) return rotated;
    const preferred = [route.leader, ...route.members]
      .filter((node): node is string => node !== undefined)
      .map((node) => this.nodes.get(hostOf(node)))
      .filter((endpoint): endpoint is string => endpoint !== undefined);
    return [...new Set([...preferred, ...rotated])];
  }
}

/** The node of a member id: `n3#2` (an incarnation, paper §2.4) runs on node `n3`. */
export function hostOf(member: string): string {
  const hash = member.indexOf('#');
  return hash < 0 ? member : member.slice(0, hash);
}

export interface Call {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  /** Send to this node only (e.g. to list what it hosts), not wherever routing prefers. */
  readonly endpoint?: string;
  /** The cell the call is about (routing), if any. */
  readonly cellId?: string;
  /** Reads and describes: safe to send again whatever happened to an earlier attempt. */
  readonly idempotent: boolean;
  /** The caller accepts that a write whose outcome is unknown may be applied twice. */
  readonly retryOutcomeUnknown: boolean;
  /** This request's own timeout (a long synchronous change, a long poll), instead of the policy's. */
  readonly timeoutMs?: number;
}

export type CallResult =
  | {
      readonly kind: 'ok';
      readonly status: number;
      readonly body: unknown;
      /** The endpoint that answered. */
      readonly endpoint: string;
    }
  | ClientError;

type Verdict =
  | { readonly kind: 'done'; readonly result: CallResult }
  | { readonly kind: 'retry'; readonly reason: string; readonly notBeforeMs: number };

function body(candidate: unknown): Record<string, unknown> {
  return typeof candidate === 'object' && candidate !== null ? (candidate as Record<string, unknown>) : {};
}

export class Caller {
  constructor(
    readonly router: Router,
    private readonly transport: HttpTransport,
    private readonly clock: Clock,
    private readonly random: Random,
    readonly policy: RetryPolicy,
  ) {}

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(ms, resolve));
  }

  /** Sends `call`, retrying as the policy allows. Never rejects. */
  async send(call: Call): Promise<CallResult> {
    const startedMs = this.clock.monotonicMs();
    let lastReason = 'no attempt';
    for (let attempt = 0; attempt < this.policy.attemptsMax; attempt++) {
      const candidates = call.endpoint === undefined ? this.router.candidates(call.cellId) : [call.endpoint];
      const endpoint = candidates[attempt % candidates.length]!;
      const verdict = await this.attempt(call, endpoint);
      if (verdict.kind === 'done') return verdict.result;
      lastReason = `${endpoint}: ${verdict.reason}`;
      const ceilingMs = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt);
      const delayMs = Math.max(verdict.notBeforeMs, Math.floor(this.random.nextFloat() * ceilingMs));
      const elapsedMs = this.clock.monotonicMs() - startedMs;
      if (attempt + 1 >= this.policy.attemptsMax || elapsedMs + delayMs > this.policy.totalMs) {
        return {
          kind: 'unavailable',
          attempts: attempt + 1,
          message: `gave up after ${attempt + 1} attempts (${lastReason})`,
        };
      }
      await this.sleep(delayMs);
    }
    return { kind: 'unavailable', attempts: this.policy.attemptsMax, message: lastReason };
  }

  private unknown(call: Call, reason: string): Verdict {
    if (call.idempotent || call.retryOutcomeUnknown) return { kind: 'retry', reason, notBeforeMs: 0 };
    return { kind: 'done', result: { kind: 'outcome-unknown', message: reason } };
  }

  private async attempt(call: Call, endpoint: string): Promise<Verdict> {
    const answer = await this.transport.request({
      endpoint,
      method: call.method,
      path: call.path,
      ...(call.body === undefined ? {} : { body: call.body }),
      timeoutMs: call.timeoutMs ?? this.policy.requestTimeoutMs,
    });
    if (answer.kind === 'failed') {
      if (call.cellId !== undefined) this.router.forgetLeader(call.cellId);
      return answer.sent
        ? this.unknown(call, answer.reason)
        : { kind: 'retry', reason: answer.reason, notBeforeMs: 0 };
    }
    if (answer.status >= 200 && answer.status < 300) {
      return { kind: 'done', result: { kind: 'ok', status: answer.status, body: answer.body, endpoint } };
    }
    return this.errorVerdict(call, answer.status, body(answer.body), answer.retryAfterMs);
  }

  private errorVerdict(
    call: Call,
    status: number,
    error: Record<string, unknown>,
    retryAfterMs?: number,
  ): Verdict {
    const message = typeof error.message === 'string' ? error.message : `HTTP ${status}`;
    const done = (result: CallResult): Verdict => ({ kind: 'done', result });
    switch (error.code) {
      case 'overloaded':
        return {
          kind: 'retry',
          reason: message,
          notBeforeMs: Math.min(retryAfterMs ?? 0, this.policy.maxDelayMs),
        };
      case 'unavailable':
      case 'behind':
        if (call.cellId !== undefined) this.router.forgetLeader(call.cellId);
        return { kind: 'retry', reason: message, notBeforeMs: 0 };
      case 'outcome-unknown':
        return this.unknown(call, message);
      case 'cell-moved': {
        const members = Array.isArray(error.members)
          ? error.members.filter((m): m is string => typeof m === 'string')
          : [];
        if (call.cellId !== undefined && members.length > 0)
          this.router.learnCell(call.cellId, members, undefined);
        return { kind: 'retry', reason: message, notBeforeMs: 0 };
      }
      case 'invalid':
      case 'malformed-json':
      case 'too-large':
      case 'unsupported-media-type':
        return done({
          kind: 'invalid',
          field: typeof error.field === 'string' ? error.field : 'body',
          message,
        });
      case 'cell-not-found':
        return done({ kind: 'cell-not-found', cellId: call.cellId ?? '', message });
      case 'cell-exists': {
        const members = Array.isArray(error.members) ? error.members.map(String) : [];
        return done({ kind: 'cell-exists', members, message });
      }
      case 'invalid-change':
        return done({ kind: 'invalid-change', message });
      case 'change-in-progress':
        return done({
          kind: 'change-in-progress',
          message,
          ...(typeof error.operationId === 'string' ? { operationId: error.operationId } : {}),
        });
      case 'operation-not-found':
        return done({ kind: 'operation-not-found', message });
      default:
        if (status === 503) return { kind: 'retry', reason: message, notBeforeMs: 0 };
        return done({ kind: 'protocol', message: `HTTP ${status}: ${message}` });
    }
  }
}
