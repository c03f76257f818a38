// A teaching example and the simulator's first system under test: an ABD register
// (Attiya, Bar-Noy, Dolev), a majority-quorum read/write register per key. Replicas
// persist (timestamp, value) through Storage before acknowledging; clients run two
// phases per operation, retransmitting until a majority answers or the operation times out.
import type { HistoryEvent, HistoryScalar } from '../checkers/history.ts';
import type { HostId, Random, Storage } from '../../env/index.ts';
import type { Process, SimHostEnv } from '../sim-host.ts';

/** A write's timestamp: (counter, writer); ordered lexicographically, unique per writer. */
export type Timestamp = readonly [number, number];
const ZERO: Timestamp = [0, -1];

export function newer(a: Timestamp, b: Timestamp): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

/** Wire messages, JSON-encoded. `op` ties replies to a client's operation and phase. */
type Message =
  | { readonly t: 'get'; readonly op: number; readonly key: string }
  | { readonly t: 'got'; readonly op: number; readonly ts: Timestamp; readonly value: number | null }
  | {
      readonly t: 'set';
      readonly op: number;
      readonly key: string;
      readonly ts: Timestamp;
      readonly value: number | null;
    }
  | { readonly t: 'setok'; readonly op: number };

/** The longest message accepted; longer ones are dropped. */
const MESSAGE_BYTES_MAX = 4_096;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encode(message: Message): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

const isTimestamp = (v: unknown): v is Timestamp =>
  Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && Number.isInteger(v[1]);
const isValue = (v: unknown): v is number | null => v === null || Number.isInteger(v);

/** Decodes and validates a message; undefined for anything malformed (dropped, never thrown). */
export function decode(payload: Uint8Array): Message | undefined {
  if (payload.byteLength > MESSAGE_BYTES_MAX) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(payload));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (!Number.isInteger(m.op)) return undefined;
  const keyOk = typeof m.key === 'string' && m.key.length <= 64;
  if (m.t === 'get' && keyOk) return raw as Message;
  if (m.t === 'got' && isTimestamp(m.ts) && isValue(m.value)) return raw as Message;
  if (m.t === 'set' && keyOk && isTimestamp(m.ts) && isValue(m.value)) return raw as Message;
  if (m.t === 'setok') return raw as Message;
  return undefined;
}

/** The message kind, for network rules that match by kind. */
export function messageKind(payload: Uint8Array): string {
  return decode(payload)?.t ?? 'malformed';
}

function checksum(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

export interface Stored {
  readonly ts: Timestamp;
  readonly value: number | null;
}

export const storageKey = (key: string): Uint8Array => encoder.encode(`abd/${key}`);

/** Parses a stored record; undefined when its bytes fail their checksum (corrupt). */
export function parseRecord(bytes: Uint8Array): Stored | undefined {
  const text = decoder.decode(bytes);
  const body = text.slice(9);
  if (text.slice(0, 8) !== checksum(body)) return undefined;
  return JSON.parse(body) as Stored;
}

/** Reads a key's record (absent: timestamp zero); undefined when corrupt. */
function load(storage: Storage, key: string): Stored | undefined {
  const bytes = storage.get(storageKey(key));
  return bytes === undefined ? { ts: ZERO, value: null } : parseRecord(bytes);
}

/** Deliberate bugs, to show that the swarm's checkers catch them. Off in real use. */
export interface AbdBugs {
  /** Replicas acknowledge a `set` before it is durable: a crash loses acknowledged writes. */
  readonly ackBeforeDurable?: boolean;
  /** Replicas store every `set`, even one older than what they hold (last arrival wins). */
  readonly acceptOlderWrites?: boolean;
}

/**
 * A replica. Answers from its store; acknowledges a `set` only once the stored record is
 * at least as new and durable (it waits for its latest write, as batches are durable in order).
 */
export function bootReplica(env: SimHostEnv, bugs: AbdBugs = {}): Process {
  const { network, storage } = env;
  let lastWrite: Promise<void> = Promise.resolve();
  network.onReceive((from, payload) => {
    const message = decode(payload);
    if (message === undefined) return;
    if (message.t === 'get') {
      const stored = load(storage, message.key);
      if (stored !== undefined) network.send(from, encode({ t: 'got', op: message.op, ...stored }));
    } else if (message.t === 'set') {
      const stored = load(storage, message.key);
      // A corrupt record stays silent: storing an older timestamp over it could resurrect
      // a stale value; other replicas of the quorum answer instead.
      if (stored === undefined) return;
      if (newer(message.ts, stored.ts) || (bugs.acceptOlderWrites === true && newer(stored.ts, message.ts))) {
        const body = JSON.stringify({ ts: message.ts, value: message.value });
        lastWrite = storage.write([
          { kind: 'put', key: storageKey(message.key), value: encoder.encode(`${checksum(body)}:${body}`) },
        ]);
      }
      const reply = encode({ t: 'setok', op: message.op });
      if (bugs.ackBeforeDurable === true) {
        network.send(from, reply);
        lastWrite.catch(() => undefined);
        return;
      }
      lastWrite.then(
        () => network.send(from, reply),
        () => undefined, // not stored (disk full, I/O error): no acknowledgement
      );
    }
  });
  return {};
}

/** Client workload settings. */
export interface AbdClientOptions {
  readonly clientIndex: number;
  readonly replicas: readonly HostId[];
  readonly keys: readonly string[];
  /** Records an event; the recorder stamps it with the simulation's true time. */
  readonly record: (event: Omit<HistoryEvent, 'time'>) => void;
  readonly isRunning: () => boolean;
  readonly onOk: () => void;
  /** A majority has durably stored `ts` for `key` (an acknowledged write or write-back). */
  readonly onQuorumStored: (key: string, ts: Timestamp) => void;
  readonly retransmitMs: number;
  readonly operationTimeoutMs: number;
  readonly thinkMsMax: number;
  readonly bugs?: AbdBugs;
}

/** One operation's state: its phase, the replicas that answered, the best reply. */
interface Operation {
  readonly f: 'read' | 'write';
  readonly key: string;
  readonly writeValue: number;
  readonly startedMs: number;
  op: number;
  phase: 'get' | 'set';
  answered: Set<HostId>;
  best: Stored;
}

/** A client: one operation at a time, each recorded in the history. */
export function bootClient(options: AbdClientOptions): (env: SimHostEnv) => Process {
  return (env) => {
    const client = new AbdClient(env, env.random.fork('workload'), options);
    client.next();
    return {};
  };
}

class AbdClient {
  private current: Operation | undefined;
  private nextOp = 0;
  private writes = 0;
  private readonly majority: number;

  constructor(
    private readonly env: SimHostEnv,
    private readonly random: Random,
    private readonly options: AbdClientOptions,
  ) {
    this.majority = Math.floor(options.replicas.length / 2) + 1;
    env.network.onReceive((from, payload) => this.receive(from, payload));
  }

  next(): void {
    if (!this.options.isRunning()) return;
    this.env.clock.setTimer(this.random.intBelow(this.options.thinkMsMax + 1), () => this.begin());
  }

  private begin(): void {
    if (!this.options.isRunning()) return;
    const f = this.random.nextFloat() < 0.5 ? 'read' : 'write';
    const key = this.options.keys[this.random.intBelow(this.options.keys.length)]!;
    this.writes += f === 'write' ? 1 : 0;
    const writeValue = this.options.clientIndex * 1_000_000 + this.writes;
    const startedMs = this.env.clock.monotonicMs();
    this.current = {
      f,
      key,
      writeValue,
      startedMs,
      op: 0,
      phase: 'get',
      answered: new Set(),
      best: { ts: ZERO, value: null },
    };
    this.record('invoke', f === 'write' ? writeValue : null);
    this.startPhase('get');
  }

  private record(type: HistoryEvent['type'], value: HistoryScalar): void {
    const operation = this.current!;
    this.options.record({
      process: this.options.clientIndex,
      type,
      f: operation.f,
      key: operation.key,
      value,
    });
  }

  private startPhase(phase: 'get' | 'set'): void {
    const operation = this.current!;
    this.nextOp += 1;
    operation.op = this.nextOp;
    operation.phase = phase;
    operation.answered = new Set();
    this.transmit(operation.op);
  }

  private transmit(op: number): void {
    const operation = this.current;
    if (operation === undefined || operation.op !== op) return;
    if (this.env.clock.monotonicMs() - operation.startedMs > this.options.operationTimeoutMs) {
      // A read changes nothing, so a timed-out read definitely did not happen (fail); a
      // timed-out write may have reached some replicas (info: indeterminate).
      this.finish(
        operation.f === 'read' ? 'fail' : 'info',
        operation.f === 'read' ? null : operation.writeValue,
      );
      return;
    }
    const message: Message =
      operation.phase === 'get'
        ? { t: 'get', op, key: operation.key }
        : { t: 'set', op, key: operation.key, ...this.phaseTwoRecord(operation) };
    const payload = encode(message);
    for (const replica of this.options.replicas) {
      if (!operation.answered.has(replica)) this.env.network.send(replica, payload.slice());
    }
    this.env.clock.setTimer(this.options.retransmitMs, () => this.transmit(op));
  }

  private phaseTwoRecord(operation: Operation): Stored {
    if (operation.f === 'read') return operation.best;
    return { ts: [operation.best.ts[0] + 1, this.options.clientIndex], value: operation.writeValue };
  }

  private receive(from: HostId, payload: Uint8Array): void {
    const message = decode(payload);
    const operation = this.current;
    if (message === undefined || operation === undefined || message.op !== operation.op) return;
    if (!this.options.replicas.includes(from) || operation.answered.has(from)) return;
    if (message.t === 'got' && operation.phase === 'get') {
      if (newer(message.ts, operation.best.ts)) operation.best = { ts: message.ts, value: message.value };
    } else if (!(message.t === 'setok' && operation.phase === 'set')) {
      return;
    }
    operation.answered.add(from);
    if (operation.answered.size < this.majority) return;
    if (operation.phase === 'get') {
      this.startPhase('set');
      return;
    }
    this.options.onQuorumStored(operation.key, this.phaseTwoRecord(operation).ts);
    this.finish('ok', operation.f === 'read' ? operation.best.value : operation.writeValue);
  }

  private finish(type: 'ok' | 'fail' | 'info', value: HistoryScalar): void {
    this.record(type, value);
    if (type === 'ok') this.options.onOk();
    this.current = undefined;
    this.next();
  }
}
