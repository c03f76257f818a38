// The address book of the real network: where each host listens (HostId -> host:port).
import { hostId, type HostId } from '../env/index.ts';

/** A TCP listening address. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" or "[ipv6]:port"; undefined when malformed. */
export function parsePeerAddress(text: string): PeerAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

/** A mutable map from host to address; the transport reads it at each (re)connect. */
export class AddressBook {
  private readonly addresses = new Map<HostId, PeerAddress>();

  constructor(entries: Iterable<readonly [HostId, PeerAddress]> = []) {
    for (const [id, address] of entries) this.set(id, address);
  }

  /** Builds a book from `{ hostId: "host:port" }`, or names the first malformed entry. */
  static fromRecord(
    record: Readonly<Record<string, string>>,
  ): { kind: 'ok'; book: AddressBook } | { kind: 'invalid'; reason: string } {
    const book = new AddressBook();
    for (const [id, text] of Object.entries(record)) {
      const address = parsePeerAddress(text);
      if (id.length === 0 || address === undefined) {
        return {
          kind: 'invalid',
          reason: `address of ${JSON.stringify(id)}: expected host:port, got ${JSON.stringify(text)}`,
        };
      }
      book.set(hostId(id), address);
    }
    return { kind: 'ok', book };
  }

  get(id: HostId): PeerAddress | undefined {
    return this.addresses.get(id);
  }

  set(id: HostId, address: PeerAddress): void {
    if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65_535) {
      throw new RangeError(`address of ${id}: port must be 1..65535, got ${address.port}`);
    }
    this.addresses.set(id, { host: address.host, port: address.port });
  }

  delete(id: HostId): void {
    this.addresses.delete(id);
  }

  hosts(): HostId[] {
    return [...this.addresses.keys()].sort();
  }
}
