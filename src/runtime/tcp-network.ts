// The real Network: persistent TCP connections with Nagle off, authenticated length-prefixed
// frames (frame.ts), bounded per-peer send queues that shed, and reconnect with backoff.
// Each host dials its peers to send and accepts their connections to receive, so a pair of
// hosts uses two connections, one per direction, and no dial race needs breaking.
import { createServer, Socket, type Server } from 'node:net';
import type { Clock, HostId, MessageHandler, Network, Random } from '../env/index.ts';
import { hostId } from '../env/index.ts';
import type { AddressBook, PeerAddress } from './address-book.ts';
import {
  defaultFrameBytesMax,
  encodeFrame,
  frameBodyBytes,
  FrameDecoder,
  frameDropReasons,
  helloFrameBytesMax,
  hostIdBytesMax,
  verifyFrame,
  type FrameDropReason,
} from './frame.ts';
import { loadKeyringFile, type Keyring, type KeyringResult } from './keyring.ts';
import { SystemClock } from './system-clock.ts';
import { systemRandom } from './system-random.ts';

/** Why a `send` was dropped before reaching the wire. */
export type SendDropReason = 'queue-full' | 'payload-too-large' | 'unknown-peer' | 'closed';
export const sendDropReasons: readonly SendDropReason[] = [
  'queue-full',
  'payload-too-large',
  'unknown-peer',
  'closed',
];

/** TCP keep-alive probes start after this much idle time, so a vanished peer is noticed. */
export const keepAliveInitialDelayMs = 5000;

/** Named bounds of the transport. */
export interface TcpNetworkLimits {
  /** Largest frame body accepted or sent (bytes). */
  readonly frameBytesMax: number;
  /** Frames waiting per peer before `send` sheds new ones. */
  readonly sendQueueFramesMax: number;
  /** Bytes waiting per peer before `send` sheds new ones. */
  readonly sendQueueBytesMax: number;
  /** Bytes handed to the socket in one write. */
  readonly writeBatchBytesMax: number;
  /** Accepted connections open at once; more are closed at once. */
  readonly inboundConnectionsMax: number;
  /** An accepted connection must authenticate within this time. */
  readonly helloTimeoutMs: number;
  /** A dial that has not connected within this time is abandoned and retried. */
  readonly connectTimeoutMs: number;
  /** First reconnect delay; doubles per failed attempt up to the max, with jitter. */
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
}

export const defaultTcpNetworkLimits: TcpNetworkLimits = {
  frameBytesMax: defaultFrameBytesMax,
  sendQueueFramesMax: 4096,
  sendQueueBytesMax: 8 * 1024 * 1024,
  writeBatchBytesMax: 256 * 1024,
  inboundConnectionsMax: 1024,
  helloTimeoutMs: 5000,
  connectTimeoutMs: 3000,
  reconnectBaseMs: 50,
  reconnectMaxMs: 2000,
};

/** Options of TcpNetwork.start. */
export interface TcpNetworkOptions {
  readonly self: HostId;
  /** Where to listen; port 0 picks a free port (read it back from `address`). */
  readonly listen: PeerAddress;
  readonly addressBook: AddressBook;
  readonly keyring: Keyring;
  /** The keyring file `reloadKeyring()` reads. */
  readonly keyringPath?: string;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly limits?: Partial<TcpNetworkLimits>;
}

/** What the transport has done since it started. */
export interface TcpNetworkCounters {
  framesSent: number;
  bytesSent: number;
  framesDelivered: number;
  framesDropped: Record<FrameDropReason, number>;
  sendsDropped: Record<SendDropReason, number>;
  connectionsDialed: number;
  connectionsAccepted: number;
  connectionsRefused: number;
  connectionsClosedForGarbage: number;
  reconnectsScheduled: number;
}

function zeroCounters(): TcpNetworkCounters {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesDelivered: 0,
    framesDropped: Object.fromEntries(frameDropReasons.map((r) => [r, 0])) as Record<FrameDropReason, number>,
    sendsDropped: Object.fromEntries(sendDropReasons.map((r) => [r, 0])) as Record<SendDropReason, number>,
    connectionsDialed: 0,
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionsClosedForGarbage: 0,
    reconnectsScheduled: 0,
  };
}

/** What an outbound peer needs from its transport. */
interface PeerContext {
  readonly self: HostId;
  readonly limits: TcpNetworkLimits;
  readonly clock: Clock;
  readonly random: Random;
  readonly counters: TcpNetworkCounters;
  readonly addressBook: AddressBook;
  keyring(): Keyring;
  isClosed(): boolean;
}

/** The sending side towards one peer: a bounded queue of signed frames and one connection. */
class OutboundPeer {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private socket: Socket | undefined;
  private state: 'idle' | 'connecting' | 'connected' | 'waiting' = 'idle';
  private writable = false;
  private failedAttempts = 0;
  private reconnectTimer: { cancel(): void } | undefined;
  private flushQueued = false;

  constructor(
    private readonly peer: HostId,
    private readonly context: PeerContext,
  ) {}

  /** Queues a signed frame; false if the queue is full (the caller counts the drop). */
  enqueue(frame: Buffer): boolean {
    const { sendQueueFramesMax, sendQueueBytesMax } = this.context.limits;
    if (this.queue.length >= sendQueueFramesMax || this.queuedBytes + frame.byteLength > sendQueueBytesMax) {
      return false;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.byteLength;
    if (this.state === 'idle') this.connect();
    else if (this.state === 'connected' && !this.flushQueued) {
      // Frames sent in one synchronous burst go out in one write.
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
    return true;
  }

  close(): void {
    this.reconnectTimer?.cancel();
    this.reconnectTimer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.queue = [];
    this.queuedBytes = 0;
    this.state = 'idle';
  }

  private connect(): void {
    const address = this.context.addressBook.get(this.peer);
    if (address === undefined) {
      this.scheduleReconnect(); // the address may be added later
      return;
    }
    this.state = 'connecting';
    this.context.counters.connectionsDialed += 1;
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, keepAliveInitialDelayMs);
    socket.setTimeout(this.context.limits.connectTimeoutMs, () => socket.destroy());
    socket.on('connect', () => this.onConnect(socket));
    socket.on('drain', () => {
      this.writable = true;
      this.flush();
    });
    socket.on('data', () => undefined); // receivers never answer on this connection
    socket.on('error', () => undefined); // 'close' follows and schedules the reconnect
    socket.on('close', () => this.onClose(socket));
    socket.connect(address.port, address.host);
  }

  private onConnect(socket: Socket): void {
    if (this.socket !== socket) return;
    socket.setTimeout(0);
    this.state = 'connected';
    this.failedAttempts = 0;
    const hello = encodeFrame(
      { kind: 'hello', sender: this.context.self, receiver: this.peer, payload: new Uint8Array(0) },
      this.context.keyring(),
    );
    this.writable = socket.write(hello);
    this.flush();
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.writable = false;
    this.state = 'waiting';
    if (!this.context.isClosed()) this.scheduleReconnect();
  }

  /** Retries after base * 2^attempts (capped), scaled by a jitter factor in [0.5, 1). */
  private scheduleReconnect(): void {
    const { reconnectBaseMs, reconnectMaxMs } = this.context.limits;
    const ceilingMs = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** Math.min(this.failedAttempts, 20));
    const delayMs = ceilingMs * (0.5 + 0.5 * this.context.random.nextFloat());
    this.failedAttempts += 1;
    this.state = 'waiting';
    this.context.counters.reconnectsScheduled += 1;
    this.reconnectTimer = this.context.clock.setTimer(delayMs, () => {
      this.reconnectTimer = undefined;
      if (!this.context.isClosed() && this.state === 'waiting') this.connect();
    });
  }

  /** Writes queued frames in batches while the socket accepts them. */
  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'connected' || socket === undefined) return;
    const batchBytesMax = this.context.limits.writeBatchBytesMax;
    while (this.writable && this.queue.length > 0) {
      let count = 0;
      let bytes = 0;
      while (
        count < this.queue.length &&
        (count === 0 || bytes + this.queue[count]!.byteLength <= batchBytesMax)
      ) {
        bytes += this.queue[count]!.byteLength;
        count += 1;
      }
      const batch = this.queue.splice(0, count);
      this.queuedBytes -= bytes;
      this.writable = socket.write(count === 1 ? batch[0]! : Buffer.concat(batch, bytes));
      this.context.counters.framesSent += count;
      this.context.counters.bytesSent += bytes;
    }
  }
}

/** Reasons after which a connection cannot be trusted further and is closed. */
function closesConnection(reason: FrameDropReason, authenticated: boolean): boolean {
  switch (reason) {
    case 'unknown-key':
    case 'bad-mac':
      // §2.6: a frame that fails authentication is discarded. On an authenticated
      // connection this is corruption or a rotation slip, so the connection stays.
      return !authenticated;
    case 'oversized':
    case 'truncated':
    case 'malformed':
    case 'wrong-receiver':
    case 'wrong-sender':
    case 'no-handshake':
    case 'unexpected-hello':
      return true;
  }
}

/** The real Network of one host. Start with `TcpNetwork.start`. */
export class TcpNetwork implements Network {
  private readonly peers = new Map<HostId, OutboundPeer>();
  private readonly inbound = new Set<Socket>();
  private readonly stats: TcpNetworkCounters = zeroCounters();
  private readonly limits: TcpNetworkLimits;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly peerContext: PeerContext;
  private handler: MessageHandler | undefined;
  private currentKeyring: Keyring;
  private closed = false;

  private constructor(
    readonly self: HostId,
    private readonly server: Server,
    private readonly options: TcpNetworkOptions,
  ) {
    this.limits = { ...defaultTcpNetworkLimits, ...options.limits };
    this.clock = options.clock ?? new SystemClock();
    this.random = options.random ?? systemRandom();
    this.currentKeyring = options.keyring;
    this.peerContext = {
      self,
      limits: this.limits,
      clock: this.clock,
      random: this.random,
      counters: this.stats,
      addressBook: options.addressBook,
      keyring: () => this.currentKeyring,
      isClosed: () => this.closed,
    };
  }

  /** Listens on `options.listen` and returns the running transport. */
  static async start(options: TcpNetworkOptions): Promise<TcpNetwork> {
    if (Buffer.byteLength(options.self) === 0 || Buffer.byteLength(options.self) > hostIdBytesMax) {
      throw new RangeError(`host id must be 1..${hostIdBytesMax} UTF-8 bytes`);
    }
    const server = createServer();
    const network = new TcpNetwork(options.self, server, options);
    server.on('connection', (socket) => network.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return network;
  }

  /** The address actually listened on (the chosen port when `listen.port` was 0). */
  get address(): PeerAddress {
    const bound = this.server.address();
    if (bound === null || typeof bound === 'string') throw new Error('server is not listening on TCP');
    return { host: bound.address, port: bound.port };
  }

  get keyring(): Keyring {
    return this.currentKeyring;
  }

  send(to: HostId, payload: Uint8Array): void {
    if (this.closed) {
      this.stats.sendsDropped.closed += 1;
      return;
    }
    if (to === this.self) {
      setImmediate(() => this.deliver(this.self, payload));
      return;
    }
    const keyIdBytes = this.currentKeyring.signingKeyId.length;
    if (frameBodyBytes(keyIdBytes, this.self, to, payload.byteLength) > this.limits.frameBytesMax) {
      this.stats.sendsDropped['payload-too-large'] += 1;
      return;
    }
    const toBytes = Buffer.byteLength(to);
    if (toBytes === 0 || toBytes > hostIdBytesMax || this.options.addressBook.get(to) === undefined) {
      this.stats.sendsDropped['unknown-peer'] += 1;
      return;
    }
    let peer = this.peers.get(to);
    if (peer === undefined) {
      peer = new OutboundPeer(to, this.peerContext);
      this.peers.set(to, peer);
    }
    const frame = encodeFrame(
      { kind: 'data', sender: this.self, receiver: to, payload },
      this.currentKeyring,
    );
    if (!peer.enqueue(frame)) this.stats.sendsDropped['queue-full'] += 1;
  }

  onReceive(handler: MessageHandler): void {
    this.handler = handler;
  }

  /** A snapshot of the counters. */
  counters(): TcpNetworkCounters {
    return {
      ...this.stats,
      framesDropped: { ...this.stats.framesDropped },
      sendsDropped: { ...this.stats.sendsDropped },
    };
  }

  /** Replaces the keyring: new frames are signed with its signing key; only its keys verify. */
  setKeyring(keyring: Keyring): void {
    this.currentKeyring = keyring;
  }

  /** Re-reads the keyring file given at start; on any error the current ring stays. */
  async reloadKeyring(): Promise<KeyringResult> {
    const path = this.options.keyringPath;
    if (path === undefined) return { kind: 'unreadable', reason: 'no keyringPath was given at start' };
    const result = await loadKeyringFile(path);
    if (result.kind === 'ok') this.currentKeyring = result.keyring;
    return result;
  }

  /** Stops listening, closes every connection and drops queued frames. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    for (const socket of this.inbound) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private deliver(from: HostId, payload: Uint8Array): void {
    if (this.closed || this.handler === undefined) return;
    this.stats.framesDelivered += 1;
    this.handler(from, payload);
  }

  private accept(socket: Socket): void {
    if (this.closed || this.inbound.size >= this.limits.inboundConnectionsMax) {
      this.stats.connectionsRefused += 1;
      socket.destroy();
      return;
    }
    this.stats.connectionsAccepted += 1;
    this.inbound.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, keepAliveInitialDelayMs);
    // Until the peer authenticates, only a hello-sized frame is buffered, so unauthenticated
    // connections cost at most helloFrameBytesMax each.
    const decoder = new FrameDecoder(Math.min(helloFrameBytesMax, this.limits.frameBytesMax));
    const connection = { peer: undefined as HostId | undefined, garbage: false };
    const helloTimer = this.clock.setTimer(this.limits.helloTimeoutMs, () => {
      if (connection.peer === undefined) socket.destroy();
    });
    const drop = (reason: FrameDropReason): void => {
      this.stats.framesDropped[reason] += 1;
      if (closesConnection(reason, connection.peer !== undefined)) {
        connection.garbage = true;
        this.stats.connectionsClosedForGarbage += 1;
        socket.destroy();
      }
    };
    socket.on('data', (chunk: Buffer) => {
      decoder.append(chunk);
      for (let item = decoder.next(); item !== undefined; item = decoder.next()) {
        if (connection.garbage || this.closed) return;
        if (item.kind === 'oversized') {
          drop('oversized');
          continue;
        }
        const wasAuthenticated = connection.peer !== undefined;
        this.receiveBody(item.body, connection, drop);
        if (!wasAuthenticated && connection.peer !== undefined)
          decoder.setFrameBytesMax(this.limits.frameBytesMax);
      }
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      this.inbound.delete(socket);
      helloTimer.cancel();
      if (!connection.garbage && !this.closed && decoder.pendingBytes > 0)
        this.stats.framesDropped.truncated += 1;
    });
  }

  /** Verifies one frame body from an accepted connection and acts on it, or drops it. */
  private receiveBody(
    body: Buffer,
    connection: { peer: HostId | undefined },
    drop: (reason: FrameDropReason) => void,
  ): void {
    const verified = verifyFrame(body, this.currentKeyring, this.self);
    if (verified.kind === 'dropped') {
      drop(verified.reason);
      return;
    }
    const { kind, sender, payload } = verified.frame;
    switch (kind) {
      case 'hello':
        if (connection.peer !== undefined) drop('unexpected-hello');
        else connection.peer = hostId(sender);
        return;
      case 'data':
        if (connection.peer === undefined) drop('no-handshake');
        else if (sender !== connection.peer) drop('wrong-sender');
        else this.deliver(connection.peer, payload);
        return;
    }
  }
}
