// The Network interface: best-effort addressed messages between hosts. The real one is TCP
// with authenticated frames (runtime/); the simulated one injects every fault (simworld/).

/** A host's network identity (a node id in the colony). */
export type HostId = string & { readonly __brand: 'HostId' };

/** Makes a HostId from a string the caller has validated (non-empty, printable). */
export function hostId(name: string): HostId {
  return name as HostId;
}

/** Called once per delivered message. `from` is authenticated by the transport. */
export type MessageHandler = (from: HostId, payload: Uint8Array) => void;

/**
 * One host's endpoint.
 *
 * Ownership: one Network per host. `send` copies or takes ownership of `payload`: the
 * caller must not mutate it afterwards. The handler gets a buffer it may keep.
 * Ordering: none promised. Messages may be lost, delayed, duplicated, reordered, and (in
 * the simulator) corrupted; the transport authenticates, so a corrupted frame is dropped
 * rather than delivered, but a protocol must still survive replays of old valid messages.
 * Failure modes: `send` never throws for network reasons and never blocks; when the peer
 * is unreachable or its send queue is full, the message is dropped (and counted).
 * Messages to `self` are delivered like any other (asynchronously).
 */
export interface Network {
  readonly self: HostId;
  /** Best-effort send. Returns at once; delivery is never guaranteed. */
  send(to: HostId, payload: Uint8Array): void;
  /** Sets the single handler for incoming messages, replacing any earlier one. */
  onReceive(handler: MessageHandler): void;
}
