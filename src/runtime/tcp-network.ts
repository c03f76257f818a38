// The real Network: persistent TCP connections with Nagle off, authenticated length-prefixed
// frames (frame.ts), bounded per-peer send queues that shed, and reconnect with backoff.
// The messages sent to one peer in one event-loop turn leave together: one batch frame
// (one MAC) and one socket write, so the cost of a write is shared under load.
// Each host dials its peers to send and accepts their connections to receive, so a pair of
// hosts uses two connections, one per direction, and no dial race needs breaking.
import { createServer, Socket, type Server } from 'node:net';
import type { Clock, HostId, MessageHandler, Network, Random } from '../env/index.ts';
import { hostId } from '../env/index.ts';
import type { AddressBook, PeerAddress } from './address-book.ts';
import {
  batchEntryHeaderBytes,
  defaultFrameBytesMax,
  encodeBatchFrame,
  encodeFrame,
  frameBodyBytes,
  FrameDecoder,
  frameDropReasons,
  helloFrameBytesMax,
  helloFeatureBatch,
  hostIdBytesMax,
  splitBatch,
  verifyFrame,
  type FrameDropReason,
} from './frame.ts';
import { loadKeyringFile, type Keyring, type KeyringResult } from './keyring.ts';
import { SystemClock } from './system-clock.ts';
import { systemRandom } from './system-random.ts';
import { atTurnEnd } from './turn-end.ts';

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
  /** Messages waiting per peer before `send` sheds new ones. */
  readonly sendQueueMessagesMax: number;
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
  sendQueueMessagesMax: 4096,
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
  /**
   * Send batch frames to peers that read them, and say in the hello that this host reads
   * them (default true). False makes the host behave on the wire as one from before batch
   * frames did: for compatibility tests.
   */
  readonly batchFrames?: boolean;
}

/** What the transport has done since it started. */
export interface TcpNetworkCounters {
  /** Messages written to sockets, and the frames and bytes that carried them. */
  messagesSent: number;
  framesSent: number;
  bytesSent: number;
  /** Messages received, authenticated and handed to the handler. */
  messagesDelivered: number;
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
    messagesSent: 0,
    framesSent: 0,
    bytesSent: 0,
    messagesDelivered: 0,
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
  /** The feature bits this host announces in its hellos. */
  readonly features: number;
  keyring(): Keyring;
  isClosed(): boolean;
  /** True once the peer's own hello said it reads batch frames (and this host sends them). */
  sendsBatchesTo(peer: HostId): boolean;
}

/** The sending side towards one peer: a bounded queue of messages and one connection. */
class OutboundPeer {
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private socket: Socket | undefined;
  private state: 'idle' | 'connecting' | 'connected' | 'waiting' = 'idle';
  private writable = false;
  private failedAttempts = 0;
  private reconnectTimer: { cancel(): void } | undefined;
  private flushQueued = false;
  /** The turn-end task of `enqueue`, made once (enqueue runs for every message). */
  private readonly flushAtTurnEnd = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    private readonly peer: HostId,
    private readonly context: PeerContext,
  ) {}

  /** Queues a message; false if the queue is full (the caller counts the drop). */
  enqueue(payload: Uint8Array): boolean {
    const { sendQueueMessagesMax, sendQueueBytesMax } = this.context.limits;
    if (
      this.queue.length >= sendQueueMessagesMax ||
      this.queuedBytes + payload.byteLength > sendQueueBytesMax
    ) {
      return false;
    }
    this.queue.push(payload);
    this.queuedBytes += payload.byteLength;
    if (this.state === 'idle') this.connect();
    else if (this.state === 'connected' && !this.flushQueued) {
      // Messages sent anywhere in this event-loop turn (every I/O callback of its poll
      // phase) go out together right after it.
      this.flushQueued = true;
      atTurnEnd('send', this.flushAtTurnEnd);
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
      {
        kind: 'hello',
        sender: this.context.self,
        receiver: this.peer,
        payload: Uint8Array.of(this.context.features),
      },
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

  /** Writes queued messages, in frames of many, while the socket accepts them. */
  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'connected' || socket === undefined) return;
    const batchBytesMax = this.context.limits.writeBatchBytesMax;
    while (this.writable && this.queue.length > 0) {
      const frames: Buffer[] = [];
      let bytes = 0;
      while (this.queue.length > 0 && (frames.length === 0 || bytes < batchBytesMax)) {
        const frame = this.nextFrame();
        frames.push(frame);
        bytes += frame.byteLength;
      }
      this.writable = socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
      this.context.counters.framesSent += frames.length;
      this.context.counters.bytesSent += bytes;
    }
  }

  /**
   * Takes the longest run of queued messages that fits one frame (its body within
   * frameBytesMax, and within writeBatchBytesMax) and signs it: a data frame when the run
   * is one message (send checked that each message fits one), a batch frame otherwise.
   */
  private nextFrame(): Buffer {
    const { self, limits, counters } = this.context;
    const keyring = this.context.keyring();
    let count = 1;
    // A peer that has not said it reads batch frames (an older version) gets one per frame.
    if (this.context.sendsBatchesTo(this.peer)) {
      const boundBytes = Math.min(limits.frameBytesMax, limits.writeBatchBytesMax);
      let bodyBytes =
        frameBodyBytes(keyring.signingKeyId.length, self, this.peer, 0) +
        batchEntryHeaderBytes +
        this.queue[0]!.byteLength;
      while (count < this.queue.length) {
        const entryBytes = batchEntryHeaderBytes + this.queue[count]!.byteLength;
        if (bodyBytes + entryBytes > boundBytes) break;
        bodyBytes += entryBytes;
        count += 1;
      }
    }
    const payloads = this.queue.splice(0, count);
    for (const payload of payloads) this.queuedBytes -= payload.byteLength;
    counters.messagesSent += count;
    return count === 1
      ? encodeFrame({ kind: 'data', sender: self, receiver: this.peer, payload: payloads[0]! }, keyring)
      : encodeBatchFrame(self, this.peer, payloads, keyring);
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
  /** Feature bits each peer announced in its latest hello (bounded by the address book). */
  private readonly peerFeatures = new Map<HostId, number>();
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
    const batchFrames = options.batchFrames !== false;
    this.peerContext = {
      self,
      limits: this.limits,
      clock: this.clock,
      random: this.random,
      counters: this.stats,
      addressBook: options.addressBook,
      keyring: () => this.currentKeyring,
      isClosed: () => this.closed,
      features: batchFrames ? helloFeatureBatch : 0,
      sendsBatchesTo: (peer) => batchFrames && ((this.peerFeatures.get(peer) ?? 0) & helloFeatureBatch) !== 0,
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
    if (to === this.self) return this.sendToSelf(payload);
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
    if (!peer.enqueue(payload)) this.stats.sendsDropped['queue-full'] += 1;
  }
  /** A message to this host: delivered on a later turn, as if it had crossed the network. */
  private sendToSelf(payload: Uint8Array): void {
    setImmediate(() => this.deliver(this.self, payload));
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
    this.stats.messagesDelivered += 1;
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
        if (connection.peer !== undefined) return drop('unexpected-hello');
        connection.peer = hostId(sender);
        if (this.options.addressBook.get(connection.peer) !== undefined)
          this.peerFeatures.set(connection.peer, payload[0] ?? 0);
        return;
      case 'data':
      case 'batch': {
        if (connection.peer === undefined) return drop('no-handshake');
        if (sender !== connection.peer) return drop('wrong-sender');
        if (kind === 'data') return this.deliver(connection.peer, payload);
        const payloads = splitBatch(payload);
        if (payloads === undefined) return drop('malformed');
        for (const message of payloads) this.deliver(connection.peer, message);
        return;
      }
    }
  }
}
